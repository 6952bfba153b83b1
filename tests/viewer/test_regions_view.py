"""The Regions panel: regions drawn by mouse, measured, saved, imported, exported and linked."""

import json
import math
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from astropy.io import fits

from sky_regions import shapes
from sky_regions.models import Region
from tests.viewer.conftest import NX, NY, PIXEL_SCALE_DEG, VIEW, pixel_centre_deg
from tests.viewer.helpers import (
    logged_in_page,
    open_viewer,
    screen_xy,
    screenshot,
    settle,
    sky_at_screen,
    view_query,
    wait_for_saved_url,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

QUERY = view_query(layer="sky-i", **VIEW)
# URL zoom 2: two screen pixels per 0.25 degree map pixel.
SCREEN_PIXEL_DEG = 0.125
REGION_RGB = np.array([0xFF, 0xD5, 0x4F])
SELECTED_RGB = np.array([0xFF, 0x6E, 0x40])
STATS = ("n_pixels", "sum", "mean", "median", "std", "min", "max")


def post_json(live_server, path, body):
    request = urllib.request.Request(
        f"{live_server.url}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.load(response)


def record_stats(page):
    """The bodies of the page's POST /regions/stats requests, as sent."""
    sent = []

    def record(request):
        if request.url.endswith("/regions/stats"):
            sent.append(json.loads(request.post_data))

    page.on("request", record)
    return sent


def start_tool(page, kind):
    page.locator("#region-kind").select_option(kind)
    page.locator("#map").focus()
    page.keyboard.press("r")
    assert "active" in page.locator("#region-draw").get_attribute("class")


def drag(page, start, end):
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=8)
    page.mouse.up()


def shown_stats(page, plane="sky-i"):
    page.locator(f"#region-result td[data-plane='{plane}'][data-stat='mean']").wait_for()
    return {
        stat: float(
            page.locator(
                f"#region-result td[data-plane='{plane}'][data-stat='{stat}']"
            ).get_attribute("data-value")
        )
        for stat in STATS
    }


def sky_grid():
    columns, rows = np.meshgrid(np.arange(NX), np.arange(NY))
    return pixel_centre_deg(columns, rows)


def angle_deg(ra1, dec1, ra2, dec2):
    ra1, dec1, ra2, dec2 = map(np.radians, (ra1, dec1, ra2, dec2))
    h = np.sin((dec2 - dec1) / 2) ** 2 + np.cos(dec1) * np.cos(dec2) * np.sin((ra2 - ra1) / 2) ** 2
    return np.degrees(2 * np.arcsin(np.sqrt(h)))


def test_circle_drawn_by_mouse_measures_what_the_server_and_the_data_say(
    page, live_server, sky, sky_data
):
    sent = record_stats(page)
    open_viewer(page, live_server, QUERY)
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    edge = (centre[0] + 40, centre[1])
    start_tool(page, "circle")
    drag(page, centre, edge)
    shown = shown_stats(page)
    screenshot(page, "regions-circle")

    assert len(sent) == 1
    circle = sent[0]["region"]
    assert circle["kind"] == "circle"
    centre_sky = sky_at_screen(page, VIEW, *centre)
    assert circle["ra_deg"] == pytest.approx(centre_sky[0], abs=SCREEN_PIXEL_DEG)
    assert circle["dec_deg"] == pytest.approx(centre_sky[1], abs=SCREEN_PIXEL_DEG)
    # 40 screen pixels along RA at Dec 3: an arc on the sphere, not in view units.
    expected_radius = angle_deg(
        centre_sky[0], centre_sky[1], centre_sky[0] - 40 * SCREEN_PIXEL_DEG, centre_sky[1]
    )
    assert circle["radius_deg"] == pytest.approx(expected_radius, rel=1e-3)
    assert circle["radius_deg"] < 40 * SCREEN_PIXEL_DEG

    answer = post_json(live_server, "/regions/stats", {"layer_id": "sky-i", "region": circle})
    assert shown == {stat: answer["planes"]["sky-i"][stat] for stat in STATS}
    ra, dec = sky_grid()
    inside = angle_deg(ra, dec, circle["ra_deg"], circle["dec_deg"]) <= circle["radius_deg"]
    assert shown["n_pixels"] == inside.sum()
    assert shown["mean"] == pytest.approx(sky_data[0][inside].mean(), rel=1e-9)
    assert "uK" in page.locator("#region-result").inner_text()


def test_background_annulus_of_a_circle(page, live_server, sky, sky_data):
    sent = record_stats(page)
    open_viewer(page, live_server, QUERY)
    page.locator("#region-background").check()
    centre = screen_xy(page, VIEW, 55.0, 0.0)
    start_tool(page, "circle")
    drag(page, centre, (centre[0] + 16, centre[1]))
    page.locator("#region-result td[data-stat='bg_subtracted_sum']").wait_for()
    body = sent[-1]
    radius = body["region"]["radius_deg"]
    assert body["background"] == {
        "inner_radius_deg": pytest.approx(1.5 * radius),
        "outer_radius_deg": pytest.approx(2.5 * radius),
    }
    answer = post_json(live_server, "/regions/stats", body)["planes"]["sky-i"]
    cell = page.locator("#region-result td[data-stat='bg_subtracted_sum']")
    assert float(cell.get_attribute("data-value")) == answer["background_subtracted_sum"]


def test_stokes_layer_measures_every_plane(page, live_server, sky):
    from maps.models import Layer

    Layer.objects.filter(layer_id="sky-i").update(stokes="I")
    Layer.objects.filter(layer_id="sky-q").update(stokes="Q")
    open_viewer(page, live_server, QUERY)
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    start_tool(page, "circle")
    drag(page, centre, (centre[0] + 20, centre[1]))
    i_stats = shown_stats(page, "I")
    q_stats = shown_stats(page, "Q")
    # Plane 1 of the test map is plane 0 plus 1000 (tests/support/fits.py).
    assert q_stats["n_pixels"] == i_stats["n_pixels"]
    assert q_stats["mean"] != i_stats["mean"]


def test_polygon_drawn_by_clicks(page, live_server, sky):
    sent = record_stats(page)
    open_viewer(page, live_server, QUERY)
    corners_sky = [(66.0, 2.0), (60.0, 2.0), (60.0, 6.0), (64.0, 7.0)]
    corners = [screen_xy(page, VIEW, *corner) for corner in corners_sky]
    start_tool(page, "polygon")
    for corner in corners[:-1]:
        page.mouse.click(*corner)
    page.mouse.dblclick(*corners[-1])
    shown = shown_stats(page)
    screenshot(page, "regions-polygon")

    polygon = sent[-1]["region"]
    assert polygon["kind"] == "polygon"
    assert len(polygon["vertices_deg"]) == 4
    for (ra, dec), (want_ra, want_dec) in zip(polygon["vertices_deg"], corners_sky, strict=True):
        assert ra == pytest.approx(want_ra, abs=SCREEN_PIXEL_DEG)
        assert dec == pytest.approx(want_dec, abs=SCREEN_PIXEL_DEG)
    answer = post_json(live_server, "/regions/stats", {"layer_id": "sky-i", "region": polygon})
    assert shown == {stat: answer["planes"]["sky-i"][stat] for stat in STATS}
    # About 5 x 4.5 square degrees of 0.0625 square degree pixels.
    assert shown["n_pixels"] == pytest.approx(22.0 / PIXEL_SCALE_DEG**2, rel=0.1)
    assert page.locator(".region-entry[data-kind='polygon']").count() == 1


def test_line_shows_a_profile_of_one_sample_per_map_pixel(page, live_server, sky):
    sent = record_stats(page)
    open_viewer(page, live_server, QUERY)
    start, end = screen_xy(page, VIEW, 66.0, 1.0), screen_xy(page, VIEW, 58.0, 1.0)
    start_tool(page, "line")
    page.mouse.click(*start)
    page.mouse.click(*end)
    plot = page.locator("#region-result canvas.region-profile")
    plot.wait_for()
    screenshot(page, "regions-line")

    line = sent[-1]["region"]
    length_deg = angle_deg(*line["start_deg"], *line["end_deg"])
    assert length_deg == pytest.approx(8.0, abs=2 * SCREEN_PIXEL_DEG)
    samples = math.ceil(length_deg / PIXEL_SCALE_DEG) + 1
    assert int(plot.get_attribute("data-samples")) == samples
    answer = post_json(live_server, "/regions/stats", {"layer_id": "sky-i", "region": line})
    assert len(answer["planes"]["sky-i"]["profile"]["value"]) == samples
    # The plot is drawn: the profile's colour is on the canvas.
    rgba = page.evaluate(
        """() => {
          const c = document.querySelector('#region-result canvas.region-profile');
          return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);
        }"""
    )
    pixels = np.array(rgba).reshape(-1, 4)[:, :3]
    assert (np.abs(pixels - REGION_RGB).max(axis=1) <= 30).sum() >= 20


DS9_FILE = '# Region file format: DS9\nicrs\ncircle(62,4,3600")\nbox(58,-4,2,1,0)\n'


def outline_hits(image, points):
    """How many screen points have the outline within 2 pixels: its yellow is far
    redder than the viridis teal around (the stroke is blended at its edges)."""
    hits = 0
    for x, y in points:
        x, y = round(x), round(y)
        around = np.median(image[y - 12 : y + 13, x - 12 : x + 13, 0])
        if (image[y - 2 : y + 3, x - 2 : x + 3, 0] > around + 60).any():
            hits += 1
    return hits


def test_imported_ds9_file_is_saved_and_drawn_where_it_belongs(
    page, live_server, sky, settings, tmp_path
):
    user = logged_in_page(page, live_server, settings)
    open_viewer(page, live_server, QUERY)
    path = tmp_path / "two.reg"
    path.write_text(DS9_FILE)
    page.locator("#region-file").set_input_files(str(path))
    page.locator("#region-list .region-entry").nth(1).wait_for()
    # The saved list is read again after the map's list is drawn.
    page.locator("#region-saved .region-entry").nth(1).wait_for()
    page.mouse.move(5, 5)
    settle(page)
    image = screenshot(page, "regions-import")

    saved = Region.objects.filter(owner=user).order_by("pk")
    assert [region.shape for region in saved] == ["circle", "box"]
    # The circle's top, bottom, east and west points (1 degree on the sky),
    # and the box's corners and edge midpoints (2 x 1 degrees at Dec -4).
    half_ra = 1.0 / math.cos(math.radians(4.0))
    circle = [(62.0, 5.0), (62.0, 3.0), (62.0 + half_ra, 4.0), (62.0 - half_ra, 4.0)]
    box = [(58.0, -3.5), (58.0, -4.5), (59.0, -4.0), (57.0, -4.0)]
    assert outline_hits(image, [screen_xy(page, VIEW, *p) for p in circle + box]) == 8
    # Away from the outlines: no region colour.
    assert outline_hits(image, [screen_xy(page, VIEW, 62.0, 4.0)]) == 0
    saved_list = page.locator("#region-saved .region-entry")
    assert saved_list.count() == 2
    assert "own" in saved_list.first.inner_text()


def test_export_round_trip_for_saved_and_for_anonymous_regions(
    page, live_server, sky, settings, tmp_path
):
    open_viewer(page, live_server, QUERY)
    assert "log in to save" in page.locator("#region-anonymous").inner_text()
    assert page.locator("#region-list button[data-action='save']").count() == 0
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    start_tool(page, "ellipse")
    drag(page, centre, (centre[0] + 30, centre[1] - 20))
    page.locator("#region-list .region-entry").wait_for()
    drawn = page.evaluate("window.tilemakerViewer.regions.items[0].shape")
    with page.expect_download() as download_info:
        page.locator("#region-export-ds9").click()
    text = Path(download_info.value.path()).read_text()
    (read,) = shapes.parse(text, file_format="ds9", max_regions=9, max_vertices=9)
    for key in ("ra_deg", "dec_deg", "width_deg", "height_deg", "angle_deg"):
        assert read[key] == pytest.approx(drawn[key], abs=1e-6)
    assert drawn["width_deg"] == pytest.approx(2 * 30 * SCREEN_PIXEL_DEG, rel=0.01)
    assert drawn["height_deg"] == pytest.approx(2 * 20 * SCREEN_PIXEL_DEG, rel=0.01)

    page.context.clear_cookies()
    logged_in_page(page, live_server, settings, username="bob")
    open_viewer(page, live_server, QUERY)
    path = tmp_path / "two.reg"
    path.write_text(DS9_FILE)
    page.locator("#region-file").set_input_files(str(path))
    page.locator("#region-list .region-entry").nth(1).wait_for()
    with page.expect_download() as download_info:
        page.locator("#region-export-crtf").click()
    text = Path(download_info.value.path()).read_text()
    exported = shapes.parse(text, file_format="crtf", max_regions=9, max_vertices=9)
    imported = shapes.parse(DS9_FILE, file_format="ds9", max_regions=9, max_vertices=9)
    assert [s["kind"] for s in exported] == ["circle", "box"]
    for got, want in zip(exported, imported, strict=True):
        for key in want:
            if key == "angle_deg":
                assert (got[key] - want[key] + 180) % 360 - 180 == pytest.approx(0, abs=1e-4)
            elif key != "kind":
                # CRTF is written in J2000 (FK5): within a few milliarcseconds of ICRS.
                assert got[key] == pytest.approx(want[key], abs=1e-4)


def test_saved_region_is_listed_renamed_and_deleted(page, live_server, sky, settings):
    user = logged_in_page(page, live_server, settings)
    open_viewer(page, live_server, QUERY)
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    start_tool(page, "circle")
    drag(page, centre, (centre[0] + 20, centre[1]))
    page.locator("#region-list button[data-action='save']").click()
    page.locator("#region-saved .region-entry").wait_for()
    region = Region.objects.get(owner=user)
    drawn = page.evaluate("window.tilemakerViewer.regions.items[0].shape")
    assert region.params["radius_deg"] == pytest.approx(drawn["radius_deg"], rel=1e-9)

    page.once("dialog", lambda dialog: dialog.accept("bright one"))
    page.locator("#region-saved button[data-action='rename']").click()
    page.wait_for_function(
        "document.querySelector('#region-saved .region-name').textContent === 'bright one'"
    )
    region.refresh_from_db()
    assert region.name == "bright one"
    page.locator("#region-saved button[data-action='delete']").click()
    page.wait_for_function("document.querySelectorAll('#region-saved .region-entry').length === 0")
    assert not Region.objects.filter(owner=user).exists()


def test_regions_reopen_from_the_link(page, live_server, sky):
    open_viewer(page, live_server, QUERY)
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    start_tool(page, "box")
    drag(page, centre, (centre[0] + 24, centre[1] + 16))
    page.locator("#region-list .region-entry").wait_for()
    drawn = page.evaluate("window.tilemakerViewer.regions.items[0].shape")
    page.wait_for_function("new URLSearchParams(location.search).has('reg')")
    link = page.url
    reg = parse_qs(urlsplit(link).query)["reg"][0]
    assert reg.startswith("icrs\nbox(")

    page.goto("about:blank")
    page.goto(link)
    page.wait_for_function("document.body.classList.contains('ready')")
    page.locator("#region-list .region-entry[data-kind='box']").wait_for()
    reopened = page.evaluate("window.tilemakerViewer.regions.items.map((i) => i.shape)")
    assert len(reopened) == 1
    for key in ("ra_deg", "dec_deg", "width_deg", "height_deg", "angle_deg"):
        assert reopened[0][key] == pytest.approx(drawn[key], abs=1e-6)


def test_long_region_lists_stay_out_of_the_link(page, live_server, sky):
    open_viewer(page, live_server, QUERY)
    page.evaluate(
        """() => {
          const regions = window.tilemakerViewer.regions;
          for (let i = 0; i < 100; i += 1) {
            regions.add({ kind: 'circle', ra_deg: 60 + i / 97, dec_deg: 1, radius_deg: 0.1 });
          }
        }"""
    )
    wait_for_saved_url(page)
    assert "reg" not in parse_qs(urlsplit(page.url).query)


def test_region_key_is_in_the_help_card_and_escape_stops_drawing(page, live_server, sky):
    open_viewer(page, live_server, QUERY)
    page.keyboard.press("?")
    rows = page.locator("#help tr").all_inner_texts()
    assert any(row.startswith("R\t") or row.split()[0] == "R" for row in rows)
    page.keyboard.press("Escape")
    page.locator("#map").focus()
    page.keyboard.press("r")
    assert "active" in page.locator("#region-draw").get_attribute("class")
    page.keyboard.press("Escape")
    assert "active" not in page.locator("#region-draw").get_attribute("class")


def test_cutout_of_a_region_downloads_fits(page, live_server, sky, sky_data):
    open_viewer(page, live_server, QUERY)
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    start_tool(page, "circle")
    drag(page, centre, (centre[0] + 16, centre[1]))
    entry = page.locator("#region-list .region-entry")
    entry.wait_for()
    with page.expect_download() as download_info:
        entry.locator("button[data-action='cutout']").click()
    with fits.open(download_info.value.path()) as hdus:
        assert hdus[1].header["LAYERID"] == "sky-i"
        assert np.isfinite(hdus[1].data).all()
        assert np.nanmax(hdus[1].data) <= sky_data[0].max()


def test_regions_are_moved_by_dragging_and_edited_as_ds9(page, live_server, sky):
    open_viewer(page, live_server, QUERY)
    centre = screen_xy(page, VIEW, 62.0, 3.0)
    start_tool(page, "circle")
    drag(page, centre, (centre[0] + 24, centre[1]))
    page.locator("#region-list .region-entry").wait_for()
    before = page.evaluate("window.tilemakerViewer.regions.items[0].shape")

    # Flipped view: 40 screen pixels right is 5 degrees lower RA.
    drag(page, centre, (centre[0] + 40, centre[1] + 16))
    page.wait_for_function("window.tilemakerViewer.regions.items[0].shape.ra_deg < 60")
    moved = page.evaluate("window.tilemakerViewer.regions.items[0].shape")
    assert moved["ra_deg"] == pytest.approx(before["ra_deg"] - 5.0, abs=1e-6)
    assert moved["dec_deg"] == pytest.approx(before["dec_deg"] - 2.0, abs=1e-6)
    assert moved["radius_deg"] == before["radius_deg"]

    page.locator("#region-edit").fill('box(60,2,7200",3600",30)')
    with page.expect_request("**/regions/stats") as request_info:
        page.locator("#region-edit").press("Enter")
    assert json.loads(request_info.value.post_data)["region"] == {
        "kind": "box",
        "ra_deg": 60,
        "dec_deg": 2,
        "width_deg": 2,
        "height_deg": 1,
        "angle_deg": 30,
    }
