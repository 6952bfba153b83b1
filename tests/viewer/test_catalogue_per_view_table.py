"""The catalogue table of a catalogue loaded per view (over 20,000 sources): it lists the
sources loaded for the view, and its filter goes to the server on the view queries, which
the markers and rows follow; a filter the server refuses shows its detail."""

import math
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from maps.importers import import_config_data
from tests.viewer.helpers import (
    assert_colour,
    cmap_rgb,
    open_viewer,
    pixel,
    screen_xy,
    screenshot,
    settle,
    url_params,
    view_query,
    wait_for_url,
)
from tests.viewer.test_catalogue_per_view import inside

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

VIEW = {"ra": 60.0, "dec": 0.0, "zoom": 2, "flip": True}
VIEW_REQUEST = re.compile(r"/sources/big/view\?.*limit=5000")
# The viewer loads catalogues of more than 20,000 sources per view (overlays.js).
N_BULK = 20_500


def per_view_catalogue() -> list[dict]:
    """20,500 bright "field" sources over the sky, and 60 faint "pick" ones, 40 near VIEW:
    the brightest 5000 of a view hold no pick, so only the server's filter finds them."""
    rng = np.random.default_rng(8)
    ra, dec = rng.uniform(0, 360, N_BULK), rng.uniform(-60, 60, N_BULK)
    sources = [
        {"name": f"F{i}", "ra": float(r), "dec": float(d), "extra": {"snr": 100.0 + i % 500}}
        for i, (r, d) in enumerate(zip(ra, dec, strict=True))
    ]
    near_ra, near_dec = rng.uniform(50, 70, 40), rng.uniform(-8, 8, 40)
    far_ra, far_dec = rng.uniform(200, 220, 20), rng.uniform(-8, 8, 20)
    picks = zip([*near_ra, *far_ra], [*near_dec, *far_dec], strict=True)
    sources += [
        {"name": f"P{i}", "ra": float(r), "dec": float(d), "extra": {"snr": 1.0 + i, "kind": 1}}
        for i, (r, d) in enumerate(picks)
    ]
    return sources


def drawn_names(page) -> list[str]:
    return page.evaluate(
        """() => window.tilemakerViewer.catalogues.layers.get('big').getSource()
            .getFeatures().map((f) => f.get('item').name)"""
    )


def table_names(page) -> list[str]:
    """The table's rows in order (only those scrolled into view are elements)."""
    return page.evaluate("() => window.tilemakerViewer.catalogueTable.rows.map((s) => s.name)")


def shown_answer(page, answers):
    """The view answer the table lists: the view is loaded again as the map settles (the
    table panel opening resizes it), and answers may come in any order; the viewer keeps
    the newest request's, so the last one received is not always it. Under load an
    answer may reach the table before its response event reaches this list, or land
    between reading the rows and the count: read both again once the map settles."""
    for _attempt in range(10):
        names = sorted(table_names(page))
        count = page.locator("#table-count").inner_text()
        for answer in reversed(answers):
            body = answer.json() if answer.ok else None
            if body is None or sorted(row[1] for row in body["sources"]) != names:
                continue
            about = "~" if body["total_is_estimate"] else ""
            if f" of {about}{body['total']} in view" in count:
                return answer
        settle(page)
    raise AssertionError(f"no view answer lists the table's {len(names)} rows ({count!r})")


