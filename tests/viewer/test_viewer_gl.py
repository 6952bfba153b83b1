"""The viewer's WebGL path: float data tiles coloured on the GPU (issue 13, section 2).

Headless Chromium draws WebGL in software (SwiftShader) here.
"""

from urllib.parse import urlsplit

import numpy as np
import pytest

from maps.engine.colormap import Normalisation, colourise
from tests.viewer.conftest import BACKGROUND_PIXELS, LAYERS, VIEW, pixel_centre_deg
from tests.viewer.helpers import (
    assert_colour,
    cmap_rgb,
    open_viewer,
    pixel,
    screen_xy,
    screenshot,
    settle,
    view_query,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# One step of the server's 255-colour LUT, in RGB units, plus rounding.
LUT_STEP = 8.0


class RequestLog:
    """Every request the page makes, by path."""

    def __init__(self, page):
        self.paths = []
        page.on("request", lambda request: self.paths.append(urlsplit(request.url).path))

    def clear(self):
        self.paths.clear()

    def under(self, prefix):
        return [path for path in self.paths if path.startswith(prefix)]


def colour_at(page, column, row, view=VIEW):
    image = screenshot(page)
    return pixel(image, *screen_xy(page, view, *pixel_centre_deg(column, row)))


def set_range(page, vmin, vmax):
    page.locator("#vmin").fill(str(vmin))
    page.locator("#vmin").dispatch_event("change")
    page.locator("#vmax").fill(str(vmax))
    page.locator("#vmax").dispatch_event("change")


def set_cmap(page, name):
    page.locator("#cmap").fill(name)
    page.locator("#cmap").dispatch_event("change")


def test_data_tiles_are_drawn_in_the_layer_colours(page, live_server, sky, sky_data):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))

    assert page.evaluate("window.tilemakerViewer.sky.gl") is True
    assert requests.under("/layers/sky-i/1/")
    assert all(path.endswith("/data.f32") for path in requests.under("/layers/sky-i/1/"))
    plane, vmin, vmax, cmap = LAYERS["sky-i"]
    image = screenshot(page, "viewer-gl")
    for column, row in BACKGROUND_PIXELS:
        ra, dec = pixel_centre_deg(column, row)
        assert_colour(
            pixel(image, *screen_xy(page, VIEW, ra, dec)),
            cmap_rgb(cmap, sky_data[plane, row, column], vmin, vmax),
            tolerance=LUT_STEP,
        )
    assert page.evaluate("window.tilemakerViewer.sky.pendingTiles") == 0
    assert page.locator("#loading").is_hidden()
    assert page.console_errors == []


@pytest.mark.parametrize(
    "stretch", [{"stretch": "asinh", "asinh_a": 0.05}, {"stretch": "sqrt"}, {"stretch": "log"}]
)
def test_stretches_colour_like_the_server(page, live_server, sky, sky_data, stretch):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    requests.clear()
    page.evaluate(
        """(stretch) => {
            const sky = window.tilemakerViewer.sky;
            sky.setColour({ ...sky.colour, ...stretch });
        }""",
        stretch,
    )
    settle(page)

    assert requests.under("/layers/") == []
    plane, vmin, vmax, cmap = LAYERS["sky-i"]
    norm = Normalisation(vmin=vmin, vmax=vmax, **stretch)
    image = screenshot(page)
    for column, row in BACKGROUND_PIXELS:
        # The server's colour of this value: what its PNG tile shows.
        value = np.array([[sky_data[plane, row, column]]], dtype=np.float32)
        expected = colourise(value, norm, cmap=cmap)[0, 0, :3]
        ra, dec = pixel_centre_deg(column, row)
        assert_colour(pixel(image, *screen_xy(page, VIEW, ra, dec)), expected, tolerance=LUT_STEP)


