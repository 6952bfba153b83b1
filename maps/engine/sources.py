"""Pixel sources: what a layer's provider gives, and everything computed from it.

``source_from_provider`` turns a SPEC section 3 provider dict into a
``PixelSource``, cached per process and per file version. A source knows
its geometry (``info``) and how to read float32 windows; tiles, cut-outs,
apertures, histogram samples and the overview are built on that alone, so a
``fits_combination`` gets them all by combining native pixels first (the
mean of a ratio is not the ratio of means).
"""

import dataclasses
import functools
import hashlib
import json
import logging
import math
import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from maps.engine.aperture import aperture_stats
from maps.engine.combine import combine
from maps.engine.cutout import Cutout, cutout_pixels, make_cutout
from maps.engine.downsample import block_sums, gather, mean_from_sums
from maps.engine.errors import FitsError, NoDataError, OutOfRangeError
from maps.engine.fits_source import PlaneInfo, PlaneReader, open_plane
from maps.engine.geometry import MapCover, TileIndex
from maps.engine.healpix import open_healpix
from maps.engine.overview import Overview, build_overview, needs_overview
from maps.engine.providers import (
    CombinationProvider,
    HealpixProvider,
    check_same_grid,
    parse_provider,
)

logger = logging.getLogger(__name__)

TILE_METHODS = ("mean", "stride")
SOURCE_CACHE_SIZE = 64
# Pixels gathered per step when a coarse tile is computed from the file.
CHUNK_PIXELS = 8_000_000
# Native pixels one coarse tile may average when it is computed from the file
# (before the overview exists, or for a map too large for one). A level-0 tile of
# an ACT plane reads 2.2e8 (about 4 s); a full-sky 0.5 arcmin map 4.7e8. Memory
# does not grow with it (rows are streamed in CHUNK_PIXELS), time does: beyond
# this a tile answers 400 "zoom in" rather than hold a render slot for minutes.
MAX_TILE_SOURCE_PIXELS = 2**30
HISTOGRAM_SAMPLE_SIZE = 4_000_000