def test_the_table_filter_goes_to_the_view_queries_and_markers_and_rows_follow(
    page, live_server, sky
):
    sources = per_view_catalogue()
    entry = {"source_group_id": "big", "name": "Big survey", "sources": sources}
    import_config_data({"source_groups": [entry]}, base_dir=Path("."), source_name="test")

    answers = []
    page.on("response", lambda r: answers.append(r) if VIEW_REQUEST.search(r.url) else None)
    open_viewer(page, live_server, view_query(layer="sky-i", tcat="big", **VIEW))
    count = page.locator("#table-count")
    count.filter(has_text="in view").wait_for()
    settle(page)
    query = parse_qs(urlsplit(shown_answer(page, answers).url).query)
    total = inside(sources, query)
    assert total > 5000
    assert count.inner_text() == f"5000 shown of {total} in view (brightest first)"
    assert not any(name.startswith("P") for name in drawn_names(page))

    answers.clear()
    page.locator("#table-filter").fill("kind = 1 and snr < 35")
    page.wait_for_function(
        "!document.querySelector('#table-count').textContent.startsWith('5000 shown')"
    )
    settle(page)
    query = parse_qs(urlsplit(shown_answer(page, answers).url).query)
    assert query["filter"] == ["kind = 1 and snr < 35"]
    picks = [s for s in sources if s["extra"].get("kind") == 1 and s["extra"]["snr"] < 35]
    expected = sorted((s for s in picks if inside([s], query)), key=lambda s: -s["extra"]["snr"])
    assert 10 < len(expected) <= 34
    assert count.inner_text() == (
        f"{len(expected)} shown of {len(expected)} in view (brightest first)"
    )
    assert sorted(drawn_names(page)) == sorted(s["name"] for s in expected)
    # Brightest first, as the server answered; a click on a header sorts.
    assert table_names(page) == [s["name"] for s in expected]
    shown = page.locator("#table-body tr:not(.spacer) td:first-child").all_inner_texts()
    assert shown == [s["name"] for s in expected][: len(shown)]
    page.locator("#table-head th[data-column='snr']").click()
    assert table_names(page) == [s["name"] for s in reversed(expected)]
    wait_for_url(page, tfilter="kind = 1 and snr < 35", tsort="snr")

    # A row click goes to its source; reloaded for the new view, it stays selected.
    target = expected[-1]
    with page.expect_response(VIEW_REQUEST) as reload:
        page.locator("#table-body tr:not(.spacer)").first.click()
    page.wait_for_function(
        """([ra, dec]) => {
            const c = window.tilemakerViewer.sky.getCentreSky();
            return Math.abs(c.raDeg - ra) < 1e-6 && Math.abs(c.decDeg - dec) < 1e-6;
        }""",
        arg=[target["ra"], target["dec"]],
    )
    # Wait for that reload, or its answer would be taken for the refusal below.
    wait_for_rows(page, reload.value)
    assert page.locator("#table-body tr.selected td").first.inner_text() == target["name"]

    assert page.locator("#table-filter-error").inner_text() == ""
    with page.expect_response(VIEW_REQUEST) as refused:
        page.locator("#table-filter").fill("kind = 1)")
    assert refused.value.status == 400
    error = page.locator("#table-filter-error")
    error.filter(has_text="filter").wait_for()
    assert error.inner_text() == "filter: unexpected ')' at 8"
    # Not applied: the view is loaded again without it.
    count.filter(has_text="5000 shown").wait_for()
    assert not any(name.startswith("P") for name in drawn_names(page))
    assert page.console_errors == []


# Nothing else within 3 degrees (17 screen px in VIEW): a click there can only hit it, and
# sorted by snr it is the last of the view's 5000 rows.
BRIGHT = {"name": "Brightest", "ra": 60.0, "dec": 0.0, "extra": {"snr": 1000.0}}
# Gray: no background pixel looks like a viridis colour.
GRAY_VIEW = {"layer": "sky-i-gray", **VIEW}
IN_VIEW = "in view (brightest first)"


def catalogue_with_a_bright_source() -> list[dict]:
    """``per_view_catalogue`` with BRIGHT alone at the view's centre."""
    sources = per_view_catalogue()
    far = [math.hypot(s["ra"] - BRIGHT["ra"], s["dec"] - BRIGHT["dec"]) > 3.0 for s in sources]
    return [*(s for s, keep in zip(sources, far, strict=True) if keep), BRIGHT]


def import_big(sources):
    entry = {"source_group_id": "big", "name": "Big survey", "sources": sources}
    import_config_data({"source_groups": [entry]}, base_dir=Path("."), source_name="test")


def view_answers(page) -> list:
    answers = []
    page.on("response", lambda r: answers.append(r) if VIEW_REQUEST.search(r.url) else None)
    return answers


def marker_styles(page) -> dict[str, list]:
    """name: [radius_px, stroke colour] of every marker drawn, as the layer styles it."""
    return page.evaluate(
        """() => {
            const catalogues = window.tilemakerViewer.catalogues;
            const group = catalogues.groups.find((g) => g.source_group_id === 'big');
            const features = catalogues.layers.get('big').getSource().getFeatures();
            return Object.fromEntries(features.map((f) => {
                const image = catalogues.markerStyle('big', group.colour, f).getImage();
                return [f.get('item').name, [image.getRadius(), image.getStroke().getColor()]];
            }));
        }"""
    )


def rgb_of(css: str) -> list[int]:
    return [int(part) for part in re.findall(r"\d+", css)]


