"""A layer's derived fields (tile grid and bounds), read from the FITS headers its provider names.

``Layer.save()`` reads no file: whoever sets or changes a provider refreshes
the derived fields explicitly, the importer and the admin form through
``read_provider``, everything else (the admin's re-read action, tests,
benchmarks) through ``refresh_layer_geometry``.
"""

import dataclasses

from django.core.exceptions import ValidationError

from maps.engine import FitsError, PlaneInfo, inspect_plane
from maps.engine.healpix import healpix_plane
from maps.engine.providers import (
    CombinationProvider,
    HealpixProvider,
    Provider,
    ProviderError,
    check_same_grid,
    parse_provider,
)
from maps.paths import DataPathError, resolve_data_path, shown_name


def read_provider(
    provider: Provider, *, base_dir=None, inspect=inspect_plane, field: str = "provider"
) -> tuple[Provider, PlaneInfo]:
    """Resolve and inspect every file of ``provider``.

    Returns the provider with each filename made absolute and symlink-free
    (``resolve_data_path``, relative names against ``base_dir``) and the
    plane of its first input, which every combined input shares
    (``check_same_grid``). ``inspect(path, *, hdu, index)`` reads a header;
    the importer passes a memo.

    Raises ``ProviderError`` listing a problem for every input that cannot be
    used, each on the field it is about (``provider.providers[1].index``).
    """
    problems, resolved, planes = [], [], []
    for where, entry in provider.located_inputs(field):
        try:
            path = str(resolve_data_path(entry.filename, base_dir=base_dir))
        except DataPathError as error:
            # Its message names the file already, shortened when absurdly long.
            problems.append((f"{where}.filename", str(error)))
            continue
        try:
            if isinstance(entry, HealpixProvider):
                planes.append(
                    healpix_plane(path, hdu=entry.hdu, field=entry.field, scale=entry.scale)
                )
            else:
                planes.append(inspect(path, hdu=entry.hdu, index=entry.index))
        except FitsError as error:
            problems.append((f"{where}.{error.key or 'filename'}", f"{shown_name(path)}: {error}"))
            continue
        resolved.append(dataclasses.replace(entry, filename=path))
    if problems:
        (first_field, first_message), *more = problems
        raise ProviderError(first_field, first_message, more=more)
    check_same_grid(planes, field=field)
    if isinstance(provider, CombinationProvider):
        return dataclasses.replace(provider, inputs=tuple(resolved)), planes[0]
    return resolved[0], planes[0]


def derived_fields(plane: PlaneInfo) -> dict:
    """The value of each of ``maps.models.DERIVED_LAYER_FIELDS`` for a layer showing ``plane``."""
    offset_ra_deg, offset_dec_deg = plane.pixel_grid.pixel_offset_deg(grid=plane.grid)
    return {
        "tile_size": plane.grid.tile_size,
        "number_of_levels": plane.grid.number_of_levels,
        "bounding_left": plane.bounding_left,
        "bounding_right": plane.bounding_right,
        "bounding_top": plane.bounding_top,
        "bounding_bottom": plane.bounding_bottom,
        "pixel_scale_ra_deg": abs(plane.pixel_grid.cdelt1),
        "pixel_scale_dec_deg": abs(plane.pixel_grid.cdelt2),
        "pixel_offset_ra_deg": offset_ra_deg,
        "pixel_offset_dec_deg": offset_dec_deg,
    }


def refresh_layer_geometry(layer) -> None:
    """Re-read the FITS header(s) behind ``layer.provider`` and set its derived fields.

    Does not save. Raises ``ValidationError`` on ``provider``, one
    ``"<field>: <message>"`` line per problem, when the provider is malformed
    or a file cannot be used.
    """
    try:
        _, plane = read_provider(parse_provider(layer.provider))
    except ProviderError as error:
        lines = [f"{field}: {message}" for field, message in error.problems]
        raise ValidationError({"provider": lines}) from None
    for name, value in derived_fields(plane).items():
        setattr(layer, name, value)
