"""The colour bar on the map and the histogram's value axis: tick labels, units, and colours
that follow the range, the scale and the stretch.

Expected colours come from matplotlib's colour map and astropy's stretches, not from the
viewer's code; expected labels are written out.
"""

import math

import numpy as np
import pytest
from astropy.visualization import AsinhStretch
from matplotlib import colormaps

from tests.viewer.conftest import LAYERS, VIEW
from tests.viewer.helpers import (
    assert_colour,
    cmap_rgb,
    open_viewer,
    pixel,
    screenshot,
    settle,
    view_query,
    wait_for_url,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# The histogram's colour strip is the bottom 10 px of its canvas.
STRIP_FROM_BOTTOM_PX = 5


def cmap_at(name, t):
    return np.array(colormaps[name](float(np.clip(t, 0.0, 1.0)))[:3]) * 255.0


def centre_x(box):
    return box["x"] + box["width"] / 2


def ticks(page, selector):
    """[(label, value, screen x of the tick)] of the tick elements under `selector`."""
    found = []
    for tick in page.locator(selector).all():
        value = float(tick.get_attribute("data-value"))
        found.append((tick.text_content(), value, centre_x(tick.bounding_box())))
    return found


def bar_ticks(page):
    return ticks(page, "#colour-bar .colour-bar-tick")


def bar_box(page):
    return page.locator("#colour-bar canvas").bounding_box()


def assert_bar(page, image, cmap, expected_labels, position_of):
    """The bar's labels, each at `position_of(value)` (0..1) along the bar, over the colour
    the map gives that value."""
    box = bar_box(page)
    found = bar_ticks(page)
    assert [label for label, _, _ in found] == expected_labels
    y = box["y"] + box["height"] / 2
    for label, value, x in found:
        position = position_of(value)
        assert abs(x - (box["x"] + position * box["width"])) <= 1.0, label
        # Inside the bar at its ends, where a tick sits on the edge.
        inside = min(max(x, box["x"] + 1), box["x"] + box["width"] - 1)
        assert_colour(pixel(image, inside, y), cmap_at(cmap, position))


def test_the_bar_labels_the_layer_range_with_its_units_in_its_colours(page, live_server, sky):
    _, vmin, vmax, cmap = LAYERS["sky-i"]
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    image = screenshot(page, "colour-bar-linear")

    assert page.locator("#colour-bar").is_visible()
    assert page.locator("#colour-bar .colour-bar-units").text_content() == "uK"
    assert page.locator("#colour-bar .colour-bar-scale").text_content() == ""
    labels = ["-300", "-200", "-100", "0", "100", "200", "300"]
    assert_bar(page, image, cmap, labels, lambda v: (v - vmin) / (vmax - vmin))
    assert page.locator("#colour-bar").get_attribute("aria-label") == (
        "Colour bar, viridis: -300 to 300 uK"
    )
    assert page.console_errors == []


def test_a_log_scale_puts_decades_along_the_bar(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", vmin=1, vmax=1000, log=1, **VIEW))
    image = screenshot(page)

    assert page.locator("#colour-bar .colour-bar-scale").text_content() == "log scale"
    assert_bar(
        page, image, "viridis", ["1", "10", "50", "100", "1000"], lambda v: math.log10(v) / 3
    )


def test_a_new_vmin_relabels_the_bar(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))

    page.locator("#vmin").fill("-200")
    page.locator("#vmin").press("Enter")
    wait_for_url(page, vmin="-200")
    settle(page)

    image = screenshot(page)
    labels = ["-200", "-100", "0", "100", "200", "300"]
    assert_bar(page, image, "viridis", labels, lambda v: (v + 200) / 500)


def test_switching_layers_recolours_the_bar(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))

    page.locator(".layer-entry[data-layer-id='sky-q']").click()
    wait_for_url(page, layer="sky-q")
    settle(page)

    _, vmin, vmax, cmap = LAYERS["sky-q"]
    labels = ["850", "900", "950", "1000", "1050", "1100", "1150"]
    assert_bar(page, screenshot(page), cmap, labels, lambda v: (v - vmin) / (vmax - vmin))


def histogram_axis(page):
    """Screen x of a value on the histogram's axis, from where the two handles stand."""
    vmin = float(page.locator("#handle-vmin").get_attribute("aria-valuenow"))
    vmax = float(page.locator("#handle-vmax").get_attribute("aria-valuenow"))
    x_vmin = centre_x(page.locator("#handle-vmin").bounding_box())
    x_vmax = centre_x(page.locator("#handle-vmax").bounding_box())
    return lambda value: x_vmin + (value - vmin) / (vmax - vmin) * (x_vmax - x_vmin)


def test_the_histogram_axis_has_round_labelled_ticks_where_their_values_are(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))

    found = ticks(page, "#histogram-ticks .axis-tick")
    assert len(found) >= 3
    values = [float(label) for label, _, _ in found]
    assert values == [value for _, value, _ in found]
    steps = np.diff(values)
    assert np.allclose(steps, steps[0])
    mantissa = steps[0] / 10 ** math.floor(math.log10(steps[0]))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5)), steps[0]
    x_of = histogram_axis(page)
    for label, value, x in found:
        assert abs(x - x_of(value)) <= 1.0, label


def test_bar_and_histogram_follow_the_stretch(page, live_server, sky):
    _, vmin, vmax, cmap = LAYERS["sky-i"]
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    page.evaluate("window.tilemakerViewer.colour.update({ stretch: 'asinh', asinh_a: 0.1 })")
    settle(page)
    image = screenshot(page, "colour-bar-asinh")

    asinh = AsinhStretch(a=0.1)

    def position_of(value):
        return float(asinh(np.array([(value - vmin) / (vmax - vmin)]))[0])

    assert page.locator("#colour-bar .colour-bar-scale").text_content() == "asinh a=0.1"
    assert_bar(page, image, cmap, ["-300", "-250", "-200", "0", "200"], position_of)

    canvas = page.locator("#histogram-canvas").bounding_box()
    y = canvas["y"] + canvas["height"] - STRIP_FROM_BOTTOM_PX
    x_of = histogram_axis(page)
    for value in (-250.0, -150.0, 0.0, 150.0):
        stretched = cmap_at(cmap, position_of(value))
        assert_colour(pixel(image, x_of(value), y), stretched)
        # Linear would be another colour: the check can tell them apart.
        assert np.abs(stretched - cmap_rgb(cmap, value, vmin, vmax)).max() > 20
