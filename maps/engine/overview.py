"""A small in-memory summary of a plane for the coarse zoom levels.

A level-0 tile of an ACT map summarises half the plane; computing it from
the file takes seconds. The overview keeps, for every ``FACTOR`` x
``FACTOR`` block of the global deepest-level grid that touches the map,
the sum and count of its finite pixels (about 35 MB for an ACT plane),
built in one streaming pass over the file, then halves that in memory
level by level (2x2 blocks) up to level 0's block size, a third more
memory. A tile of any level whose block factor is ``FACTOR`` or more is
then one small gather from the matching level, and exact: sums and counts
add, where means of means would not.
"""

from dataclasses import dataclass

import numpy as np

from maps.engine.downsample import ReadWindow, add_blocks, block_sums, gather, mean_from_sums
from maps.engine.errors import OutOfRangeError
from maps.engine.geometry import PixelGrid, TileGrid

FACTOR = 8
# Pixels read per streaming step: large enough to amortise per-call costs,
# small enough to stay in cache-friendly, bounded memory.
CHUNK_PIXELS = 4_000_000
# Deepest-level grid pixels an overview may summarise: it then holds at most
# 2^34 / 64 blocks of 5 bytes, plus a third for the coarser levels (1.8 GB),
# and its size follows the map's own pixel count (an ACT plane covers 4.5e8:
# 35 MB). Beyond this (a map tens of times larger than an ACT plane, or with
# very unequal CDELT1 and CDELT2) coarse tiles are computed from the file.
MAX_SOURCE_PIXELS = 2**34


