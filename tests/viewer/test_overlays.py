"""Contours and polarisation vectors drawn in the browser from the data tiles on screen
(issue 14, sections 5 and 6): where a contour of a known Gaussian is on screen, its label,
the direction of the vectors of a uniform polarisation field in both conventions and both
orientations, the P/sigma threshold with the noise from an inverse-variance layer, and the
overlay settings in the URL."""

import math

import numpy as np
import pytest
from astropy.io import fits
from django.core.cache import cache

from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Layer
from tests.viewer.conftest import (
    DEC_BOTTOM_DEG,
    NX,
    NY,
    PIXEL_SCALE_DEG,
    RA_LEFT_DEG,
    pixel_centre_deg,
)
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
    open_viewer,
    save_stokes_band,
    screen_xy,
    screenshot,
    settle,
    url_params,
    view_query,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PLANES = {"I": "ov-i", "Q": "ov-q", "U": "ov-u"}
# The Gaussian on I: centred on map pixel (180, 120), sigma 2 degrees.
CENTRE_RA_DEG, CENTRE_DEC_DEG = pixel_centre_deg(180, 120)
SIGMA_DEG = 2.0
AMPLITUDE = 1000.0
LEVEL = 500.0
RADIUS_DEG = SIGMA_DEG * math.sqrt(2.0 * math.log(AMPLITUDE / LEVEL))
# Q and U everywhere: P = 50 at 30 degrees from north through east (IAU).
P_TRUE, ANGLE_IAU_DEG = 50.0, 30.0
# Off the Gaussian's centre, so a mirrored overlay would miss it; 16 screen px per degree.
VIEW = {"ra": CENTRE_RA_DEG + 1.5, "dec": CENTRE_DEC_DEG + 1.0, "zoom": 3}
CONTOUR_RGB = (255, 0, 255)
VECTOR_RGB = (0, 255, 0)
RESOLUTION_DEG = 180.0 / 2 ** VIEW["zoom"] / 360


@pytest.fixture
def polarised(transactional_db, make_car_map):
    path = make_car_map(
        "ov.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
        n_planes=3,
    )
    columns, rows = np.meshgrid(np.arange(NX), np.arange(NY))
    ra, dec = pixel_centre_deg(columns, rows)
    d2 = (ra - CENTRE_RA_DEG) ** 2 + (dec - CENTRE_DEC_DEG) ** 2
    with fits.open(path, mode="update") as hdus:
        hdus[0].data[0] = AMPLITUDE * np.exp(-d2 / (2 * SIGMA_DEG**2))
        hdus[0].data[1] = P_TRUE * math.cos(math.radians(2 * ANGLE_IAU_DEG))
        hdus[0].data[2] = P_TRUE * math.sin(math.radians(2 * ANGLE_IAU_DEG))
    cache.clear()
    save_stokes_band(
        path, PLANES, prefix="ov", name="Overlay", vmin=-100.0, vmax=1000.0, cmap="gray"
    )
    yield
    cache.clear()


def wait_overlays(page):
    """Wait until the overlays were computed with every tile they need, then drawn."""
    page.wait_for_function(
        """() => {
            const o = window.tilemakerViewer.overlays;
            return o.last.computed > 0 && o.last.waiting === 0 && !o.recomputeDue();
        }""",
        timeout=RENDER_TIMEOUT_MS,
    )
    settle(page)


def is_colour(rgb, expected, tolerance=60):
    return bool(np.abs(np.asarray(rgb) - np.asarray(expected)).max() <= tolerance)


