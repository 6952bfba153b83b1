"""First paint over a slow link, and the browser's memory, for PNG and data tiles.

Starts ``manage.py serve`` on 127.0.0.1 as ``bench_viewer_gl.py`` does and
opens the viewer in headless Chromium (Playwright; WebGL drawn in software by
SwiftShader, no GPU here) in a 1400 x 900 viewport at the map's native level,
once with PNG tiles (``gl=0``) and once with data tiles (WebGL). Prints, as
the median of ``--runs`` fresh pages with the HTTP cache off:

- first paint: from navigation start to the first frame with every tile of
  the viewport drawn (no tile pending, then OpenLayers' ``rendercomplete``),
  over an emulated 20 Mbit/s link with 40 ms latency (the DevTools protocol's
  ``Network.emulateNetworkConditions``) and unthrottled;
- bytes received (``Network.loadingFinished`` encodedDataLength: bodies as
  sent, headers included) for the whole page and for the tiles, and the
  number of tiles fetched;
- memory with the viewport loaded, then after panning across ``--pan``
  viewports: the page's JS heap after a garbage collection
  (``Performance.getMetrics`` JSHeapUsedSize) and its ArrayBuffer backing
  stores (``Runtime.getHeapUsage`` backingStorageSize, where the decoded data
  tiles and OpenLayers' tile bands live), the resident memory of all
  Chromium processes (browser, renderer and GPU process, where SwiftShader
  keeps the textures; read from /proc), the tiles OpenLayers keeps and the
  decoded tiles the viewer keeps.

Chromium reports no GPU memory through the protocol here, and
``performance.measureUserAgentSpecificMemory`` needs cross-origin isolation,
which the viewer does not have. Numbers depend on the machine and on what
else runs on it.

Usage: ``python3 bench/bench_viewer_network.py [--act] [--runs N] [--pan N]``
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from bench_viewer_gl import (  # noqa: E402
    viewer_bench,
    write_config,
    write_small_map,
)

VIEWPORT = {"width": 1400, "height": 900}
SLOW_LINK = {
    "offline": False,
    "latency": 40,
    "downloadThroughput": 20e6 / 8,
    "uploadThroughput": 20e6 / 8,
}
UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}

# Milliseconds from navigation start (performance.now()) to the first frame
# drawn once no tile of the viewport is pending.
FULL_PAINT = """() => new Promise((resolve) => {
  const sky = window.tilemakerViewer.sky;
  sky.map.once("rendercomplete", () => resolve(performance.now()));
  sky.map.render();
})"""

ALL_TILES_IN = """() => {
  const sky = window.tilemakerViewer && window.tilemakerViewer.sky;
  if (!sky || !sky.tileLayer || !document.body.classList.contains("ready")) return false;
  const status = sky.visibleTileStatus();
  return Boolean(status) && status.pending === 0 && sky.pendingTiles === 0;
}"""

CACHES = """() => {
  const sky = window.tilemakerViewer.sky;
  const renderer = sky.tileLayer.getRenderer();
  const cache = sky.gl ? renderer.tileRepresentationCache : renderer.getTileCache();
  return {
    olTiles: cache.getCount(),
    olBound: cache.highWaterMark,
    decodedTiles: sky.tileValues.tiles.size,
    decodedBytes: sky.tileValues.bytes,
  };
}"""

PAN = """async (steps) => {
  const sky = window.tilemakerViewer.sky;
  const [width] = sky.map.getSize();
  for (let i = 0; i < steps; i += 1) {
    const [x, y] = sky.view.getCenter();
    const done = new Promise((resolve) => sky.map.once("rendercomplete", resolve));
    sky.view.setCenter([x + width * sky.view.getResolution(), y]);
    await done;
  }
}"""


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Playwright's driver, Chromium and its children)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def chromium_rss_mb() -> float:
    total_kb = 0
    for pid in descendants(os.getpid()):
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if "chrom" not in comm:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total_kb += int(line.split()[1])
    return total_kb / 1024


def heap_mb(cdp) -> tuple[float, float]:
    """JS heap and ArrayBuffer backing stores (typed arrays live outside the heap)."""
    cdp.send("HeapProfiler.collectGarbage")
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    buffers = cdp.send("Runtime.getHeapUsage").get("backingStorageSize", 0)
    return metrics["JSHeapUsedSize"] / 2**20, buffers / 2**20


def memory(page, cdp):
    return *heap_mb(cdp), chromium_rss_mb(), page.evaluate(CACHES)


def open_page(browser, url: str, link: dict):
    """A fresh page on ``url`` with the cache off and ``link``'s conditions;
    returns the page, its CDP session, ms to the full paint, and bytes/tiles."""
    page = browser.new_context(viewport=VIEWPORT, bypass_csp=True).new_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    cdp.send("Network.emulateNetworkConditions", link)
    cdp.send("Performance.enable")
    urls: dict[str, str] = {}
    received = {"all": 0, "tiles": 0, "count": 0}

    def on_response(event):
        urls[event["requestId"]] = event["response"]["url"]

    def on_finished(event):
        size = event["encodedDataLength"]
        received["all"] += size
        url = urls.get(event["requestId"], "")
        if url.endswith(("/tile.png", "/data.f32")) or "/tile.png?" in url or "/data.f32?" in url:
            received["tiles"] += size
            received["count"] += 1

    cdp.on("Network.responseReceived", on_response)
    cdp.on("Network.loadingFinished", on_finished)
    page.goto(url)
    page.wait_for_function(ALL_TILES_IN, polling="raf", timeout=300_000)
    paint_ms = page.evaluate(FULL_PAINT)
    return page, cdp, paint_ms, dict(received)


def measure(browser, url: str, runs: int, pan_steps: int) -> None:
    for name, link in (("20 Mbit/s, 40 ms", SLOW_LINK), ("unthrottled", UNTHROTTLED)):
        paints, sizes = [], []
        for _ in range(runs):
            page, _cdp, paint_ms, received = open_page(browser, url, link)
            paints.append(paint_ms)
            sizes.append(received)
            page.context.close()
        tiles_kb = statistics.median(s["tiles"] for s in sizes) / 1024
        all_kb = statistics.median(s["all"] for s in sizes) / 1024
        count = statistics.median(s["count"] for s in sizes)
        print(
            f"  {name:17s} first full paint median {statistics.median(paints):7.0f} ms "
            f"(max {max(paints):6.0f}); {count:.0f} tiles, {tiles_kb:7.0f} kB tiles, "
            f"{all_kb:7.0f} kB in all"
        )
    page, cdp, _, _ = open_page(browser, url, UNTHROTTLED)
    rows = [("viewport loaded", *memory(page, cdp))]
    for done in range(0, pan_steps, 10):
        page.evaluate(PAN, min(10, pan_steps - done))
        rows.append((f"after {min(done + 10, pan_steps)} viewports", *memory(page, cdp)))
    for label, heap, buffers, rss, caches in rows:
        print(
            f"  {label:24s} JS heap {heap:4.0f} MB + buffers {buffers:4.0f} MB, "
            f"Chromium RSS {rss:5.0f} MB, "
            f"OpenLayers tiles {caches['olTiles']:3d} (bound {caches['olBound']}), "
            f"decoded tiles {caches['decodedTiles']:3d} ({caches['decodedBytes'] / 2**20:.0f} MB)"
        )
    page.context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", action="store_true", help="use the ACT-scale bench map")
    parser.add_argument("--runs", type=int, default=5, help="fresh page loads per setting")
    parser.add_argument("--pan", type=int, default=30, help="viewports to pan across")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-net-") as tmp:
        folder = Path(tmp)
        if args.act:
            from act_map import ensure_act_map

            fits_path = ensure_act_map()
        else:
            fits_path = write_small_map(folder)
        with viewer_bench(folder, write_config(folder, fits_path)) as (browser, url, layer, view):
            native = layer["number_of_levels"] - 1
            print(f"map {fits_path.name}, tile {layer['tile_size']} px, native level {native}")
            print(
                f"viewport {VIEWPORT['width']} x {VIEWPORT['height']}, "
                f"median of {args.runs} page loads, cache off"
            )
            for label, gl in (("PNG tiles (gl=0)", "0"), ("data tiles (WebGL)", "1")):
                print(label)
                measure(browser, f"{url}/?{view}&gl={gl}", args.runs, args.pan)


if __name__ == "__main__":
    main()
