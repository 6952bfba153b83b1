"""The readout of an I/Q/U map: every Stokes plane the visitor may see at the cursor, and
P = sqrt(Q^2 + U^2), from data tiles (issue 13, section 2)."""

from urllib.parse import urlsplit

import numpy as np
import pytest
from astropy.io import fits
from django.core.cache import cache

from maps.models import Grant, Layer
from tests.viewer.conftest import (
    DEC_BOTTOM_DEG,
    NX,
    NY,
    PIXEL_SCALE_DEG,
    RA_LEFT_DEG,
    pixel_centre_deg,
)
from tests.viewer.helpers import open_viewer, save_stokes_band, screen_xy, view_query

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PLANES = {"I": "iqu-i", "Q": "iqu-q", "U": "iqu-u"}
# Two map pixels (column, row) in one level-1 tile, with I, Q, U values set by hand.
KNOWN = {
    (120, 160): (123.456, -3.21, 7.89),
    (125, 163): (-0.015625, 41.7, -0.3),
}
FIRST, SECOND = KNOWN
VIEW = {**dict(zip(("ra", "dec"), pixel_centre_deg(*FIRST), strict=True)), "zoom": 4, "flip": True}


@pytest.fixture
def iqu(transactional_db, make_car_map):
    """One band of three layers, the planes of one FITS cube, with ``stokes`` set."""
    path = make_car_map(
        "iqu.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
        n_planes=3,
    )
    with fits.open(path, mode="update") as hdus:
        for (column, row), values in KNOWN.items():
            hdus[0].data[:, row, column] = values
    cache.clear()
    save_stokes_band(path, PLANES, prefix="iqu", name="IQU", vmin=-100.0, vmax=100.0)
    yield
    cache.clear()


def shown(value):
    """A float32 as the viewer writes it: the shortest decimal that reads back as it."""
    return np.format_float_positional(np.float32(value), unique=True, trim="-")


def expected_planes(pixel):
    i, q, u = (np.float32(v) for v in KNOWN[pixel])
    return {
        "I": shown(i),
        "Q": shown(q),
        "U": shown(u),
        "P": shown(np.hypot(np.float64(q), np.float64(u))),
    }


def data_tile_requests(page):
    paths = []
    page.on(
        "request",
        lambda request: (
            paths.append(urlsplit(request.url).path) if "/data.f32" in request.url else None
        ),
    )
    return paths


def hover(page, column, row, view=VIEW):
    page.mouse.move(*screen_xy(page, view, *pixel_centre_deg(column, row)))


def wait_planes(page, last):
    """Wait until plane ``last`` shows a value (not the "…" of a tile on its way)."""
    page.wait_for_function(
        """(last) => {
            const part = document.querySelector(`#readout-value [data-plane="${last}"] span`);
            return part !== null && part.textContent !== "\\u2026";
        }""",
        arg=last,
        timeout=10_000,
    )


def readout_planes(page):
    parts = page.locator("#readout-value .plane")
    return {
        parts.nth(k).get_attribute("data-plane"): parts.nth(k).locator("span").inner_text()
        for k in range(parts.count())
    }


def test_readout_shows_i_q_u_and_p_with_one_request_per_plane_tile(page, live_server, iqu):
    # exact=1: the planes read out the file's float32 values, not the default quantised tiles.
    open_viewer(page, live_server, view_query(layer=PLANES["I"], gl="1", exact="1", **VIEW))
    requests = data_tile_requests(page)

    hover(page, *FIRST)
    wait_planes(page, "P")
    assert readout_planes(page) == expected_planes(FIRST)
    assert page.locator("#readout-value b.plane").get_attribute("data-plane") == "I"
    assert page.locator("#readout-value").inner_text().endswith(" uK")
    # The tile under the cursor, once for each other plane; I's is on screen already.
    # At level 1, the level on screen at zoom 4 (the map has two levels).
    q_tiles = [path for path in requests if path.startswith(f"/layers/{PLANES['Q']}/1/")]
    assert len(requests) == 2
    assert len(q_tiles) == 1
    assert requests.count(q_tiles[0].replace(PLANES["Q"], PLANES["U"])) == 1

    requests.clear()
    hover(page, *SECOND)
    page.wait_for_function(
        "(text) => document.querySelector('#readout-value .plane span').textContent === text",
        arg=expected_planes(SECOND)["I"],
        timeout=10_000,
    )
    assert readout_planes(page) == expected_planes(SECOND)
    assert requests == []


def test_readout_of_the_q_layer_marks_q_as_shown(page, live_server, iqu):
    open_viewer(page, live_server, view_query(layer=PLANES["Q"], gl="1", exact="1", **VIEW))
    hover(page, *FIRST)
    wait_planes(page, "P")
    assert readout_planes(page) == expected_planes(FIRST)
    assert page.locator("#readout-value b.plane").get_attribute("data-plane") == "Q"


def test_a_plane_hidden_by_a_grant_is_not_read_out_nor_p(page, live_server, iqu):
    Layer.objects.filter(layer_id=PLANES["Q"]).update(grant=Grant.objects.create(name="secret"))
    cache.clear()
    open_viewer(page, live_server, view_query(layer=PLANES["I"], gl="1", exact="1", **VIEW))
    requests = data_tile_requests(page)

    hover(page, *FIRST)
    wait_planes(page, "U")
    expected = expected_planes(FIRST)
    assert readout_planes(page) == {"I": expected["I"], "U": expected["U"]}
    assert "P" not in page.locator("#readout-value").inner_text()
    assert not [path for path in requests if PLANES["Q"] in path]


def test_at_a_coarse_level_the_planes_say_once_they_are_block_means(page, live_server, iqu):
    view = {**VIEW, "zoom": 0}
    open_viewer(page, live_server, view_query(layer=PLANES["I"], gl="1", **view))
    hover(page, *FIRST, view=view)
    wait_planes(page, "P")
    text = page.locator("#readout-value").inner_text()
    assert set(readout_planes(page)) == {"I", "Q", "U", "P"}
    assert text.endswith(" uK (mean of 2\u00d72)")
    assert text.count("mean") == 1
