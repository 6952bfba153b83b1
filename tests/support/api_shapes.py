"""Exact JSON shapes of the catalogue API (SPEC section 6): dicts of exact keys, types or
predicates, as ``tests/catalogs/test_catalogue_contract.py`` checks them."""

import math

NULLABLE_STR = (str, type(None))


def number_or_auto(value):
    return value == "auto" or (type(value) is float and math.isfinite(value))


def summary(id_field):
    return {id_field: str, "name": str, "description": str, "grant": NULLABLE_STR}


LAYER = {
    **summary("layer_id"),
    "quantity": str,
    "units": str,
    "vmin": number_or_auto,
    "vmax": number_or_auto,
    "cmap": str,
    "tile_size": int,
    "number_of_levels": int,
    "bounding_left": float,
    "bounding_right": float,
    "bounding_top": float,
    "bounding_bottom": float,
    "map_group_id": str,
    "map_id": str,
    "band_id": str,
    "pixel_scale_ra_deg": float,
    "pixel_scale_dec_deg": float,
    "pixel_offset_ra_deg": float,
    "pixel_offset_dec_deg": float,
    "stokes": (str, type(None)),
    "stokes_layers": dict,
    "polarisation_convention": (str, type(None)),
    "file_version": (str, type(None)),
}
LAYER_MENU = summary("layer_id")
BAND_MENU = {**summary("band_id"), "layers": [LAYER_MENU]}
MAP_MENU = {**summary("map_id"), "bands": [BAND_MENU]}
GROUP_MENU = {**summary("map_group_id"), "maps": [MAP_MENU]}
SOURCE = {"name": str, "ra": float, "dec": float, "extra": dict}
BOX = {
    "name": str,
    "description": str,
    "top_left_ra": float,
    "top_left_dec": float,
    "bottom_right_ra": float,
    "bottom_right_dec": float,
    "grant": NULLABLE_STR,
}
ERROR = {"detail": str}
