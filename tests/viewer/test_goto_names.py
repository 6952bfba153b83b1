"""The go-to box: catalogue names as you type, the (stubbed) name resolver, Galactic l b."""

from urllib.parse import parse_qs, urlsplit

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord

from tests.support.ports import free_port
from tests.support.sesame_stub import SesameStub
from tests.viewer.conftest import CATALOGUE_ID, FAINT, SOURCE_DEC_DEG, SOURCE_RA_DEG, VIEW
from tests.viewer.helpers import open_viewer, view_query, wait_for_url

# Sesame's jradeg/jdedeg for M31 (SIMBAD).
M31_DEG = (10.684708333333333, 41.268750000000004)


def mark(ra_deg, dec_deg):
    return f"{ra_deg:.7f},{dec_deg:.7f}"


def type_in_goto(page, text):
    page.locator("#readout").click()
    page.locator("#goto-input").fill("")
    page.locator("#goto-input").press_sequentially(text)


def test_typing_a_catalogue_name_suggests_it_and_a_click_goes_there(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    type_in_goto(page, "fAi")
    option = page.locator("#goto-suggestions button")
    option.first.wait_for(state="visible")
    assert option.count() == 1
    assert option.first.inner_text().split() == [FAINT["name"], CATALOGUE_ID]

    option.first.click()
    wait_for_url(page, mark=mark(FAINT["ra"], FAINT["dec"]), ra="70.0000000", dec="10.0000000")
    assert page.locator("#goto-form").is_hidden()


def test_enter_on_an_exact_name_or_the_arrow_keys_go_there(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    type_in_goto(page, "BRIGHT")
    page.keyboard.press("Enter")
    wait_for_url(page, mark=mark(SOURCE_RA_DEG, SOURCE_DEC_DEG))

    type_in_goto(page, "f")
    page.locator("#goto-suggestions button").first.wait_for(state="visible")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    wait_for_url(page, mark=mark(FAINT["ra"], FAINT["dec"]))


@pytest.fixture
def sesame(settings):
    stub = SesameStub(positions={"M31": M31_DEG}).start()
    settings.NAME_RESOLVER_URL = stub.url
    yield stub
    stub.stop()


def test_a_name_no_catalogue_has_goes_to_the_resolver(page, live_server, sky, sesame):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    type_in_goto(page, "M31")
    page.keyboard.press("Enter")
    wait_for_url(page, mark=mark(*M31_DEG))
    assert sesame.asked == ["M31"]

    type_in_goto(page, "no such object")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#messages').innerText.includes('does not know')"
    )
    assert "\u201cno such object\u201d: no catalogue source of that name; the name resolver " in (
        page.locator("#messages").inner_text()
    )


def test_an_unreachable_resolver_says_so(page, live_server, sky, settings):
    settings.NAME_RESOLVER_URL = f"http://127.0.0.1:{free_port()}/sesame"
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    type_in_goto(page, "M31")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "document.querySelector('#messages').innerText.includes('name resolver unreachable')"
    )
    text = page.locator("#messages").inner_text()
    assert "\u201cM31\u201d: no catalogue source of that name; " in text
    assert "name resolver unreachable: enter coordinates." in text
    assert "mark" not in parse_qs(urlsplit(page.url).query)


@pytest.mark.parametrize("text", ["G 121.17 -21.57", "121.17, -21.57 gal"])
def test_galactic_l_b_goes_to_its_ra_dec(page, live_server, sky, text):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    type_in_goto(page, text)
    page.keyboard.press("Enter")
    page.wait_for_function("new URLSearchParams(location.search).has('mark')")
    ra_deg, dec_deg = map(float, parse_qs(urlsplit(page.url).query)["mark"][0].split(","))
    expected = SkyCoord(l=121.17 * u.deg, b=-21.57 * u.deg, frame="galactic").icrs
    shown = SkyCoord(ra=ra_deg * u.deg, dec=dec_deg * u.deg)
    assert shown.separation(expected).arcsec < 0.1
