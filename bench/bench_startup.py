"""Startup of ``tilemaker open`` on the ACT-scale map: to the ready line and to the first tiles.

Launches ``open`` on ``bench/act_map.py``'s 43200 x 10320 x 3 map (5.3 GB)
as users do, from an empty working directory, and prints, per run and as
medians: seconds to the "Opened ..." line (scan + import), to the ready
line, to the first native-resolution tile and to a level-0 tile (HTTP 200),
and how long the background precache took. Runs with the default
``TILEMAKER_PRECACHE=yes`` and with ``no``.

    python3 bench/bench_startup.py [--runs 3]

Numbers depend on whether the map is in the page cache (the first run
after writing it usually is) and on what else runs on the machine's cores.
"""

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from act_map import ensure_act_map  # noqa: E402

from tests.support.ports import free_port  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

TIMEOUT_SECONDS = 600.0
# Deepest level of the 0.5 arcmin grid (675 px tiles, levels 0..5): tile
# x = 32, y = 16 covers RA 0 .. 5.6, Dec 0 .. 5.6, inside the map.
NATIVE_TILE = (5, 16, 32)
LEVEL0_TILE = (0, 0, 1)


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
        if response.status != 200:
            raise RuntimeError(f"{url}: HTTP {response.status}")
        return response.read()


def start_open(fits_path: Path, *, precache: bool, workdir: Path) -> ServerProcess:
    """One ``open`` process, its output lines timed from its start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
    env["TILEMAKER_PRECACHE"] = "yes" if precache else "no"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TMPDIR"] = str(workdir)
    args = ["open", str(fits_path), "--port", str(free_port())]
    return ServerProcess(args, cwd=workdir, env=env)


def one_run(fits_path: Path, *, precache: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as workdir:
        run = start_open(fits_path, precache=precache, workdir=Path(workdir))
        try:
            opened, _ = run.wait_for_timed(re.compile(r"^Opened "), TIMEOUT_SECONDS)
            ready, match = run.wait_for_timed(
                re.compile(r"TileMaker ready: (\S+)"), TIMEOUT_SECONDS
            )
            url = match.group(1)
            layer_id = re.search(rb'"layer_id":"([^"]+)"', fetch(url + "layers/default")).group(1)
            layer = layer_id.decode()
            z, y, x = NATIVE_TILE
            fetch(f"{url}layers/{layer}/{z}/{y}/{x}/tile.png")
            native = time.perf_counter() - run.started
            z, y, x = LEVEL0_TILE
            fetch(f"{url}layers/{layer}/{z}/{y}/{x}/tile.png")
            level0 = time.perf_counter() - run.started
            result = {"opened": opened, "ready": ready, "native tile": native, "level-0": level0}
            if precache:
                _, match = run.wait_for_timed(
                    re.compile(r"^precache: done.* in ([0-9.]+) s"), TIMEOUT_SECONDS
                )
                result["precache"] = float(match.group(1))
        finally:
            with run:  # kills whatever ``stop`` leaves behind
                run.stop()
        leftovers = list(Path(workdir).iterdir())
        if leftovers:
            raise RuntimeError(f"open left files behind: {leftovers}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    fits_path = ensure_act_map()
    print(f"map: {fits_path} ({fits_path.stat().st_size / 1e9:.1f} GB), {os.cpu_count()} cores")
    print("seconds from launching `tilemaker open` to:")
    for precache in (True, False):
        results = [one_run(fits_path, precache=precache) for _ in range(args.runs)]
        label = f"TILEMAKER_PRECACHE={'yes' if precache else 'no'}"
        for index, result in enumerate(results, start=1):
            shown = "  ".join(f"{key} {value:6.2f}" for key, value in result.items())
            print(f"  {label} run {index}: {shown}")
        medians = "  ".join(
            f"{key} {statistics.median(r[key] for r in results):6.2f}" for key in results[0]
        )
        print(f"  {label} median: {medians}")


if __name__ == "__main__":
    main()
