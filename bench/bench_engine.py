"""Engine benchmark on the shared ACT-scale map (43200 x 10320 x 3, float32, 5.3 GB).

Run ``python3 bench/bench_engine.py``. The map is created once by
``bench/act_map.py`` under /tmp/tilemaker-bench and reused. Times are
wall-clock on whatever else the machine is doing; the file is usually in
the page cache after its first use, so "cold" means "first request for that
tile in this process", not "first read from disk".
"""

import contextlib
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from astropy.io import fits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.act_map import ensure_act_map
from maps.engine import (
    NoDataError,
    TileIndex,
    inspect_plane,
    open_plane,
    scan_file,
    source_from_provider,
)

NATIVE_TILE_SAMPLES = 200


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def _timed(function):
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def _percentile(values, q):
    return float(np.percentile(np.asarray(values), q))


def _native_tiles(source, count, rng):
    """Distinct native tiles that hold data, in random order."""
    grid = source.info.grid
    level = grid.number_of_levels - 1
    rows = [
        y
        for y in range(2**level)
        if -90 + (y + 1) * 180 / 2**level > source.info.bounding_bottom
        and -90 + y * 180 / 2**level < source.info.bounding_top
    ]
    pairs = [(x, y) for x in range(2 ** (level + 1)) for y in rows]
    chosen = rng.choice(len(pairs), size=min(count, len(pairs)), replace=False)
    return [TileIndex(level=level, x=pairs[i][0], y=pairs[i][1]) for i in chosen]


def bench_inspect(path):
    for attempt in ("first", "second"):
        seconds, _ = _timed(lambda: inspect_plane(path, index=0))
        print(f"inspect_plane ({attempt} call)          {_ms(seconds)}")
    seconds, planes = _timed(lambda: scan_file(path))
    print(f"scan_file ({len(planes)} planes)                {_ms(seconds)}")


def bench_window_readers(path):
    """The engine's reads (process_vm_readv) against astropy's memmap'd ``.data``: 675^2 windows.

    Whichever touches a window first may pay for page-cache misses, so the
    order alternates from window to window.
    """
    rng = np.random.default_rng(1)
    corners = [
        (int(rng.integers(0, 10320 - 675)), int(rng.integers(0, 43200 - 675))) for _ in range(200)
    ]
    reader = open_plane(path, index=1)
    engine_times, astropy_times = [], []
    with fits.open(path, memmap=True) as hdus:
        data = hdus[0].data
        for number, (y, x) in enumerate(corners):
            runs = [
                (engine_times, lambda y=y, x=x: reader.read(y0=y, y1=y + 675, x0=x, x1=x + 675)),
                (
                    astropy_times,
                    lambda y=y, x=x: np.asarray(data[1, y : y + 675, x : x + 675], np.float32),
                ),
            ]
            for times, run in runs[:: 1 if number % 2 else -1]:
                times.append(_timed(run)[0])
    print(f"675^2 window, engine          p50 {_ms(statistics.median(engine_times))}")
    print(f"675^2 window, astropy .data    p50 {_ms(statistics.median(astropy_times))}")


def bench_tiles(path, plane):
    source = source_from_provider({"provider_type": "fits", "filename": str(path), "index": plane})
    rng = np.random.default_rng(2026 + plane)
    times = []
    for index in _native_tiles(source, NATIVE_TILE_SAMPLES, rng):
        with contextlib.suppress(NoDataError):
            times.append(_timed(lambda index=index: source.tile(index=index))[0])
    print(
        f"plane {plane}: cold native tile data   p50 {_ms(_percentile(times, 50))}"
        f"  p99 {_ms(_percentile(times, 99))}  ({len(times)} tiles)"
    )
    grid = source.info.grid
    for level in range(grid.number_of_levels - 2, -1, -1):
        index = TileIndex(level=level, x=2**level, y=max(0, 2 ** (level - 1) - 1))
        seconds, _ = _timed(lambda index=index: source.tile(index=index))
        print(f"plane {plane}: level {level} tile from the file   {_ms(seconds)}")
    seconds, _ = _timed(source.build_overview)
    print(
        f"plane {plane}: overview build              {_ms(seconds)}"
        f"  ({source.overview_nbytes / 1e6:.0f} MB in memory)"
    )
    for level in range(grid.number_of_levels - 4, -1, -1):
        index = TileIndex(level=level, x=2**level, y=max(0, 2 ** (level - 1) - 1))
        seconds, _ = _timed(lambda index=index: source.tile(index=index))
        print(f"plane {plane}: level {level} tile from overview   {_ms(seconds)}")
    return source


def bench_concurrency(source):
    rng = np.random.default_rng(99)
    indexes = _native_tiles(source, 400, rng)

    def tile(index):
        with contextlib.suppress(NoDataError):
            source.tile(index=index)

    for workers in (1, 2, 4):
        batch = indexes[(workers - 1) * 100 : workers * 100]
        with ThreadPoolExecutor(workers) as pool:
            seconds, _ = _timed(lambda batch=batch, pool=pool: list(pool.map(tile, batch)))
        print(f"native tile data, {workers} threads          {len(batch) / seconds:8.0f} tiles/s")


def bench_regions(source):
    cases = [
        ("cut-out 10 x 10 deg", (40, 30, 0, -10)),
        ("cut-out 10 x 10 deg across RA 180", (175, -175, -20, -30)),
    ]
    for label, (left, right, top, bottom) in cases:
        box = dict(left_ra_deg=left, right_ra_deg=right, top_dec_deg=top, bottom_dec_deg=bottom)
        seconds, cutout = _timed(lambda box=box: source.cutout(**box, max_pixels=50_000_000))
        print(f"{label:36s}{_ms(seconds)}  {cutout.data.shape[1]} x {cutout.data.shape[0]}")
    for radius in (5.0, 60.0, 600.0):
        seconds, stats = _timed(
            lambda radius=radius: source.aperture(
                ra_deg=12.3, dec_deg=-33.3, radius_arcmin=radius, max_radius_arcmin=600
            )
        )
        print(
            f"aperture radius {radius:5.0f} arcmin          {_ms(seconds)}  {stats['n_pixels']} px"
        )
    seconds, sample = _timed(source.histogram_sample)
    print(f"histogram sample                    {_ms(seconds)}  {sample.size} values")


def main():
    path = ensure_act_map()
    print(f"map: {path} ({path.stat().st_size / 1e9:.1f} GB)")
    bench_inspect(path)
    bench_window_readers(path)
    sources = [bench_tiles(path, plane) for plane in range(3)]
    bench_concurrency(sources[0])
    bench_regions(sources[0])


if __name__ == "__main__":
    main()
