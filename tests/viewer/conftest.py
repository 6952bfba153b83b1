"""Browser tests: Debian's chromium, driven by Playwright, against pytest-django's live server.

The sky used here is a small CAR map of ``tests.support.fits.value_at`` with one
bright square source added, so a test knows the colour every screen pixel
must have once it knows where the viewer was told to look.
"""

from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from django.core.cache import cache

from catalogs.models import Source, SourceGroup
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Layer, Map, MapGroup
from sky_regions.models import Box

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 860}
# The view most tests open: centred between the bright source (RA 55) and the
# middle of the map, two screen pixels per map pixel.
VIEW = {"ra": 70.0, "dec": 0.0, "zoom": 2, "flip": True}
# Map pixels (column, row) whose colour the tests check, away from grid lines.
BACKGROUND_PIXELS = [(122, 163), (57, 43), (203, 97), (297, 203)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

# 0.25 deg pixels: the whole sky is 1440 x 720 pixels, so tiles are 360 px
# and there are two levels; URL zoom 1 is native resolution at 1:1.
PIXEL_SCALE_DEG = 0.25
TILE_SIZE = 360
NX, NY = 360, 240
RA_LEFT_DEG, DEC_BOTTOM_DEG = 100.0, -30.0
# A 4 x 4 pixel square far above the colour range, centred on (55, 0).
SOURCE_RA_DEG, SOURCE_DEC_DEG = 55.0, 0.0
SOURCE_COLS, SOURCE_ROWS = slice(178, 182), slice(118, 122)
SOURCE_VALUE = 10_000.0
LAYERS = {
    # layer_id: (plane, vmin, vmax, cmap)
    "sky-i": (0, -300.0, 300.0, "viridis"),
    "sky-q": (1, 850.0, 1150.0, "magma"),
    "sky-i-gray": (0, -300.0, 300.0, "gray"),
}
CATALOGUE_ID = "test-cat"
FAINT = {"name": "Faint", "ra": 70.0, "dec": 10.0, "extra": {"flux_mJy": 12.5, "kind": "QSO"}}
BOX = {
    "name": "Test box",
    "top_left_ra": 80.0,
    "top_left_dec": 15.0,
    "bottom_right_ra": 65.0,
    "bottom_right_dec": 5.0,
}


def pixel_centre_deg(column, row):
    """RA/Dec of the centre of map pixel (column, row); CDELT1 < 0."""
    return RA_LEFT_DEG - (column + 0.5) * PIXEL_SCALE_DEG, DEC_BOTTOM_DEG + (
        row + 0.5
    ) * PIXEL_SCALE_DEG


@pytest.fixture(scope="module")
def allow_orm_beside_playwright():
    """Playwright's sync API keeps an asyncio loop in the test thread while a
    browser is open; the fixtures' ORM calls are still plain synchronous code.
    Only for this module's tests, so no other test runs with the check off."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(scope="module")
def browser(allow_orm_beside_playwright):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


def open_page(browser, *, bypass_csp):
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True, bypass_csp=bypass_csp)
    page = context.new_page()
    page.console_errors = []
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    return page


@pytest.fixture
def page(browser):
    """A page that ignores the site's Content-Security-Policy: Playwright's
    ``wait_for_function`` evaluates its string in the page, which
    ``script-src 'self'`` forbids. ``csp_page`` keeps the policy."""
    page = open_page(browser, bypass_csp=True)
    yield page
    page.context.close()


# Each document records the violations reported to it; Chromium also logs
# them to the console, which outlives navigations.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI} at ${where}`);
});
"""


@pytest.fixture
def csp_page(browser):
    """A page under the site's policy, recording every violation reported to it
    (``window.__cspViolations`` in the current document, ``page.csp_console``
    since the page opened)."""
    page = open_page(browser, bypass_csp=False)
    page.add_init_script(RECORD_VIOLATIONS)
    page.csp_console = []
    page.on(
        "console",
        lambda message: (
            page.csp_console.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    page.context.close()


@pytest.fixture
def sky_file(make_car_map):
    path = make_car_map(
        "sky.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
        n_planes=2,
    )
    with fits.open(path, mode="update") as hdus:
        hdus[0].data[:, SOURCE_ROWS, SOURCE_COLS] = SOURCE_VALUE
    return path


@pytest.fixture
def sky_data(sky_file):
    with fits.open(sky_file) as hdus:
        return np.array(hdus[0].data, dtype=np.float64)


@pytest.fixture
def sky(transactional_db, sky_file):
    """The catalogue: group > map > band > three layers, another group, a catalogue, a box."""
    cache.clear()
    group = MapGroup.objects.create(map_group_id="test-group", name="Test sky", position=0)
    sky_map = Map.objects.create(map_id="test-map", name="Synthetic", map_group=group)
    band = Band.objects.create(band_id="test-f090", name="f090", map=sky_map)
    for position, (layer_id, (plane, vmin, vmax, cmap)) in enumerate(LAYERS.items()):
        layer = Layer(
            layer_id=layer_id,
            name=layer_id.upper(),
            band=band,
            position=position,
            units="uK",
            vmin=vmin,
            vmax=vmax,
            cmap=cmap,
            provider={"provider_type": "fits", "filename": str(sky_file), "index": plane},
        )
        refresh_layer_geometry(layer)
        layer.save()
    other = MapGroup.objects.create(map_group_id="other-group", name="Other sky", position=1)
    other_map = Map.objects.create(map_id="other-map", name="Other map", map_group=other)
    other_band = Band.objects.create(band_id="other-band", name="f150", map=other_map)
    other_layer = Layer(
        layer_id="other-layer",
        name="Other layer",
        band=other_band,
        units="uK",
        vmin=-100.0,
        vmax=100.0,
        cmap="RdBu_r",
        provider={"provider_type": "fits", "filename": str(sky_file), "index": 0},
    )
    refresh_layer_geometry(other_layer)
    other_layer.save()
    catalogue = SourceGroup.objects.create(source_group_id=CATALOGUE_ID, name="Test sources")
    Source.objects.create(
        source_group=catalogue, name="Bright", ra=SOURCE_RA_DEG, dec=SOURCE_DEC_DEG, extra={}
    )
    Source.objects.create(source_group=catalogue, **FAINT)
    Box.objects.create(**BOX)
    yield
    cache.clear()
