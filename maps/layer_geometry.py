"""Derived layer geometry (tile grid and bounds) from a provider's FITS headers."""

from dataclasses import dataclass

from maps.models import COMBINATION_FUNCTIONS, PROVIDER_COMBINATION, PROVIDER_FITS
from maps.paths import DataPathError, resolve_data_path, shown_name


class LayerGeometryError(ValueError):
    """A provider that cannot give a layer; ``str()`` is a one-line reason."""


@dataclass(frozen=True)
class LayerGeometry:
    tile_size: int
    number_of_levels: int
    bounding_left: float
    bounding_right: float
    bounding_top: float
    bounding_bottom: float


def fits_providers(provider: object) -> list[dict]:
    """The plain ``fits`` providers inside ``provider``, validating its shape."""
    if not isinstance(provider, dict):
        raise LayerGeometryError("provider must be an object")
    kind = provider.get("provider_type")
    if kind == PROVIDER_FITS:
        return [provider]
    if kind == PROVIDER_COMBINATION:
        function = provider.get("function")
        if function not in COMBINATION_FUNCTIONS:
            raise LayerGeometryError(
                f"function {function!r} is not one of {' '.join(COMBINATION_FUNCTIONS)}"
            )
        inputs = provider.get("providers")
        if not isinstance(inputs, list) or not inputs:
            raise LayerGeometryError("providers must be a non-empty list")
        if any(not isinstance(p, dict) or p.get("provider_type") != PROVIDER_FITS for p in inputs):
            raise LayerGeometryError("every entry of providers must be a fits provider")
        return inputs
    raise LayerGeometryError(
        f"provider_type {kind!r} is not one of {PROVIDER_FITS}, {PROVIDER_COMBINATION}"
    )


def geometry_for_provider(provider: object) -> LayerGeometry:
    """Read the header(s) behind ``provider``; every combined input must share one grid."""
    from maps.engine import FitsError, inspect_plane

    infos = []
    for entry in fits_providers(provider):
        hdu = entry.get("hdu", 0)
        index = entry.get("index")
        if not isinstance(hdu, int) or isinstance(hdu, bool) or hdu < 0:
            raise LayerGeometryError(f"hdu {hdu!r} must be a non-negative integer")
        if index is not None and (
            not isinstance(index, int) or isinstance(index, bool) or index < 0
        ):
            raise LayerGeometryError(f"index {index!r} must be a non-negative integer or null")
        filename = entry.get("filename")
        try:
            path = resolve_data_path(filename)
        except DataPathError as error:
            # Its message names the file already, shortened when absurdly long.
            raise LayerGeometryError(str(error)) from None
        try:
            infos.append(inspect_plane(str(path), hdu=hdu, index=index))
        except FitsError as error:
            raise LayerGeometryError(f"{shown_name(filename)}: {error}") from None
    first = infos[0]
    for other in infos[1:]:
        if other.shape != first.shape or other.grid != first.grid:
            raise LayerGeometryError(
                f"{other.path}: pixel grid {other.shape} differs from {first.path} {first.shape}"
            )
    return LayerGeometry(
        tile_size=first.grid.tile_size,
        number_of_levels=first.grid.number_of_levels,
        bounding_left=first.bounding_left,
        bounding_right=first.bounding_right,
        bounding_top=first.bounding_top,
        bounding_bottom=first.bounding_bottom,
    )
