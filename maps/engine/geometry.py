"""The tile grid (SPEC section 5) and the linear CAR pixel grid of a map.

The tile grid is global: at level ``z`` the sky is ``2^(z+1)`` tiles across
(RA -180 to 180, increasing with ``x``) and ``2^z`` down (Dec -90 to 90,
increasing with ``y``), each ``180 / 2^z`` degrees on a side. The deepest
level has the map's native resolution (or slightly finer when the map's
pixel scale does not divide the sky).

A map's own pixels follow its header: ``PixelGrid`` turns RA/Dec into
0-based pixel coordinates (pixel centres at integers) and back, wrapping RA
so that a full-sky map is continuous across its seam.
"""

import math
from dataclasses import dataclass

import numpy as np

from maps.engine.errors import OutOfRangeError

STANDARD_TILE_SIZE = 256
# SPEC section 5: start from the sky height in pixels and halve while even and above this.
HALVING_FLOOR = 512
MAX_TILE_SIZE = 1024
# Whole-sky pixel counts this close (relatively) to an integer are that integer:
# headers store CDELT with limited digits (0.00833333 for 0.5 arcmin).
WHOLE_RELATIVE_TOLERANCE = 1e-6
# A pixel finer than this would need more levels than any viewer can zoom.
MAX_LEVELS = 30


@dataclass(frozen=True, kw_only=True)
class TileGrid:
    """Square tiles of ``tile_size`` pixels; levels ``0 .. number_of_levels - 1``."""

    tile_size: int
    number_of_levels: int

    @property
    def deepest_level(self) -> int:
        return self.number_of_levels - 1

    @property
    def deepest_pixel_scale_deg(self) -> float:
        """Pixel scale of the deepest level (native resolution or finer)."""
        return 180.0 / (self.tile_size * 2**self.deepest_level)

    def block_factor(self, level: int) -> int:
        """Native (deepest-level) pixels per tile pixel along each axis at ``level``."""
        return 2 ** (self.deepest_level - level)


@dataclass(frozen=True, kw_only=True)
class TileIndex:
    """A tile of the global grid, after any flip remapping."""

    level: int
    x: int
    y: int


def _whole(value: float) -> int | None:
    nearest = round(value)
    if nearest >= 1 and abs(value - nearest) <= WHOLE_RELATIVE_TOLERANCE * value:
        return int(nearest)
    return None


def _fine_enough(grid: TileGrid, *, sky_rows: float) -> bool:
    """Whether the deepest level has at least the native number of pixels per sky height."""
    if grid.number_of_levels < 1 or grid.tile_size > MAX_TILE_SIZE:
        return False
    return grid.tile_size * 2**grid.deepest_level >= sky_rows * (1 - WHOLE_RELATIVE_TOLERANCE)


