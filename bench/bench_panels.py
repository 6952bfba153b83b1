"""Linked panels: time from a view change to every panel drawn at the new centre.

Starts ``manage.py serve`` on 127.0.0.1 over the same CAR map as
``bench_viewer_gl.py`` (its server start, map and config), opens the viewer in
headless Chromium (WebGL in software, SwiftShader: no GPU here) with 1, 2 and
4 linked panels (``panels=N``, every panel the same layer in its own colours,
each with its own tile layer), lets every panel load its native tiles, then
pans the shared view ``REPEATS`` times by ``STEP_PIXELS`` back and forth (the
tiles stay loaded) and prints, as median / max:

- ms from ``view.setCenter`` to the last panel's ``postrender`` showing the
  new centre (all panels drawn);
- the spread in animation frames between the first and the last panel drawn
  (0: every panel moved within the same frame).

Usage: ``python3 bench/bench_panels.py``
"""

import json
import signal
import statistics
import sys
import tempfile
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_viewer_gl import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWPORT,
    start_server,
    write_config,
    write_small_map,
)

REPEATS = 30
STEP_PIXELS = 16
CMAPS = ["RdBu_r", "viridis", "magma", "gray"]

SETTLE = """(timeout) => Promise.all(window.tilemakerViewer.panels.panels.map((panel) =>
    new Promise((resolve, reject) => {
        const fail = () => reject(new Error('a panel never rendered'));
        const timer = setTimeout(fail, timeout);
        panel.sky.map.once('rendercomplete', () => { clearTimeout(timer); resolve(true); });
        panel.sky.map.render();
    })))"""

MEASURE = """async ({ repeats, stepPixels }) => {
  const panels = window.tilemakerViewer.panels.panels;
  const view = panels[0].sky.view;
  const step = stepPixels * view.getResolution();
  let frame = 0;
  let running = true;
  const tick = () => { frame += 1; if (running) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
  const times = [];
  const spreads = [];
  for (let i = 0; i < repeats; i += 1) {
    const [x, y] = view.getCenter();
    const target = [x + (i % 2 ? -step : step), y];
    const drawn = panels.map(({ sky }) => new Promise((resolve) => {
      const listener = (event) => {
        const centre = event.frameState.viewState.center;
        const off = Math.max(Math.abs(centre[0] - target[0]), Math.abs(centre[1] - target[1]));
        if (off > 1e-9) return;
        sky.map.un('postrender', listener);
        resolve({ at: performance.now(), frame });
      };
      sky.map.on('postrender', listener);
    }));
    const started = performance.now();
    view.setCenter(target);
    const results = await Promise.all(drawn);
    times.push(Math.max(...results.map((r) => r.at)) - started);
    const frames = results.map((r) => r.frame);
    spreads.push(Math.max(...frames) - Math.min(...frames));
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  running = false;
  return { times, spreads };
}"""


def summary(times_ms) -> str:
    return f"median {statistics.median(times_ms):6.1f} ms, max {max(times_ms):6.1f} ms"


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="bench-panels-") as tmp:
        folder = Path(tmp)
        fits_path = write_small_map(folder)
        server, url = start_server(folder, write_config(folder, fits_path))
        with server, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            try:
                with urllib.request.urlopen(f"{url}/layers/gl-i") as response:
                    native = json.load(response)["number_of_levels"] - 1
                view = f"layer=gl-i&ra=0&dec=-20&zoom={native}&flip=1&gl=1"
                print(f"viewport {VIEWPORT['width']} x {VIEWPORT['height']}, native level {native}")
                print(f"{REPEATS} pans of {STEP_PIXELS} px each, tiles loaded")
                for count in (1, 2, 4):
                    panels = "".join(
                        f"&p{k}=gl-i&p{k}cmap={CMAPS[k - 1]}&p{k}vmin=-300&p{k}vmax=300"
                        for k in range(2, count + 1)
                    )
                    page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
                    page.goto(f"{url}/?{view}&panels={count}{panels}")
                    page.wait_for_function(
                        "document.body.classList.contains('ready')", timeout=120_000
                    )
                    page.evaluate(SETTLE, 120_000)
                    shown = page.evaluate("window.tilemakerViewer.panels.panels.length")
                    assert shown == count, f"{shown} panels, not {count}"
                    result = page.evaluate(MEASURE, {"repeats": REPEATS, "stepPixels": STEP_PIXELS})
                    spreads = result["spreads"]
                    print(
                        f"{count} panel{'s' if count > 1 else ' '}: view change -> all drawn "
                        f"{summary(result['times'])}; frames between first and last panel: "
                        f"max {max(spreads)}, {spreads.count(0)}/{len(spreads)} in one frame"
                    )
                    page.close()
            finally:
                browser.close()
                server.stop(signal.SIGTERM)


if __name__ == "__main__":
    main()
