"""A 50,000-source catalogue is fetched per view, drawn as an image, its markers open popups."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np

from catalogs import view_query as catalogue_view_query
from maps.importers import import_config_data
from tests.viewer.helpers import open_viewer, screen_xy, settle, view_query

VIEW = {"ra": 60.0, "dec": 0.0, "zoom": 2, "flip": True}
BRIGHT = {"name": "Brightest", "ra": 60.0, "dec": 0.0, "extra": {"snr": 1e6}}


def big_catalogue() -> list[dict]:
    rng = np.random.default_rng(5)
    ra, dec = rng.uniform(0, 360, 60_000), rng.uniform(-60, 60, 60_000)
    # Nothing else near the bright source, so a click there can only hit it.
    far = np.hypot(ra - BRIGHT["ra"], dec - BRIGHT["dec"]) > 3.0
    sources = [
        {"name": f"S{i}", "ra": float(r), "dec": float(d), "extra": {"snr": float(i % 1000)}}
        for i, (r, d) in enumerate(zip(ra[far][:49_999], dec[far][:49_999], strict=True))
    ]
    return [*sources, BRIGHT]


def inside(sources, query) -> int:
    left, right = float(query["left"][0]), float(query["right"][0])
    top, bottom = float(query["top"][0]), float(query["bottom"][0])
    east, west = left % 360, right % 360
    count = 0
    for s in sources:
        in_ra = left - right >= 360 or (
            west <= s["ra"] <= east if west <= east else s["ra"] >= west or s["ra"] <= east
        )
        count += in_ra and bottom <= s["dec"] <= top
    return count


def test_a_large_catalogue_is_fetched_per_view_and_its_markers_open_popups(page, live_server, sky):
    sources = big_catalogue()
    entry = {"source_group_id": "big", "name": "Big survey", "sources": sources}
    import_config_data({"source_groups": [entry]}, base_dir=Path("."), source_name="test")

    with page.expect_response(re.compile(r"/sources/big/view\?.*limit=5000")) as first:
        open_viewer(page, live_server, view_query(layer="sky-i", cat="big", **VIEW))
    query = parse_qs(urlsplit(first.value.url).query)
    total = inside(sources, query)
    assert total > 5000
    assert first.value.json()["total"] == total
    legend = page.locator("label.legend-entry", has_text="Big survey")
    legend.locator(".count").filter(has_text="showing").wait_for()
    assert legend.locator(".count").inner_text() == f"showing 5000 of {total} (brightest)"
    drawn = page.evaluate(
        """() => {
            const layer = window.tilemakerViewer.catalogues.layers.get('big');
            return [layer instanceof ol.layer.VectorImage, layer.getSource().getFeatures().length];
        }"""
    )
    assert drawn == [True, 5000]

    settle(page)
    x, y = screen_xy(page, VIEW, BRIGHT["ra"], BRIGHT["dec"])
    page.mouse.click(x, y)
    popup = page.locator("#popup")
    popup.wait_for(state="visible")
    assert "Brightest" in popup.inner_text()
    assert "1000000" in popup.inner_text()

    # Panning fetches the new view's sources.
    with page.expect_response(re.compile(r"/sources/big/view\?.*limit=5000")) as second:
        page.evaluate("() => window.tilemakerViewer.sky.view.setCenter([180 - 200, 20])")
    moved = parse_qs(urlsplit(second.value.url).query)
    assert moved["right"] != query["right"]
    assert second.value.json()["total"] == inside(sources, moved)


def test_an_estimated_total_reads_about_in_the_legend(page, live_server, sky, monkeypatch):
    # The live server runs in this process: every count past the crossover.
    monkeypatch.setattr(catalogue_view_query, "EXACT_COUNT_MIN", 0)
    rng = np.random.default_rng(6)
    ra, dec = rng.uniform(0, 360, 25_000), rng.uniform(-30, 30, 25_000)
    sources = [{"ra": float(r), "dec": float(d)} for r, d in zip(ra, dec, strict=True)]
    entry = {"source_group_id": "big", "name": "Big survey", "sources": sources}
    import_config_data({"source_groups": [entry]}, base_dir=Path("."), source_name="test")

    view = {"ra": 0.0, "dec": 0.0, "zoom": 0, "flip": True}
    with page.expect_response(re.compile(r"/sources/big/view\?.*limit=5000")) as first:
        open_viewer(page, live_server, view_query(layer="sky-i", cat="big", **view))
    body = first.value.json()
    assert body["total_is_estimate"] is True
    count = page.locator("label.legend-entry", has_text="Big survey").locator(".count")
    count.filter(has_text="showing").wait_for()
    assert count.inner_text() == f"showing 5000 of about {body['total']} (random subsample)"
