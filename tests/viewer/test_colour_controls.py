"""The Colour panel's controls (issue 13, section 3): stretch, limits, log on data <= 0,
per-layer memory, the lock, and their URL state.

Headless Chromium draws WebGL in software (SwiftShader) here.
"""

import json
import urllib.request

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from maps.engine.colormap import Normalisation, colourise
from tests.viewer.conftest import (
    BACKGROUND_PIXELS,
    DEC_BOTTOM_DEG,
    LAYERS,
    PIXEL_SCALE_DEG,
    RA_LEFT_DEG,
    VIEW,
)
from tests.viewer.helpers import (
    TileLog,
    assert_colour,
    open_viewer,
    settle,
    url_params,
    view_query,
    wait_for_url,
)
from tests.viewer.test_viewer_gl import LUT_STEP, RequestLog, colour_at, set_range

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# Zoomed in (8 screen px per map pixel) so the view shows part of the map
# only, inside one data tile (level 1 tiles span 90 degrees, with edges at
# Dec 0 and x = 90, RA 90); the centre is off the pixel grid so no pixel
# centre sits on an edge of the view.
ZOOMED = {"ra": 45.03, "dec": 15.01, "zoom": 4, "flip": True}


def api_json(live_server, path):
    with urllib.request.urlopen(f"{live_server.url}{path}") as response:
        return json.load(response)


def colour_state(page):
    return page.evaluate(
        """() => {
            const { histeq, ...settings } = window.tilemakerViewer.colour.getColour();
            return settings;
        }"""
    )


def choose_limits(page, choice, scope="map"):
    page.select_option("#limits-scope", scope)
    page.select_option("#limits", choice)


def wait_for_colour(page, **expected):
    page.wait_for_function(
        """(expected) => {
            const colour = window.tilemakerViewer.colour.getColour();
            return Object.entries(expected).every(([k, v]) => colour[k] === v);
        }""",
        arg=expected,
        timeout=10_000,
    )


def visible_values(page, sky_data, plane=0):
    """The layer's pixels whose centres are inside the view, from the view's own extent,
    in screen order (top row first, left to right with flip): zscale samples
    at a stride, so its result depends on the order."""
    x0, y0, x1, y1 = page.evaluate(
        """() => {
            const sky = window.tilemakerViewer.sky;
            return sky.view.calculateExtent(sky.map.getSize());
        }"""
    )
    columns = np.arange(sky_data.shape[2])
    rows = np.arange(sky_data.shape[1])
    ra = RA_LEFT_DEG - (columns + 0.5) * PIXEL_SCALE_DEG
    dec = DEC_BOTTOM_DEG + (rows + 0.5) * PIXEL_SCALE_DEG
    x = 180.0 - ra  # flip: RA increases to the left
    inside_x = (x >= x0) & (x <= x1)
    inside_y = (dec >= y0) & (dec <= y1)
    top_first = np.nonzero(inside_y)[0][::-1]
    return sky_data[plane][np.ix_(top_first, np.nonzero(inside_x)[0])].ravel()


