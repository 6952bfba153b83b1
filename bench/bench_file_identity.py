"""Cost of the file-identity check (``maps.engine.file_identity``) per tile.

Every tile request asks the engine for the layer's pixel source, which asks
the version tracker for the file's version. Prints, in one process:

- the check alone: a bare ``os.stat``; the full look (stat, first header
  block, hash) that runs at most every ``RECHECK_SECONDS``; the answer from
  memory that every other request gets
- a native tile's float pixels (source lookup + window read, 675 x 675 of a
  4000 x 2000 float32 map in the page cache), p50, with the check as served
  (``RECHECK_SECONDS``), with the full look on every tile, and without any
  check (the tracker's answer frozen), interleaved.

Usage: ``python3 bench/bench_file_identity.py``. Numbers depend on the
machine and on what else runs on it.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from maps.engine import TileIndex, source_from_provider  # noqa: E402
from maps.engine.file_identity import RECHECK_SECONDS, file_version, tracker  # noqa: E402
from tests.support.fits import write_car_map  # noqa: E402

CHECK_SAMPLES = 20_000
TILE_SAMPLES = 300


def _per_call_us(function, samples: int) -> float:
    started = time.perf_counter()
    for _ in range(samples):
        function()
    return (time.perf_counter() - started) / samples * 1e6


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="bench-file-identity-"))
    path = str(write_car_map(folder / "map.fits", nx=4000, ny=2000, pixel_scale_deg=0.01))
    print(f"RECHECK_SECONDS = {RECHECK_SECONDS}")
    tracker.current(path)
    checks = {
        "os.stat alone": lambda: os.stat(path),
        "full look (stat+header+hash)": lambda: file_version(path),
        "tracker answer from memory": lambda: tracker.current(path),
    }
    for name, check in checks.items():
        print(f"{name:34s} {_per_call_us(check, CHECK_SAMPLES):7.2f} us")

    provider = {"provider_type": "fits", "filename": path}
    source = source_from_provider(provider)
    level = source.info.grid.number_of_levels - 1
    size_deg = 180.0 / 2**level
    # RA 70, Dec -35: inside the map (RA 90..50, Dec -45..-25).
    index = TileIndex(
        level=level, x=int((70.0 + 180.0) // size_deg), y=int((-35.0 + 90.0) // size_deg)
    )

    def one_tile():
        source_from_provider(provider).tile(index=index)

    one_tile()
    real_current = tracker.current
    frozen = real_current(path)
    modes = {
        "as served": lambda: setattr(tracker, "recheck_seconds", RECHECK_SECONDS),
        "full look every tile": lambda: setattr(tracker, "recheck_seconds", 0.0),
        "no check (frozen)": None,
    }
    times: dict[str, list[float]] = {mode: [] for mode in modes}
    for number in range(TILE_SAMPLES):
        for mode, setup in list(modes.items())[number % 3 :] + list(modes.items())[: number % 3]:
            if setup is None:
                tracker.current = lambda p, fresh=False: frozen
            else:
                tracker.current = real_current
                setup()
            started = time.perf_counter()
            one_tile()
            times[mode].append(time.perf_counter() - started)
    tracker.current = real_current
    for mode, values in times.items():
        print(f"native tile, {mode:22s} p50 {statistics.median(values) * 1e3:7.3f} ms")


if __name__ == "__main__":
    main()
