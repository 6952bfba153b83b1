"""Comparing layers in the viewer (issue 14, sections 1 and 2): blink, blend and swipe.

The ``sky`` fixture's sky-i (viridis) and sky-q (magma, another plane) differ
at every pixel, so the colour at a known screen pixel tells which layer (or
which mix of both) is drawn there. Each mode runs with WebGL data tiles and
with the server's PNG tiles (gl=0).
"""

from urllib.parse import urlsplit

import pytest

from tests.viewer.conftest import BACKGROUND_PIXELS, LAYERS, VIEW, pixel_centre_deg
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
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

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# One step of the 255-colour LUT, in RGB units, plus rounding.
LUT_STEP = 8.0
GL_MODES = ["1", "0"]
# Screen pixels of BACKGROUND_PIXELS in VIEW: (57, 43) is 125 px left of the
# centre, (122, 163) 5 px right, (203, 97) 167 px right, (297, 203) 355 px right.
NEAR_CENTRE, LEFT, RIGHT, FAR_RIGHT = BACKGROUND_PIXELS


class RequestLog:
    """Every request the page makes, by path."""

    def __init__(self, page):
        self.paths = []
        page.on("request", lambda request: self.paths.append(urlsplit(request.url).path))

    def clear(self):
        self.paths.clear()

    def under(self, prefix):
        return [path for path in self.paths if path.startswith(prefix)]


def layer_rgb(sky_data, layer_id, column, row):
    plane, vmin, vmax, cmap = LAYERS[layer_id]
    return cmap_rgb(cmap, sky_data[plane, row, column], vmin, vmax)


def colour_at(image, page, column, row):
    return pixel(image, *screen_xy(page, VIEW, *pixel_centre_deg(column, row)))


def open_compare(page, live_server, gl, **compare):
    open_viewer(page, live_server, view_query(layer="sky-i", gl=gl, **VIEW, **compare))
    wait_compared(page, len(compare.get("cmpl", [])))


def wait_compared(page, count):
    """Wait until `count` compared layers are on the map and drawn."""
    page.wait_for_function(
        "(count) => window.tilemakerViewer.compare.entries.size === count",
        arg=count,
        timeout=RENDER_TIMEOUT_MS,
    )
    settle(page)


@pytest.mark.parametrize("gl", GL_MODES)
def test_blink_shows_each_layer_in_its_colours_without_a_request(
    page, live_server, sky, sky_data, gl
):
    open_compare(page, live_server, gl, cmp="blink", cmpl=["sky-q", "sky-i-gray"], rate=5)
    requests = RequestLog(page)
    compare = "window.tilemakerViewer.compare"
    # Frames stepped by hand: a loaded machine may take longer than a period to screenshot.
    page.evaluate(f"{compare}.stopTimer(); {compare}.showFrame(0)")

    shown = []
    for _ in range(4):
        settle(page)
        image = screenshot(page)
        shown.append(image)
        page.evaluate(f"{compare}.step()")

    assert requests.under("/layers/") == []
    # After a pan the hidden layers load the new view too: switching still costs no request.
    page.evaluate("window.tilemakerViewer.sky.view.adjustCenter([30, 10])")
    settle(page)
    requests.clear()
    for _ in range(3):
        page.evaluate(f"{compare}.step()")
        settle(page)
    assert requests.under("/layers/") == []
    for image, layer_id in zip(shown, ["sky-i", "sky-q", "sky-i-gray", "sky-i"], strict=True):
        for column, row in (LEFT, RIGHT):
            assert_colour(
                colour_at(image, page, column, row),
                layer_rgb(sky_data, layer_id, column, row),
                tolerance=LUT_STEP,
            )
    assert page.console_errors == []


def test_blink_advances_by_itself(page, live_server, sky):
    open_compare(page, live_server, "1", cmp="blink", cmpl=["sky-q"], rate=0.25)
    names = set()
    for _ in range(2):
        # The name is read where it is seen new: a second read could already
        # show the next frame at this rate.
        seen = page.wait_for_function(
            """(shown) => {
                const now = document.querySelector('#compare-now').textContent;
                return shown.includes(now) ? false : now;
            }""",
            arg=list(names),
            timeout=RENDER_TIMEOUT_MS,
        )
        names.add(seen.json_value())
    assert names == {"showing SKY-I", "showing SKY-Q"}


