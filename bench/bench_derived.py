"""Derived-layer tiles against a configured ``fits_combination`` layer, through the real server.

Starts ``manage.py serve`` as ``bench/bench_tiles.py`` does, on the I/Q/U
planes of ``bench/act_map.py``'s ACT-scale map plus a configured layer
``act-q-minus-u`` (``fits_combination`` of Q and U with ``-``), and prints
ms per 675-pixel native PNG tile, p50 / p99:

- cold (file -> combined float -> PNG) and warm (same tile again) for the
  configured combination and for ``/derived/difference/act-q/act-u``;
  cold tiles of the two are interleaved, each on tiles the other never asked
  for, so the machine's load falls on both alike;
- cold tiles of ``/derived/p/...`` and ``/derived/angle/...`` (Q and U).

Usage: ``python3 bench/bench_derived.py``. Numbers depend on the machine and
its load; run twice so the map file is in the page cache.
"""

import json
import os
import random
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from act_map import ensure_act_map  # noqa: E402
from bench_tiles import DATA_ROWS, DEEPEST, TILES_ACROSS, Server, percentile, timed  # noqa: E402
from bench_tiles import write_config as write_plane_config  # noqa: E402

COLD_SAMPLES = 60
WARM_SAMPLES = 200
COMBINATION = "act-q-minus-u"
DERIVED = "/derived/difference/act-q/act-u"


def write_config(folder: Path, fits_path: Path) -> Path:
    path = write_plane_config(folder, fits_path)
    config = json.loads(path.read_text())
    layers = config["map_groups"][0]["maps"][0]["bands"][0]["layers"]
    planes = [{"provider_type": "fits", "filename": str(fits_path), "index": i} for i in (1, 2)]
    layers.append(
        {
            "layer_id": COMBINATION,
            "name": "Q - U",
            "units": "uK",
            "vmin": -30.0,
            "vmax": 30.0,
            "cmap": "RdBu_r",
            "provider": {"provider_type": "fits_combination", "providers": planes, "function": "-"},
        }
    )
    path.write_text(json.dumps(config))
    return path


def combination_tile(x: int, y: int) -> str:
    return f"/layers/{COMBINATION}/{DEEPEST}/{y}/{x}/tile.png"


def derived_tile(x: int, y: int, prefix: str = DERIVED) -> str:
    # The combination layer's colours, so both colour the same way.
    return f"{prefix}/{DEEPEST}/{y}/{x}/tile.png?vmin=-30&vmax=30&cmap=RdBu_r"


def report(name: str, values: list[float]) -> None:
    print(
        f"{name:<44} p50 {percentile(values, 50):6.1f} ms, p99 {percentile(values, 99):6.1f} ms"
        f"  (n={len(values)})"
    )


def main() -> None:
    fits_path = ensure_act_map()
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-derived-"))
    server = None
    try:
        server = Server(folder, write_config(folder, fits_path), workers=1, memcached_port=None)
        print(
            f"server on port {server.port} (in-process cache, cores={os.cpu_count()}, "
            f"load average {os.getloadavg()[0]:.1f})"
        )
        connection = server.connect()
        rng = random.Random(2026)
        pool = [(x, y) for x in range(TILES_ACROSS) for y in DATA_ROWS]
        rng.shuffle(pool)
        # First requests: imports, database, file mapping, the derived source.
        timed(connection, combination_tile(*pool.pop()))
        timed(connection, derived_tile(*pool.pop()))
        cold = {"combination": [], "derived": []}
        tiles = {"combination": [], "derived": []}
        for _ in range(COLD_SAMPLES):
            for kind, path in (("combination", combination_tile), ("derived", derived_tile)):
                tile = pool.pop()
                tiles[kind].append(tile)
                cold[kind].append(timed(connection, path(*tile)))
        warm = {
            "combination": [
                timed(connection, combination_tile(*tiles["combination"][0]))
                for _ in range(WARM_SAMPLES)
            ],
            "derived": [
                timed(connection, derived_tile(*tiles["derived"][0])) for _ in range(WARM_SAMPLES)
            ],
        }
        report("cold tile, configured fits_combination Q-U:", cold["combination"])
        report("cold tile, /derived/difference Q U:", cold["derived"])
        report("warm tile, configured fits_combination Q-U:", warm["combination"])
        report("warm tile, /derived/difference Q U:", warm["derived"])
        for op in ("p", "angle"):
            values = [
                timed(connection, derived_tile(*pool.pop(), prefix=f"/derived/{op}/act-q/act-u"))
                for _ in range(COLD_SAMPLES // 2)
            ]
            report(f"cold tile, /derived/{op} Q U:", values)
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
        connection.close()
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
