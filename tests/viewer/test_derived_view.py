"""Derived maps in the viewer (issue 14, sections 4 and 5): computed on the GPU from both
inputs' data tiles, read out in JS, refused across grids or hidden inputs."""

from urllib.parse import urlsplit

import numpy as np
import pytest
from astropy.io import fits
from django.core.cache import cache

from maps.engine.colormap import Normalisation, colourise
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from tests.viewer.conftest import (
    BACKGROUND_PIXELS,
    DEC_BOTTOM_DEG,
    LAYERS,
    NX,
    NY,
    PIXEL_SCALE_DEG,
    RA_LEFT_DEG,
    VIEW,
    pixel_centre_deg,
)
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
    assert_colour,
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

# One step of the server's 255-colour LUT, in RGB units, plus rounding.
LUT_STEP = 8.0
# Q - I of the sky map is about 1000 (value_at's planes): a range around it.
DIFFERENCE = {"derived": "difference", "da": "sky-q", "db": "sky-i"}
COLOUR = {"vmin": 700.0, "vmax": 1300.0, "cmap": "magma"}


def plane(sky_data, layer_id):
    return sky_data[LAYERS[layer_id][0]].astype(np.float32)


class RequestLog:
    def __init__(self, page):
        self.paths = []
        page.on("request", lambda request: self.paths.append(urlsplit(request.url).path))


def difference_colour(value):
    norm = Normalisation(vmin=COLOUR["vmin"], vmax=COLOUR["vmax"])
    return colourise(np.array([[value]], dtype=np.float32), norm, cmap=COLOUR["cmap"])[0, 0, :3]


def shown(value):
    """A float32 as the viewer writes it: the shortest decimal that reads back as it."""
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def hover_value(page, column, row, view=VIEW):
    page.mouse.move(*screen_xy(page, view, *pixel_centre_deg(column, row)))
    page.wait_for_function(
        "() => /\\d/.test(document.querySelector('#readout-value').textContent)", timeout=10_000
    )
    return page.locator("#readout-value").inner_text()


def open_derived(page, live_server, gl="1", **more):
    query = {"layer": "sky-q", "gl": gl, **DIFFERENCE, **COLOUR, **VIEW, **more}
    open_viewer(page, live_server, view_query(**query))
    page.wait_for_function(
        "() => window.tilemakerViewer.layer && window.tilemakerViewer.layer.derived",
        timeout=10_000,
    )
    settle(page)


def test_difference_on_the_gpu_matches_numpy_and_the_server_tiles(page, live_server, sky, sky_data):
    requests = RequestLog(page)
    open_derived(page, live_server)
    a, b = plane(sky_data, "sky-q"), plane(sky_data, "sky-i")
    # Both inputs' data tiles, no derived tile: the GPU combines them.
    assert [p for p in requests.paths if p.startswith("/layers/sky-q/") and "data.f32" in p]
    assert [p for p in requests.paths if p.startswith("/layers/sky-i/") and "data.f32" in p]
    assert not [p for p in requests.paths if "/derived/" in p and ("data.f32" in p or ".png" in p)]
    gpu = screenshot(page, "derived-gpu")
    png_page = page.context.new_page()
    open_derived(png_page, live_server, gl="0")
    server = screenshot(png_page, "derived-png")
    for column, row in BACKGROUND_PIXELS:
        xy = screen_xy(page, VIEW, *pixel_centre_deg(column, row))
        expected = difference_colour(a[row, column] - b[row, column])
        assert_colour(pixel(gpu, *xy), expected, tolerance=LUT_STEP)
        assert_colour(pixel(server, *xy), pixel(gpu, *xy), tolerance=LUT_STEP)
    assert page.console_errors == []


def test_changing_a_scale_makes_no_request_and_recolours(page, live_server, sky, sky_data):
    open_derived(page, live_server)
    requests = RequestLog(page)
    page.locator("#derived-panel").evaluate("(panel) => { panel.open = true; }")
    # Opening the panel reads the menu's layers for the inputs (derivedview.js
    # loadLayers): its requests are over once the list is filled.
    page.wait_for_function(
        "window.tilemakerViewer.derived.layers.length > 0", timeout=RENDER_TIMEOUT_MS
    )
    requests.paths.clear()
    page.locator("#derived-scale-b").fill("-1")
    page.locator("#derived-scale-b").dispatch_event("change")
    settle(page)
    assert requests.paths == []
    # Q + I now: the sum's colour where it is inside the range.
    a, b = plane(sky_data, "sky-q"), plane(sky_data, "sky-i")
    image = screenshot(page)
    for column, row in BACKGROUND_PIXELS:
        value = a[row, column] + b[row, column]
        if COLOUR["vmin"] < value < COLOUR["vmax"]:
            xy = screen_xy(page, VIEW, *pixel_centre_deg(column, row))
            assert_colour(pixel(image, *xy), difference_colour(value), tolerance=LUT_STEP)
    # The URL follows a moment (main.js URL_DELAY_MS) after the change.
    wait_for_url(page, dsb="-1")
    assert url_params(page)["dsb"] == ["-1"]


