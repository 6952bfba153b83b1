"""The browser's tile caches stay bounded while panning (issue 13, section 4).

OpenLayers keeps every tile it made (pixels, and for the WebGL layer a
texture) up to its layer's ``cacheSize``, 512 by default; the viewer sets a
bound from the screen size (mapview.js ``tileCacheSize``), 60 tiles here. The decoded data
tiles (gltiles.js ``TileValues``) have a byte budget.
"""

import pytest

from tests.viewer.helpers import open_viewer, settle, view_query

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PAN_STEPS = 40

# Zoomed out as far as the view goes, each screen holds several world copies
# of the map, so a pan of one screen width brings several tiles OpenLayers
# has not made yet (it makes one per world copy). Records every tile
# coordinate made and the cache's size after each step.
PAN = """async (steps) => {
  const sky = window.tilemakerViewer.sky;
  const layer = sky.tileLayer;
  const made = new Set();
  layer.getSource().on("tileloadstart", (event) => made.add(event.tile.getTileCoord().join("/")));
  const cache = () => {
    const renderer = layer.getRenderer();
    return sky.gl ? renderer.tileRepresentationCache : renderer.getTileCache();
  };
  const rendered = () => new Promise((resolve) => sky.map.once("rendercomplete", resolve));
  let done = rendered();
  sky.view.setZoom(sky.view.getMinZoom());
  await done;
  const counts = [];
  const [width] = sky.map.getSize();
  for (let i = 0; i < steps; i += 1) {
    const [x, y] = sky.view.getCenter();
    done = rendered();
    sky.view.setCenter([x + width * sky.view.getResolution(), y]);
    await done;
    counts.push(cache().getCount());
  }
  return {
    made: made.size,
    counts,
    cacheSize: layer.getCacheSize(),
    bound: cache().highWaterMark,
    valueBytes: sky.tileValues.bytes,
    valueBudget: sky.tileValues.budgetBytes,
  };
}"""


@pytest.mark.parametrize("gl", ["1", "0"])
def test_panning_across_many_screens_keeps_at_most_the_cache_bound(page, live_server, sky, gl):
    open_viewer(page, live_server, view_query(layer="sky-i", gl=gl, ra=55, dec=0, zoom=1, flip=1))
    assert page.evaluate("window.tilemakerViewer.sky.gl") is (gl == "1")

    result = page.evaluate(PAN, PAN_STEPS)
    settle(page)

    # The canvas layer keeps max(cacheSize, twice the tiles a frame wants),
    # OpenLayers' own rule; the WebGL layer keeps cacheSize.
    assert result["cacheSize"] < 512
    assert result["bound"] <= max(result["cacheSize"], 2 * result["counts"][0])
    # The pan made more tiles than the cache may keep, and it kept no more.
    assert result["made"] > result["bound"]
    assert max(result["counts"]) <= result["bound"]
    assert result["valueBytes"] <= result["valueBudget"]
    assert page.evaluate("window.tilemakerViewer.sky.pendingTiles") == 0
    assert page.console_errors == []
