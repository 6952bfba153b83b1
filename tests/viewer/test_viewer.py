"""The viewer in a real browser: what a person sees and what it asks the API for."""

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from tests.viewer.conftest import (
    BACKGROUND_PIXELS,
    BOX,
    CATALOGUE_ID,
    FAINT,
    LAYERS,
    SOURCE_DEC_DEG,
    SOURCE_RA_DEG,
    VIEW,
    pixel_centre_deg,
)
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
    TileLog,
    assert_colour,
    cmap_rgb,
    open_viewer,
    pixel,
    screen_xy,
    screenshot,
    settle,
    sky_at_screen,
    url_params,
    view_query,
    wait_for_saved_url,
    wait_for_url,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

# A point inside the bright source but off the equator's grid line.
SOURCE_POINT = (SOURCE_RA_DEG, SOURCE_DEC_DEG + 0.3)


def api_json(live_server, path):
    with urllib.request.urlopen(f"{live_server.url}{path}") as response:
        return json.load(response)


def source_colour(layer_id):
    _, vmin, vmax, cmap = LAYERS[layer_id]
    return cmap_rgb(cmap, 1e9, vmin, vmax)


def expected_colour(sky_data, layer_id, column, row):
    plane, vmin, vmax, cmap = LAYERS[layer_id]
    return cmap_rgb(cmap, sky_data[plane, row, column], vmin, vmax)


def focus_map(page):
    page.locator("#map").focus()


def test_tiles_answer_200_and_show_the_sky_in_the_layer_colours(page, live_server, sky, sky_data):
    tiles = TileLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    image = screenshot(page, "viewer-main")

    assert tiles.entries
    assert {e["status"] for e in tiles.entries} == {200}
    assert tiles.layers() == {"sky-i"}
    assert all(e["query"]["flip"] == "true" for e in tiles.entries)
    assert_colour(pixel(image, *screen_xy(page, VIEW, *SOURCE_POINT)), source_colour("sky-i"))
    for column, row in BACKGROUND_PIXELS:
        ra, dec = pixel_centre_deg(column, row)
        assert_colour(
            pixel(image, *screen_xy(page, VIEW, ra, dec)),
            expected_colour(sky_data, "sky-i", column, row),
        )
    assert page.console_errors == []


def test_switching_layers_changes_tile_urls_and_colours(page, live_server, sky, sky_data):
    tiles = TileLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="0", **VIEW))
    tiles.clear()

    page.locator(".layer-entry[data-layer-id='sky-q']").click()
    wait_for_url(page, layer="sky-q")
    settle(page)
    image = screenshot(page)

    assert tiles.layers() == {"sky-q"}
    assert tiles.last_query()["cmap"] == "magma"
    assert page.locator(".layer-entry.active").get_attribute("data-layer-id") == "sky-q"
    column, row = BACKGROUND_PIXELS[0]
    ra, dec = pixel_centre_deg(column, row)
    assert_colour(
        pixel(image, *screen_xy(page, VIEW, ra, dec)),
        expected_colour(sky_data, "sky-q", column, row),
    )


def test_layer_menu_loads_lazily_and_searches(page, live_server, sky):
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    tiles = TileLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    tree = page.locator("#layer-tree")
    assert tree.locator(".layer-entry[data-layer-id='other-layer']").count() == 0

    tree.get_by_role("button", name="Other sky").click()
    tree.get_by_role("button", name="Other map").click()
    tree.get_by_role("button", name="f150").click()
    tiles.clear()
    tree.locator(".layer-entry[data-layer-id='other-layer']").click()
    wait_for_url(page, layer="other-layer")
    settle(page)
    assert any(url.endswith("/map-groups/other-group/maps") for url in requests)
    assert any(url.endswith("/bands/other-band/layers") for url in requests)
    assert tiles.layers() == {"other-layer"}

    page.locator("#search").fill("gray")
    page.wait_for_function(
        "document.querySelectorAll('#layer-tree .layer-entry').length === 1", timeout=10_000
    )
    entry = tree.locator(".layer-entry")
    assert entry.get_attribute("data-layer-id") == "sky-i-gray"
    assert "match" in entry.get_attribute("class")
    page.locator("#search").fill("no such thing")
    page.wait_for_function("document.querySelector('#layer-tree .empty') !== null", timeout=10_000)


