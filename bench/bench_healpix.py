"""HEALPix tiles: a synthetic NSIDE 2048 galactic I/Q/U map (written to a temp dir, not kept).

Prints, for the Q layer (rotated to equatorial with its U partner):

- engine (``source_from_provider`` in this process): time to open, cold
  native tile p50 over 30 different tiles (wall and CPU), the same tile
  recomputed (the engine has no tile cache), then ``start_overview`` (what
  the server does on the first coarse tile) and a level-0 tile asked for
  then (it waits for the build, as in the server), the time until it is ready, a
  level-0 tile after, and the memory the open map holds (the pyramid; the
  file itself is only mapped);
- server (``manage.py serve``, 1 worker, in-process cache, as
  bench/bench_tiles.py): cold native PNG tile p50, the same tile warm (from
  the tile cache), the first level-0 tile after start.

Usage: ``PYTHONPATH=$PWD python3 bench/bench_healpix.py [NSIDE] [MAP.fits]``
(a given map is used as it is, e.g. one kept from an earlier run). Numbers
depend on the machine and its load (printed).
"""

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

import healpy as hp
import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from bench_tiles import Server, percentile, timed  # noqa: E402

from maps.engine import TileIndex, source_from_provider  # noqa: E402

COLD_SAMPLES = 30
WARM_SAMPLES = 50


def write_map(path: Path, nside: int) -> None:
    rng = np.random.default_rng(1)
    maps = [rng.normal(size=12 * nside**2).astype(np.float32) for _ in range(3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(str(path), maps, coord="G", dtype=np.float32)


def cold_tiles(level: int) -> list[tuple[int, int]]:
    return [((37 * n) % 2 ** (level + 1), (11 * n) % 2**level) for n in range(1, 1000)]


def engine(path: Path) -> int:
    """The engine's numbers; returns the deepest tile level."""
    provider = {"provider_type": "healpix", "filename": str(path), "field": 1}
    started = time.perf_counter()
    source = source_from_provider(provider)
    print(f"engine: open to ready {1000 * (time.perf_counter() - started):.0f} ms")
    level = source.info.grid.deepest_level
    source.tile(index=TileIndex(level=level, x=0, y=0))
    wall, cpu = [], []
    for x, y in cold_tiles(level)[:COLD_SAMPLES]:
        started, cpu_started = time.perf_counter(), time.process_time()
        source.tile(index=TileIndex(level=level, x=x, y=y))
        wall.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    repeat = []
    for _ in range(10):
        started = time.perf_counter()
        source.tile(index=TileIndex(level=level, x=5, y=5))
        repeat.append(time.perf_counter() - started)
    print(
        f"engine: native tile (level {level}, galactic Q rotated) cold p50 "
        f"{1000 * statistics.median(wall):.1f} ms wall, {1000 * statistics.median(cpu):.1f} ms "
        f"CPU; same tile recomputed p50 {1000 * statistics.median(repeat):.1f} ms"
    )
    started = time.perf_counter()
    source.start_overview()
    source.wait_for_overview(level=0)  # as the server does: the tile waits for the build
    source.tile(index=TileIndex(level=0, x=1, y=0))
    print(
        "engine: first level-0 tile after start_overview (waiting for the build): "
        f"{1000 * (time.perf_counter() - started):.0f} ms"
    )
    while not source.overview_ready:
        time.sleep(0.05)
    print(f"engine: pyramid ready {time.perf_counter() - started:.1f} s after start_overview")
    started = time.perf_counter()
    source.tile(index=TileIndex(level=0, x=0, y=0))
    print(f"engine: level-0 tile from the pyramid {1000 * (time.perf_counter() - started):.0f} ms")
    print(f"engine: memory held per open map (pyramid) {source.overview_nbytes / 1e6:.1f} MB")
    return level


def native_png(level: int, x: int, y: int) -> str:
    return f"/layers/hp-q/{level}/{y}/{x}/tile.png"


def server(folder: Path, path: Path, level: int) -> None:
    config = folder / "config.json"
    layer = {
        "layer_id": "hp-q",
        "name": "Q",
        "units": "K",
        "vmin": -3.0,
        "vmax": 3.0,
        "cmap": "RdBu_r",
        "provider": {"provider_type": "healpix", "filename": str(path), "field": 1},
    }
    band = {"band_id": "b", "name": "B", "layers": [layer]}
    sky_map = {"map_id": "m", "name": "M", "bands": [band]}
    group = {"map_group_id": "g", "name": "G", "maps": [sky_map]}
    config.write_text(json.dumps({"map_groups": [group]}))
    running = Server(folder, config, workers=1, memcached_port=None)
    try:
        connection = running.connect()
        tiles = cold_tiles(level)[200:]
        random.Random(2026).shuffle(tiles)
        # Native tiles first: the first coarse tile starts the pyramid build,
        # which would share the cores with them.
        cold = [timed(connection, native_png(level, x, y)) for x, y in tiles[:COLD_SAMPLES]]
        warm = [timed(connection, native_png(level, *tiles[0])) for _ in range(WARM_SAMPLES)]
        first = timed(connection, "/layers/hp-q/0/0/1/tile.png")
        print(
            f"server: native PNG tile cold p50 {percentile(cold, 50):.1f} ms, "
            f"warm p50 {percentile(warm, 50):.1f} ms"
        )
        print(f"server: first level-0 PNG tile (before the pyramid) {first:.0f} ms")
        connection.close()
    finally:
        running.stop()


def main(nside: int, given: str | None) -> None:
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-healpix-"))
    try:
        path = Path(given) if given else folder / f"iqu_{nside}.fits"
        if not given:
            write_map(path, nside)
        print(f"cores={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
        server(folder, path, engine(path))
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    given = next((a for a in arguments if a.endswith(".fits")), None)
    numbers = [int(a) for a in arguments if a.isdigit()]
    main(numbers[0] if numbers else 2048, given)
