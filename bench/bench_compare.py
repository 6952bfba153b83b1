"""Blinking between two layers: time per switch, and the requests it makes.

Starts ``manage.py serve`` on 127.0.0.1 like ``bench_viewer_gl.py`` (its map,
server start and settle are reused) with two layers of that map in different
colours, opens the viewer in headless Chromium blinking between them
(``cmp=blink``, the timer stopped so the bench steps the frames), lets both
layers' tiles load over a full 1400 x 860 viewport at native resolution,
then prints, as median / max of ``REPEATS`` switches:

- blink switch to the first frame drawn after it (OpenLayers ``postrender``,
  then the next animation frame, when it is on screen) and to
  ``rendercomplete``, and the requests to ``/layers/`` during all switches
  (must be 0);
- for scale, switching the main layer back and forth the old way (H / L:
  ``selectLayer``, a server round trip for the layer and its histogram, then
  its tiles, warm caches after the first round) to ``rendercomplete``;

each with WebGL data tiles and with PNG tiles (``gl=0``). Software WebGL
(SwiftShader, no GPU here) is much slower than a GPU; numbers depend on what
else runs on the machine.

Usage: ``python3 bench/bench_compare.py``
"""

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

from bench_viewer_gl import (  # noqa: E402
    VIEWPORT,
    settle,
    summary,
    viewer_bench,
    write_config,
    write_small_map,
)

REPEATS = 20

BLINK = """async ({ repeats, until }) => {
  const viewer = window.tilemakerViewer;
  const compare = viewer.compare;
  const map = viewer.sky.map;
  compare.stopTimer();
  const times = [];
  for (let i = 0; i < repeats; i += 1) {
    const done = new Promise((resolve) => map.once(until, resolve));
    const started = performance.now();
    compare.showFrame(compare.frame + 1);
    await done;
    if (until === "postrender") await new Promise((resolve) => requestAnimationFrame(resolve));
    times.push(performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return times;
}"""

SELECT = """async ({ repeats, ids }) => {
  const viewer = window.tilemakerViewer;
  const map = viewer.sky.map;
  const times = [];
  for (let i = 0; i < repeats; i += 1) {
    const started = performance.now();
    await viewer.selectLayer(ids[(i + 1) % 2], { fromHistory: true });
    await new Promise((resolve) => { map.once("rendercomplete", resolve); map.render(); });
    times.push(performance.now() - started);
  }
  return times;
}"""


def write_two_layer_config(folder: Path, fits_path: Path) -> Path:
    config_path = write_config(folder, fits_path)
    config = json.loads(config_path.read_text())
    band = config["map_groups"][0]["maps"][0]["bands"][0]
    other = {**band["layers"][0], "layer_id": "gl-j", "name": "I (viridis)", "cmap": "viridis"}
    band["layers"].append(other)
    config_path.write_text(json.dumps(config))
    return config_path


def main() -> None:

    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        folder = Path(tmp)
        fits_path = write_small_map(folder)
        config = write_two_layer_config(folder, fits_path)
        with viewer_bench(folder, config) as (browser, url, layer, view):
            native = layer["number_of_levels"] - 1
            size = f"{VIEWPORT['width']} x {VIEWPORT['height']}"
            print(f"map {fits_path.name}, tile {layer['tile_size']} px, native level {native}")
            print(f"viewport {size}, {REPEATS} switches each")
            for gl, label in (("1", "WebGL data tiles"), ("0", "PNG tiles (gl=0)")):
                page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
                requests = []
                page.on(
                    "request",
                    lambda r, log=requests: log.append(r.url) if "/layers/" in r.url else None,
                )
                page.goto(f"{url}/?{view}&gl={gl}&cmp=blink&cmpl=gl-j&rate=5")
                page.wait_for_function(
                    "window.tilemakerViewer.compare.entries.size === 1", timeout=60_000
                )
                settle(page)
                tiles = len([u for u in requests if "/tile.png" in u or "/data.f32" in u])
                requests.clear()
                frame_ms = page.evaluate(BLINK, {"repeats": REPEATS, "until": "postrender"})
                complete_ms = page.evaluate(BLINK, {"repeats": REPEATS, "until": "rendercomplete"})
                blink_requests = len(requests)
                page.evaluate("window.tilemakerViewer.compare.setMode('off')")
                settle(page)
                select_ms = page.evaluate(SELECT, {"repeats": REPEATS, "ids": ["gl-i", "gl-j"]})
                print(f"{label}, {tiles} tiles loaded for both layers")
                print(f"  blink switch -> next frame drawn:   {summary(frame_ms)}")
                print(f"  blink switch -> rendercomplete:     {summary(complete_ms)}")
                print(f"  requests to /layers/ while blinking: {blink_requests}")
                print(f"  H/L layer switch -> rendercomplete: {summary(select_ms)}")
                page.close()


if __name__ == "__main__":
    main()