def test_slider_drag_and_keys_change_vmin_vmax_in_tile_requests(page, live_server, sky):
    tiles = TileLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="0", **VIEW))

    handle = page.locator("#handle-vmax").bounding_box()
    tiles.clear()
    page.mouse.move(handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] - 4)
    page.mouse.down()
    page.mouse.move(handle["x"] - 30, handle["y"] + handle["height"] - 4, steps=5)
    page.mouse.up()
    settle(page)
    shown = float(page.locator("#vmax").input_value())
    query = tiles.last_query()
    assert float(query["vmin"]) == -300.0
    assert float(query["vmax"]) < 300.0
    assert float(query["vmax"]) == pytest.approx(shown, rel=1e-5)

    vmin, vmax = float(query["vmin"]), float(query["vmax"])
    focus_map(page)
    # W widens by 1.25 about the middle, S narrows back, D/A shift by a tenth.
    # In this order every key gives a range not seen before, so new tiles are needed.
    for key, expect in [
        (
            "w",
            lambda lo, hi: (
                (lo + hi) / 2 - (hi - lo) / 2 * 1.25,
                (lo + hi) / 2 + (hi - lo) / 2 * 1.25,
            ),
        ),
        ("d", lambda lo, hi: (lo + 0.1 * (hi - lo), hi + 0.1 * (hi - lo))),
        (
            "s",
            lambda lo, hi: (
                (lo + hi) / 2 - (hi - lo) / 2 / 1.25,
                (lo + hi) / 2 + (hi - lo) / 2 / 1.25,
            ),
        ),
        ("a", lambda lo, hi: (lo - 0.1 * (hi - lo), hi - 0.1 * (hi - lo))),
    ]:
        vmin, vmax = expect(vmin, vmax)
        tiles.clear()
        page.keyboard.press(key)
        settle(page)
        query = tiles.last_query()
        assert (float(query["vmin"]), float(query["vmax"])) == pytest.approx((vmin, vmax), rel=1e-9)
        wait_for_url(page, vmin=query["vmin"], vmax=query["vmax"])


