"""Pixels where the sky is (issue 13 section 1), on maps written by pixell.

pixell's own ``sky2pix`` / ``pix2sky`` say where a map pixel's centre is;
the viewer must draw that pixel centred at the screen position of that
RA/Dec (to 0.05 native pixel, read from the canvas at 16x over-zoom), in
both orientations, for both pixel phases pixell writes, and across the RA
seam of each orientation.
"""

import numpy as np
import pytest
from django.core.cache import cache
from pixell import enmap

from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Layer, Map, MapGroup
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
    open_viewer,
    screenshot,
    settle,
    url_params,
    view_query,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RES_DEG = 0.5
# URL zoom 4 on a one-level grid: 16 screen pixels per native pixel.
ZOOM = 4
SCREEN_PER_NATIVE = 2**ZOOM
TOLERANCE_NATIVE = 0.05
BACKGROUND, BRIGHT = 0.3, 1.0
# Bright pixels (RA, Dec) near each view centre, on both sides of it.
PATCHES = {
    # layer_id: (pixell geometry, view centre RA, bright pixels)
    "patch-ra0": (
        lambda: enmap.geometry(pos=np.deg2rad([[-5, 10], [5, -10]]), res=np.deg2rad(RES_DEG)),
        0.0,
        [(2.0, 1.0), (357.5, -1.5)],
    ),
    "patch-ra180": (
        lambda: enmap.geometry(pos=np.deg2rad([[-5, 190], [5, 170]]), res=np.deg2rad(RES_DEG)),
        180.0,
        [(178.0, 1.5), (183.5, -1.0)],
    ),
    "fullsky": (
        lambda: enmap.fullsky_geometry(res=np.deg2rad(RES_DEG)),
        0.0,
        [(2.25, 0.75), (357.75, -1.25)],
    ),
}


@pytest.fixture
def pixell_layers(tmp_path, transactional_db):
    """One layer per pixell map; each is BACKGROUND with single BRIGHT pixels.

    Returns ``{layer_id: [(ra_deg, dec_deg) of each bright pixel's centre per pixell]}``.
    """
    cache.clear()
    group = MapGroup.objects.create(map_group_id="pixell", name="pixell", position=0)
    sky_map = Map.objects.create(map_id="pixell-map", name="pixell", map_group=group)
    band = Band.objects.create(band_id="pixell-band", name="f090", map=sky_map)
    centres = {}
    for position, (layer_id, (geometry, _, bright)) in enumerate(PATCHES.items()):
        shape, wcs = geometry()
        image = enmap.full(shape, wcs, BACKGROUND, dtype=np.float32)
        centres[layer_id] = []
        for ra_deg, dec_deg in bright:
            y, x = np.round(enmap.sky2pix(shape, wcs, np.deg2rad([dec_deg, ra_deg]))).astype(int)
            image[y, x] = BRIGHT
            dec_c, ra_c = np.rad2deg(enmap.pix2sky(shape, wcs, [y, x]))
            centres[layer_id].append((float(ra_c) % 360.0, float(dec_c)))
        path = tmp_path / f"{layer_id}.fits"
        enmap.write_map(str(path), image)
        layer = Layer(
            layer_id=layer_id,
            name=layer_id,
            band=band,
            position=position,
            vmin=0.0,
            vmax=1.0,
            cmap="gray",
            provider={"provider_type": "fits", "filename": str(path)},
        )
        refresh_layer_geometry(layer)
        layer.save()
    return centres


def expected_screen_xy(page, view, ra_deg, dec_deg, tile_size):
    """Screen position of (ra, dec) from the view alone (URL zoom z: level z at 1:1)."""
    box = page.locator("#map").bounding_box()
    resolution_deg = 180.0 / 2 ** view["zoom"] / tile_size
    sign = -1.0 if view["flip"] else 1.0
    d_ra = (ra_deg - view["ra"] + 180.0) % 360.0 - 180.0
    x = box["x"] + box["width"] / 2 + sign * d_ra / resolution_deg
    y = box["y"] + box["height"] / 2 - (dec_deg - view["dec"]) / resolution_deg
    return x, y


