"""Contours and polarisation vectors in the browser: time to compute and draw them over a
full 1400 x 900 viewport once its data tiles are there (issue 14, goal: <= 200 ms).

Starts ``manage.py serve`` on 127.0.0.1 the way ``bench_viewer_gl.py`` does, over a
three-plane I/Q/U CAR map (noise plus large-scale structure, 2 arcmin, written to a
temporary folder), opens the viewer in headless Chromium at native resolution with the
overlays on, waits until every tile they need has loaded, then prints, as median / max of
``REPEATS`` recomputations (``Overlays.compute``: mosaic of the tiles, marching squares or
binned vectors, OpenLayers features) followed by a synchronous render of the map
(``map.renderSync``, the features drawn):

- contours: 10 linear levels of I, with the default smoothing (block means of 4 x 4
  tile pixels), then without smoothing and with a Gaussian of factor 4 (sigma 2 pixels,
  at full resolution), 8 and 16 (sigma 4 and 8, on block means of 2 and 4 pixels);
- vectors: one per 24 screen pixels from the mean Q and U of its bin, then with the
  noise of Q and U from the map's inverse-variance plane and a threshold P/sigma >= 3;
- both together.

With ``--noise`` the I plane is dominated by pixel noise (sigma 100 over the same
+-100 structure, so the 10 levels between -200 and 200 cross almost every pixel): the
case where contours without smoothing stop with "too many contour lines".

Usage: ``python3 bench/bench_overlays.py [--noise]``
"""

import argparse
import json
import signal
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from bench_viewer_gl import CHROMIUM, CHROMIUM_ARGS, settle, start_server  # noqa: E402

from tests.support.fits import car_header  # noqa: E402

VIEWPORT = {"width": 1400, "height": 900}
REPEATS = 15

MEASURE = """async ({ repeats, contours, vectors, smoothing, smoothPx, noiseLayer, threshold }) => {
  const { sky, overlays } = window.tilemakerViewer;
  const changes = { contours, vectors, smoothing, smoothPx, noiseLayer, threshold };
  overlays.setState({ ...overlays.getState(), ...changes });
  // The first computation asks for the tiles of a new noise layer: wait for them.
  await new Promise((resolve) => {
    const poll = () => {
      if (overlays.last.waiting === 0 && !overlays.recomputeDue()) resolve();
      else setTimeout(poll, 100);
    };
    setTimeout(poll, 200);
  });
  const times = [];
  for (let i = 0; i < repeats; i += 1) {
    const started = performance.now();
    overlays.compute();
    sky.map.renderSync();
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 30));
  }
  return {
    times,
    waiting: overlays.last.waiting,
    lines: overlays.contourLayer.lineCount,
    error: document.querySelector("#contour-error").textContent,
    segments: overlays.vectorLayer.segments.length,
  };
}"""

WAIT_OVERLAYS = """() => {
  const o = window.tilemakerViewer.overlays;
  return o.last.computed > 0 && o.last.waiting === 0 && !o.recomputeDue();
}"""


def write_iqu_map(folder: Path, noise: bool) -> Path:
    nx, ny, scale_deg = 10800, 1290, 2 / 60
    header = car_header(
        nx=nx, ny=ny, pixel_scale_deg=scale_deg, ra_left_deg=180.0, dec_bottom_deg=-43.0
    )
    rng = np.random.default_rng(2026)
    x = np.arange(nx) / 40.0
    y = np.arange(ny)[:, None] / 55.0
    data = np.empty((4, ny, nx), dtype=np.float32)
    i_noise = 100 if noise else 3
    data[0] = i_noise * rng.standard_normal((ny, nx)) + 100 * np.sin(x)[None, :] * np.cos(y)
    data[1] = 5 * rng.standard_normal((ny, nx)) + 20 * np.cos(x / 3)[None, :]
    data[2] = 5 * rng.standard_normal((ny, nx)) + 20 * np.sin(y / 2)
    # The inverse variance of Q and U: 1 / 5², deeper (x 4) in a band of rows, with
    # zero (no data) in a strip.
    data[3] = np.where((np.arange(ny) % 200 < 100)[:, None], 0.16, 0.04)
    data[3][:, 5000:5100] = 0.0
    path = folder / "bench_iqu.fits"
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return path