def test_colour_change_keeps_old_tiles_on_screen(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", gl="0", **VIEW))
    x, y = screen_xy(page, VIEW, *SOURCE_POINT)
    # Hold every new tile back: until they arrive the old ones must stay drawn.
    held = []
    page.route("**/tile.png*", lambda route: held.append(route))
    focus_map(page)
    # The new tiles are asked for once the map renders the new colour: wait for
    # that, then give a wrong viewer time to clear the old ones.
    with page.expect_request("**/tile.png*", timeout=RENDER_TIMEOUT_MS):
        page.keyboard.press("w")
    page.wait_for_timeout(400)
    image = screenshot(page)
    assert held
    assert_colour(pixel(image, x, y), source_colour("sky-i"))
    for route in held:
        route.continue_()
    page.unroute("**/tile.png*")
    settle(page)


def test_flip_mirrors_the_image(page, live_server, sky):
    tiles = TileLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    flipped = screen_xy(page, VIEW, *SOURCE_POINT)
    unflipped_view = {**VIEW, "flip": False}
    unflipped = screen_xy(page, unflipped_view, *SOURCE_POINT)
    # RA 55 is west of the centre (RA 70): right of it when flipped, left when not.
    assert flipped[0] > unflipped[0]
    image = screenshot(page)
    assert_colour(pixel(image, *flipped), source_colour("sky-i"))
    assert np.abs(pixel(image, *unflipped) - source_colour("sky-i")).max() > 40

    tiles.clear()
    focus_map(page)
    page.keyboard.press("f")
    wait_for_url(page, flip="0")
    settle(page)
    image = screenshot(page, "viewer-unflipped")
    assert tiles.entries
    assert all(e["query"]["flip"] == "false" for e in tiles.entries)
    assert_colour(pixel(image, *unflipped), source_colour("sky-i"))
    assert np.abs(pixel(image, *flipped) - source_colour("sky-i")).max() > 40
    assert not page.locator("#flip").is_checked()


def parse_readout(page):
    ra_text = page.locator("#readout-ra").inner_text()
    dec_text = page.locator("#readout-dec").inner_text()
    ra = re.search(r"RA\s+([\d.]+)°\s+(\d\d):(\d\d):([\d.]+)", ra_text)
    dec = re.search(r"Dec\s+([+\-\u2212]?[\d.]+)°\s+([+\u2212])(\d\d):(\d\d):([\d.]+)", dec_text)
    assert ra, ra_text
    assert dec, dec_text
    ra_deg = float(ra.group(1))
    ra_hms = 15 * (int(ra.group(2)) + int(ra.group(3)) / 60 + float(ra.group(4)) / 3600)
    dec_deg = float(dec.group(1).replace("\u2212", "-"))
    dec_dms = int(dec.group(3)) + int(dec.group(4)) / 60 + float(dec.group(5)) / 3600
    if dec.group(2) == "\u2212":
        dec_dms = -dec_dms
    return ra_deg, ra_hms, dec_deg, dec_dms


@pytest.mark.parametrize(("column", "row"), [(120, 160), (300, 30)])
def test_cursor_readout_shows_position_and_value(page, live_server, sky, sky_data, column, row):
    ra, dec = pixel_centre_deg(column, row)
    view = {"ra": ra, "dec": dec, "zoom": 4, "flip": True}
    # exact=1: the default data tiles are within a stated bound (test_viewer_gl.py).
    open_viewer(page, live_server, view_query(layer="sky-i", exact="1", **view))
    x, y = screen_xy(page, view, ra, dec)
    page.mouse.move(x + 3, y + 2)
    page.wait_for_function(
        "document.querySelector('#readout-value').textContent.includes('uK')", timeout=10_000
    )
    shown_ra, hms_ra, shown_dec, dms_dec = parse_readout(page)
    pointer_ra, pointer_dec = sky_at_screen(page, view, x + 3, y + 2)
    one_screen_pixel = 180.0 / 2**4 / 360
    assert shown_ra == pytest.approx(pointer_ra, abs=one_screen_pixel)
    assert shown_dec == pytest.approx(pointer_dec, abs=one_screen_pixel)
    assert hms_ra == pytest.approx(shown_ra, abs=2e-4)
    assert dms_dec == pytest.approx(shown_dec, abs=2e-4)
    value = float(page.locator("#readout-value").inner_text().split()[0].replace("\u2212", "-"))
    assert value == pytest.approx(sky_data[0, row, column], rel=1e-4)
    screenshot(page, f"viewer-readout-{column}-{row}")


def test_goto_position_centres_the_map_and_marks_it(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    page.locator("#readout").click()
    page.locator("#goto-input").fill("04:00:00 +05:30:00")
    page.keyboard.press("Enter")
    # The pan animates: wait for where it ends, not for a fixed time.
    wait_for_url(page, mark="60.0000000,5.5000000", ra="60.0000000", dec="5.5000000")

    page.locator("#readout").click()
    page.locator("#goto-input").fill("400 7")
    page.keyboard.press("Enter")
    assert "RA must be between" in page.locator("#messages").inner_text()


def test_catalogue_source_drawn_at_its_position_with_popup(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", cat=CATALOGUE_ID, **VIEW))
    assert page.locator(f"input[data-catalogue='{CATALOGUE_ID}']").is_checked()
    x, y = screen_xy(page, VIEW, FAINT["ra"], FAINT["dec"])
    image = screenshot(page, "viewer-catalogue")
    ring = [
        pixel(image, x + 6 * math.cos(a), y + 6 * math.sin(a))
        for a in np.linspace(0, 2 * math.pi, 48, endpoint=False)
    ]
    marker = np.array([0xFF, 0xD1, 0x66])
    assert min(np.abs(colour - marker).max() for colour in ring) <= 30

    page.mouse.click(x, y)
    popup = page.locator("#popup")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert "Faint" in text
    for shown in ("flux_mJy", "12.5", "QSO", "70.00000°", "10.00000°", "04:40:00.00"):
        assert shown in text
    screenshot(page, "viewer-popup")

    page.locator(f"input[data-catalogue='{CATALOGUE_ID}']").uncheck()
    wait_for_url(page, layer="sky-i")
    page.wait_for_function("!new URLSearchParams(location.search).has('cat')")


def test_draw_box_and_download_fits_whose_wcs_covers_it(page, live_server, sky, sky_data):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    start = screen_xy(page, VIEW, 78.0, 12.0)
    end = screen_xy(page, VIEW, 64.0, 4.0)
    corners = [sky_at_screen(page, VIEW, *start), sky_at_screen(page, VIEW, *end)]
    focus_map(page)
    page.keyboard.press("b")
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()
    entry = page.locator(".box-entry", has_text="drawn 1")
    entry.wait_for()
    screenshot(page, "viewer-box")

    with page.expect_download() as download_info:
        entry.locator("button[data-format='fits']").click()
    path = download_info.value.path()
    with fits.open(path) as hdus:
        header = hdus[0].header
        data = hdus[0].data.astype(np.float64)
    wcs = WCS(header)
    rows, columns = np.mgrid[0 : data.shape[0], 0 : data.shape[1]]
    ra, dec = wcs.all_pix2world(columns, rows, 0)
    half = 0.25 / 2
    for corner_ra, corner_dec in corners:
        assert ra.min() - half <= corner_ra <= ra.max() + half
        assert dec.min() - half <= corner_dec <= dec.max() + half
    assert ra.max() - ra.min() == pytest.approx(14.0, abs=0.5)
    assert dec.max() - dec.min() == pytest.approx(8.0, abs=0.5)
    # Every pixel is the map's pixel at that WCS position.
    map_columns = np.rint((100.0 - ra) / 0.25 - 0.5).astype(int)
    map_rows = np.rint((dec + 30.0) / 0.25 - 0.5).astype(int)
    np.testing.assert_allclose(data, sky_data[0, map_rows, map_columns], rtol=1e-6)
    assert header["BUNIT"] == "uK"


def test_configured_box_overlay_and_png_cutout(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", box=BOX["name"], **VIEW))
    assert page.locator(f"input[data-box='{BOX['name']}']").is_checked()
    image = screenshot(page)
    top_left = screen_xy(page, VIEW, BOX["top_left_ra"], BOX["top_left_dec"])
    top_right = screen_xy(page, VIEW, BOX["bottom_right_ra"], BOX["top_left_dec"])
    # Flipped: the higher RA (top left) is on the left.
    assert top_left[0] < top_right[0]
    outline = np.array([0x7F, 0xD1, 0xFF])
    mid_top = ((top_left[0] + top_right[0]) / 2, top_left[1])
    near = [pixel(image, mid_top[0], mid_top[1] + dy) for dy in (-1, 0, 1)]
    assert min(np.abs(colour - outline).max() for colour in near) <= 40

    page.mouse.click(mid_top[0], mid_top[1] + 20)
    popup = page.locator("#popup")
    popup.wait_for(state="visible")
    assert BOX["name"] in popup.inner_text()
    assert popup.locator("button[data-format='fits']").is_visible()
    page.keyboard.press("Escape")
    popup.wait_for(state="hidden")

    entry = page.locator(".box-entry", has_text=BOX["name"])
    with page.expect_download() as download_info:
        entry.locator("button[data-format='png']").click()
    from PIL import Image

    with Image.open(download_info.value.path()) as png:
        assert png.format == "PNG"
        assert png.size == pytest.approx((15 / 0.25, 10 / 0.25), abs=1)


def test_aperture_tool_shows_the_api_numbers(page, live_server, sky):
    apertures = []
    page.on(
        "request", lambda r: apertures.append(r.url) if "/analysis/aperture/" in r.url else None
    )
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    centre = screen_xy(page, VIEW, *SOURCE_POINT)
    edge = (centre[0] + 24, centre[1])
    focus_map(page)
    page.keyboard.press("c")
    page.mouse.move(*centre)
    page.mouse.down()
    page.mouse.move(*edge, steps=6)
    page.mouse.up()
    page.locator("#aperture-result td[data-stat='mean']").wait_for()
    screenshot(page, "viewer-aperture")

    assert len(apertures) == 1
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(apertures[0]).query))
    centre_sky = sky_at_screen(page, VIEW, *centre)
    assert float(query["ra"]) == pytest.approx(centre_sky[0], abs=0.13)
    assert float(query["dec"]) == pytest.approx(centre_sky[1], abs=0.13)
    # 24 screen pixels at 0.125 deg each, next to the equator.
    assert float(query["radius"]) == pytest.approx(24 * 0.125 * 60, rel=0.02)
    answer = api_json(live_server, apertures[0].removeprefix(live_server.url))
    for stat in ("mean", "std", "min", "max"):
        shown = float(
            page.locator(f"#aperture-result td[data-stat='{stat}']").get_attribute("data-value")
        )
        assert shown == answer[stat]
    assert answer["max"] == 10_000.0
    assert "uK" in page.locator("#aperture-result").inner_text()


def test_permalink_reload_restores_the_view(page, live_server, sky):
    tiles = TileLog(page)
    query = view_query(
        layer="sky-q",
        gl="0",
        ra=62.5,
        dec=-4.25,
        zoom=1,
        flip=False,
        vmin=900.5,
        vmax=1100.25,
        cmap="cividis",
        log=1,
        abs=0,
        cat=CATALOGUE_ID,
        box=BOX["name"],
        grid=0,
    )
    open_viewer(page, live_server, query)
    assert tiles.layers() == {"sky-q"}
    assert {
        key: tiles.last_query()[key] for key in ("vmin", "vmax", "cmap", "log_norm", "flip")
    } == {
        "vmin": "900.5",
        "vmax": "1100.25",
        "cmap": "cividis",
        "log_norm": "true",
        "flip": "false",
    }
    assert page.locator("#cmap").input_value() == "cividis"
    assert page.locator("#log").is_checked()
    assert not page.locator("#flip").is_checked()
    assert not page.locator("#graticule").is_checked()
    wait_for_url(page, ra="62.5000000")
    params = url_params(page)
    assert {key: params[key] for key in ("ra", "dec", "zoom", "cat", "box")} == {
        "ra": ["62.5000000"],
        "dec": ["-4.2500000"],
        "zoom": ["1"],
        "cat": [CATALOGUE_ID],
        "box": [BOX["name"]],
    }

    # Change the view by hand, then reload: everything comes back as it was.
    focus_map(page)
    page.keyboard.press("d")
    page.mouse.move(900, 400)
    page.mouse.down()
    page.mouse.move(840, 430, steps=5)
    page.mouse.up()
    page.keyboard.press("+")
    # Kinetic panning and the zoom animate: settle waits for them to end.
    settle(page)
    wait_for_saved_url(page)
    before_url = page.url
    before = screenshot(page)
    tiles.clear()
    page.reload()
    open_viewer(page, live_server, before_url.split("?", 1)[1])
    wait_for_saved_url(page)
    assert page.url == before_url
    after = screenshot(page, "viewer-permalink")
    box = page.locator("#map").bounding_box()
    crop = (
        slice(int(box["y"]) + 60, int(box["y"] + box["height"]) - 60),
        slice(int(box["x"]) + 60, int(box["x"] + box["width"]) - 60),
    )
    assert np.abs(after[crop] - before[crop]).mean() < 1.0


def test_history_back_and_forward_with_h_and_l(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    for layer_id in ("sky-q", "sky-i-gray"):
        page.locator(f".layer-entry[data-layer-id='{layer_id}']").click()
        wait_for_url(page, layer=layer_id)
    focus_map(page)
    for key, layer_id in [("h", "sky-q"), ("h", "sky-i"), ("l", "sky-q"), ("l", "sky-i-gray")]:
        page.keyboard.press(key)
        wait_for_url(page, layer=layer_id)
        assert page.locator(".layer-entry.active").get_attribute("data-layer-id") == layer_id
    assert page.locator("#forward").is_disabled()
    page.locator("#back").click()
    wait_for_url(page, layer="sky-q")


def test_errors_and_empty_views_are_reported(page, live_server, sky):
    open_viewer(page, live_server, view_query(layer="sky-i", **VIEW))
    page.locator("#cmap").fill("not_a_colour_map")
    page.keyboard.press("Enter")
    messages = page.locator("#messages")
    messages.get_by_text("not_a_colour_map").first.wait_for()
    with pytest.raises(urllib.error.HTTPError) as answer:
        api_json(live_server, "/histograms/not_a_colour_map.png")
    assert answer.value.code == 404
    detail = json.load(answer.value)["detail"]
    assert detail in messages.inner_text()
    assert page.locator("#cmap").input_value() == "viridis"

    open_viewer(page, live_server, view_query(layer="sky-i", ra=250, dec=60, zoom=2, flip=1))
    messages.get_by_text("No data in this view").wait_for()
    screenshot(page, "viewer-no-data")
    messages.get_by_role("button", name="Show the map").click()
    page.wait_for_function(
        "!document.querySelector('#messages').textContent.includes('No data in this view')",
        timeout=10_000,
    )

    open_viewer(page, live_server, view_query(layer="no-such-layer", **VIEW))
    messages.get_by_text("no-such-layer").first.wait_for()
    wait_for_url(page, layer="sky-i")


def test_viewer_talks_to_the_api_under_its_prefix(page, live_server, sky, settings):
    settings.API_ENDPOINT = "/api"
    settings.ROOT_URLCONF = "tests.viewer.urls_api_prefix"
    requests = []
    page.on("request", lambda request: requests.append(request.url))
    tiles = TileLog(page)
    open_viewer(page, live_server, view_query(layer="sky-i", gl="0", cat=CATALOGUE_ID, **VIEW))
    page.mouse.move(*screen_xy(page, VIEW, 60.0, 5.0))
    page.wait_for_function(
        "document.querySelector('#readout-value').textContent.includes('uK')", timeout=10_000
    )

    # blob: URLs are the tile images handed from fetch() to OpenLayers.
    paths = [urllib.parse.urlsplit(url).path for url in requests if url.startswith("http")]
    api_calls = [p for p in paths if p != "/" and not p.startswith("/static/")]
    assert api_calls
    assert [p for p in api_calls if not p.startswith("/api/")] == []
    for expected in ("/api/layers/default", "/api/layers/sky-i", "/api/sources/test-cat"):
        assert expected in api_calls
    assert any("/submap/" in p and p.endswith("image.fits") for p in api_calls)
    assert {e["status"] for e in tiles.entries} == {200}


def test_unusable_colour_settings_in_a_link_fall_back_to_the_layer(page, live_server, sky):
    tiles = TileLog(page)
    query = view_query(layer="sky-i", gl="0", cmap="bogus_cmap", log=1, vmin=-5, vmax=5, **VIEW)
    open_viewer(page, live_server, query)
    messages = page.locator("#messages").inner_text()
    assert "bogus_cmap" in messages
    assert "log scale needs vmin > 0" in messages
    assert page.locator("#cmap").input_value() == "viridis"
    assert {e["status"] for e in tiles.entries} == {200}
    assert {(e["query"]["cmap"], e["query"]["log_norm"]) for e in tiles.entries} == {
        ("viridis", "false")
    }
    wait_for_url(page, cmap="viridis", log="0", vmin="-5", vmax="5")
