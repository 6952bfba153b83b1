"""A small in-memory summary of a plane for the coarse zoom levels.

A level-0 tile of an ACT map summarises half the plane; computing it from
the file takes seconds. The overview keeps, for every ``FACTOR`` x
``FACTOR`` block of the global deepest-level grid that touches the map,
the sum and count of its finite pixels (about 35 MB for an ACT plane),
built in one streaming pass over the file. Any level whose block factor is
a multiple of ``FACTOR`` is then assembled from it exactly: sums and counts
add, where means of means would not.
"""

from dataclasses import dataclass

import numpy as np

from maps.engine.downsample import ReadWindow, add_blocks, block_sums, gather, mean_from_sums
from maps.engine.geometry import PixelGrid, TileGrid

FACTOR = 8
# Pixels read per streaming step: large enough to amortise per-call costs,
# small enough to stay in cache-friendly, bounded memory.
CHUNK_PIXELS = 4_000_000


@dataclass(frozen=True, kw_only=True)
class Overview:
    """Block sums and counts over a band of overview rows and a cyclic range of columns.

    Overview row ``first_row + i`` and column ``(first_col + j) % sky_cols``
    of the global grid are stored at ``sums[i, j]`` (rows south to north,
    columns west to east).
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

    def tile(self, *, grid: TileGrid, level: int, x: int, y: int, flip: bool) -> np.ndarray:
        """A tile (north up, mirrored when ``flip``) of NaN-aware block means."""
        per_pixel = grid.block_factor(level) // self.factor
        span = grid.tile_size * per_pixel
        rows = self.stored_rows(y * span + np.arange(span))[::-1]
        cols = self.stored_cols(x * span + np.arange(span))
        if flip:
            cols = cols[::-1]
        sums = gather(_window(self.sums), rows, cols, fill=0, dtype=np.float32)
        counts = gather(_window(self.counts), rows, cols, fill=0, dtype=self.counts.dtype)
        return mean_from_sums(
            add_blocks(sums, per_pixel), add_blocks(counts, per_pixel, dtype=np.int32)
        )


def _window(array: np.ndarray) -> ReadWindow:
    def read(*, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        return array[y0:y1, x0:x1]

    return read


def needs_overview(grid: TileGrid) -> bool:
    return grid.block_factor(0) >= FACTOR


def _cyclic_cover(present: np.ndarray) -> tuple[int, int]:
    """``(start, width)`` of the shortest cyclic range holding every True of ``present``."""
    count = len(present)
    positions = np.flatnonzero(present)
    if len(positions) == count:
        return 0, count
    gaps = np.diff(np.append(positions, positions[0] + count))
    widest = int(np.argmax(gaps))
    start = int(positions[(widest + 1) % len(positions)])
    return start, count - int(gaps[widest]) + 1


def build_overview(*, read: ReadWindow, pixel_grid: PixelGrid, grid: TileGrid) -> Overview:
    """Stream through the plane once and return its overview.

    Parameters
    ----------
    read : callable
        ``read(y0=, y1=, x0=, x1=)`` returning a new float32 window of the plane.
    pixel_grid, grid : PixelGrid, TileGrid
        The plane's pixel grid and tile grid.
    """
    scale_deg = grid.deepest_pixel_scale_deg
    sky_rows = grid.tile_size * 2**grid.deepest_level
    sky_cols = 2 * sky_rows
    map_rows = pixel_grid.nearest_rows(-90.0 + (np.arange(sky_rows) + 0.5) * scale_deg)
    map_cols = pixel_grid.nearest_columns(-180.0 + (np.arange(sky_cols) + 0.5) * scale_deg)
    covered_rows = np.flatnonzero(map_rows >= 0)
    first_row = int(covered_rows[0]) // FACTOR
    row_count = int(covered_rows[-1]) // FACTOR + 1 - first_row
    overview_cols = sky_cols // FACTOR
    first_col, col_count = _cyclic_cover((map_cols >= 0).reshape(overview_cols, FACTOR).any(1))
    cols = map_cols[(first_col * FACTOR + np.arange(col_count * FACTOR)) % sky_cols]
    sums = np.zeros((row_count, col_count), dtype=np.float32)
    counts = np.zeros((row_count, col_count), dtype=np.uint8)
    step = max(1, CHUNK_PIXELS // (len(cols) * FACTOR))
    for start in range(0, row_count, step):
        stop = min(start + step, row_count)
        rows = map_rows[(first_row + start) * FACTOR : (first_row + stop) * FACTOR]
        if (rows < 0).all():
            continue
        chunk_sums, chunk_counts = block_sums(gather(read, rows, cols), FACTOR)
        sums[start:stop] = chunk_sums
        counts[start:stop] = chunk_counts
    return Overview(
        factor=FACTOR,
        first_row=first_row,
        first_col=first_col,
        sky_cols=overview_cols,
        sums=sums,
        counts=counts,
    )