def test_recolouring_makes_no_tile_request_and_matches_the_png_tiles(
    page, live_server, sky, sky_data
):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    # The colour bar of the next colour map, as the colour menu's preview would have it.
    page.evaluate("import('/static/frontend/js/colour.js').then((m) => m.loadColourMap('magma'))")
    column, row = BACKGROUND_PIXELS[0]
    before = colour_at(page, column, row)
    requests.clear()

    set_range(page, -100, 50)
    set_cmap(page, "magma")
    settle(page)
    after = colour_at(page, column, row)

    assert requests.under("/layers/") == []
    assert requests.under("/histograms/") == []
    value = sky_data[0, row, column]
    assert_colour(after, cmap_rgb("magma", value, -100, 50), tolerance=LUT_STEP)
    assert np.abs(after - before).max() > 20

    # The server's PNG tile of the same settings, within one LUT step.
    png = page.context.new_page()
    query = view_query(layer="sky-i", gl="0", vmin=-100, vmax=50, cmap="magma", **VIEW)
    open_viewer(png, live_server, query)
    assert_colour(colour_at(png, column, row), after, tolerance=LUT_STEP)
    png.close()
    assert page.console_errors == []


def test_abs_and_log_recolour_without_a_request_like_the_png_tiles(
    page, live_server, sky, sky_data
):
    # A negative pixel inside the log range once abs is on, away from the source.
    column, row = next(
        (c, r)
        for r in range(20, 220, 7)
        for c in range(20, 340, 7)
        if -250 < sky_data[0, r, c] < -20 and abs(c - 180) > 10
    )
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    requests.clear()

    set_range(page, 10, 300)
    page.locator("#abs").check()
    page.locator("#log").check()
    settle(page)
    after = colour_at(page, column, row)

    assert requests.under("/layers/") == []
    png = page.context.new_page()
    query = view_query(layer="sky-i", gl="0", vmin=10, vmax=300, log=1, abs=1, **VIEW)
    open_viewer(png, live_server, query)
    assert_colour(colour_at(png, column, row), after, tolerance=LUT_STEP)
    png.close()
    assert page.console_errors == []


def test_dragging_a_handle_recolours_on_every_move_without_a_request(page, live_server, sky):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    page.evaluate(
        """() => {
            const sky = window.tilemakerViewer.sky;
            window.__recolours = 0;
            const setColour = sky.setColour.bind(sky);
            sky.setColour = (colour) => { window.__recolours += 1; setColour(colour); };
        }"""
    )
    handle = page.locator("#handle-vmax").bounding_box()
    requests.clear()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] - 4)
    page.mouse.down()
    page.mouse.move(handle["x"] - 30, handle["y"] + handle["height"] - 4, steps=6)
    page.mouse.up()
    settle(page)

    # Six moves and the release; PNG tiles follow a drag at most every 300 ms.
    assert page.evaluate("window.__recolours") >= 6
    assert requests.under("/layers/") == []
    assert float(page.locator("#vmax").input_value()) < 300.0


@pytest.mark.parametrize(("column", "row"), [(120, 160), (300, 30)])
def test_readout_is_the_files_float32_value_without_a_request(
    page, live_server, sky, sky_data, column, row
):
    ra, dec = pixel_centre_deg(column, row)
    view = {"ra": ra, "dec": dec, "zoom": 4, "flip": True}
    requests = RequestLog(page)
    # exact=1: exact float32 tiles (the default states an error bound, below).
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", exact="1", **view))
    requests.clear()
    x, y = screen_xy(page, view, ra, dec)
    page.mouse.move(x + 3, y + 2)
    page.wait_for_function(
        "document.querySelector('#readout-value').textContent.includes('uK')", timeout=10_000
    )
    text = page.locator("#readout-value").inner_text()
    assert "mean" not in text
    assert np.float32(float(text.split()[0])) == np.float32(sky_data[0, row, column])
    assert requests.paths == []