@dataclass(frozen=True, kw_only=True)
class OverviewLevel:
    """Block sums and counts over a band of rows and a cyclic range of columns.

    Block row ``first_row + i`` and column ``(first_col + j) % sky_cols`` of
    the global grid (in blocks of ``factor`` deepest-level pixels) are
    stored at ``sums[i, j]``, rows south to north, columns west to east.
    """

    factor: int
    first_row: int
    first_col: int
    sky_cols: int
    sums: np.ndarray
    counts: np.ndarray

    @property
    def nbytes(self) -> int:
        return self.sums.nbytes + self.counts.nbytes

    def stored_rows(self, rows: np.ndarray) -> np.ndarray:
        stored = rows - self.first_row
        return np.where((stored >= 0) & (stored < self.sums.shape[0]), stored, -1)

    def stored_cols(self, cols: np.ndarray) -> np.ndarray:
        stored = np.mod(cols - self.first_col, self.sky_cols)
        return np.where(stored < self.sums.shape[1], stored, -1)

    def gather(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Sums and counts of the global blocks ``rows`` x ``cols`` (zero off the map)."""
        rows, cols = self.stored_rows(rows), self.stored_cols(cols)
        sums = gather(_window(self.sums), rows, cols, fill=0, dtype=np.float32)
        counts = gather(_window(self.counts), rows, cols, fill=0, dtype=self.counts.dtype)
        return sums, counts

    def halved(self) -> "OverviewLevel":
        """The next level, with blocks twice as large on each side."""
        first_row = self.first_row // 2
        row_count = (self.first_row + self.sums.shape[0] - 1) // 2 + 1 - first_row
        sky_cols = self.sky_cols // 2
        if self.sums.shape[1] == self.sky_cols:
            first_col, col_count = 0, sky_cols
        else:
            first_col = self.first_col // 2
            col_count = min(
                (self.first_col + self.sums.shape[1] - 1) // 2 + 1 - first_col, sky_cols
            )
        sums, counts = self.gather(
            2 * first_row + np.arange(2 * row_count),
            (2 * first_col + np.arange(2 * col_count)) % self.sky_cols,
        )
        factor = 2 * self.factor
        return OverviewLevel(
            factor=factor,
            first_row=first_row,
            first_col=first_col,
            sky_cols=sky_cols,
            sums=add_blocks(sums, 2),
            counts=add_blocks(counts, 2, dtype=_count_dtype(factor)),
        )


@dataclass(frozen=True)
class Overview:
    """Overview levels with block factors ``FACTOR``, ``2 * FACTOR``, ... up to level 0's."""

    levels: tuple[OverviewLevel, ...]

    @property
    def factor(self) -> int:
        return self.levels[0].factor

    @property
    def nbytes(self) -> int:
        return sum(level.nbytes for level in self.levels)

    def tile(self, *, grid: TileGrid, level: int, x: int, y: int, flip: bool) -> np.ndarray:
        """A tile (north up, mirrored when ``flip``) of NaN-aware block means."""
        factor = grid.block_factor(level)
        stored = max(
            (candidate for candidate in self.levels if factor % candidate.factor == 0),
            key=lambda candidate: candidate.factor,
        )
        per_pixel = factor // stored.factor
        span = grid.tile_size * per_pixel
        cols = x * span + np.arange(span)
        sums, counts = stored.gather(
            (y * span + np.arange(span))[::-1], cols[::-1] if flip else cols
        )
        if per_pixel > 1:
            sums, counts = (
                add_blocks(sums, per_pixel),
                add_blocks(counts, per_pixel, dtype=np.int64),
            )
        return mean_from_sums(sums, counts)


def _count_dtype(factor: int):
    return np.min_scalar_type(factor * factor)


def _window(array: np.ndarray) -> ReadWindow:
    def read(*, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        return array[y0:y1, x0:x1]

    return read


def needs_overview(grid: TileGrid) -> bool:
    return grid.block_factor(0) >= FACTOR


def build_overview(*, read: ReadWindow, pixel_grid: PixelGrid, grid: TileGrid) -> Overview:
    """Stream through the plane once and return its overview.

    Parameters
    ----------
    read : callable
        ``read(y0=, y1=, x0=, x1=)`` returning a new float32 window of the plane.
    pixel_grid, grid : PixelGrid, TileGrid
        The plane's pixel grid and tile grid.

    Raises
    ------
    OutOfRangeError
        When the map covers more than ``MAX_SOURCE_PIXELS`` deepest-level grid
        pixels, checked before anything is allocated.
    """
    cover = pixel_grid.cover(grid=grid)
    overview_cols = cover.sky_columns // FACTOR
    first_row = cover.first_row // FACTOR
    row_count = (cover.stop_row - 1) // FACTOR + 1 - first_row
    first_col = cover.first_column // FACTOR
    col_count = (cover.first_column + cover.column_count - 1) // FACTOR + 1 - first_col
    if col_count >= overview_cols:
        first_col, col_count = 0, overview_cols
    source_pixels = row_count * col_count * FACTOR * FACTOR
    if source_pixels > MAX_SOURCE_PIXELS:
        raise OutOfRangeError(
            f"the map covers {source_pixels} grid pixels; an overview summarises at most "
            f"{MAX_SOURCE_PIXELS}"
        )
    cols = pixel_grid.columns_at(
        grid=grid,
        grid_columns=(first_col * FACTOR + np.arange(col_count * FACTOR)) % cover.sky_columns,
    )
    sums = np.zeros((row_count, col_count), dtype=np.float32)
    counts = np.zeros((row_count, col_count), dtype=_count_dtype(FACTOR))
    step = max(1, CHUNK_PIXELS // (len(cols) * FACTOR))
    for start in range(0, row_count, step):
        stop = min(start + step, row_count)
        grid_rows = np.arange((first_row + start) * FACTOR, (first_row + stop) * FACTOR)
        rows = pixel_grid.rows_at(grid=grid, grid_rows=grid_rows)
        if (rows < 0).all():
            continue
        chunk_sums, chunk_counts = block_sums(gather(read, rows, cols), FACTOR)
        sums[start:stop] = chunk_sums
        counts[start:stop] = chunk_counts
    levels = [
        OverviewLevel(
            factor=FACTOR,
            first_row=first_row,
            first_col=first_col,
            sky_cols=overview_cols,
            sums=sums,
            counts=counts,
        )
    ]
    while levels[-1].factor < grid.block_factor(0):
        levels.append(levels[-1].halved())
    return Overview(tuple(levels))