# Contours after a Gaussian smoothing of sigma 8 / 2 = 4 pixels of the data tiles on
# screen (map pixels of 0.25 degrees here): the map's Gaussian of sigma s convolved with
# a normalised one of sigma k is a Gaussian of sigma sqrt(s^2 + k^2) and peak
# A s^2 / (s^2 + k^2), so the level-L contour has radius
# sqrt(2 (s^2 + k^2) ln(A s^2 / ((s^2 + k^2) L))): 2.17 degrees instead of 2.35, 3 screen
# pixels further in, twice the tolerance below.
SMOOTH_PX = 8
KERNEL_SIGMA_DEG = SMOOTH_PX / 2 * PIXEL_SCALE_DEG
SMOOTH_SIGMA2_DEG2 = SIGMA_DEG**2 + KERNEL_SIGMA_DEG**2
SMOOTH_RADIUS_DEG = math.sqrt(
    2 * SMOOTH_SIGMA2_DEG2 * math.log(AMPLITUDE * SIGMA_DEG**2 / (SMOOTH_SIGMA2_DEG2 * LEVEL))
)


@pytest.mark.parametrize(
    ("smoothing", "radius_deg"),
    [("none", RADIUS_DEG), ("gaussian", SMOOTH_RADIUS_DEG)],
)
@pytest.mark.parametrize("flip", [True, False])
def test_the_half_maximum_contour_of_a_gaussian_is_drawn_at_its_radius(
    page, live_server, polarised, flip, smoothing, radius_deg
):
    view = {**VIEW, "flip": flip}
    query = view_query(
        layer=PLANES["I"],
        gl="1",
        ct="",
        ctm="list",
        ctl="500",
        ctc="ff00ff",
        ctsm=smoothing,
        ctsf=str(SMOOTH_PX),
        **view,
    )
    open_viewer(page, live_server, query)
    wait_overlays(page)
    labels = page.evaluate("window.tilemakerViewer.overlays.contourLayer.labels")
    assert labels
    assert {label["text"] for label in labels} == {"500"}
    image = screenshot(page, f"overlay-contour-{smoothing}-{'flip' if flip else 'noflip'}")
    cx, cy = screen_xy(page, view, CENTRE_RA_DEG, CENTRE_DEC_DEG)
    radius_px = radius_deg / RESOLUTION_DEG
    label_xy = [
        page.evaluate(
            "(c) => window.tilemakerViewer.sky.map.getPixelFromCoordinate(c)", label["coordinate"]
        )
        for label in labels
    ]
    box = page.locator("#map").bounding_box()
    found = 0
    for angle_deg in range(0, 360, 15):
        ux, uy = math.cos(math.radians(angle_deg)), math.sin(math.radians(angle_deg))
        at_radius = (cx + radius_px * ux, cy + radius_px * uy)
        if any(
            math.hypot(at_radius[0] - box["x"] - lx, at_radius[1] - box["y"] - ly) < 25
            for lx, ly in label_xy
        ):
            continue
        hits = [
            r / 4
            for r in range(0, int(8 * radius_px))
            if is_colour(image[int(cy + r / 4 * uy), int(cx + r / 4 * ux)], CONTOUR_RGB)
        ]
        assert hits, f"no contour along {angle_deg} degrees"
        assert abs(np.mean(hits) - radius_px) <= 1.5, (angle_deg, hits, radius_px)
        found += 1
    assert found >= 18