def test_readout_states_the_error_bound_of_the_default_quantised_tiles(
    page, live_server, sky, sky_data
):
    column, row = 120, 160
    ra, dec = pixel_centre_deg(column, row)
    view = {"ra": ra, "dec": dec, "zoom": 4, "flip": True}
    tiles = []
    page.on("request", lambda request: "/data.f32" in request.url and tiles.append(request.url))
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **view))
    assert tiles
    assert all("max_error=auto" in url for url in tiles)
    x, y = screen_xy(page, view, ra, dec)
    page.mouse.move(x + 3, y + 2)
    page.wait_for_function(
        "document.querySelector('#readout-value').textContent.includes('uK')", timeout=10_000
    )
    value, plus_minus, bound, units = page.locator("#readout-value").inner_text().split()
    assert (plus_minus, units) == ("\u00b1", "uK")
    assert float(bound) > 0
    assert abs(float(value) - float(sky_data[0, row, column])) <= float(bound)


def test_readout_at_a_coarse_level_says_it_is_a_block_mean(page, live_server, sky):
    view = {"ra": 70.0, "dec": 0.0, "zoom": 0, "flip": True}
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", **view))
    x, y = screen_xy(page, view, 70.3, 0.4)
    page.mouse.move(x, y)
    page.wait_for_function(
        "document.querySelector('#readout-value').textContent.includes('uK')", timeout=10_000
    )
    assert page.locator("#readout-value").inner_text().endswith("(mean of 2\u00d72)")


def test_gl_0_falls_back_to_png_tiles_with_a_note(page, live_server, sky):
    requests = RequestLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="0", **VIEW))

    assert page.evaluate("window.tilemakerViewer.sky.gl") is False
    tiles = requests.under("/layers/sky-i/")
    assert tiles
    assert all(path.endswith("/tile.png") for path in tiles)
    assert "PNG tiles (gl=0)" in page.locator("#messages").inner_text()


def test_a_moving_view_is_drawn_at_half_resolution_and_the_still_one_exactly(
    page, live_server, sky
):
    # Without the graticule: its lines are cut for the extents the pan visited,
    # so after a pan away and back they may be antialiased a little differently
    # (seen under load), whatever the pixel ratio; this test is about the tiles.
    open_viewer(page, live_server, view_query(layer="sky-i", gl="1", grid="0", **VIEW))
    still = screenshot(page)
    # [pixel ratio, view moving] of every frame while the view pans away and back.
    frames = page.evaluate(
        """() => new Promise((resolve) => {
            const map = window.tilemakerViewer.sky.map;
            const view = map.getView();
            const frames = [];
            map.on('postrender', (event) => frames.push([
                event.frameState.pixelRatio,
                event.frameState.viewHints.some((hint) => hint > 0),
            ]));
            const centre = view.getCenter();
            const away = [centre[0] + 400 * view.getResolution(), centre[1]];
            view.animate({ center: away, duration: 400 }, { center: centre, duration: 400 }, () => {
                map.once('rendercomplete', () => resolve(frames));
            });
        })"""
    )
    settle(page)

    assert page.evaluate("window.devicePixelRatio") == 1
    assert {ratio for ratio, moving in frames if moving} == {0.5}
    assert {ratio for ratio, moving in frames if not moving} == {1}
    assert frames[-1] == [1, False]
    # The map's own box: text in the sidebar may be antialiased differently.
    box = page.evaluate(
        """() => {
            const r = window.tilemakerViewer.sky.map.getViewport().getBoundingClientRect();
            return [r.top, r.bottom, r.left, r.right].map(Math.round);
        }"""
    )
    top, bottom, left, right = box
    assert right - left > 600
    assert bottom - top > 400
    on_map = (slice(top, bottom), slice(left, right))
    # Exactly the still picture again; on a loaded machine the page may still
    # be finishing other drawing (the loading note) when the map is complete.
    for _attempt in range(20):
        if np.array_equal(screenshot(page)[on_map], still[on_map]):
            break
        settle(page)
    assert np.array_equal(screenshot(page)[on_map], still[on_map])
    assert page.console_errors == []
