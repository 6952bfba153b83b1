"""``tilemaker open`` on a synthetic NSIDE 2048 galactic I/Q/U HEALPix map (600 MB, temp dir).

Launches ``open`` as users do (bench/bench_startup.py's launcher) and prints,
per run and as medians, seconds from launching to: the "Opened ..." line
(scan + import), the ready line (issue 15's "open to ready", goal 3 s), the
first native tile of the I layer (HTTP 200), and the two level-0 tiles asked
for at once as the viewer does (before the pyramid exists: the slower of the
two). Runs with ``TILEMAKER_PRECACHE`` yes (the default: the pyramid is built
at start-up) and no (built after the first coarse tile).

    PYTHONPATH=$PWD python3 bench/bench_healpix_open.py [--runs 3] [MAP.fits]

Numbers depend on the page cache and on what else runs on the cores (the
load average is printed).
"""

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from bench_healpix import write_map  # noqa: E402
from bench_startup import TIMEOUT_SECONDS, fetch, start_open  # noqa: E402

NSIDE = 2048


def one_run(fits_path: Path, *, precache: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-healpix-open-") as workdir:
        run = start_open(fits_path, precache=precache, workdir=Path(workdir))
        try:
            opened, _ = run.wait_for_timed(re.compile(r"^Opened "), TIMEOUT_SECONDS)
            ready, match = run.wait_for_timed(
                re.compile(r"TileMaker ready: (\S+)"), TIMEOUT_SECONDS
            )
            url = match.group(1)
            layer = re.search(rb'"layer_id":"([^"]+)"', fetch(url + "layers/default")).group(1)
            layer = layer.decode()
            # Deepest level 6 (7 levels at NSIDE 2048): RA 0..2.8, Dec 0..2.8.
            fetch(f"{url}layers/{layer}/6/32/64/tile.png")
            native = time.perf_counter() - run.started
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(fetch, [f"{url}layers/{layer}/0/0/{x}/tile.png" for x in (0, 1)]))
            level0 = time.perf_counter() - run.started
            return {"opened": opened, "ready": ready, "native tile": native, "level-0": level0}
        finally:
            with run:  # kills whatever ``stop`` leaves behind
                run.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("map", nargs="?", help="a HEALPix map to use instead of the synthetic one")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-healpix-open-"))
    try:
        fits_path = Path(args.map) if args.map else folder / f"iqu_{NSIDE}.fits"
        if not args.map:
            write_map(fits_path, NSIDE)
        print(f"map: {fits_path} ({fits_path.stat().st_size / 1e6:.0f} MB), {os.cpu_count()} cores")
        print("seconds from launching `tilemaker open` to:")
        for precache in (True, False):
            label = f"TILEMAKER_PRECACHE={'yes' if precache else 'no'}"
            results = []
            for number in range(1, args.runs + 1):
                load = os.getloadavg()[0]
                result = one_run(fits_path, precache=precache)
                results.append(result)
                shown = "  ".join(f"{key} {value:6.2f}" for key, value in result.items())
                print(f"  {label} run {number} (load {load:.1f}): {shown}")
            medians = "  ".join(
                f"{key} {statistics.median(r[key] for r in results):6.2f}" for key in results[0]
            )
            print(f"  {label} median: {medians}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
