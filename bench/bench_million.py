"""A million-source catalogue: import_config time and /sources/{id}/view query times (SQLite).

Run ``python3 bench/bench_million.py [--sources N] [--repeats N]``. Writes a
CSV catalogue of N random sources (not committed) into a temporary folder,
imports it with ``import_config`` into a throw-away SQLite database, then
times view queries through the Django test client: zoomed out (the whole
sky, a 90 x 60 degree view) and zoomed in (a 2 x 1 degree view), at random
centres, printing p50 and p99 in ms. The machine is shared: expect noise.
Not measured here yet: PostgreSQL and frames per second in Chromium.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-million-"))
    os.environ["TILEMAKER_DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")
    os.environ["TILEMAKER_LOG_REQUESTS"] = "no"
    os.environ["TILEMAKER_ALLOWED_HOSTS"] = "testserver"
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from maps.importers import import_config

    call_command("migrate", verbosity=0)
    rng = np.random.default_rng(1)
    n = args.sources
    ra, dec, snr = rng.uniform(0, 360, n), rng.uniform(-60, 20, n), rng.exponential(5, n)
    rows = enumerate(zip(ra, dec, snr, strict=True))
    lines = ["name,ra,dec,snr"] + [f"S{i},{r:.6f},{d:.6f},{s:.3f}" for i, (r, d, s) in rows]
    (folder / "cat.csv").write_text("\n".join(lines) + "\n")
    (folder / "config.json").write_text(
        '{"source_groups": [{"source_group_id": "big", "name": "Big", '
        '"provider": {"file_type": "csv", "filename": "cat.csv"}}]}'
    )
    started = time.perf_counter()
    report = import_config(folder / "config.json")
    print(f"import_config of {report.sources} sources: {time.perf_counter() - started:.1f} s")

    client = Client()
    views = {
        "whole sky": lambda: (360.0, 0.0, 90.0, -90.0),
        "90 x 60 deg": lambda: _box(rng, 90.0, 60.0),
        "2 x 1 deg": lambda: _box(rng, 2.0, 1.0),
    }
    print(f"{'view':14} {'p50 ms':>8} {'p99 ms':>8} {'mean total':>11}")
    for label, make in views.items():
        times, totals = [], []
        for _ in range(args.repeats):
            left, right, top, bottom = make()
            query = {"left": left, "right": right, "top": top, "bottom": bottom, "limit": 5000}
            start = time.perf_counter()
            response = client.get("/sources/big/view", query)
            times.append(1000 * (time.perf_counter() - start))
            totals.append(response.json()["total"])
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(
            f"{label:14} {statistics.median(times):8.1f} {p99:8.1f} {statistics.mean(totals):11.0f}"
        )


def _box(rng, width_deg: float, height_deg: float) -> tuple[float, float, float, float]:
    ra, dec = rng.uniform(0, 360), rng.uniform(-50, 10)
    return ra + width_deg / 2, ra - width_deg / 2, dec + height_deg / 2, dec - height_deg / 2


if __name__ == "__main__":
    main()
