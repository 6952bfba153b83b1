"""Linked panels (issue 14, section 3): 2 or 4 maps side by side, each with its own layer and
colours, sharing one view; the cursor mirrored as a crosshair and every panel's value read out."""

import numpy as np
import pytest

from tests.viewer.conftest import (
    BACKGROUND_PIXELS,
    LAYERS,
    TILE_SIZE,
    VIEW,
    open_page,
    pixel_centre_deg,
)
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
    assert_colour,
    cmap_rgb,
    open_viewer,
    pixel,
    screenshot,
    settle_panels,
    url_params,
    view_query,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# One step of the 255-colour LUT, in RGB units, plus rounding.
LUT_STEP = 8.0
CROSSHAIR_RGB = (0, 255, 255)
# layer id: (plane, vmin, vmax, cmap), as the sky fixture's layers.
OTHER_LAYER = (0, -100.0, 100.0, "RdBu_r")
FOUR = ["sky-i", "sky-q", "sky-i-gray", "other-layer"]


def layer_settings(layer_id):
    return OTHER_LAYER if layer_id == "other-layer" else LAYERS[layer_id]


def panels_query(layers, view=VIEW, **more):
    extra = {f"p{k}": layer_id for k, layer_id in enumerate(layers[1:], start=2)}
    return view_query(layer=layers[0], gl="1", panels=len(layers), **extra, **more, **view)


def open_panels(page, live_server, query):
    open_viewer(page, live_server, query)
    settle_panels(page)


def panel_box(page, number):
    return page.locator(f'[data-panel="{number - 1}"]').first.bounding_box()


def panel_xy(page, number, view, ra_deg, dec_deg):
    """Where (ra, dec) must be on screen in panel ``number`` (1-based), from the view alone."""
    box = panel_box(page, number)
    resolution_deg = 180.0 / 2 ** view["zoom"] / TILE_SIZE
    sign = -1.0 if view["flip"] else 1.0
    d_ra = (ra_deg - view["ra"] + 180.0) % 360.0 - 180.0
    x = box["x"] + box["width"] / 2 + sign * d_ra / resolution_deg
    y = box["y"] + box["height"] / 2 - (dec_deg - view["dec"]) / resolution_deg
    return x, y


def inside(box, x, y, margin=4):
    return (
        box["x"] + margin < x < box["x"] + box["width"] - margin
        and box["y"] + margin < y < box["y"] + box["height"] - margin
    )


def assert_panel_colours(page, image, number, layer_id, sky_data, settings=None):
    plane, vmin, vmax, cmap = settings or layer_settings(layer_id)
    box = panel_box(page, number)
    checked = 0
    for column, row in BACKGROUND_PIXELS:
        x, y = panel_xy(page, number, VIEW, *pixel_centre_deg(column, row))
        if not inside(box, x, y):
            continue
        assert_colour(
            pixel(image, x, y),
            cmap_rgb(cmap, sky_data[plane, row, column], vmin, vmax),
            tolerance=LUT_STEP,
        )
        checked += 1
    assert checked >= 2, f"panel {number} shows too few of the test pixels"


def panel_colours(page):
    return page.evaluate(
        """window.tilemakerViewer.panels.panels.map(({ sky }) =>
            [sky.layer.layer_id, sky.colour.vmin, sky.colour.vmax, sky.colour.cmap])"""
    )


@pytest.mark.parametrize("layers", [FOUR[:2], FOUR], ids=["2", "4"])
def test_each_panel_shows_its_own_layer_in_its_own_colours(
    page, live_server, sky, sky_data, layers
):
    open_panels(page, live_server, panels_query(layers))

    assert page.locator("#map-area [data-panel]").count() == len(layers)
    boxes = [panel_box(page, k) for k in range(1, len(layers) + 1)]
    # Side by side (2) or 2 x 2 (4), each the same size.
    assert boxes[1]["x"] > boxes[0]["x"] + boxes[0]["width"] - 2
    assert abs(boxes[1]["y"] - boxes[0]["y"]) < 1
    if len(layers) == 4:
        assert boxes[2]["y"] > boxes[0]["y"] + boxes[0]["height"] - 2
        assert abs(boxes[3]["x"] - boxes[1]["x"]) < 1
    assert len({(round(b["width"]), round(b["height"])) for b in boxes}) == 1
    image = screenshot(page, f"panels-{len(layers)}")
    for number, layer_id in enumerate(layers, start=1):
        assert_panel_colours(page, image, number, layer_id, sky_data)
    assert page.locator(".panel-label").all_inner_texts() == [
        f"{k} \u00b7 {layer_id.upper() if layer_id != 'other-layer' else 'Other layer'}"
        for k, layer_id in enumerate(layers, start=1)
    ]
    assert page.console_errors == []


