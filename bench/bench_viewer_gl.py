"""Re-colouring in the browser: time from a vmin change to the repainted viewport.

Starts ``manage.py serve`` on 127.0.0.1 (throwaway SQLite database, the
viewer served by the app) over a CAR map, opens the viewer in headless
Chromium (Playwright; WebGL drawn in software by SwiftShader, no GPU here),
lets a full 1400 x 860 viewport of native tiles load, then prints, as
median / max of ``REPEATS`` changes:

- WebGL data tiles: vmin change to the first frame drawn after it
  (OpenLayers ``postrender``, then the next animation frame, when it is on
  screen; range and abs are uniforms) and to ``rendercomplete``; a colour map
  change (a new palette texture, tiles re-uploaded from the decoded-tile
  cache) to ``rendercomplete``; the HTTP requests to ``/layers/`` made by
  all of these (must be 0);
- PNG tiles (``gl=0``): vmin change to ``rendercomplete`` (new tiles from
  the server, warm caches after the first round);
- browser decode time per data tile (``DecompressionStream`` + un-shuffle).

The default map is 10800 x 2580 pixels at 2 arcmin, one plane (110 MB,
written once to a temporary folder); ``--act`` uses ``bench/act_map.py``'s
ACT-scale map (written on first use, 5 GB). Numbers depend on the machine
and on what else runs on it; software WebGL is much slower than a GPU.

Usage: ``python3 bench/bench_viewer_gl.py [--act]``
"""

import argparse
import contextlib
import json
import os
import secrets
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from astropy.io import fits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from tests.support.fits import car_header  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"]
VIEWPORT = {"width": 1400, "height": 860}
REPEATS = 15
VMIN, VMAX = -300.0, 300.0

MEASURE = """async ({ repeats, mode }) => {
  const viewer = window.tilemakerViewer;
  const sky = viewer.sky;
  const base = viewer.colour.getColour();
  const wait = (event) => new Promise((resolve) => sky.map.once(event, resolve));
  const times = [];
  let frames = 0;
  const count = () => { frames += 1; };
  sky.map.on("postrender", count);
  for (let i = 0; i < repeats; i += 1) {
    const colour = mode === "cmap"
      ? { ...base, cmap: i % 2 ? base.cmap : "viridis" }
      : { ...base, vmin: base.vmin + 10 * (i + 1) };
    const done = wait(mode === "vmin-frame" ? "postrender" : "rendercomplete");
    const started = performance.now();
    sky.setColour(colour);
    await done;
    // The frame is on screen at the next animation frame.
    if (mode === "vmin-frame") await new Promise((resolve) => requestAnimationFrame(resolve));
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  sky.map.un("postrender", count);
  return { times, framesPerChange: frames / repeats };
}"""

PREFETCH_VIRIDIS = "import('/static/frontend/js/colour.js').then((m) => m.loadColourMap('viridis'))"

DECODE = """async (urls) => {
  const { decodeDataTile } = await import('/static/frontend/js/datatile.js');
  const times = [];
  for (const url of urls) {
    const response = await fetch(url);
    const body = await response.blob();
    const started = performance.now();
    await decodeDataTile(body, response.headers);
    times.push(performance.now() - started);
  }
  return times;
}"""


def write_small_map(folder: Path) -> Path:
    nx, ny, scale_deg = 10800, 2580, 2 / 60
    header = car_header(
        nx=nx, ny=ny, pixel_scale_deg=scale_deg, ra_left_deg=180.0, dec_bottom_deg=-63.0
    )
    rng = np.random.default_rng(2026)
    data = (30 * rng.standard_normal((ny, nx))).astype(np.float32)
    data += (100 * np.sin(np.arange(nx) / 40.0)[None, :]).astype(np.float32)
    path = folder / "bench_gl.fits"
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return path


def write_config(folder: Path, fits_path: Path) -> Path:
    layer = {
        "layer_id": "gl-i",
        "name": "I",
        "quantity": "T",
        "units": "uK",
        "vmin": VMIN,
        "vmax": VMAX,
        "cmap": "RdBu_r",
        "provider": {"provider_type": "fits", "filename": str(fits_path), "index": 0},
    }
    band = {"band_id": "f090", "name": "f090", "description": "", "layers": [layer]}
    sky_map = {"map_id": "gl", "name": "GL bench", "description": "", "bands": [band]}
    group = {"map_group_id": "bench", "name": "Bench", "description": "", "maps": [sky_map]}
    path = folder / "config.json"
    path.write_text(json.dumps({"map_groups": [group]}))
    return path