def test_readout_is_numpys_float32_difference(page, live_server, sky, sky_data):
    # exact=1: exact input tiles, so the readout is float32(a) - float32(b) rounded to
    # float32 once, as numpy's float32 subtraction and the server compute it.
    open_derived(page, live_server, exact="1")
    a, b = plane(sky_data, "sky-q"), plane(sky_data, "sky-i")
    for column, row in BACKGROUND_PIXELS[:2]:
        expected = shown(np.float32(a[row, column]) - np.float32(b[row, column]))
        assert hover_value(page, column, row) == f"{expected} uK"


def test_a_link_reopens_the_derived_map(page, live_server, sky):
    open_derived(page, live_server, dsa="2")
    settle(page)
    page.wait_for_function("() => new URLSearchParams(location.search).get('derived')")
    params = url_params(page)
    assert params["derived"] == ["difference"]
    assert (params["da"], params["db"], params["dsa"]) == (["sky-q"], ["sky-i"], ["2"])
    assert params["layer"] == ["sky-q"]
    page.goto(page.url)
    page.wait_for_function(
        "() => window.tilemakerViewer.layer && window.tilemakerViewer.layer.derived",
        timeout=10_000,
    )
    derived = page.evaluate("window.tilemakerViewer.layer.derived")
    assert {key: derived[key] for key in ("op", "a", "b", "scaleA", "scaleB")} == {
        "op": "difference",
        "a": "sky-q",
        "b": "sky-i",
        "scaleA": 2,
        "scaleB": 1,
    }


@pytest.fixture
def other_grid(sky, make_car_map):
    """A layer on a different grid (half the pixel size) beside the sky's."""
    path = make_car_map(
        "fine.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG / 2,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
    )
    band = Band.objects.get(band_id="test-f090")
    layer = Layer(
        layer_id="fine",
        name="Fine",
        band=band,
        position=9,
        units="uK",
        provider={"provider_type": "fits", "filename": str(path), "index": 0},
    )
    refresh_layer_geometry(layer)
    layer.save()
    cache.clear()


def test_layers_on_different_grids_are_refused(page, live_server, other_grid):
    requests = RequestLog(page)
    open_viewer(
        page,
        live_server,
        view_query(layer="sky-i", gl="1", derived="difference", da="sky-i", db="fine", **VIEW),
    )
    note = page.locator("#derived-note").text_content()
    assert note.startswith("Cannot combine: layers sky-i and fine are not on one pixel grid")
    assert note in page.locator("#messages").inner_text()
    assert page.evaluate("window.tilemakerViewer.layer.layer_id") == "sky-i"
    assert not [p for p in requests.paths if p.startswith("/derived/")]


def test_a_hidden_input_cannot_be_combined(page, live_server, sky):
    Layer.objects.filter(layer_id="sky-i").update(grant=Grant.objects.create(name="secret"))
    cache.clear()
    open_viewer(page, live_server, view_query(layer="sky-q", gl="1", **DIFFERENCE, **VIEW))
    assert page.locator("#derived-note").text_content() == (
        "Layer \u201csky-i\u201d does not exist or is not visible to you: no derived map."
    )
    assert page.evaluate("window.tilemakerViewer.layer.layer_id") == "sky-q"


@pytest.fixture
def qu(transactional_db, make_car_map):
    """A Q and a U layer of one band, with known values at two pixels."""
    path = make_car_map(
        "qu.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
        n_planes=2,
    )
    with fits.open(path, mode="update") as hdus:
        hdus[0].data[:, 160, 120] = (-3.21, 7.89)
        hdus[0].data[:, 163, 125] = (41.7, -0.3)
        data = np.array(hdus[0].data, dtype=np.float32)
    cache.clear()
    group = MapGroup.objects.create(map_group_id="qu-group", name="QU", position=0)
    qu_map = Map.objects.create(map_id="qu-map", name="QU", map_group=group)
    band = Band.objects.create(band_id="qu-band", name="f090", map=qu_map)
    for index, stokes in enumerate("QU"):
        layer = Layer(
            layer_id=f"qu-{stokes.lower()}",
            name=f"{stokes} map",
            band=band,
            position=index,
            stokes=stokes,
            units="uK",
            vmin=-100.0,
            vmax=100.0,
            provider={"provider_type": "fits", "filename": str(path), "index": index},
        )
        refresh_layer_geometry(layer)
        layer.save()
    yield data
    cache.clear()


@pytest.mark.parametrize("op", ["p", "angle"])
def test_p_and_angle_of_a_stokes_band_agree_with_numpy(page, live_server, qu, op):
    view = {
        **dict(zip(("ra", "dec"), pixel_centre_deg(120, 160), strict=True)),
        "zoom": 4,
        "flip": True,
    }
    query = {
        "layer": "qu-q",
        "gl": "1",
        "exact": "1",
        "derived": op,
        "da": "qu-q",
        "db": "qu-u",
        **view,
    }
    open_viewer(page, live_server, view_query(**query))
    page.wait_for_function(
        "() => window.tilemakerViewer.layer && window.tilemakerViewer.layer.derived",
        timeout=10_000,
    )
    settle(page)
    for column, row in [(120, 160), (125, 163)]:
        q, u = (np.float64(v) for v in qu[:, row, column])
        expected = np.hypot(q, u) if op == "p" else np.degrees(0.5 * np.arctan2(u, q))
        text = hover_value(page, column, row, view)
        assert text.endswith(" uK" if op == "p" else " deg")
        assert float(text.split()[0]) == pytest.approx(expected, rel=1e-6)