def test_panning_one_panel_moves_every_panel(page, live_server, sky):
    open_panels(page, live_server, panels_query(FOUR))
    centres = "window.tilemakerViewer.panels.panels.map((p) => p.sky.view.getCenter())"
    before = page.evaluate(centres)
    assert (
        page.evaluate("new Set(window.tilemakerViewer.panels.panels.map((p) => p.sky.view)).size")
        == 1
    )

    box = panel_box(page, 4)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    # Where the drag itself left the view: on a loaded machine the moves span more
    # than a frame, and OpenLayers' kinetic panning carries the view on after the
    # release, by a distance that depends on the moves' timing.
    page.evaluate(
        """() => window.addEventListener('pointerup', () => {
            window.__releasedAt = window.tilemakerViewer.sky.view.getCenter();
        }, { capture: true, once: true })"""
    )
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x - 40, y + 30, steps=5)
    page.mouse.move(x - 80, y + 60, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "!window.tilemakerViewer.sky.view.getAnimating()", timeout=RENDER_TIMEOUT_MS
    )
    settle_panels(page)

    after = page.evaluate(centres)
    assert after[0] != before[0]
    assert all(centre == after[0] for centre in after)
    # Dragged 80 px left and 60 px down at zoom 2 (0.125 deg per pixel): the centre moves
    # right and up, less the few pixels OpenLayers takes to start a drag.
    released = page.evaluate("window.__releasedAt")
    assert released[0] == pytest.approx(before[0][0] + 80 * 0.125, abs=1.5)
    assert released[1] == pytest.approx(before[0][1] + 60 * 0.125, abs=1.5)


def near_crosshair(image, x, y):
    """Whether the crosshair's arms are drawn around (x, y): 6 px out on each side."""
    arms = [(x + 6, y), (x - 6, y), (x, y + 6), (x, y - 6)]
    return all(
        np.abs(pixel(image, ax, ay) - np.array(CROSSHAIR_RGB)).max() <= 60 for ax, ay in arms
    )


def test_the_cursor_is_mirrored_as_a_crosshair_in_the_other_panels(page, live_server, sky):
    open_panels(page, live_server, panels_query(FOUR))
    ra, dec = pixel_centre_deg(122, 163)
    spots = {k: panel_xy(page, k, VIEW, ra, dec) for k in range(1, 5)}
    image = screenshot(page)
    assert not any(near_crosshair(image, *spots[k]) for k in spots)

    page.mouse.move(*spots[2])
    page.wait_for_function(
        """() => window.tilemakerViewer.panels.panels
            .filter((p) => p.crosshair.getSource().getFeatures().length === 1).length === 3"""
    )
    settle_panels(page)
    image = screenshot(page, "panels-crosshair")
    assert [near_crosshair(image, *spots[k]) for k in range(1, 5)] == [True, False, True, True]


def readout_values(page):
    parts = page.locator("#readout-panels .panel-value")
    return {
        parts.nth(k).get_attribute("data-panel"): (
            parts.nth(k).locator("b").inner_text().strip(),
            parts.nth(k).locator(".value").inner_text(),
        )
        for k in range(parts.count())
    }


def test_the_readout_shows_every_panels_float32_value(page, live_server, sky, sky_data):
    column, row = 120, 160
    ra, dec = pixel_centre_deg(column, row)
    view = {"ra": ra, "dec": dec, "zoom": 4, "flip": True}
    # exact=1: exact float32 data tiles, so each value is the file's.
    open_panels(page, live_server, panels_query(FOUR, view=view, exact="1"))
    # In panel 3, not the main one: every panel reads its own tiles wherever the cursor is.
    x, y = panel_xy(page, 3, view, ra, dec)
    page.mouse.move(x + 1, y + 1)
    page.wait_for_function(
        "document.querySelectorAll('#readout-panels .panel-value').length === 4"
        " && !document.querySelector('#readout-panels').textContent.includes('\\u2014')",
        timeout=10_000,
    )
    values = readout_values(page)
    assert list(values) == ["1", "2", "3", "4"]
    for number, layer_id in enumerate(FOUR, start=1):
        label, text = values[str(number)]
        name = "Other layer" if layer_id == "other-layer" else layer_id.upper()
        assert label == f"{number} {name}:"
        plane = layer_settings(layer_id)[0]
        assert text.endswith(" uK")
        assert np.float32(float(text.split()[0])) == np.float32(sky_data[plane, row, column])
    assert "RA" in page.locator("#readout-ra").inner_text()


def set_colour(page, *, vmin, vmax, cmap):
    page.locator("#vmin").fill(str(vmin))
    page.locator("#vmin").dispatch_event("change")
    page.locator("#vmax").fill(str(vmax))
    page.locator("#vmax").dispatch_event("change")
    page.locator("#cmap").fill(cmap)
    page.locator("#cmap").dispatch_event("change")


def click_panel(page, number):
    box = panel_box(page, number)
    page.mouse.click(box["x"] + 30, box["y"] + box["height"] - 30)


