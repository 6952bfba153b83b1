"""A million-source catalogue: import time, view query times (SQLite, PostgreSQL), frames/s.

Run ``python3 bench/bench_million.py [--sources N] [--repeats N] [--databases sqlite,postgres]
[--no-fps]``. Writes a CSV catalogue of N random sources with an ``snr``
column (not committed) and a small CAR map into a temporary folder, then for
each database (a throw-away SQLite file; a real PostgreSQL started on
127.0.0.1 by tests/support/stack.py, fsync off) in a child process:

- times ``import_config`` of the catalogue;
- times view queries through the Django test client (limit 5000, the
  viewer's): the whole sky, a 90 x 60 degree view, a 20 x 10, a 2 x 1, at
  random centres, printing p50 and p99 wall time in ms, the p50 of this
  process's CPU time (PostgreSQL's own work is not in it; on a busy
  machine it shows what the query costs apart from waiting for a core),
  and how many totals were estimated; then the whole sky and the 20 x 10
  with ``filter=snr > 20`` (the brightest 1.8%) and ``snr < 0.1`` (the
  dimmest 2%), and how many answers the row cap
  (``TILEMAKER_MAX_VIEW_SCAN_ROWS``) cut short.

Then serves the SQLite database with ``manage.py serve``, opens the viewer
in headless Chromium (Playwright; WebGL drawn in software by SwiftShader, no
GPU here) with the catalogue shown, and counts ``requestAnimationFrame``
callbacks during scripted pans and a zoom (``view.animate``), printing frames
per second and the longest frame of each. The machine is shared: expect noise.
"""

import argparse
import json
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from astropy.io import fits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.fits import car_header  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402
from tests.support.stack import Postgres  # noqa: E402

VIEW_LIMIT = 5000
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 860}
VIEWS_DEG = {"whole sky": None, "90 x 60 deg": (90.0, 60.0), "20 x 10 deg": (20.0, 10.0)}
VIEWS_DEG["2 x 1 deg"] = (2.0, 1.0)
# The filtered view queries. snr is exponential with mean 5 and is the
# brightness order (the only numeric column): ``snr > 20`` keeps the
# brightest exp(-4) = 1.8%, found first by the rank walk; ``snr < 0.1`` the
# dimmest 2%, found last, the worst case, which the row cap cuts short.
FILTERS = ("snr > 20", "snr < 0.1")
FILTERED_VIEWS = ("whole sky", "20 x 10 deg")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--no-fps", action="store_true", help="skip the Chromium frame count")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a database URL
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        measure_database(args.child, Path(args.folder), args.repeats)
        return
    with tempfile.TemporaryDirectory(prefix="tilemaker-bench-million-") as tmp:
        folder = Path(tmp)
        folder.chmod(0o755)  # PostgreSQL runs as its own user
        write_inputs(folder, args.sources)
        sqlite_url = f"sqlite:///{folder / 'bench.sqlite3'}"
        for name in args.databases.split(","):
            print(f"--- {name}", flush=True)
            if name == "sqlite":
                run_child(sqlite_url, folder, args.repeats)
            elif name == "postgres":
                postgres = Postgres(folder / "postgres", free_port())
                postgres.start()
                try:
                    run_child(postgres.url, folder, args.repeats)
                finally:
                    postgres.stop()
            else:
                raise SystemExit(f"unknown database {name!r}: sqlite or postgres")
        if not args.no_fps:
            if "sqlite" not in args.databases.split(","):
                raise SystemExit("the frame count serves the SQLite database: include sqlite")
            print("--- Chromium (headless, software WebGL)", flush=True)
            measure_frames(sqlite_url)