# --- stretch ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stretch", "parameter"),
    [("asinh", ("asinh_a", 0.05)), ("power", ("gamma", 2.0)), ("sqrt", None), ("histeq", None)],
)
def test_stretch_selector_recolours_without_a_request_like_the_png_tile(
    page, live_server, sky, sky_data, stretch, parameter
):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    column, row = BACKGROUND_PIXELS[0]
    before = colour_at(page, column, row)
    requests.clear()

    page.select_option("#stretch", stretch)
    assert page.locator("#asinh-a").is_visible() == (stretch == "asinh")
    assert page.locator("#gamma").is_visible() == (stretch == "power")
    settings = {"stretch": stretch}
    if parameter:
        name, value = parameter
        field = page.locator("#asinh-a" if name == "asinh_a" else "#gamma")
        field.fill(str(value))
        field.dispatch_event("change")
        settings[name] = value
    wait_for_colour(page, **settings)
    settle(page)
    after = colour_at(page, column, row)

    assert requests.under("/layers/") == []
    assert requests.under("/histograms/") == []
    assert np.abs(after - before).max() > 8
    plane, vmin, vmax, cmap = LAYERS["sky-i"]
    if stretch != "histeq":
        value = np.array([[sky_data[plane, row, column]]], dtype=np.float32)
        norm = Normalisation(vmin=vmin, vmax=vmax, **settings)
        assert_colour(after, colourise(value, norm, cmap=cmap)[0, 0, :3], tolerance=LUT_STEP)

    # The PNG fallback asks the server for the same stretch and draws the same colour.
    wait_for_url(page, stretch=stretch)
    png = page.context.new_page()
    tiles = TileLog(png)
    query = page.url.split("?", 1)[1].replace("gl=1", "gl=0")
    open_viewer(png, live_server, query)
    sent = tiles.last_query()
    assert sent["stretch"] == stretch
    if parameter:
        assert float(sent[parameter[0]]) == parameter[1]
    assert_colour(colour_at(png, column, row), after, tolerance=LUT_STEP)
    png.close()
    assert page.console_errors == []


# --- limits ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "query"),
    [
        ("minmax", "method=minmax"),
        ("percentile:99", "method=percentile&percent=99"),
        ("percentile:99.99", "method=percentile&percent=99.99"),
        ("zscale", "method=zscale"),
    ],
)
def test_whole_map_limits_are_the_servers(page, live_server, sky, sky_data, choice, query):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    requests.clear()
    expected = api_json(live_server, f"/layers/sky-i/limits?{query}")

    choose_limits(page, choice)
    wait_for_colour(page, vmin=expected["vmin"], vmax=expected["vmax"])
    assert float(page.locator("#vmin").input_value()) == pytest.approx(expected["vmin"], rel=1e-5)
    assert requests.under("/layers/sky-i/limits") == ["/layers/sky-i/limits"]
    if choice == "zscale":
        reference = ZScaleInterval().get_limits(sky_data[0])
        assert (expected["vmin"], expected["vmax"]) == pytest.approx(reference, rel=1e-6)

    # Asked again (after a change by hand): the page's copy, no second request.
    set_range(page, -1, 1)
    page.locator("#limits-apply").click()
    wait_for_colour(page, vmin=expected["vmin"], vmax=expected["vmax"])
    assert requests.under("/layers/sky-i/limits") == ["/layers/sky-i/limits"]
    assert requests.under("/layers/sky-i/1/") == []
    assert page.console_errors == []


@pytest.mark.parametrize("choice", ["minmax", "percentile:99", "percentile:90", "zscale"])
def test_limits_from_the_view_are_numpy_over_the_pixels_on_screen(
    page, live_server, sky, sky_data, choice
):
    # exact=1: the view's values are the file's, so numpy over them is the reference.
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", exact="1", **ZOOMED))
    values = visible_values(page, sky_data)

    choose_limits(page, choice, scope="view")
    page.wait_for_function("window.tilemakerViewer.colour.getColour().vmin !== -300")
    colour = colour_state(page)

    if choice == "minmax":
        expected = (values.min(), values.max())
    elif choice == "zscale":
        expected = ZScaleInterval().get_limits(values)
    else:
        tail = (100 - float(choice.split(":")[1])) / 2
        expected = tuple(np.percentile(values, [tail, 100 - tail]))
    assert (colour["vmin"], colour["vmax"]) == pytest.approx(expected, rel=1e-12)
    # Not the whole map's: the view holds part of it.
    assert 0 < values.size < sky_data[0].size
    whole = api_json(live_server, "/layers/sky-i/limits?method=minmax")
    assert (values.min(), values.max()) != (whole["vmin"], whole["vmax"])


