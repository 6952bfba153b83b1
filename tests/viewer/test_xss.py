"""Text from configs, the admin, FITS headers and catalogues reaches the viewer as text only.

Every user-visible field holds markup that would run script if it were
parsed: the tests walk the viewer's paths that show those fields (layer
menu and search, title, colour panel, catalogue and box lists and popups,
cursor readout, aperture tool) and check that nothing was parsed and that
the markup is shown literally. ``tests/maps/test_admin_escaping.py``
gives the admin's pages the same strings.
"""

import pytest
from django.core.cache import cache

from maps.models import Layer
from tests.support.hostile import (
    CATALOGUE_ID,
    JAVASCRIPT_URL,
    create_hostile_sky,
    hostile,
)
from tests.viewer.conftest import BOX, FAINT, SOURCE_DEC_DEG, SOURCE_RA_DEG, VIEW
from tests.viewer.helpers import open_viewer, screen_xy, view_query
from tilemaker_site import server as local_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# FITS string values hold at most 68 characters on one card.
BUNIT_ATTACK = '<img src=x onerror="window.__xss=1">'
BOX_CORNERS = {key: value for key, value in BOX.items() if key != "name"}


@pytest.fixture
def hostile_sky(transactional_db, sky_file, settings):
    cache.clear()
    grant = create_hostile_sky(
        sky_file, source_ra_dec_deg=(FAINT["ra"], FAINT["dec"]), box_corners_deg=BOX_CORNERS
    )
    settings.AUTH_TYPE = "mock"
    settings.MOCK_GRANTS = frozenset({grant.name})
    yield
    cache.clear()


def assert_nothing_parsed(page):
    """No payload element exists, none ran, and the page raised no error."""
    found = page.evaluate(
        """() => ({
            xss: window.__xss,
            images: document.querySelectorAll('img[src="x"], img[onerror]').length,
            scripts: [...document.scripts].filter((s) => s.textContent.includes('__xss')).length,
            links: [...document.querySelectorAll('[href]')]
                .filter((a) => a.getAttribute('href').startsWith('javascript:')).length,
        })"""
    )
    assert found == {"xss": None, "images": 0, "scripts": 0, "links": 0}
    assert page.console_errors == []


def text_of(page, selector):
    return page.locator(selector).evaluate("(element) => element.textContent")


def title_of(page, selector):
    return page.locator(selector).first.get_attribute("title")


def drag_aperture(page, view, ra_deg, dec_deg):
    centre = screen_xy(page, view, ra_deg, dec_deg)
    page.locator("#map").focus()
    page.keyboard.press("c")
    page.mouse.move(*centre)
    page.mouse.down()
    page.mouse.move(centre[0] + 24, centre[1], steps=6)
    page.mouse.up()
    page.locator("#aperture-result td[data-stat='mean']").wait_for()


def test_hostile_names_descriptions_and_units_are_shown_as_text(page, live_server, hostile_sky):
    query = view_query(layer="xss-layer", cat=CATALOGUE_ID, box=hostile("box"), **VIEW)
    open_viewer(page, live_server, query)
    assert_nothing_parsed(page)

    title = text_of(page, "#layer-title")
    for field in ("group", "map", "band", "layer"):
        assert hostile(field) in title
    assert title_of(page, "#layer-title") == hostile("layer-description")
    assert page.title().startswith(hostile("layer"))
    assert text_of(page, "#units") == hostile("u")
    tree = text_of(page, "#layer-tree")
    for field in ("group", "map", "band", "layer"):
        assert hostile(field) in tree
    assert title_of(page, "#layer-tree .layer-entry") == hostile("layer-description")
    assert hostile("catalogue") in text_of(page, "#catalogue-list")
    assert title_of(page, "#catalogue-list label") == hostile("catalogue-description")
    assert hostile("box") in text_of(page, "#box-list")
    assert title_of(page, "#box-list label") == hostile("box-description")

    page.locator("#search").fill("layer<img")
    page.wait_for_function("document.querySelector('#layer-tree .match') !== null", timeout=10_000)
    assert hostile("layer") in text_of(page, "#layer-tree")
    page.locator("#search").fill(hostile("query"))
    page.wait_for_function("document.querySelector('#layer-tree .empty') !== null", timeout=10_000)
    assert hostile("query") in text_of(page, "#layer-tree .empty")
    assert_nothing_parsed(page)
    page.locator("#search").fill("")

    page.mouse.click(*screen_xy(page, VIEW, FAINT["ra"], FAINT["dec"]))
    page.locator("#popup").wait_for(state="visible")
    popup = text_of(page, "#popup-body")
    for shown in (hostile("source"), hostile("catalogue"), hostile("key"), hostile("value")):
        assert shown in popup
    assert JAVASCRIPT_URL in popup
    assert_nothing_parsed(page)
    page.keyboard.press("Escape")

    # Popups pan the map to fit in: each step starts from the same view.
    open_viewer(page, live_server, query)
    top_left = screen_xy(page, VIEW, BOX["top_left_ra"], BOX["top_left_dec"])
    top_right = screen_xy(page, VIEW, BOX["bottom_right_ra"], BOX["top_left_dec"])
    page.mouse.click((top_left[0] + top_right[0]) / 2, top_left[1] + 20)
    page.locator("#popup").wait_for(state="visible")
    popup = text_of(page, "#popup-body")
    assert hostile("box") in popup
    assert hostile("box-description") in popup
    assert title_of(page, "#popup-body button[data-format='fits']").startswith(
        f"Download the cut-out of {hostile('box')}"
    )
    assert_nothing_parsed(page)
    page.keyboard.press("Escape")

    open_viewer(page, live_server, query)
    page.mouse.move(*screen_xy(page, VIEW, SOURCE_RA_DEG, SOURCE_DEC_DEG + 0.3))
    page.wait_for_function(
        "(units) => document.querySelector('#readout-value').textContent.endsWith(units)",
        arg=hostile("u"),
        timeout=10_000,
    )

    drag_aperture(page, VIEW, SOURCE_RA_DEG, SOURCE_DEC_DEG + 0.3)
    mean = text_of(page, "#aperture-result td[data-stat='mean']")
    assert mean.endswith(f" {hostile('u')}")
    assert_nothing_parsed(page)


def test_hostile_fits_bunit_from_tilemaker_open_is_shown_as_text(
    page, live_server, transactional_db, make_car_map
):
    cache.clear()
    path = make_car_map("stranger.fits", bunit=BUNIT_ATTACK)
    assert local_server.import_files([str(path)], log=lambda line: None) == 1
    layer = Layer.objects.get()
    assert layer.units == BUNIT_ATTACK

    open_viewer(page, live_server, view_query(layer=layer.layer_id, **VIEW))
    assert text_of(page, "#units") == BUNIT_ATTACK
    drag_aperture(page, VIEW, 70.0, 0.0)
    assert text_of(page, "#aperture-result td[data-stat='mean']").endswith(f" {BUNIT_ATTACK}")
    assert_nothing_parsed(page)
    cache.clear()
