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
# Zoom levels served at most. A 1024-pixel tile at level 19 has 1.2 milliarcsecond
# pixels, far finer than any CAR sky map; a finer map is refused when it is
# opened, naming its CDELT. The cost of a tile does not grow with the number of
# levels (the engine only touches the part of a tile that overlaps the map), so
# this is generous: a 1e-6 degree (3.6 mas) map needs 19 levels and is served.
MAX_LEVELS = 20
# Candidates beyond a map's edges when locating it on the grid: rounding of
# the edge coordinates moves them by less than one pixel.
COVER_MARGIN_PIXELS = 3
# A grid pixel centre on the boundary between two map pixels (every grid pixel
# of a map whose pixel centres sit on multiples of the pixel size, as pixell
# writes them) must show the same neighbour everywhere. Rounding alone left the
# choice to float noise: on a 0.5 arcmin ACT header, floor(c + 0.5) took one
# neighbour for 3588 of the 43200 grid columns and the other for 39611, so a
# tile repeated some pixels and dropped others. Coordinates this close to a
# half-integer are ties; float noise is ~1e-16 of the sky's 4e5 columns.
TIE_TOLERANCE_PIXELS = 1e-6


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


def _practical_grid(sky_rows: float) -> TileGrid | None:
    """The fewest levels whose tiles fit in ``MAX_TILE_SIZE`` with the deepest level at native
    resolution or finer; None when that takes more than ``MAX_LEVELS``."""
    for deepest in range(MAX_LEVELS):
        tile_size = math.ceil(sky_rows / 2**deepest * (1 - WHOLE_RELATIVE_TOLERANCE))
        if tile_size <= MAX_TILE_SIZE:
            return TileGrid(tile_size=max(tile_size, 1), number_of_levels=deepest + 1)
    return None


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

    Raises
    ------
    OutOfRangeError
        A pixel scale that is not a positive finite number of degrees, or so
        fine that the grid would need more than ``MAX_LEVELS`` levels.
    """
    scales = (abs(float(pixel_scale_ra_deg)), abs(float(pixel_scale_dec_deg)))
    if not all(math.isfinite(s) and s > 0 for s in scales) or scales[0] > 360 or scales[1] > 180:
        raise OutOfRangeError(
            f"pixel scale ({pixel_scale_ra_deg}, {pixel_scale_dec_deg}) deg is not usable"
        )
    sky_columns, sky_rows = 360.0 / scales[0], 180.0 / scales[1]
    # The deepest level must resolve the finer of the two axes.
    finest_rows = max(sky_columns / 2, sky_rows)
    grid = None
    if math.isfinite(finest_rows):
        nx, ny = _whole(sky_columns), _whole(sky_rows)
        grid = _original_grid(nx, ny) if nx is not None and ny is not None else None
        if grid is None or not _fine_enough(grid, sky_rows=finest_rows):
            grid = _practical_grid(finest_rows)
    if grid is None or grid.number_of_levels > MAX_LEVELS:
        finest_deg = 180 / (MAX_TILE_SIZE * 2 ** (MAX_LEVELS - 1))
        raise OutOfRangeError(
            f"pixel scale CDELT1 = {pixel_scale_ra_deg}, CDELT2 = {pixel_scale_dec_deg} deg "
            f"needs more than {MAX_LEVELS} zoom levels: pixels finer than {finest_deg:.2g} deg "
            "are not served"
        )
    return grid


@dataclass(frozen=True, kw_only=True)
class MapCover:
    """Where a map lies on the deepest-level grid: rows ``first_row:stop_row`` and the
    cyclic range of ``column_count`` columns from ``first_column`` (``PixelGrid.cover``)."""

    first_row: int
    stop_row: int
    first_column: int
    column_count: int
    sky_columns: int

    def in_tile(self, *, grid: TileGrid, level: int, x: int, y: int) -> tuple[int, int, int, int]:
        """``(row0, row1, col0, col1)``: the grid rows and columns of tile ``(level, x, y)``
        that may hold map pixels, offsets from the tile's south-west corner.

        Only these need reading: for a 32-pixel map at level 0 of a 19-level
        grid, a few dozen of the tile's 1.8e8 x 1.8e8 grid pixels. When the
        map's column range enters the tile twice (a nearly full-sky map), the
        columns between the two parts are included. Empty when ``row0 == row1``.
        """
        width = grid.tile_size * grid.block_factor(level)
        row0 = max(self.first_row, y * width) - y * width
        row1 = min(self.stop_row, (y + 1) * width) - y * width
        tile_first, tile_stop = x * width, (x + 1) * width
        pieces = [(self.first_column, self.first_column + self.column_count)]
        if pieces[0][1] > self.sky_columns:
            pieces = [(self.first_column, self.sky_columns), (0, pieces[0][1] - self.sky_columns)]
        inside = [
            (max(start, tile_first), min(stop, tile_stop))
            for start, stop in pieces
            if max(start, tile_first) < min(stop, tile_stop)
        ]
        if row0 >= row1 or not inside:
            return 0, 0, 0, 0
        col0 = min(start for start, _ in inside) - tile_first
        col1 = max(stop for _, stop in inside) - tile_first
        return row0, row1, col0, col1


def cyclic_cover(present: np.ndarray) -> tuple[int, int]:
    """``(start, width)`` of the shortest cyclic range holding every True of ``present``."""
    count = len(present)
    positions = np.flatnonzero(present)
    if len(positions) == 0:
        return 0, 0
    if len(positions) == count:
        return 0, count
    gaps = np.diff(np.append(positions, positions[0] + count))
    widest = int(np.argmax(gaps))
    start = int(positions[(widest + 1) % len(positions)])
    return start, count - int(gaps[widest]) + 1


def nearest_index(coordinate, *, cdelt: float) -> np.ndarray:
    """The integer nearest to each pixel coordinate; a tie goes to the pixel of larger sky
    coordinate (east for RA, north for Dec), whatever the sign of ``cdelt``."""
    tie = TIE_TOLERANCE_PIXELS if cdelt > 0 else -TIE_TOLERANCE_PIXELS
    return np.floor(np.asarray(coordinate, dtype=np.float64) + 0.5 + tie).astype(np.int64)


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
        return self.wrap_columns(nearest_index(coordinate, cdelt=self.cdelt1))

    def nearest_rows(self, dec_deg) -> np.ndarray:
        rows = nearest_index(self.row_coordinate(dec_deg), cdelt=self.cdelt2)
        return np.where((rows >= 0) & (rows < self.ny), rows, -1)

    def columns_at(self, *, grid: TileGrid, grid_columns) -> np.ndarray:
        """Array columns under deepest-level grid columns (0 at RA -180); -1 off the map."""
        scale_deg = grid.deepest_pixel_scale_deg
        ra_deg = -180.0 + (np.asarray(grid_columns, dtype=np.float64) + 0.5) * scale_deg
        return self.nearest_columns(ra_deg)

    def rows_at(self, *, grid: TileGrid, grid_rows) -> np.ndarray:
        """Array rows under deepest-level grid rows (0 at Dec -90); -1 off the map."""
        scale_deg = grid.deepest_pixel_scale_deg
        dec_deg = -90.0 + (np.asarray(grid_rows, dtype=np.float64) + 0.5) * scale_deg
        return self.nearest_rows(dec_deg)

    def pixel_offset_deg(self, *, grid: TileGrid) -> tuple[float, float]:
        """``(ra_offset_deg, dec_offset_deg)``: from the centre of a deepest-level grid pixel
        to the centre of the map pixel ``columns_at`` / ``rows_at`` put in it.

        The same for every grid pixel on an axis where the grid's pixel scale
        is the map's (the sky is a whole number of map pixels, as for every
        ACT and SO map): a tile drawn shifted by it covers each map pixel's own
        footprint. Between ``-scale / 2`` and ``+scale / 2``; ``+scale / 2``
        for pixell's patch geometry (centres on multiples of the pixel size,
        ties go east and north), 0 when the grid's pixel edges are the map's.
        0 on an axis where the grid is finer than the map (a scale that does
        not divide the sky): no single shift helps there, and each grid pixel
        shows the map pixel nearest its centre, so map pixel edges are drawn
        within half a grid pixel of where they are.
        """
        scale_deg = grid.deepest_pixel_scale_deg
        offsets = []
        for cdelt, coordinate_of, start_deg in (
            (self.cdelt1, self.column_coordinate, -180.0),
            (self.cdelt2, self.row_coordinate, -90.0),
        ):
            if not math.isclose(abs(cdelt), scale_deg, rel_tol=WHOLE_RELATIVE_TOLERANCE):
                offsets.append(0.0)
                continue
            # Any grid pixel will do; one near the reference pixel keeps the float error small.
            reference_deg = self.crval1 if cdelt is self.cdelt1 else self.crval2
            centre_deg = start_deg + (math.floor((reference_deg - start_deg) / scale_deg) + 0.5) * (
                scale_deg
            )
            coordinate = float(coordinate_of(centre_deg))
            index = int(nearest_index(coordinate, cdelt=cdelt))
            offsets.append((index - coordinate) * cdelt)
        return offsets[0], offsets[1]

    def tile_columns(self, *, grid: TileGrid, level: int, x: int) -> np.ndarray:
        """Array columns of the deepest-level pixels under tile column ``x``, west to east."""
        width = grid.tile_size * grid.block_factor(level)
        return self.columns_at(grid=grid, grid_columns=np.arange(x * width, (x + 1) * width))

    def tile_rows(self, *, grid: TileGrid, level: int, y: int) -> np.ndarray:
        """Array rows of the deepest-level pixels under tile row ``y``, south to north."""
        height = grid.tile_size * grid.block_factor(level)
        return self.rows_at(grid=grid, grid_rows=np.arange(y * height, (y + 1) * height))

    # The two ``covered_*`` methods locate the map on the deepest-level grid
    # without arrays the size of the sky: a 1e-6 degree map has 3.6e8 grid
    # columns (2.9 GB of float64), while the map itself may be 32 pixels wide.
    # They estimate the range from the map's edges, widened by a few pixels,
    # then let ``rows_at`` / ``columns_at`` decide each candidate exactly.

    def cover(self, *, grid: TileGrid) -> MapCover:
        """Where the map lies on ``grid``'s deepest level (costs about the map's width)."""
        first_row, stop_row = self.covered_grid_rows(grid=grid)
        first_column, column_count = self.covered_grid_columns(grid=grid)
        return MapCover(
            first_row=first_row,
            stop_row=stop_row,
            first_column=first_column,
            column_count=column_count,
            sky_columns=2 * grid.tile_size * 2**grid.deepest_level,
        )

    def covered_grid_rows(self, *, grid: TileGrid) -> tuple[int, int]:
        """``(first, stop)``: the deepest-level grid rows holding a map row (empty: equal)."""
        sky_rows = grid.tile_size * 2**grid.deepest_level
        edges = (self.dec_of_row(np.array([-0.5, self.ny - 0.5])) + 90.0) / (
            grid.deepest_pixel_scale_deg
        )
        low = max(0, math.floor(edges.min()) - COVER_MARGIN_PIXELS)
        high = min(sky_rows, math.ceil(edges.max()) + COVER_MARGIN_PIXELS)
        if low >= high:
            return 0, 0
        present = np.flatnonzero(self.rows_at(grid=grid, grid_rows=np.arange(low, high)) >= 0)
        if not len(present):
            return 0, 0
        return low + int(present[0]), low + int(present[-1]) + 1

    def covered_grid_columns(self, *, grid: TileGrid) -> tuple[int, int]:
        """``(first, count)``: the shortest cyclic range of deepest-level grid columns
        (modulo the sky's ``2 * tile_size * 2^deepest``) holding every map column."""
        sky_columns = 2 * grid.tile_size * 2**grid.deepest_level
        scale_deg = grid.deepest_pixel_scale_deg
        width = self.nx * abs(self.cdelt1) / scale_deg + 2 * COVER_MARGIN_PIXELS
        if width >= sky_columns:
            present = self.columns_at(grid=grid, grid_columns=np.arange(sky_columns)) >= 0
            return cyclic_cover(present)
        west_ra_deg = self.ra_of_column(-0.5 if self.cdelt1 > 0 else self.nx - 0.5)
        start = math.floor((float(west_ra_deg) + 180.0) / scale_deg) - COVER_MARGIN_PIXELS
        candidates = np.mod(start + np.arange(math.ceil(width)), sky_columns)
        present = np.flatnonzero(self.columns_at(grid=grid, grid_columns=candidates) >= 0)
        if not len(present):
            return 0, 0
        return int(candidates[present[0]]), int(present[-1] - present[0]) + 1