def test_blink_key_toggles_with_the_previous_layer_by_default(page, live_server, sky, sky_data):
    open_viewer(page, live_server, view_query(layer="sky-q", gl="1", rate=5, **VIEW))
    page.evaluate("window.tilemakerViewer.selectLayer('sky-i')")
    page.wait_for_function("window.tilemakerViewer.layer.layer_id === 'sky-i'")
    page.locator("#map").focus()

    page.keyboard.press("x")
    wait_compared(page, 1)
    page.evaluate("window.tilemakerViewer.compare.stopTimer()")
    wait_for_url(page, cmp="blink", cmpl="sky-q")
    assert page.locator("#compare-mode").input_value() == "blink"
    assert page.locator("#compare-layers").evaluate(
        "(select) => [...select.selectedOptions].map((o) => o.value)"
    ) == ["sky-q"]
    page.evaluate("window.tilemakerViewer.compare.showFrame(1)")
    settle(page)
    column, row = LEFT
    assert_colour(
        colour_at(screenshot(page), page, column, row),
        layer_rgb(sky_data, "sky-q", column, row),
        tolerance=LUT_STEP,
    )

    page.keyboard.press("x")
    wait_compared(page, 0)
    assert_colour(
        colour_at(screenshot(page), page, column, row),
        layer_rgb(sky_data, "sky-i", column, row),
        tolerance=LUT_STEP,
    )
    page.wait_for_function("!new URLSearchParams(window.location.search).has('cmp')")