def bright_centroid(image, x, y, half_width):
    """Centroid (screen px) of the bright pixels within ``half_width`` of (x, y)."""
    x0, y0 = int(x) - half_width, int(y) - half_width
    window = image[y0 : y0 + 2 * half_width, x0 : x0 + 2 * half_width].mean(axis=2)
    threshold = 255 * (BACKGROUND + BRIGHT) / 2
    rows, cols = np.nonzero(window > threshold)
    assert len(rows), f"no bright pixel drawn near ({x:.1f}, {y:.1f})"
    # Pixel (i, j) of the screenshot covers i..i+1: its centre is i + 0.5.
    return x0 + cols.mean() + 0.5, y0 + rows.mean() + 0.5, len(rows)


@pytest.mark.parametrize("flip", [True, False])
@pytest.mark.parametrize("layer_id", list(PATCHES))
def test_a_bright_pixel_is_drawn_on_its_own_footprint(
    page, live_server, pixell_layers, layer_id, flip
):
    _, centre_ra, _ = PATCHES[layer_id]
    view = {"ra": centre_ra, "dec": 0.0, "zoom": ZOOM, "flip": flip}
    open_viewer(page, live_server, view_query(layer=layer_id, grid="0", **view))
    tile_size = page.evaluate("window.tilemakerViewer.sky.layer.tile_size")
    image = screenshot(page, f"placement-{layer_id}-{'flip' if flip else 'noflip'}")
    for ra_deg, dec_deg in pixell_layers[layer_id]:
        x, y = expected_screen_xy(page, view, ra_deg, dec_deg, tile_size)
        found_x, found_y, count = bright_centroid(image, x, y, 2 * SCREEN_PER_NATIVE)
        # The whole pixel is drawn, once (no duplicated or dropped columns).
        assert count == pytest.approx(SCREEN_PER_NATIVE**2, abs=2 * SCREEN_PER_NATIVE)
        error_native = np.hypot(found_x - x, found_y - y) / SCREEN_PER_NATIVE
        assert error_native <= TOLERANCE_NATIVE, (
            f"pixel at RA {ra_deg}, Dec {dec_deg} drawn at ({found_x:.2f}, {found_y:.2f}), "
            f"expected ({x:.2f}, {y:.2f}): {error_native:.3f} native px off"
        )
    # The map is drawn on both sides of the view centre (the seam for the patches).
    box = page.locator("#map").bounding_box()
    grey = 255 * BACKGROUND
    middle_x, middle_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for dx in (-300, 300):
        colour = image[int(middle_y + 40), int(middle_x + dx)]
        assert np.abs(colour - grey).max() <= 3, f"{dx:+} px from the centre: {list(colour)}"


def test_panning_across_the_seam_keeps_the_map(page, live_server, pixell_layers):
    view = {"ra": 0.0, "dec": 0.0, "zoom": 3, "flip": True}
    open_viewer(page, live_server, view_query(layer="patch-ra0", grid="0", **view))
    page.locator("#map").focus()
    # With flip, panning right goes west, to smaller RA: past the seam at RA 0.
    page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "Number(new URLSearchParams(window.location.search).get('ra')) > 1", timeout=5000
    )
    settle(page)
    ra = float(url_params(page)["ra"][0])
    assert 350.0 < ra < 360.0
    box = page.locator("#map").bounding_box()
    image = screenshot(page)
    colour = image[int(box["y"] + box["height"] / 2), int(box["x"] + box["width"] / 2)]
    assert np.abs(colour - 255 * BACKGROUND).max() <= 3


def test_after_goto_and_enter_the_keys_act_on_the_map(page, live_server, pixell_layers):
    view = {"ra": 0.0, "dec": 0.0, "zoom": 1, "flip": True}
    open_viewer(page, live_server, view_query(layer="patch-ra0", **view))
    page.locator("#readout").click()
    page.locator("#goto-input").fill("1 1")
    page.keyboard.press("Enter")
    # The view glides to the position (tools.js goTo): zoom once it has arrived.
    page.wait_for_function(
        "!window.tilemakerViewer.sky.view.getAnimating()", timeout=RENDER_TIMEOUT_MS
    )
    page.keyboard.press("+")
    page.wait_for_function(
        "new URLSearchParams(window.location.search).get('zoom') === '2'", timeout=5000
    )