def write_inputs(folder: Path, n: int) -> None:
    rng = np.random.default_rng(1)
    ra, dec, snr = rng.uniform(0, 360, n), rng.uniform(-60, 20, n), rng.exponential(5, n)
    rows = enumerate(zip(ra, dec, snr, strict=True))
    lines = ["name,ra,dec,snr"] + [f"S{i},{r:.6f},{d:.6f},{s:.3f}" for i, (r, d, s) in rows]
    (folder / "cat.csv").write_text("\n".join(lines) + "\n")
    # A small map for the viewer to open on: a 3 x 2 degree patch at RA 0,
    # Dec -20 with 18 arcsec pixels, fine enough for the viewer to zoom to
    # a 2 degree wide view (its zoom levels follow the map's pixels).
    header = car_header(nx=600, ny=400, pixel_scale_deg=0.005, ra_left_deg=1.5, dec_bottom_deg=-21)
    data = rng.standard_normal((400, 600)).astype(np.float32)
    fits.PrimaryHDU(data=data, header=header).writeto(folder / "map.fits")
    layer = {
        "layer_id": "sky",
        "name": "I",
        "quantity": "T",
        "units": "uK",
        "vmin": -3,
        "vmax": 3,
        "cmap": "RdBu_r",
        "provider": {"provider_type": "fits", "filename": str(folder / "map.fits"), "index": 0},
    }
    band = {"band_id": "b", "name": "b", "layers": [layer]}
    sky_map = {"map_id": "m", "name": "M", "bands": [band]}
    config = {
        "map_groups": [{"map_group_id": "g", "name": "G", "maps": [sky_map]}],
        "source_groups": [
            {
                "source_group_id": "big",
                "name": "Big",
                "provider": {"file_type": "csv", "filename": "cat.csv"},
            }
        ],
    }
    (folder / "config.json").write_text(json.dumps(config))


def run_child(database_url: str, folder: Path, repeats: int) -> None:
    command = [sys.executable, __file__, "--child", database_url, "--folder", str(folder)]
    subprocess.run([*command, "--repeats", str(repeats)], check=True, cwd=REPO)


def measure_database(database_url: str, folder: Path, repeats: int) -> None:
    os.environ["TILEMAKER_DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")
    os.environ["TILEMAKER_LOG_REQUESTS"] = "no"
    os.environ["TILEMAKER_ALLOWED_HOSTS"] = "testserver"
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from maps.importers import import_config

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    report = import_config(folder / "config.json")
    print(f"import_config of {report.sources} sources: {time.perf_counter() - started:.1f} s")

    client = Client()
    rng = np.random.default_rng(2)
    columns = ("p50 ms", "p99 ms", "CPU ms", "mean total", "estimated", "truncated")
    print(f"{'view':24} " + " ".join(f"{column:>7}" for column in columns))
    views = [(label, size, None) for label, size in VIEWS_DEG.items()]
    views += [
        (f"{label}, {text}", VIEWS_DEG[label], text) for text in FILTERS for label in FILTERED_VIEWS
    ]
    for label, size, text in views:
        times, cpu_times, totals, estimated, truncated = [], [], [], 0, 0
        for _ in range(repeats):
            left, right, top, bottom = _box(rng, *size) if size else (360.0, 0.0, 90.0, -90.0)
            query = {"left": left, "right": right, "top": top, "bottom": bottom}
            if text is not None:
                query["filter"] = text
            start, start_cpu = time.perf_counter(), time.process_time()
            response = client.get("/sources/big/view", {**query, "limit": VIEW_LIMIT})
            times.append(1000 * (time.perf_counter() - start))
            cpu_times.append(1000 * (time.process_time() - start_cpu))
            body = response.json()
            totals.append(body["total"])
            estimated += body["total_is_estimate"]
            truncated += body.get("truncated", False)
        times.sort()
        p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(
            f"{label:24} {statistics.median(times):7.1f} {p99:7.1f} "
            f"{statistics.median(cpu_times):7.1f} "
            f"{statistics.mean(totals):11.0f} {estimated:>4}/{repeats} {truncated:>4}/{repeats}",
            flush=True,
        )


def _box(rng, width_deg: float, height_deg: float) -> tuple[float, float, float, float]:
    ra, dec = rng.uniform(0, 360), rng.uniform(-50, 10)
    return ra + width_deg / 2, ra - width_deg / 2, dec + height_deg / 2, dec - height_deg / 2


