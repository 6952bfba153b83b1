"""HEALPix tiles: a synthetic NSIDE 2048 I/Q/U map (written on demand to a temp dir, not kept).

Prints: time to open (source_from_provider), cold and warm native tile p50,
the first coarse tile after start (which builds the downgrade pyramid), a
coarse tile after it, and the memory the open map holds (pyramid bytes).
Run: PYTHONPATH=$PWD python3 bench/bench_healpix.py [NSIDE]
"""

import statistics
import sys
import tempfile
import time
import warnings

import healpy as hp
import numpy as np

from maps.engine import TileIndex, source_from_provider


def main(nside: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/iqu_{nside}.fits"
        rng = np.random.default_rng(1)
        maps = [rng.normal(size=12 * nside**2).astype(np.float32) for _ in range(3)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hp.write_map(path, maps, coord="G", dtype=np.float32)
        del maps
        provider = {"provider_type": "healpix", "filename": path, "field": 1}
        started = time.perf_counter()
        source = source_from_provider(provider)
        print(f"open to ready: {1000 * (time.perf_counter() - started):.0f} ms")
        grid = source.info.grid
        level = grid.deepest_level
        cold = []
        for n in range(30):
            index = TileIndex(level=level, x=(37 * n) % 2 ** (level + 1), y=(11 * n) % 2**level)
            started = time.perf_counter()
            source.tile(index=index)
            cold.append(time.perf_counter() - started)
        warm = []
        for _ in range(10):
            started = time.perf_counter()
            source.tile(index=TileIndex(level=level, x=5, y=5))
            warm.append(time.perf_counter() - started)
        print(
            f"native tile (level {level}, galactic Q rotated) cold p50 "
            f"{1000 * statistics.median(cold):.1f} ms, "
            f"repeat p50 {1000 * statistics.median(warm):.1f} ms"
        )
        for label in ("first coarse tile (builds the pyramid)", "coarse tile after"):
            started = time.perf_counter()
            source.tile(index=TileIndex(level=0, x=1, y=0))
            print(f"{label}: {1000 * (time.perf_counter() - started):.0f} ms")
        print(f"pyramid memory: {source.overview_nbytes / 1e6:.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 2048)