def start_server(folder: Path, config: Path) -> tuple[ServerProcess, str]:
    port = free_port()
    env = {
        **os.environ,
        "TILEMAKER_DEBUG": "no",
        "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(48),
        "TILEMAKER_ALLOWED_HOSTS": "127.0.0.1",
        "TILEMAKER_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
        "TILEMAKER_CONFIG_PATH": str(config),
        "TILEMAKER_PRECACHE": "no",
        "TILEMAKER_HTTPS": "no",
        "TILEMAKER_LOG_REQUESTS": "no",
    }
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = ServerProcess(command, launcher=None, cwd=REPO, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit("server exited:\n" + server.output)
        try:
            with urllib.request.urlopen(f"{url}/map-groups", timeout=5) as response:
                if response.status == 200:
                    return server, url
        except OSError:
            time.sleep(0.2)
    server.stop(signal.SIGTERM)
    raise SystemExit("server did not answer on /map-groups:\n" + server.output)


@contextlib.contextmanager
def viewer_bench(folder: Path, config: Path):
    """A server for ``config`` and a headless Chromium beside it, stopped on exit.

    Yields ``(browser, url, layer, view)``: ``layer`` the JSON of ``gl-i``,
    ``view`` the viewer query showing it at its native level near RA 0.
    """
    from playwright.sync_api import sync_playwright

    server, url = start_server(folder, config)
    with server, sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            with urllib.request.urlopen(f"{url}/layers/gl-i") as response:
                layer = json.load(response)
            native = layer["number_of_levels"] - 1
            yield browser, url, layer, f"layer=gl-i&ra=0&dec=-20&zoom={native}&flip=1"
        finally:
            browser.close()
            server.stop(signal.SIGTERM)


def settle(page):
    page.wait_for_function("document.body.classList.contains('ready')", timeout=60_000)
    page.evaluate(
        """() => new Promise((resolve) => {
            const map = window.tilemakerViewer.sky.map;
            map.once('rendercomplete', resolve);
            map.render();
        })"""
    )


def summary(times_ms) -> str:
    if isinstance(times_ms, dict):
        frames = times_ms["framesPerChange"]
        return f"{summary(times_ms['times'])}, {frames:.1f} frames drawn per change"
    return f"median {statistics.median(times_ms):7.1f} ms, max {max(times_ms):7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", action="store_true", help="use the ACT-scale bench map")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-gl-") as tmp:
        folder = Path(tmp)
        if args.act:
            from act_map import ensure_act_map

            fits_path = ensure_act_map()
        else:
            fits_path = write_small_map(folder)
        with viewer_bench(folder, write_config(folder, fits_path)) as (browser, url, layer, view):
            native = layer["number_of_levels"] - 1
            size = f"{VIEWPORT['width']} x {VIEWPORT['height']}"
            print(f"map {fits_path.name}, tile {layer['tile_size']} px, native level {native}")
            print(f"viewport {size}, {REPEATS} changes each")
            page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
            layer_requests = []
            page.on(
                "request",
                lambda r: layer_requests.append(r.url) if "/layers/" in r.url else None,
            )
            page.goto(f"{url}/?{view}&gl=1")
            settle(page)
            assert page.evaluate("window.tilemakerViewer.sky.gl"), "WebGL not available"
            tile_urls = [u for u in layer_requests if "/data.f32" in u]
            decode_ms = page.evaluate(DECODE, tile_urls[:12])
            layer_requests.clear()
            frame_ms = page.evaluate(MEASURE, {"repeats": REPEATS, "mode": "vmin-frame"})
            complete_ms = page.evaluate(MEASURE, {"repeats": REPEATS, "mode": "vmin"})
            page.evaluate(PREFETCH_VIRIDIS)
            cmap_ms = page.evaluate(MEASURE, {"repeats": REPEATS, "mode": "cmap"})
            gl_requests = len(layer_requests)
            print(f"WebGL, {len(tile_urls)} data tiles on screen")
            print(f"  vmin change -> next frame drawn:  {summary(frame_ms)}")
            print(f"  vmin change -> rendercomplete:    {summary(complete_ms)}")
            print(f"  cmap change -> rendercomplete:    {summary(cmap_ms)}")
            print(f"  requests to /layers/ during all:  {gl_requests}")
            print(f"  decode per data tile in Chromium: {summary(decode_ms)}")
            page.close()

            page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
            page.goto(f"{url}/?{view}&gl=0")
            settle(page)
            png_ms = page.evaluate(MEASURE, {"repeats": REPEATS, "mode": "vmin"})
            print("PNG tiles (gl=0)")
            print(f"  vmin change -> rendercomplete:    {summary(png_ms)}")
            page.close()


if __name__ == "__main__":
    main()