# Counts animation frames while ``move`` runs ``view.animate`` steps; a
# frame's time is the gap between two callbacks.
FRAMES = """async (steps) => {
  const sky = window.tilemakerViewer.sky;
  const results = [];
  for (const step of steps) {
    sky.view.setCenter(step.from.center);
    sky.view.setResolution(step.from.resolution);
    // Let the per-view fetch for the start view land before counting.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const markers = MARKERS;
    const gaps = [];
    let last = null;
    let counting = true;
    const tick = (now) => {
      if (last !== null) gaps.push(now - last);
      last = now;
      if (counting) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    const started = performance.now();
    await new Promise((resolve) => sky.view.animate({ ...step.to, duration: step.ms }, resolve));
    const seconds = (performance.now() - started) / 1000;
    counting = false;
    results.push({
      name: step.name,
      fps: gaps.length / seconds,
      longest: Math.max(...gaps),
      markers,
    });
  }
  return results;
}"""


# The viewer's default draws map tiles with WebGL (gl=1); gl=0 asks the
# server for PNG tiles. Without the catalogue: the map's own frame rate.
PAGES = {
    "WebGL map tiles (the default), catalogue shown": "gl=1&cat=big",
    "WebGL map tiles, no catalogue": "gl=1",
    "PNG map tiles (gl=0), catalogue shown": "gl=0&cat=big",
    "PNG map tiles, no catalogue": "gl=0",
}
MARKERS = (
    "window.tilemakerViewer.catalogues.layers.get('big')?.getSource().getFeatures().length || 0"
)
FRAMES = FRAMES.replace("MARKERS", MARKERS)


def measure_frames(database_url: str) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = {
        **os.environ,
        "TILEMAKER_DEBUG": "no",
        "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(48),
        "TILEMAKER_ALLOWED_HOSTS": "127.0.0.1",
        "TILEMAKER_DATABASE_URL": database_url,
        "TILEMAKER_PRECACHE": "no",
        "TILEMAKER_HTTPS": "no",
        "TILEMAKER_LOG_REQUESTS": "no",
    }
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess(command, launcher=None, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    with server, sync_playwright() as playwright:
        try:
            _wait_for(server, url)
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            whole = 400.0 / VIEWPORT["width"]  # degrees per pixel: the whole sky on screen
            close = 2.0 / VIEWPORT["width"]  # a 2 degree wide view
            steps = [
                {
                    "name": "pan, whole sky",
                    "from": {"center": [0, -20], "resolution": whole},
                    "to": {"center": [-120, -20]},
                    "ms": 3000,
                },
                {
                    "name": "pan, 20 deg view",
                    "from": {"center": [0, -20], "resolution": 20 / VIEWPORT["width"]},
                    "to": {"center": [-15, -25]},
                    "ms": 3000,
                },
                {
                    "name": "zoom in, whole sky to 2 deg",
                    "from": {"center": [0, -20], "resolution": whole},
                    "to": {"resolution": close},
                    "ms": 3000,
                },
                {
                    "name": "pan, 2 deg view",
                    "from": {"center": [0, -20], "resolution": close},
                    "to": {"center": [-1.5, -20.5]},
                    "ms": 3000,
                },
            ]
            print(f"viewport {VIEWPORT['width']} x {VIEWPORT['height']}, 3 s per move")
            for label, query in PAGES.items():
                page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
                page.goto(f"{url}/?layer=sky&ra=0&dec=-20&zoom=0&flip=1&{query}")
                page.wait_for_function("document.body.classList.contains('ready')", timeout=60_000)
                if "cat=" in query:
                    page.wait_for_function(f"() => ({MARKERS}) > 0", timeout=60_000)
                print(label)
                for result in page.evaluate(FRAMES, steps):
                    print(
                        f"  {result['name']:28} {result['fps']:5.1f} frames/s, longest frame "
                        f"{result['longest']:6.1f} ms, {result['markers']} markers at the start"
                    )
                page.close()
            browser.close()
        finally:
            server.stop(signal.SIGTERM)


def _wait_for(server: ServerProcess, url: str) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit("server exited:\n" + server.output)
        try:
            with urllib.request.urlopen(f"{url}/map-groups", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not answer on /map-groups:\n" + server.output)


if __name__ == "__main__":
    main()