def _original_grid(nx: int, ny: int) -> TileGrid | None:
    """The original TileMaker's choice, when the sky divides evenly."""
    if nx % STANDARD_TILE_SIZE == 0 and ny % STANDARD_TILE_SIZE == 0:
        ratio = max(nx, ny) // STANDARD_TILE_SIZE
        if ratio & (ratio - 1) == 0:
            return TileGrid(tile_size=STANDARD_TILE_SIZE, number_of_levels=ratio.bit_length() - 1)
    tile_size = ny
    while tile_size % 2 == 0 and tile_size > HALVING_FLOOR:
        tile_size //= 2
    return TileGrid(
        tile_size=tile_size, number_of_levels=(max(nx, ny) // tile_size).bit_length() - 1
    )


def _practical_grid(sky_rows: float) -> TileGrid:
    """The fewest levels whose tiles fit in ``MAX_TILE_SIZE`` with the deepest level at native
    resolution or finer."""
    for deepest in range(MAX_LEVELS):
        tile_size = math.ceil(sky_rows / 2**deepest * (1 - WHOLE_RELATIVE_TOLERANCE))
        if tile_size <= MAX_TILE_SIZE:
            return TileGrid(tile_size=max(tile_size, 1), number_of_levels=deepest + 1)
    raise OutOfRangeError(f"pixel scale too fine for {MAX_LEVELS} zoom levels")


def tile_grid_for(*, pixel_scale_ra_deg: float, pixel_scale_dec_deg: float) -> TileGrid:
    """Choose the tile size and number of levels for a map (SPEC section 5).

    Parameters
    ----------
    pixel_scale_ra_deg, pixel_scale_dec_deg : float
        CDELT1 and CDELT2 in degrees; the sign does not matter.

    Returns
    -------
    TileGrid
        The original TileMaker's grid when the whole sky is a whole number of
        pixels on both axes (``NX = 360/|CDELT1|``, ``NY = 180/|CDELT2|``),
        otherwise the smallest number of levels with tiles of at most
        ``MAX_TILE_SIZE`` pixels whose deepest level is at least as fine as
        the map.
    """
    scales = (abs(float(pixel_scale_ra_deg)), abs(float(pixel_scale_dec_deg)))
    if not all(math.isfinite(s) and s > 0 for s in scales) or scales[0] > 360 or scales[1] > 180:
        raise OutOfRangeError(
            f"pixel scale ({pixel_scale_ra_deg}, {pixel_scale_dec_deg}) deg is not usable"
        )
    sky_columns, sky_rows = 360.0 / scales[0], 180.0 / scales[1]
    # The deepest level must resolve the finer of the two axes.
    finest_rows = max(sky_columns / 2, sky_rows)
    nx, ny = _whole(sky_columns), _whole(sky_rows)
    if nx is not None and ny is not None:
        grid = _original_grid(nx, ny)
        if _fine_enough(grid, sky_rows=finest_rows):
            return grid
    return _practical_grid(finest_rows)


def _check_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise OutOfRangeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def resolve_tile(*, grid: TileGrid, level: int, x: int, y: int, flip: bool) -> TileIndex:
    """Validate a requested tile and apply the flip remapping of SPEC section 5.

    With ``flip`` the viewer shows RA decreasing to the right; for each level
    the requested ``x`` is mirrored within each half of the sky, and the
    caller mirrors the tile image left-right.

    Raises
    ------
    OutOfRangeError
        When ``level``, ``x`` or ``y`` is outside the grid. The level is
        checked first, so absurd levels cost nothing.
    """
    level, x, y = _check_int("level", level), _check_int("x", x), _check_int("y", y)
    if not 0 <= level < grid.number_of_levels:
        raise OutOfRangeError(f"level {level} is outside 0..{grid.number_of_levels - 1}")
    across, down = 2 ** (level + 1), 2**level
    if not 0 <= x < across:
        raise OutOfRangeError(f"x {x} is outside 0..{across - 1} at level {level}")
    if not 0 <= y < down:
        raise OutOfRangeError(f"y {y} is outside 0..{down - 1} at level {level}")
    if flip:
        half = down
        x = half - 1 - x if x < half else 3 * half - 1 - x
    return TileIndex(level=level, x=x, y=y)


def tile_bounds_deg(*, index: TileIndex) -> tuple[float, float, float, float]:
    """``(ra_min_deg, ra_max_deg, dec_min_deg, dec_max_deg)`` covered by a tile."""
    size_deg = 180.0 / 2**index.level
    ra_min = -180.0 + index.x * size_deg
    dec_min = -90.0 + index.y * size_deg
    return ra_min, ra_min + size_deg, dec_min, dec_min + size_deg


@dataclass(frozen=True, kw_only=True)
class PixelGrid:
    """The linear plate-carree pixel grid of a map, from its (normalised) header.

    Pixel coordinates are 0-based with pixel centres at integers, so column
    ``c`` spans ``c - 0.5 .. c + 0.5``. RA and Dec are linear in them:
    ``ra = crval1 + (c + 1 - crpix1) * cdelt1`` (FITS pixels are 1-based).
    """

    nx: int
    ny: int
    crpix1: float
    crval1: float
    cdelt1: float
    crpix2: float
    crval2: float
    cdelt2: float

    @property
    def period_columns(self) -> float:
        """Columns per 360 degrees of RA."""
        return 360.0 / abs(self.cdelt1)

    @property
    def whole_period(self) -> int | None:
        """``period_columns`` when it is a whole number, so RA wraps onto whole columns."""
        return _whole(self.period_columns)

    def column_coordinate(self, ra_deg):
        """Unwrapped 0-based column coordinate of RA (any of its 360-degree aliases)."""
        return (np.asarray(ra_deg, dtype=np.float64) - self.crval1) / self.cdelt1 + self.crpix1 - 1

    def row_coordinate(self, dec_deg):
        return (np.asarray(dec_deg, dtype=np.float64) - self.crval2) / self.cdelt2 + self.crpix2 - 1

    def ra_of_column(self, column):
        """RA of an (unwrapped) column coordinate, not reduced to any range."""
        return self.crval1 + (np.asarray(column, dtype=np.float64) + 1 - self.crpix1) * self.cdelt1

    def dec_of_row(self, row):
        return self.crval2 + (np.asarray(row, dtype=np.float64) + 1 - self.crpix2) * self.cdelt2

    def _column_window_start(self) -> float:
        """Left edge of the 360-degree window of column coordinates holding the array.

        The array (``-0.5 .. nx - 0.5``) sits in the middle of the window, so
        RA outside the map falls as far from either edge as possible.
        """
        return -0.5 - max(0.0, (self.period_columns - self.nx) / 2)

    def wrap_columns(self, columns: np.ndarray) -> np.ndarray:
        """Array columns for unwrapped integer columns; -1 where there is no pixel."""
        columns = np.asarray(columns, dtype=np.int64)
        period = self.whole_period
        if period is not None:
            start = math.ceil(self._column_window_start())
            columns = np.mod(columns - start, period) + start
        return np.where((columns >= 0) & (columns < self.nx), columns, -1)

    def nearest_columns(self, ra_deg) -> np.ndarray:
        """The array column nearest to each RA; -1 where the RA is off the map."""
        coordinate = self.column_coordinate(ra_deg)
        if self.whole_period is None:
            start = self._column_window_start()
            coordinate = start + np.mod(coordinate - start, self.period_columns)
        return self.wrap_columns(np.floor(coordinate + 0.5))

    def nearest_rows(self, dec_deg) -> np.ndarray:
        rows = np.floor(self.row_coordinate(dec_deg) + 0.5).astype(np.int64)
        return np.where((rows >= 0) & (rows < self.ny), rows, -1)

    def tile_columns(self, *, grid: TileGrid, level: int, x: int) -> np.ndarray:
        """Array columns of the deepest-level pixels under tile column ``x``, west to east."""
        scale_deg = grid.deepest_pixel_scale_deg
        width = grid.tile_size * grid.block_factor(level)
        first = x * width
        ra_deg = -180.0 + (np.arange(first, first + width, dtype=np.float64) + 0.5) * scale_deg
        return self.nearest_columns(ra_deg)

    def tile_rows(self, *, grid: TileGrid, level: int, y: int) -> np.ndarray:
        """Array rows of the deepest-level pixels under tile row ``y``, south to north."""
        scale_deg = grid.deepest_pixel_scale_deg
        height = grid.tile_size * grid.block_factor(level)
        first = y * height
        dec_deg = -90.0 + (np.arange(first, first + height, dtype=np.float64) + 0.5) * scale_deg
        return self.nearest_rows(dec_deg)
