"""The catalogue table of a catalogue loaded per view (over 20,000 sources): it lists the
sources loaded for the view, and its filter goes to the server on the view queries, which
the markers and rows follow; a filter the server refuses shows its detail."""

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from maps.importers import import_config_data
from tests.viewer.helpers import open_viewer, settle, view_query, wait_for_url
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
    query = parse_qs(urlsplit(answers[-1].url).query)
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
    query = parse_qs(urlsplit(answers[-1].url).query)
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
    page.locator("#table-body tr:not(.spacer)").first.click()
    page.wait_for_function(
        """([ra, dec]) => {
            const c = window.tilemakerViewer.sky.getCentreSky();
            return Math.abs(c.raDeg - ra) < 1e-6 && Math.abs(c.decDeg - dec) < 1e-6;
        }""",
        arg=[target["ra"], target["dec"]],
    )
    settle(page)
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