def test_png_mode_offers_whole_map_limits_only(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", gl="0", **VIEW))
    assert page.locator("#limits-scope option[value=view]").is_disabled()
    assert "whole map only" in page.locator("#limits-scope").get_attribute("title")
    expected = api_json(live_server, "/layers/sky-i/limits?method=percentile&percent=95")
    tiles = TileLog(page)
    choose_limits(page, "percentile:95")
    wait_for_colour(page, vmin=expected["vmin"], vmax=expected["vmax"])
    settle(page)
    assert float(tiles.last_query()["vmin"]) == expected["vmin"]


# --- log on data <= 0 ---------------------------------------------------------------


def log_choices(page):
    return page.locator("#messages .message-action").all_inner_texts()


def test_log_with_vmin_at_or_below_zero_asks_and_changes_nothing_until_chosen(
    page, live_server, sky, sky_data
):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    before = colour_state(page)
    requests.clear()

    # A click, not check(): the box stays unticked until a choice is made.
    page.locator("#log").click()
    page.wait_for_selector("#messages .message-action")
    settle(page)
    assert "log scale needs vmin > 0" in page.locator("#messages").inner_text()
    labels = log_choices(page)
    assert [label.split(" ")[0] for label in labels] == ["vmin", "vmin", "asinh", "cancel"]
    assert "smallest > 0 in view" in labels[0]
    assert colour_state(page) == before
    assert not page.locator("#log").is_checked()
    # The page's first URL is written a moment after it is ready.
    wait_for_url(page, log="0")
    assert url_params(page)["log"] == ["0"]
    assert requests.paths == []

    page.locator("#messages .message-action", has_text="cancel").click()
    assert log_choices(page) == []
    assert colour_state(page) == before

    page.locator("#log").click()
    page.locator("#messages .message-action", has_text="vmax/1000").click()
    wait_for_colour(page, log=True, vmin=0.3, vmax=300)
    assert page.locator("#log").is_checked()
    wait_for_url(page, log="1", vmin="0.3")

    # Limits that would put vmin <= 0 under log ask too; asinh instead keeps them.
    choose_limits(page, "minmax")
    page.wait_for_selector("#messages .message-action")
    assert colour_state(page)["vmin"] == 0.3
    page.locator("#messages .message-action", has_text="asinh instead").click()
    whole = api_json(live_server, "/layers/sky-i/limits?method=minmax")
    wait_for_colour(page, log=False, stretch="asinh", vmin=whole["vmin"], vmax=whole["vmax"])
    assert requests.under("/layers/sky-i/1/") == []
    assert page.console_errors == []


def test_a_log_link_with_vmin_at_or_below_zero_shows_linear_and_offers_the_choice(
    page, live_server, sky, sky_data
):
    query = view_query(layer="sky-i", gl="1", exact="1", log=1, vmin=-5, vmax=5, **VIEW)
    open_viewer(page, live_server, query)
    assert "log scale needs vmin > 0" in page.locator("#messages").inner_text()
    assert colour_state(page)["log"] is False
    wait_for_url(page, log="0", vmin="-5")

    page.locator("#messages .message-action", has_text="smallest > 0 in view").click()
    values = visible_values(page, sky_data)
    smallest = float(values[values > 0].min())
    wait_for_colour(page, log=True, vmax=5)
    assert colour_state(page)["vmin"] == pytest.approx(smallest, rel=1e-7)


# --- per-layer memory and the lock ------------------------------------------------------


def pick_layer(page, layer_id):
    page.locator(f".layer-entry[data-layer-id='{layer_id}']").click()
    wait_for_url(page, layer=layer_id)


def test_each_layer_remembers_its_settings_across_switches(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    set_range(page, -100, 50)
    page.select_option("#stretch", "sqrt")
    wait_for_colour(page, vmin=-100, vmax=50, stretch="sqrt")

    pick_layer(page, "sky-q")
    wait_for_colour(page, vmin=850, vmax=1150, cmap="magma", stretch="linear")
    set_range(page, 900, 1150)

    page.locator("#map").focus()
    page.keyboard.press("h")
    wait_for_url(page, layer="sky-i")
    wait_for_colour(page, vmin=-100, vmax=50, cmap="viridis", stretch="sqrt")
    assert page.locator("#stretch").input_value() == "sqrt"
    page.keyboard.press("l")
    wait_for_url(page, layer="sky-q")
    wait_for_colour(page, vmin=900, vmax=1150, cmap="magma", stretch="linear")
    assert page.console_errors == []


def test_the_lock_applies_one_setting_to_every_layer_of_the_map(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    page.locator("#colour-lock").check()
    wait_for_url(page, lock="1")
    set_range(page, -100, 50)
    page.select_option("#stretch", "asinh")

    # sky-q is a plane of the same map: it opens with the locked settings.
    pick_layer(page, "sky-q")
    wait_for_colour(page, vmin=-100, vmax=50, cmap="viridis", stretch="asinh")
    assert page.locator("#colour-lock").is_checked()
    page.select_option("#stretch", "sqrt")
    pick_layer(page, "sky-i-gray")
    wait_for_colour(page, vmin=-100, vmax=50, stretch="sqrt")

    # Another map is not locked: its own settings, and the box unticked.
    page.evaluate("window.tilemakerViewer.selectLayer('other-layer')")
    wait_for_url(page, layer="other-layer")
    wait_for_colour(page, vmin=-100, vmax=100, cmap="RdBu_r", stretch="linear")
    assert not page.locator("#colour-lock").is_checked()
    assert "lock" not in url_params(page)

    # Unlocked, sky-i keeps what it showed last; sky-q its own from then on.
    page.evaluate("window.tilemakerViewer.selectLayer('sky-i')")
    wait_for_url(page, layer="sky-i")
    page.locator("#colour-lock").uncheck()
    page.select_option("#stretch", "linear")
    pick_layer(page, "sky-q")
    wait_for_colour(page, vmin=-100, vmax=50, stretch="sqrt")
    assert page.console_errors == []


# --- URL state ---------------------------------------------------------------------------


def test_new_settings_round_trip_through_the_url(page, live_server, sky):
    query = view_query(
        layer="sky-i", gl="0", vmin=-80, vmax=120, stretch="power", gamma=2.5, lock=1, **VIEW
    )
    tiles = TileLog(page)
    open_viewer(page, live_server, query)
    assert page.locator("#stretch").input_value() == "power"
    assert page.locator("#gamma").input_value() == "2.5"
    assert page.locator("#colour-lock").is_checked()
    assert {key: tiles.last_query().get(key) for key in ("stretch", "gamma", "vmin")} == {
        "stretch": "power",
        "gamma": "2.5",
        "vmin": "-80",
    }
    wait_for_url(page, stretch="power", gamma="2.5", lock="1", vmin="-80")
    assert "asinh_a" not in url_params(page)

    page.select_option("#stretch", "asinh")
    page.locator("#asinh-a").fill("0.02")
    page.locator("#asinh-a").dispatch_event("change")
    wait_for_url(page, stretch="asinh", asinh_a="0.02")
    saved = page.url
    page.goto("about:blank")
    open_viewer(page, live_server, saved.split("?", 1)[1])
    assert colour_state(page) == {
        "vmin": -80,
        "vmax": 120,
        "cmap": "viridis",
        "log": False,
        "abs": False,
        "stretch": "asinh",
        "asinh_a": 0.02,
        "gamma": 2.5,
    }
    assert page.locator("#colour-lock").is_checked()


def test_an_old_style_link_still_works(page, live_server, sky):
    tiles = TileLog(page)
    query = view_query(
        layer="sky-q", gl="0", vmin=900, vmax=1100, cmap="gray", log=1, abs=1, **VIEW
    )
    open_viewer(page, live_server, query)
    assert page.locator("#stretch").input_value() == "linear"
    assert not page.locator("#colour-lock").is_checked()
    assert {
        key: tiles.last_query().get(key)
        for key in ("vmin", "vmax", "cmap", "log_norm", "abs", "stretch")
    } == {
        "vmin": "900",
        "vmax": "1100",
        "cmap": "gray",
        "log_norm": "true",
        "abs": "true",
        "stretch": None,
    }
    wait_for_url(page, vmin="900", vmax="1100", cmap="gray", log="1", abs="1")
    assert not {"stretch", "asinh_a", "gamma", "lock"} & set(url_params(page))