def test_the_colour_panel_edits_the_active_panel_and_the_lock_matches_all(
    page, live_server, sky, sky_data
):
    open_panels(page, live_server, panels_query(FOUR[:2]))
    assert page.locator("#vmin").input_value() == "-300"

    click_panel(page, 2)
    page.wait_for_function("document.querySelector('#vmin').value === '850'")
    assert "panel-active" in page.locator('[data-panel="1"]').first.get_attribute("class")
    set_colour(page, vmin=900, vmax=1100, cmap="gray")
    page.wait_for_function("window.tilemakerViewer.panels.panels[1].sky.colour.cmap === 'gray'")
    assert panel_colours(page) == [
        ["sky-i", -300, 300, "viridis"],
        ["sky-q", 900, 1100, "gray"],
    ]

    page.locator("#panel-lock").check()
    assert panel_colours(page) == [
        ["sky-i", 900, 1100, "gray"],
        ["sky-q", 900, 1100, "gray"],
    ]
    set_colour(page, vmin=-200, vmax=1200, cmap="gray")
    page.wait_for_function("window.tilemakerViewer.panels.panels[0].sky.colour.vmin === -200")
    settle_panels(page)
    assert panel_colours(page) == [
        ["sky-i", -200, 1200, "gray"],
        ["sky-q", -200, 1200, "gray"],
    ]
    image = screenshot(page, "panels-lock")
    for number, (layer_id, plane) in enumerate([("sky-i", 0), ("sky-q", 1)], start=1):
        assert_panel_colours(
            page, image, number, layer_id, sky_data, settings=(plane, -200, 1200, "gray")
        )

    # Back on panel 1, the Colour panel shows panel 1's (now locked) settings.
    click_panel(page, 1)
    page.wait_for_function("document.querySelector('#vmin').value === '-200'")
    # A layer chosen for a panel while locked takes the shared scale.
    page.locator(".layer-entry[data-layer-id='sky-i-gray']").click()
    page.wait_for_function("window.tilemakerViewer.sky.layer.layer_id === 'sky-i-gray'")
    assert panel_colours(page) == [
        ["sky-i-gray", -200, 1200, "gray"],
        ["sky-q", -200, 1200, "gray"],
    ]


def test_a_link_reopens_the_same_panels(page, live_server, sky, sky_data, browser):
    open_panels(page, live_server, panels_query(FOUR))
    click_panel(page, 3)
    page.wait_for_function("window.tilemakerViewer.panels.active === 2")
    set_colour(page, vmin=-50, vmax=250, cmap="magma")
    page.wait_for_function(
        "new URLSearchParams(window.location.search).get('p3cmap') === 'magma'"
        " && new URLSearchParams(window.location.search).get('p3vmin') === '-50'"
    )
    params = url_params(page)
    assert params["panels"] == ["4"]
    assert [params[f"p{k}"] for k in (2, 3, 4)] == [["sky-q"], ["sky-i-gray"], ["other-layer"]]
    # The main panel's own settings stay in the link while another panel is active.
    assert params["cmap"] == ["viridis"]
    assert params["vmin"] == ["-300"]
    link = page.url

    other = open_page(browser, bypass_csp=True)
    open_panels(other, live_server, link.split("?", 1)[1])
    assert panel_colours(other) == [
        ["sky-i", -300, 300, "viridis"],
        ["sky-q", 850, 1150, "magma"],
        ["sky-i-gray", -50, 250, "magma"],
        ["other-layer", -100, 100, "RdBu_r"],
    ]
    assert other.console_errors == []
    image = screenshot(other, "panels-reopened")
    assert_panel_colours(other, image, 3, "sky-i-gray", sky_data, settings=(0, -50, 250, "magma"))
    assert_panel_colours(other, image, 4, "other-layer", sky_data)
    other.context.close()


def test_n_cycles_one_two_four_panels_and_the_menu_loads_into_the_active_one(
    page, live_server, sky
):
    open_panels(page, live_server, view_query(layer="sky-i", gl="1", **VIEW))
    assert page.locator("#map-area [data-panel]").count() == 1
    assert "N" in page.locator("#help").inner_text()
    page.locator("#map").focus()

    page.keyboard.press("n")
    page.wait_for_function("window.tilemakerViewer.panels.panels.length === 2")
    # The new panel shows the main layer and is where the next menu choice goes.
    page.wait_for_function("window.tilemakerViewer.panels.active === 1")
    page.locator(".layer-entry[data-layer-id='sky-q']").click()
    page.wait_for_function(
        "window.tilemakerViewer.panels.panels[1].sky.layer?.layer_id === 'sky-q'"
    )
    assert page.evaluate("window.tilemakerViewer.sky.layer.layer_id") == "sky-i"

    page.keyboard.press("n")
    page.wait_for_function("window.tilemakerViewer.panels.panels.length === 4")
    page.keyboard.press("n")
    page.wait_for_function("window.tilemakerViewer.panels.panels.length === 1")
    assert page.locator("#map-area [data-panel]").count() == 1
    # The URL follows a change after a short debounce: wait for it, not a fixed time.
    page.wait_for_function("!new URLSearchParams(window.location.search).has('panels')")
    settle_panels(page)
    assert page.console_errors == []