@pytest.mark.parametrize("convention", ["IAU", "COSMO"])
@pytest.mark.parametrize("flip", [True, False])
def test_vectors_of_a_uniform_field_point_at_its_angle(
    page, live_server, polarised, convention, flip
):
    view = {**VIEW, "flip": flip}
    query = view_query(
        layer=PLANES["I"],
        gl="1",
        vec="1",
        vbin="40",
        vfix="1",
        vconv=convention,
        vcol="00ff00",
        **view,
    )
    open_viewer(page, live_server, query)
    wait_overlays(page)
    segments = page.evaluate(
        """() => {
            const { sky, overlays } = window.tilemakerViewer;
            return overlays.vectorLayer.segments.map((s) => ({
                a: sky.map.getPixelFromCoordinate(s.start),
                b: sky.map.getPixelFromCoordinate(s.end),
                p: s.p,
            }));
        }"""
    )
    assert len(segments) > 100
    # Independent: the position angle from north through east; north is up on screen,
    # east to the left with flip. A COSMO reading of the same Q, U negates the angle.
    psi = math.radians(ANGLE_IAU_DEG if convention == "IAU" else -ANGLE_IAU_DEG)
    east = -1.0 if flip else 1.0
    expected = np.array([east * math.sin(psi), -math.cos(psi)])
    for segment in segments:
        d = np.subtract(segment["b"], segment["a"])
        length = np.hypot(*d)
        assert length == pytest.approx(0.8 * 40, abs=0.5)
        # Headless: the direction up to its sign.
        assert abs(d[0] * expected[1] - d[1] * expected[0]) / length < 0.005
        assert segment["p"] == pytest.approx(P_TRUE, rel=1e-5)
    image = screenshot(page)
    box = page.locator("#map").bounding_box()
    middle = min(
        segments,
        key=lambda s: math.hypot(s["a"][0] - box["width"] / 2, s["a"][1] - box["height"] / 2),
    )
    for t in (0.2, 0.35, 0.65, 0.8):
        x = box["x"] + middle["a"][0] + t * (middle["b"][0] - middle["a"][0])
        y = box["y"] + middle["a"][1] + t * (middle["b"][1] - middle["a"][1])
        near = image[int(y) - 1 : int(y) + 2, int(x) - 1 : int(x) + 2].reshape(-1, 3)
        assert any(is_colour(rgb, VECTOR_RGB) for rgb in near), (t, near.tolist())


def test_overlay_settings_round_trip_through_the_url(page, live_server, polarised):
    view = {**VIEW, "flip": True}
    query = view_query(
        layer=PLANES["I"],
        gl="1",
        ct=PLANES["Q"],
        ctm="log",
        ctn="4",
        ctlo="10",
        cthi="800",
        ctc="00ffff",
        ctsm="gaussian",
        ctsf="6",
        vec="1",
        vbin="30",
        vsc="0.5",
        vthr="2",
        vconv="COSMO",
        vcol="ffff00",
        **view,
    )
    open_viewer(page, live_server, query)
    wait_overlays(page)
    page.wait_for_function("new URLSearchParams(location.search).get('vbin') === '30'")
    params = url_params(page)
    expected = {
        "ct": [PLANES["Q"]],
        "ctm": ["log"],
        "ctn": ["4"],
        "ctlo": ["10"],
        "cthi": ["800"],
        "ctc": ["00ffff"],
        "ctsm": ["gaussian"],
        "ctsf": ["6"],
        "vec": ["1"],
        "vbin": ["30"],
        "vsc": ["0.5"],
        "vthr": ["2"],
        "vconv": ["COSMO"],
        "vcol": ["ffff00"],
    }
    assert {key: params.get(key) for key in expected} == expected
    assert page.locator("#contour-layer").input_value() == PLANES["Q"]
    assert page.locator("#contour-mode").input_value() == "log"
    assert page.locator("#contour-smoothing").input_value() == "gaussian"
    assert page.locator("#contour-smooth-px").input_value() == "6"
    assert page.locator("#vector-convention").input_value() == "COSMO"
    assert page.locator("#vector-scale").input_value() == "0.5"

    # The keyboard turns them off, and the URL forgets them.
    page.locator("#map").focus()
    page.keyboard.press("k")
    page.keyboard.press("v")
    page.wait_for_function("!new URLSearchParams(location.search).has('vec')")
    params = url_params(page)
    assert "ct" not in params
    assert "vec" not in params
    assert page.evaluate("window.tilemakerViewer.overlays.vectorLayer.segments.length") == 0


