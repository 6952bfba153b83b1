"""The numerical engine: pure numpy/astropy, never imports Django.

Everything takes values as arguments (no settings); errors are the classes
in ``maps.engine.errors`` so the web layer can map them to statuses:
``FitsError`` (unusable file/plane, one-line ``str()`` without the path,
``.path``, ``.key``: ``"hdu"``/``"index"`` when the reason is about that key),
``FileChangedError`` (a ``FitsError``: the file was rewritten or
truncated during a read; retry), ``NoDataError`` (no finite pixel: 404), ``OutOfRangeError``
(also a ``ValueError``: bad level/x/y or a request over a cap: 4xx).

Geometry (``maps.engine.geometry``)
    ``TileGrid(tile_size, number_of_levels)``
    ``tile_grid_for(*, pixel_scale_ra_deg, pixel_scale_dec_deg) -> TileGrid``
    ``TileIndex(level, x, y)``
    ``resolve_tile(*, grid, level, x, y, flip) -> TileIndex`` (validates, applies flip remap)
    ``tile_bounds_deg(*, index) -> (ra_min_deg, ra_max_deg, dec_min_deg, dec_max_deg)``
    ``PixelGrid``: the linear CAR grid of a map (``PlaneInfo.pixel_grid``).

FITS files (``maps.engine.fits_source``)
    ``PlaneInfo``: path, hdu, index, shape (ny, nx), dtype, header (normalised
    2-D copy), bunit, pixel_scale_ra_deg (signed CDELT1), pixel_scale_dec_deg,
    grid, pixel_grid, bounding_left/right/top/bottom (deg), n_planes,
    extname, compressed.
    ``inspect_plane(path, *, hdu=0, index=None) -> PlaneInfo`` (headers only)
    ``scan_file(path) -> list[PlaneInfo]`` (every usable plane)
    ``open_plane(path, *, hdu=0, index=None) -> PlaneReader`` (cached per file
    version; ``.info``, ``.read(*, y0, y1, x0, x1) -> float32``)

Providers (``maps.engine.providers``): the one owner of the provider format
    ``parse_provider(value, *, field="provider") -> FitsProvider(filename, hdu,
    index) | CombinationProvider(inputs, function)`` (frozen; ``.to_dict()`` is
    the stored form; a missing ``provider_type`` is ``fits``, a null ``hdu`` 0);
    every problem is a ``ProviderError`` (a ``FitsError``) with ``.field``
    (``"provider.providers[1].hdu"``) and ``.message``.
    ``check_same_grid(planes, *, field)``: combined inputs must have one shape,
    one WCS and one tile grid. ``filenames(value)`` never raises.

HEALPix (``maps.engine.healpix``, ``maps.engine.healpix_source``)
    ``HealpixProvider(filename, hdu=1, field=0)`` (``provider_type`` ``healpix``;
    ``field`` a column name or 0-based position, PIXEL excluded).
    ``inspect_healpix(path, *, hdu, field) -> HealpixInfo`` (nside, ordering,
    explicit, frame C/G/E, unit, stokes/partner; ``FitsError`` with ``.key``
    ``"hdu"``/``"field"``), ``healpix_plane(...) -> PlaneInfo`` of the virtual
    full-sky CAR plane it is served as (256-pixel tiles, deepest pixels a half
    to a quarter of the HEALPix pixel), ``open_healpix(...) -> HealpixReader``
    (a ``PlaneReader`` look-alike). ``source_from_provider`` gives a
    ``HealpixSource``: native tiles are the HEALPix pixel under each tile pixel
    centre, coarse tiles NaN-aware downgraded means (pyramid = overview).

Pixel sources (``maps.engine.sources``)
    ``source_from_provider(provider, *, path_resolver=None) -> PixelSource``
    for SPEC section 3 provider dicts (``fits`` and ``fits_combination``;
    ``COMBINATION_FUNCTIONS``), cached per process and per file version;
    a malformed provider or unusable file raises ``FitsError``. A
    ``PixelSource`` (thread-safe) has ``.info`` (PlaneInfo of the result),
    ``.version`` (a string that changes when any input file changes: put it
    in cache keys), and

    - ``.tile(*, index, flip=False, method="mean") -> ndarray`` float32
      ``(tile_size, tile_size)``, row 0 the north edge, RA increasing to the
      right (mirrored when ``flip``; pass the x remapped by ``resolve_tile``),
      NaN where no data; ``method`` in ``TILE_METHODS``: ``"mean"``
      (NaN-aware block mean) or ``"stride"`` (middle pixel of each block).
      ``NoDataError`` off the map or without a finite pixel.
    - ``.start_overview()`` (queues the background build, returns at once),
      ``.overview_ready``, ``.overview_nbytes``; ``.build_overview()`` builds
      in the calling thread. Until ready, coarse tiles are computed from the
      file (correct, slower).
    - ``.cutout(*, left_ra_deg, right_ra_deg, top_dec_deg, bottom_dec_deg,
      max_pixels) -> Cutout`` with ``.data`` (float32, FITS row order: row 0
      is the south edge, Dec increasing with row), ``.header`` (CAR WCS,
      BUNIT, RADESYS/EQUINOX when known) and ``.image`` (the same pixels with
      row 0 the north edge, for PNG/JPEG/WebP). RA runs the way the source
      map's CDELT1 says (ACT: increasing to the left). The RA range is the
      shorter arc between left and right, whichever order they come in
      (170 to -170 is 20 degrees across RA 180); -180 to 180 is the whole
      circle. ``OutOfRangeError`` for bad bounds or over ``max_pixels``
      (checked before reading), ``NoDataError`` off the map.
    - ``.aperture(*, ra_deg, dec_deg, radius_arcmin, max_radius_arcmin)
      -> dict(mean, std, min, max, n_pixels)`` over pixels whose centres lie
      within the great-circle radius.
    - ``.histogram_sample(*, max_values=4_000_000) -> ndarray`` 1-D float32
      finite native values on an even grid over the whole plane.
    - ``.read_window(*, y0, y1, x0, x1)`` and ``.take(*, rows, cols)``: the
      raw float32 pixels (combined, for a combination).

Derived maps and polarisation (``maps.engine.derived``, ``maps.engine.polarisation``)
    ``DerivedSpec(op, scale_a, scale_b, convention, debias, sigma)`` (``op`` in
    ``DERIVED_OPS``: difference, ratio, sum, p, angle; ``OutOfRangeError`` for
    anything invalid); ``check_derivable(a, b, *, name_a, name_b)`` refuses
    sources on different grids naming both; ``derived_source(a, b, spec)`` a
    ``PixelSource`` computing ``spec`` on the inputs' native pixels, shared per
    spec and input versions. ``polarised_intensity``, ``polarisation_angle_deg``
    (IAU or COSMO Q/U, degrees from north through east in (-90, 90]),
    ``debiased_intensity`` and ``convention_from_header`` (``POLCCONV``).
"""