def assert_styled_by_snr(page, snr_by_name: dict[str, float]):
    """Radius 3 to 12 px and viridis over the drawn markers' snr range, as the legend says."""
    low, high = min(snr_by_name.values()), max(snr_by_name.values())
    styles = marker_styles(page)
    assert sorted(styles) == sorted(snr_by_name)
    for name, (radius, colour) in styles.items():
        t = (snr_by_name[name] - low) / (high - low)
        assert radius == pytest.approx(3 + 9 * t), name
        assert_colour(rgb_of(colour), cmap_rgb("viridis", t, 0.0, 1.0))
    legend = page.locator("#table-legend")
    colour_ends = legend.locator(".legend-colour .legend-ends > span").all_inner_texts()
    size_ends = legend.locator(".legend-size .legend-ends > span").all_inner_texts()
    expected = [f"{low:g}", f"{high:g}"]
    assert colour_ends == expected
    assert [text.strip() for text in size_ends] == expected
    assert legend.locator(".legend-colour div").first.inner_text() == "colour: snr"
    assert legend.locator(".legend-size div").first.inner_text() == "size: snr"


def test_a_marker_click_selects_and_scrolls_to_its_row(page, live_server, sky):
    import_big(catalogue_with_a_bright_source())
    open_viewer(page, live_server, view_query(layer="sky-i", tcat="big", tsort="snr", **VIEW))
    page.locator("#table-count").filter(has_text="5000 shown").wait_for()
    settle(page)
    assert table_names(page)[-1] == BRIGHT["name"]
    assert BRIGHT["name"] not in shown_names(page)

    x, y = screen_xy(page, VIEW, BRIGHT["ra"], BRIGHT["dec"])
    # The popup pans the map to fit (autoPan), which loads the new view: the row
    # stays selected and scrolled to across that reload.
    with page.expect_response(VIEW_REQUEST) as reload:
        page.mouse.click(x, y)
    wait_for_rows(page, reload.value)
    assert BRIGHT["name"] in [row[1] for row in reload.value.json()["sources"]]
    selected = page.locator("#table-body tr.selected")
    assert selected.locator("td").first.inner_text() == BRIGHT["name"]
    row, box = selected.bounding_box(), page.locator("#table-scroll").bounding_box()
    assert box["y"] <= row["y"]
    assert row["y"] + row["height"] <= box["y"] + box["height"]
    assert "Brightest" in page.locator("#popup").inner_text()
    assert page.console_errors == []


def wait_for_rows(page, answer):
    """Wait until the table lists the sources of this view answer."""
    page.wait_for_function(
        """(names) => {
            const rows = window.tilemakerViewer.catalogueTable.rows;
            const wanted = new Set(names);
            return rows.length === wanted.size && rows.every((s) => wanted.has(s.name));
        }""",
        arg=[row[1] for row in answer.json()["sources"]],
    )
    settle(page)


def shown_names(page) -> list[str]:
    return page.locator("#table-body tr:not(.spacer) td:first-child").all_inner_texts()


def test_markers_sized_and_coloured_by_a_column_with_its_range_in_the_legend(
    page, live_server, sky
):
    import_big(catalogue_with_a_bright_source())
    answers = view_answers(page)
    open_viewer(page, live_server, view_query(tcat="big", **GRAY_VIEW))
    page.locator("#table-count").filter(has_text="5000 shown").wait_for()
    page.locator("#table-size").select_option("snr")
    page.locator("#table-colour").select_option("snr")
    page.locator("#table-legend canvas").wait_for()
    settle(page)
    body = shown_answer(page, answers).json()
    loaded = [dict(zip(body["fields"], values, strict=True)) for values in body["sources"]]
    snr = {row["name"]: row["extra"]["snr"] for row in loaded}
    assert len(snr) == 5000
    assert max(snr.values()) == BRIGHT["extra"]["snr"]
    assert_styled_by_snr(page, snr)
    wait_for_url(page, tsize="snr", tcolour="snr")

    # On the canvas: the brightest is the largest (12 px) and viridis' last colour.
    image = screenshot(page, "per-view-table-styled")
    x, y = screen_xy(page, VIEW, BRIGHT["ra"], BRIGHT["dec"])
    top = cmap_rgb("viridis", 1.0, 0.0, 1.0)
    assert ring_distance(image, x, y, 12, top) <= 30
    assert ring_distance(image, x, y, 6, top) > 60
    assert page.console_errors == []