def test_swipe_key_toggles_the_split_with_the_previous_layer(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-q", gl="1", **VIEW))
    page.evaluate("window.tilemakerViewer.selectLayer('sky-i')")
    page.wait_for_function("window.tilemakerViewer.layer.layer_id === 'sky-i'")
    page.locator("#map").focus()

    page.keyboard.press("z")
    wait_for_url(page, cmp="swipe", cmpl="sky-q")
    assert page.locator("#compare-mode").input_value() == "swipe"
    page.locator("#map").focus()
    page.keyboard.press("z")
    page.wait_for_function("!new URLSearchParams(window.location.search).has('cmp')")
    assert page.locator("#compare-mode").input_value() == "off"


def test_blinked_layer_keeps_its_own_remembered_colours(page, live_server, sky, sky_data):
    # sky-q shown in gray over a range of its own, then sky-i.
    query = view_query(layer="sky-q", gl="1", cmap="gray", vmin=900, vmax=1100, **VIEW)
    open_viewer(page, live_server, query)
    page.evaluate("window.tilemakerViewer.selectLayer('sky-i')")
    page.wait_for_function("window.tilemakerViewer.layer.layer_id === 'sky-i'")
    page.locator("#compare-panel > summary").click()
    page.locator("#compare-mode").select_option("blink")
    wait_compared(page, 1)
    page.evaluate("window.tilemakerViewer.compare.stopTimer()")
    page.evaluate("window.tilemakerViewer.compare.showFrame(1)")
    settle(page)

    column, row = RIGHT
    assert_colour(
        colour_at(screenshot(page), page, column, row),
        cmap_rgb("gray", sky_data[1, row, column], 900, 1100),
        tolerance=LUT_STEP,
    )


@pytest.mark.parametrize("gl", GL_MODES)
def test_blend_at_half_opacity_mixes_the_two_colours(page, live_server, sky, sky_data, gl):
    open_compare(page, live_server, gl, cmp="blend", cmpl=["sky-q"], opacity=0.5)

    image = screenshot(page, f"compare-blend-gl{gl}")
    for column, row in BACKGROUND_PIXELS:
        mix = 0.5 * layer_rgb(sky_data, "sky-i", column, row) + 0.5 * layer_rgb(
            sky_data, "sky-q", column, row
        )
        assert_colour(colour_at(image, page, column, row), mix, tolerance=LUT_STEP)


@pytest.mark.parametrize("gl", GL_MODES)
def test_swipe_shows_the_map_left_and_the_compared_layer_right(
    page, live_server, sky, sky_data, gl
):
    open_compare(page, live_server, gl, cmp="swipe", cmpl=["sky-q"], split=0.5)
    requests = RequestLog(page)

    image = screenshot(page, f"compare-swipe-gl{gl}")
    for (column, row), layer_id in [(LEFT, "sky-i"), (RIGHT, "sky-q"), (FAR_RIGHT, "sky-q")]:
        assert_colour(
            colour_at(image, page, column, row),
            layer_rgb(sky_data, layer_id, column, row),
            tolerance=LUT_STEP,
        )

    # Drag the split to between RIGHT and FAR_RIGHT.
    handle = page.locator("#compare-split").bounding_box()
    centre_x, _ = screen_xy(page, VIEW, *pixel_centre_deg(*NEAR_CENTRE))
    target_x = centre_x + 255
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    page.mouse.down()
    page.mouse.move(target_x, handle["y"] + 100, steps=5)
    page.mouse.up()
    settle(page)

    box = page.locator("#map").bounding_box()
    split = page.evaluate("window.tilemakerViewer.compare.split")
    assert split == pytest.approx((target_x - box["x"]) / box["width"], abs=0.002)
    image = screenshot(page)
    for (column, row), layer_id in [(LEFT, "sky-i"), (RIGHT, "sky-i"), (FAR_RIGHT, "sky-q")]:
        assert_colour(
            colour_at(image, page, column, row),
            layer_rgb(sky_data, layer_id, column, row),
            tolerance=LUT_STEP,
        )
    assert requests.under("/layers/") == []
    wait_for_url(page, cmp="swipe", split=f"{split:.4f}")


def test_compare_settings_round_trip_through_the_url(page, live_server, sky):
    open_compare(page, live_server, "1", cmp="blend", cmpl=["sky-q"], opacity=0.3)
    assert page.locator("#compare-mode").input_value() == "blend"
    assert page.locator("#compare-opacity").input_value() == "0.3"
    wait_for_url(page, cmp="blend", cmpl="sky-q", opacity="0.3")

    page.locator("#compare-panel > summary").click()
    page.locator("#compare-mode").select_option("blink")
    page.locator("#compare-rate").fill("2.5")
    wait_for_url(page, cmp="blink", rate="2.5")
    params = url_params(page)
    assert params["cmpl"] == ["sky-q"]
    # Only what the mode uses: the blend opacity is not kept in a blink link.
    assert "opacity" not in params

    page.goto(page.url)
    page.wait_for_function("document.body.classList.contains('ready')", timeout=RENDER_TIMEOUT_MS)
    wait_compared(page, 1)
    state = page.evaluate("window.tilemakerViewer.compare.getState()")
    assert state == {
        "mode": "blink",
        "layers": ["sky-q"],
        "rateS": 2.5,
        "opacity": 0.5,
        "split": 0.5,
    }


def test_bad_compare_parameters_are_ignored(page, live_server, sky):
    open_viewer(
        page,
        live_server,
        view_query(
            layer="sky-i", gl="1", cmp="sideways", rate="99", opacity="-1", split="x", **VIEW
        ),
    )
    state = page.evaluate("window.tilemakerViewer.compare.getState()")
    assert state == {"mode": "off", "layers": [], "rateS": 1, "opacity": 0.5, "split": 0.5}
    # The viewer rewrites the URL a moment (main.js URL_DELAY_MS) after it is ready:
    # wait for that (the bad rate gone), then check the bad mode went with it.
    page.wait_for_function(
        "!new URLSearchParams(window.location.search).has('rate')", timeout=RENDER_TIMEOUT_MS
    )
    assert "cmp" not in url_params(page)


def test_flipping_the_sky_flips_the_compared_layer_too(page, live_server, sky, sky_data):
    open_compare(page, live_server, "1", cmp="blend", cmpl=["sky-q"], opacity=0.5)
    page.locator("#map").focus()
    page.keyboard.press("f")
    wait_for_url(page, flip="0")
    # The flip drops the compared layer built for the other orientation and
    # reads it again (compare.js sync): wait until it is back, flipped.
    page.wait_for_function(
        """() => {
            const entries = [...window.tilemakerViewer.compare.entries.values()];
            return entries.length === 1 && entries[0].tileLayer.get('flip') === false;
        }""",
        timeout=RENDER_TIMEOUT_MS,
    )
    settle(page)

    image = screenshot(page)
    unflipped = {**VIEW, "flip": False}
    for column, row in BACKGROUND_PIXELS:
        mix = 0.5 * layer_rgb(sky_data, "sky-i", column, row) + 0.5 * layer_rgb(
            sky_data, "sky-q", column, row
        )
        xy = screen_xy(page, unflipped, *pixel_centre_deg(column, row))
        assert_colour(pixel(image, *xy), mix, tolerance=LUT_STEP)