def write_config(folder: Path, fits_path: Path) -> Path:
    layers = [
        {
            "layer_id": f"ov-{stokes.lower()}",
            "name": stokes,
            "quantity": stokes,
            "stokes": stokes,
            "units": "uK",
            "vmin": -300.0,
            "vmax": 300.0,
            "cmap": "RdBu_r",
            "provider": {"provider_type": "fits", "filename": str(fits_path), "index": index},
        }
        for index, stokes in enumerate("IQU")
    ]
    layers.append(
        {
            "layer_id": "ov-ivar",
            "name": "IVar",
            "quantity": "ivar",
            "units": "uK^-2",
            "vmin": 0.0,
            "vmax": 0.2,
            "cmap": "gray",
            "provider": {"provider_type": "fits", "filename": str(fits_path), "index": 3},
        }
    )
    band = {"band_id": "f090", "name": "f090", "description": "", "layers": layers}
    sky_map = {"map_id": "ov", "name": "Overlay bench", "description": "", "bands": [band]}
    group = {"map_group_id": "bench", "name": "Bench", "description": "", "maps": [sky_map]}
    path = folder / "config.json"
    path.write_text(json.dumps({"map_groups": [group]}))
    return path


def summary(times_ms) -> str:
    return f"median {statistics.median(times_ms):6.1f} ms, max {max(times_ms):6.1f} ms"


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noise", action="store_true", help="a noise-dominated I plane")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-overlays-") as tmp:
        folder = Path(tmp)
        server, url = start_server(folder, write_config(folder, write_iqu_map(folder, args.noise)))
        with server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
                page.goto(f"{url}/layers/ov-i")
                layer = json.loads(page.inner_text("body"))
                native = layer["number_of_levels"] - 1
                overlays = "ct=&ctm=linear&ctn=10&ctlo=-200&cthi=200&vec=1&vbin=24"
                page.goto(f"{url}/?layer=ov-i&ra=0&dec=-20&zoom={native}&flip=1&gl=1&{overlays}")
                settle(page)
                page.wait_for_function(WAIT_OVERLAYS, timeout=120_000)
                size = page.evaluate("window.tilemakerViewer.sky.map.getSize()")
                print(f"tile {layer['tile_size']} px, level {native}, map {size[0]} x {size[1]}")
                print("I plane: " + ("noise-dominated" if args.noise else "smooth"))
                for name, contours, vectors, smoothing, smooth_px, noise_layer in [
                    ("contours, block 4", True, False, "block", 4, None),
                    ("contours, none", True, False, "none", 4, None),
                    ("contours, gaussian 4", True, False, "gaussian", 4, None),
                    ("contours, gaussian 8", True, False, "gaussian", 8, None),
                    ("contours, gaussian 16", True, False, "gaussian", 16, None),
                    ("vectors, 24 px bins", False, True, "block", 4, None),
                    ("vectors, P/sigma >= 3", False, True, "block", 4, "ov-ivar"),
                    ("both, block 4", True, True, "block", 4, None),
                ]:
                    options = {
                        "repeats": REPEATS,
                        "contours": contours,
                        "vectors": vectors,
                        "smoothing": smoothing,
                        "smoothPx": smooth_px,
                        "noiseLayer": noise_layer,
                        "threshold": 3 if noise_layer else 0,
                    }
                    result = page.evaluate(MEASURE, options)
                    assert result["waiting"] == 0, "tiles still loading"
                    counts = f"{result['lines']} lines, {result['segments']} vectors"
                    if contours and result["error"]:
                        counts += f"; {result['error']}"
                    print(f"  {name:21s} {summary(result['times'])} ({counts})")
                page.close()
            finally:
                browser.close()
                server.stop(signal.SIGTERM)


if __name__ == "__main__":
    main()