# The inverse variance of the Q and U pixels: 1 (sigma 1) east of the view centre, 1e-4
# (sigma 100) west of it. Bins of 40 screen px are 10 x 10 map pixels at this zoom
# (0.0625 degrees per screen pixel, 0.25 per map pixel), so a bin's mean has sigma 0.1
# in the east (P / sigma = 500) and 10 in the west (P / sigma = 5).
IVAR_EAST, IVAR_WEST = 1.0, 1e-4
BIN_SCREEN_PX = 40
SIGMA_BIN_EAST = 1.0 / math.sqrt(IVAR_EAST) / (BIN_SCREEN_PX * RESOLUTION_DEG / PIXEL_SCALE_DEG)
P_OVER_SIGMA_THRESHOLD = 20
SIGMA = "\N{GREEK SMALL LETTER SIGMA}"


@pytest.fixture
def polarised_ivar(polarised, make_car_map):
    path = make_car_map(
        "ov-ivar.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
    )
    columns, rows = np.meshgrid(np.arange(NX), np.arange(NY))
    ra, _ = pixel_centre_deg(columns, rows)
    with fits.open(path, mode="update") as hdus:
        hdus[0].data[:] = np.where(ra > VIEW["ra"], IVAR_EAST, IVAR_WEST)
    cache.clear()
    layer = Layer(
        layer_id="ov-ivar",
        name="IVar map",
        quantity="ivar",
        band=Band.objects.get(band_id="ov-f090"),
        position=3,
        units="uK^-2",
        vmin=0.0,
        vmax=1.0,
        cmap="gray",
        provider={"provider_type": "fits", "filename": str(path), "index": 0},
    )
    refresh_layer_geometry(layer)
    layer.save()


def vector_centres(page):
    """Each drawn vector's centre on screen (map-element pixels), P and the bin's sigma."""
    return page.evaluate(
        """() => {
            const { sky, overlays } = window.tilemakerViewer;
            return overlays.vectorLayer.segments.map((s) => {
                const a = sky.map.getPixelFromCoordinate(s.start);
                const b = sky.map.getPixelFromCoordinate(s.end);
                return { x: (a[0] + b[0]) / 2, y: (a[1] + b[1]) / 2, p: s.p, sigma: s.sigma };
            });
        }"""
    )


def test_vectors_below_the_p_over_sigma_threshold_of_an_ivar_layer_are_not_drawn(
    page, live_server, polarised_ivar
):
    view = {**VIEW, "flip": True}
    query = view_query(
        layer=PLANES["I"],
        gl="1",
        vec="1",
        vbin=str(BIN_SCREEN_PX),
        vfix="1",
        vthr=str(P_OVER_SIGMA_THRESHOLD),
        vsig="ov-ivar",
        vdb="mas",
        vcol="00ff00",
        **view,
    )
    open_viewer(page, live_server, query)
    wait_overlays(page)
    # With flip, east (higher RA, the low-noise side) is left of the view centre.
    box = page.locator("#map").bounding_box()
    boundary_x = box["width"] / 2
    segments = vector_centres(page)
    # Whole bins on screen, away from the noise boundary.
    east = [
        s
        for s in segments
        if BIN_SCREEN_PX / 2 < s["x"] < boundary_x - BIN_SCREEN_PX
        and BIN_SCREEN_PX / 2 < s["y"] < box["height"] - BIN_SCREEN_PX / 2
    ]
    # The east half of the 1100 x 794 px map holds 12 x 19 such bins.
    assert len(east) > 100
    # A bin is drawn only if its P / sigma passes: none whose centre is more than half
    # a bin into the noisy west (P / sigma 5 < 20).
    assert all(s["x"] < boundary_x + BIN_SCREEN_PX / 2 + 1 for s in segments), max(
        s["x"] for s in segments
    )
    for segment in east:
        assert segment["sigma"] == pytest.approx(SIGMA_BIN_EAST, rel=1e-4)
        # MAS: P - sigma^2 (1 - exp(-P^2 / sigma^2)) / (2 P) = 50 - 1e-4.
        assert segment["p"] == pytest.approx(P_TRUE - SIGMA_BIN_EAST**2 / (2 * P_TRUE), rel=1e-6)
    assert page.locator("#vector-threshold-label").inner_text() == f"P/{SIGMA}"
    assert page.locator("#vector-noise").input_value() == "ov-ivar"
    # The option is named after the layer once the band's layers have been read
    # (overlaypanel.js setLayer, not awaited before the page is ready).
    page.wait_for_function(
        "(name) => document.querySelectorAll('#vector-noise option')[1]?.textContent === name",
        arg=f"{SIGMA} = 1/sqrt(IVar map)",
        timeout=RENDER_TIMEOUT_MS,
    )
    assert page.locator("#vector-noise option").nth(1).inner_text() == f"{SIGMA} = 1/sqrt(IVar map)"
    assert page.locator("#vector-debias").input_value() == "mas"
    assert page.locator("#vector-convention-note").inner_text() == "Q/U IAU (chosen)"
    screenshot(page, "overlay-vectors-ivar-threshold")

    # Without the noise layer the same 20 is a threshold on P = 50: the west is drawn too.
    page.select_option("#vector-noise", "")
    page.wait_for_function("!new URLSearchParams(location.search).has('vsig')")
    wait_overlays(page)
    segments = vector_centres(page)
    west = [s for s in segments if s["x"] > boundary_x + BIN_SCREEN_PX]
    assert len(west) > 100
    assert all(s["sigma"] is None and s["p"] == pytest.approx(P_TRUE, rel=1e-5) for s in segments)
    assert page.locator("#vector-threshold-label").inner_text() == "P"
    assert page.locator("#vector-debias").is_disabled()
    assert "vdb" not in url_params(page)