class PixelSource:
    """Tiles, cut-outs, apertures and samples of one layer's pixels (thread-safe)."""

    def __init__(self, info: PlaneInfo, version: str):
        self.info = info
        self.version = version
        self._overview: Overview | None = None
        self._overview_lock = threading.Lock()
        self._overview_started = False

    def read_window(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """A new float32 array of rows ``y0:y1``, columns ``x0:x1`` in file order."""
        raise NotImplementedError

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The float32 grid of pixels at ``rows`` x ``cols`` (valid index arrays)."""
        raise NotImplementedError

    # A source that reads a reversed window cheaper than a window and a copy
    # sets this to ``read_window(..., reverse_rows=, reverse_cols=)``.
    read_oriented = None

    @property
    def overview_ready(self) -> bool:
        """Whether coarse tiles come from memory (always, when the grid has no coarse levels)."""
        return self._overview is not None or not needs_overview(self.info.grid)

    @property
    def overview_nbytes(self) -> int:
        """Memory held by the overview (0 until it is built)."""
        overview = self._overview
        return overview.nbytes if overview is not None else 0

    def start_overview(self) -> None:
        """Queue the overview build on the background worker; returns at once."""
        if self.overview_ready:
            return
        with self._overview_lock:
            if self._overview_started:
                return
            self._overview_started = True
        _overview_queue().put(self)

    def wait_for_overview(self, *, level: int) -> bool:
        """Wait, when worth it, for a started overview build before a tile at ``level``
        (bounded; called outside any render slot). Returns whether the overview is ready.
        A CAR map's coarse tile never waits: its block mean is bounded by
        ``MAX_TILE_SOURCE_PIXELS``."""
        return self.overview_ready

    def build_overview(self) -> None:
        """Build the overview now, in the calling thread (the worker calls this)."""
        if self.overview_ready:
            return
        overview = build_overview(
            read=self.read_window, pixel_grid=self.info.pixel_grid, grid=self.info.grid
        )
        self._overview = overview

    def tile(self, *, index: TileIndex, flip: bool = False, method: str = "mean") -> np.ndarray:
        """One tile of the global grid as float32 ``(tile_size, tile_size)``.

        Row 0 is the north edge; RA increases to the right, or to the left
        when ``flip`` (the caller has already remapped ``index.x`` with
        ``resolve_tile``). Pixels without finite data are NaN. Coarse levels
        are the NaN-aware mean of each block of deepest-level pixels
        (``method="mean"``) or its middle pixel (``"stride"``).

        Raises
        ------
        OutOfRangeError
            An index outside the grid or an unknown method, or a mean that
            would read more than ``MAX_TILE_SOURCE_PIXELS`` from the file.
        NoDataError
            The tile is off the map or holds no finite pixel.
        """
        if method not in TILE_METHODS:
            raise OutOfRangeError(f"method {method!r} is not one of {', '.join(TILE_METHODS)}")
        grid = self.info.grid
        level, x, y = index.level, index.x, index.y
        if not (
            0 <= level < grid.number_of_levels and 0 <= x < 2 ** (level + 1) and 0 <= y < 2**level
        ):
            raise OutOfRangeError(f"tile {level}/{y}/{x} is outside the grid")
        factor = grid.block_factor(level)
        flip_step = -1 if flip else 1
        pixel_grid = self.info.pixel_grid
        if factor == 1:
            rows = pixel_grid.tile_rows(grid=grid, level=level, y=y)
            cols = pixel_grid.tile_columns(grid=grid, level=level, x=x)
            if (rows < 0).all() or (cols < 0).all():
                raise NoDataError("the tile is outside the map")
            data = gather(
                self.read_window, rows[::-1], cols[::flip_step], read_oriented=self.read_oriented
            )
        else:
            # Coarse tiles cover up to 2^(L-z) times more grid pixels than the map
            # has (a 32-pixel map at level 0 of 19 levels: 1.8e8 x 3.6e8); only
            # the part overlapping the map is ever indexed or read.
            window = self.cover.in_tile(grid=grid, level=level, x=x, y=y)
            if window[0] == window[1]:
                raise NoDataError("the tile is outside the map")
            overview = self._overview
            if method == "stride":
                # The middle grid pixel of each block: tile_size indexes per axis.
                middle = factor // 2 + factor * np.arange(grid.tile_size)
                width = grid.tile_size * factor
                rows = pixel_grid.rows_at(grid=grid, grid_rows=y * width + middle)
                cols = pixel_grid.columns_at(grid=grid, grid_columns=x * width + middle)
                data = self._take_grid(rows[::-1], cols[::flip_step])
            elif overview is not None and factor % overview.factor == 0:
                data = overview.tile(grid=grid, level=level, x=x, y=y, flip=flip)
            else:
                data = np.ascontiguousarray(
                    self._block_mean(level=level, x=x, y=y, window=window)[::-1, ::flip_step]
                )
        finite = np.isfinite(data)
        if not finite.any():
            raise NoDataError("no data in this tile")
        # inf (in the file, or float64 beyond float32) is no data, like NaN.
        np.copyto(data, np.nan, where=~finite)
        return data

    @functools.cached_property
    def cover(self) -> MapCover:
        """Where the map lies on the deepest-level grid (computed once)."""
        return self.info.pixel_grid.cover(grid=self.info.grid)

    def _take_grid(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        out = np.full((len(rows), len(cols)), np.nan, dtype=np.float32)
        row_positions, col_positions = np.flatnonzero(rows >= 0), np.flatnonzero(cols >= 0)
        if len(row_positions) and len(col_positions):
            out[np.ix_(row_positions, col_positions)] = self.take(
                rows=rows[row_positions], cols=cols[col_positions]
            )
        return out

    def _block_mean(
        self, *, level: int, x: int, y: int, window: tuple[int, int, int, int]
    ) -> np.ndarray:
        """Block means (rows south to north) streamed from the file in bands of rows.

        Only ``window`` (``MapCover.in_tile``) is read; its size is checked
        against ``MAX_TILE_SOURCE_PIXELS`` before anything is allocated.
        Blocks cut by the window's edges sum what lies inside, which is all
        the map has there.
        """
        grid, pixel_grid = self.info.grid, self.info.pixel_grid
        factor = grid.block_factor(level)
        row0, row1, col0, col1 = window
        source_pixels = (row1 - row0) * (col1 - col0)
        if source_pixels > MAX_TILE_SOURCE_PIXELS:
            raise OutOfRangeError(
                f"level {level} is too coarse for this map: a tile would average "
                f"{source_pixels} pixels (at most {MAX_TILE_SOURCE_PIXELS} are read for one "
                "tile); zoom in"
            )
        aligned = (
            row0 // factor * factor,
            -(-row1 // factor) * factor,
            col0 // factor * factor,
            -(-col1 // factor) * factor,
        )
        # Reading whole blocks lets block_sums reshape instead of np.add.reduceat:
        # a level-0 ACT tile from the file took 5.9-6.1 s with reduceat, 0.8-1.8 s
        # reshaped (1.7-4.8 s before the window existed; 2 cores at load 10). The
        # padding lies off the map (NaN, counted 0); it is read only when it at
        # most doubles the window, never for a small map deep inside a big block.
        whole_blocks = (aligned[1] - aligned[0]) * (aligned[3] - aligned[2]) <= 2 * source_pixels
        if whole_blocks:
            row0, row1, col0, col1 = aligned
        width = grid.tile_size * factor
        map_cols = pixel_grid.columns_at(grid=grid, grid_columns=x * width + np.arange(col0, col1))
        col_blocks = np.arange(col0, col1) // factor
        col_starts = np.flatnonzero(np.diff(col_blocks, prepend=-1))
        block_cols = slice(int(col_blocks[0]), int(col_blocks[-1]) + 1)
        sums = np.zeros((grid.tile_size, grid.tile_size), dtype=np.float64)
        counts = np.zeros((grid.tile_size, grid.tile_size), dtype=np.int64)
        step = max(1, CHUNK_PIXELS // (col1 - col0))
        if whole_blocks:
            step = factor * max(1, step // factor)
        for start in range(row0, row1, step):
            stop = min(start + step, row1)
            map_rows = pixel_grid.rows_at(grid=grid, grid_rows=y * width + np.arange(start, stop))
            if (map_rows < 0).all():
                continue
            data = gather(self.read_window, map_rows, map_cols)
            block_rows = slice(start // factor, (stop - 1) // factor + 1)
            if whole_blocks:
                chunk_sums, chunk_counts = block_sums(data, factor)
                sums[block_rows, block_cols] += chunk_sums
                counts[block_rows, block_cols] += chunk_counts
                continue
            finite = np.isfinite(data)
            np.copyto(data, 0, where=~finite)
            row_blocks = np.arange(start, stop) // factor
            row_starts = np.flatnonzero(np.diff(row_blocks, prepend=-1))
            for values, total, dtype in ((data, sums, np.float64), (finite, counts, np.int64)):
                by_rows = np.add.reduceat(values, row_starts, axis=0, dtype=dtype)
                total[block_rows, block_cols] += np.add.reduceat(by_rows, col_starts, axis=1)
        return mean_from_sums(sums, counts)

    def cutout(
        self,
        *,
        left_ra_deg: float,
        right_ra_deg: float,
        top_dec_deg: float,
        bottom_dec_deg: float,
        max_pixels: int,
    ) -> Cutout:
        """Native-resolution cut-out; see ``maps.engine.cutout.make_cutout``."""
        return make_cutout(
            read=self.read_window,
            info=self.info,
            left_ra_deg=left_ra_deg,
            right_ra_deg=right_ra_deg,
            top_dec_deg=top_dec_deg,
            bottom_dec_deg=bottom_dec_deg,
            max_pixels=max_pixels,
        )

    def cutout_pixels(self, *, max_pixels: int, **bounds_deg: float) -> int:
        """Pixels of ``cutout(**bounds_deg)``, known before reading; see ``cutout_pixels``."""
        return cutout_pixels(info=self.info, max_pixels=max_pixels, **bounds_deg)

    def aperture(
        self, *, ra_deg: float, dec_deg: float, radius_arcmin: float, max_radius_arcmin: float
    ) -> dict:
        """Aperture statistics; see ``maps.engine.aperture.aperture_stats``."""
        return aperture_stats(
            read=self.read_window,
            pixel_grid=self.info.pixel_grid,
            ra_deg=ra_deg,
            dec_deg=dec_deg,
            radius_arcmin=radius_arcmin,
            max_radius_arcmin=max_radius_arcmin,
        )

    def histogram_sample(self, *, max_values: int = HISTOGRAM_SAMPLE_SIZE) -> np.ndarray:
        """Finite native pixel values on an even grid over the whole plane (1-D float32).

        At most ``max_values`` pixels are read (every n-th row and column),
        so percentiles and histograms describe the whole map cheaply.
        """
        if max_values < 1:
            raise OutOfRangeError(f"max_values must be at least 1, got {max_values}")
        ny, nx = self.info.shape
        step = max(1, math.ceil(math.sqrt(ny * nx / max_values)))
        while len(range(step // 2, ny, step)) * len(range(step // 2, nx, step)) > max_values:
            step += 1
        values = self.take(
            rows=np.arange(step // 2, ny, step), cols=np.arange(step // 2, nx, step)
        ).ravel()
        return values[np.isfinite(values)]


class FitsPlaneSource(PixelSource):
    """One plane of one FITS file."""

    def __init__(self, reader: PlaneReader, version: str):
        super().__init__(reader.info, version)
        self._reader = reader

    def read_window(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        return self._reader.read(y0=y0, y1=y1, x0=x0, x1=x1)

    def read_oriented(self, **window) -> np.ndarray:
        return self._reader.read_oriented(**window)

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return self._reader.take(rows=rows, cols=cols)


class CombinedSource(PixelSource):
    """Planes on one pixel grid combined element-wise (``fits_combination``)."""

    def __init__(self, inputs: list[PlaneReader], function: str, version: str):
        check_same_grid([reader.info for reader in inputs])
        first = inputs[0].info
        units = {reader.info.bunit for reader in inputs}
        bunit = units.pop() if len(units) == 1 and function not in ("*", "/") else None
        super().__init__(dataclasses.replace(first, bunit=bunit), version)
        self._inputs = inputs
        self._function = function

    def read_window(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        windows = [reader.read(y0=y0, y1=y1, x0=x0, x1=x1) for reader in self._inputs]
        return combine(self._function, windows)

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return combine(self._function, [r.take(rows=rows, cols=cols) for r in self._inputs])


_sources: OrderedDict[tuple, PixelSource] = OrderedDict()
_sources_lock = threading.Lock()


def source_from_provider(
    provider: dict, *, path_resolver: Callable[[str], object] | None = None
) -> PixelSource:
    """The pixel source of a provider dict, shared per process and per file version.

    Parameters
    ----------
    provider : dict
        ``{"provider_type": "fits", "filename", "hdu"?, "index"?}`` or
        ``{"provider_type": "fits_combination", "providers": [...], "function"}``.
    path_resolver : callable, optional
        Maps a provider's filename to the path to open (for data roots or a
        config file's folder); by default the filename itself.

    Raises
    ------
    FitsError
        A malformed provider, an unusable file or plane, or combined inputs
        on different pixel grids.
    """
    parsed = parse_provider(provider)
    function = parsed.function if isinstance(parsed, CombinationProvider) else None
    resolve = path_resolver or (lambda filename: filename)
    readers = [_open_input(entry, resolve) for entry in parsed.inputs]
    key = (function, tuple(reader.version for reader in readers))
    with _sources_lock:
        source = _sources.get(key)
        if source is not None:
            _sources.move_to_end(key)
            return source
    version = hashlib.sha256(json.dumps(key, default=str).encode()).hexdigest()[:20]
    if function is None and isinstance(parsed, HealpixProvider):
        # Imported here: healpix_source builds on PixelSource, defined above.
        from maps.engine.healpix_source import HealpixSource

        source = HealpixSource(readers[0], version)
    elif function is None:
        source = FitsPlaneSource(readers[0], version)
    else:
        source = CombinedSource(readers, function, version)
    with _sources_lock:
        _forget_replaced_files(readers)
        source = _sources.setdefault(key, source)
        _sources.move_to_end(key)
        while len(_sources) > SOURCE_CACHE_SIZE:
            _sources.popitem(last=False)
    return source


def _open_input(entry, resolve):
    """The reader of one provider input: a CAR plane, or a HEALPix column's virtual plane."""
    path = os.fspath(resolve(entry.filename))
    if isinstance(entry, HealpixProvider):
        return open_healpix(path, hdu=entry.hdu, field=entry.field, scale=entry.scale)
    return open_plane(path, hdu=entry.hdu, index=entry.index)


def _forget_replaced_files(readers: list[PlaneReader]) -> None:
    """Drop cached sources that read an older version of any of these files."""
    current = {version[0]: version for version in (reader.version for reader in readers)}
    for key in list(_sources):
        if any(v[0] in current and v[1] != current[v[0]][1] for v in key[1]):
            del _sources[key]


_queue: queue.Queue | None = None
_queue_lock = threading.Lock()


def _overview_queue() -> queue.Queue:
    """The queue of the single background overview builder, started on first use.

    One builder at a time: each build streams a whole plane, and running
    several at once would only make every one of them (and the tiles being
    served meanwhile) slower. The thread is a daemon so it never holds up
    shutdown.
    """
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = queue.Queue()
            threading.Thread(
                target=_build_queued_overviews,
                args=(_queue,),
                name="tilemaker-overview",
                daemon=True,
            ).start()
        return _queue


def _build_queued_overviews(pending: queue.Queue) -> None:
    while True:
        source = pending.get()
        try:
            source.build_overview()
        except (FitsError, NoDataError, OSError, ValueError, MemoryError) as error:
            logger.warning("overview of %s failed: %s", source.info.path, error)