from maps.engine.combine import COMBINATION_FUNCTIONS
from maps.engine.cutout import Cutout
from maps.engine.errors import (
    EngineError,
    FileChangedError,
    FitsError,
    NoDataError,
    OutOfRangeError,
)
from maps.engine.fits_source import (
    PlaneInfo,
    PlaneReader,
    inspect_plane,
    open_plane,
    scan_file,
)
from maps.engine.geometry import (
    PixelGrid,
    TileGrid,
    TileIndex,
    resolve_tile,
    tile_bounds_deg,
    tile_grid_for,
)
from maps.engine.healpix import HealpixInfo, healpix_plane, inspect_healpix, open_healpix
from maps.engine.providers import (
    CombinationProvider,
    FitsProvider,
    HealpixProvider,
    ProviderError,
    check_same_grid,
    parse_provider,
)
from maps.engine.sources import TILE_METHODS, PixelSource, source_from_provider

__all__ = [
    "COMBINATION_FUNCTIONS",
    "TILE_METHODS",
    "CombinationProvider",
    "Cutout",
    "EngineError",
    "FileChangedError",
    "FitsError",
    "FitsProvider",
    "HealpixInfo",
    "HealpixProvider",
    "NoDataError",
    "OutOfRangeError",
    "PixelGrid",
    "PixelSource",
    "PlaneInfo",
    "PlaneReader",
    "ProviderError",
    "TileGrid",
    "TileIndex",
    "check_same_grid",
    "healpix_plane",
    "inspect_healpix",
    "inspect_plane",
    "open_healpix",
    "open_plane",
    "parse_provider",
    "resolve_tile",
    "scan_file",
    "source_from_provider",
    "tile_bounds_deg",
    "tile_grid_for",
]