def ring_distance(image, x, y, radius_px, rgb):
    """How close the nearest pixel of the ring of that radius comes to ``rgb``."""
    angles = np.linspace(0, 2 * math.pi, 64, endpoint=False)
    ring = [pixel(image, x + radius_px * math.cos(a), y + radius_px * math.sin(a)) for a in angles]
    return min(np.abs(colour - rgb).max() for colour in ring)


def test_a_view_url_restores_the_table_its_server_filter_sort_and_styling(page, live_server, sky):
    sources = per_view_catalogue()
    import_big(sources)
    answers = view_answers(page)
    text = "kind = 1 and snr < 35"
    state = {"tcat": "big", "tfilter": text, "tsort": "-snr", "tsize": "snr", "tcolour": "snr"}
    # Until the first view answers, the menus show the URL's columns (not yet known).
    held = []

    def hold(route):
        if held is None:
            route.continue_()
        else:
            held.append(route)

    page.route(VIEW_REQUEST, hold)
    open_viewer(page, live_server, view_query(**GRAY_VIEW, **state))
    assert held
    assert page.locator("#table-count").inner_text() == ""
    assert page.locator("#table-size").input_value() == "snr"
    assert page.locator("#table-colour").input_value() == "snr"
    for route in held:
        route.continue_()
    held = None
    count = page.locator("#table-count")
    count.filter(has_text="in view").wait_for()
    settle(page)

    # Every view query carried the filter: no unfiltered view was loaded first.
    queries = [parse_qs(urlsplit(answer.url).query) for answer in answers]
    assert queries
    assert all(query.get("filter") == [text] for query in queries)
    shown = parse_qs(urlsplit(shown_answer(page, answers).url).query)
    picks = [s for s in sources if s["extra"].get("kind") == 1 and s["extra"]["snr"] < 35]
    expected = sorted((s for s in picks if inside([s], shown)), key=lambda s: s["extra"]["snr"])
    assert 10 < len(expected) <= 34
    assert (
        count.inner_text() == f"{len(expected)} shown of {len(expected)} in view (brightest first)"
    )
    assert page.locator("#catalogue-table-panel").evaluate("(d) => d.open")
    assert page.locator("#table-filter").input_value() == text
    assert table_names(page) == [s["name"] for s in reversed(expected)]
    assert page.locator("#table-head th[data-column='snr']").inner_text() == "snr \u25bc"
    assert page.locator("#table-size").input_value() == "snr"
    assert page.locator("#table-colour").input_value() == "snr"
    page.locator("#table-legend canvas").wait_for()
    assert_styled_by_snr(page, {s["name"]: s["extra"]["snr"] for s in expected})
    page.wait_for_timeout(500)
    params = url_params(page)
    assert {key: params[key] for key in state} == {key: [value] for key, value in state.items()}
    assert page.console_errors == []


def test_a_filter_stopped_by_the_row_cap_says_so_in_the_table(page, live_server, sky, settings):
    # The live server runs in this process: it tests at most 100 rows of a view.
    settings.MAX_VIEW_SCAN_ROWS = 100
    sources = per_view_catalogue()
    import_big(sources)
    answers = view_answers(page)
    open_viewer(
        page, live_server, view_query(layer="sky-i", tcat="big", tfilter="kind = 1", **VIEW)
    )
    count = page.locator("#table-count")
    count.filter(has_text="in view").wait_for()
    settle(page)
    body = shown_answer(page, answers).json()
    # The view's brightest 100 rows are all "field" sources: no pick found, the walk cut short.
    assert (body["sources"], body["truncated"], body["total_is_estimate"]) == ([], True, True)
    assert count.inner_text() == (
        f"0 shown of ~{body['total']} in view (brightest first); the filter was tested on the "
        "brightest part of the view only: zoom in"
    )
    assert table_names(page) == []

    # With the cap above the view's rows the walk finds every pick, and the note goes.
    settings.MAX_VIEW_SCAN_ROWS = 100_000
    answers.clear()
    page.evaluate("() => window.tilemakerViewer.sky.view.setCenter([180 - 61, 0])")
    count.filter(has_text="in view (brightest first)").filter(has_not_text="zoom in").wait_for()
    settle(page)
    query = parse_qs(urlsplit(shown_answer(page, answers).url).query)
    expected = [s["name"] for s in sources if s["extra"].get("kind") == 1 and inside([s], query)]
    assert shown_answer(page, answers).json()["truncated"] is False
    assert (
        count.inner_text() == f"{len(expected)} shown of {len(expected)} in view (brightest first)"
    )
    assert sorted(table_names(page)) == sorted(expected)
    assert page.console_errors == []