def test_noise_layer_and_debias_round_trip_through_the_url(page, live_server, polarised_ivar):
    view = {**VIEW, "flip": False}
    query = view_query(
        layer=PLANES["Q"],
        gl="1",
        vec="1",
        vbin="30",
        vthr="3",
        vsig="ov-ivar",
        vdb="asymptotic",
        **view,
    )
    open_viewer(page, live_server, query)
    wait_overlays(page)
    page.wait_for_function("new URLSearchParams(location.search).get('vsig') === 'ov-ivar'")
    params = url_params(page)
    expected = {"vec": ["1"], "vthr": ["3"], "vsig": ["ov-ivar"], "vdb": ["asymptotic"]}
    assert {key: params.get(key) for key in expected} == expected
    assert page.locator("#vector-debias").input_value() == "asymptotic"
    # The user's choice is written back: MAS instead.
    page.select_option("#vector-debias", "mas")
    page.wait_for_function("new URLSearchParams(location.search).get('vdb') === 'mas'")
    assert url_params(page)["vsig"] == ["ov-ivar"]


def test_at_a_coarse_level_the_bin_sigma_is_that_of_the_mean_of_its_map_pixels(
    page, live_server, polarised_ivar
):
    # URL zoom 0 shows tile level 0, one level above the native one (0.5 degrees per
    # tile pixel, one screen pixel each): each tile pixel is the mean of 2 x 2 map
    # pixels, so with ivar 1 its noise is 1 / sqrt(4), and a bin of 10 x 10 tile
    # pixels has sigma 0.5 / 10.
    view = {**VIEW, "zoom": 0, "flip": True}
    query = view_query(
        layer=PLANES["I"], gl="1", vec="1", vbin="10", vfix="1", vsig="ov-ivar", **view
    )
    open_viewer(page, live_server, query)
    wait_overlays(page)
    box = page.locator("#map").bounding_box()
    segments = vector_centres(page)
    # Whole bins east of the view centre, inside the map (which reaches 87 screen px
    # east and 57 px north and south of the view centre).
    east = [
        s
        for s in segments
        if -70 < s["x"] - box["width"] / 2 < -10 and abs(s["y"] - box["height"] / 2) < 40
    ]
    assert len(east) >= 10
    for segment in east:
        assert segment["sigma"] == pytest.approx(0.5 / 10, rel=1e-4)
