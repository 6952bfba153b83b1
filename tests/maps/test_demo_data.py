"""The ``dev`` sample data: geometry, and content a viewer user can recognise."""

import json

import numpy as np
import pytest
from astropy.io import fits

from maps.engine import scan_file
from tilemaker_site import demo as demo_data


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_data.write_demo_data(tmp_path_factory.mktemp("demo") / "data")


@pytest.fixture(scope="module")
def planes(demo):
    return fits.getdata(demo.map_path).astype(np.float64)


@pytest.fixture(scope="module")
def header(demo):
    return fits.getheader(demo.map_path)


def sky_to_pixel(header, ra_deg, dec_deg):
    """Nearest pixel (row, column) from the linear CAR header, RA wrapped to the map."""
    column = (
        header["CRPIX1"] - 1 + ((ra_deg - header["CRVAL1"] + 180) % 360 - 180) / header["CDELT1"]
    )
    row = header["CRPIX2"] - 1 + (dec_deg - header["CRVAL2"]) / header["CDELT2"]
    return round(row), round(column)


def test_writes_only_the_two_files(demo):
    assert sorted(p.name for p in demo.map_path.parent.iterdir()) == sorted(
        [demo_data.MAP_FILENAME, demo_data.CATALOG_FILENAME]
    )


def test_is_an_act_like_three_plane_car_map_with_three_zoom_levels(demo):
    infos = scan_file(demo.map_path)
    assert [info.index for info in infos] == [0, 1, 2]
    info = infos[0]
    assert info.shape == (640, 2880)
    assert info.pixel_scale_ra_deg == pytest.approx(-0.125)
    assert info.bunit == "uK"
    # SPEC section 5 by hand: a 2880 x 1440 sky; 1440 -> 720 -> 360 px tiles,
    # floor(log2(2880 / 360)) = 3 levels.
    assert (info.grid.tile_size, info.grid.number_of_levels) == (360, 3)
    assert (info.bounding_top, info.bounding_bottom) == pytest.approx((20.0, -60.0))


def test_every_catalogue_source_is_a_peak_of_its_listed_height(demo, planes, header):
    catalog = json.loads(demo.catalog_path.read_text())
    assert len(catalog) == demo.n_sources > 50
    for source in catalog:
        assert 0 <= source["ra"] < 360
        row, column = sky_to_pixel(header, source["ra"], source["dec"])
        peak = planes[0, row - 1 : row + 2, column - 1 : column + 2].max()
        # Background from a ring of 4-6 pixels (3-4 beam sigmas) around the source.
        dy, dx = np.mgrid[-6:7, -6:7]
        ring = (np.hypot(dy, dx) >= 4) & (np.hypot(dy, dx) <= 6)
        background = np.median(planes[0, row - 6 : row + 7, column - 6 : column + 7][ring])
        height, noise = source["extra"]["peak_uK"], demo_data.NOISE_UK[0]
        # The peak lies within half a pixel of a pixel centre: at worst 0.87 of it is seen.
        assert 0.85 * height - 5 * noise < peak - background < height + 5 * noise


@pytest.mark.parametrize("plane", [0, 1, 2])
def test_letters_stand_out_in_every_plane(planes, header, plane):
    cell = demo_data.LETTER_CELL_DEG
    top_dec = demo_data.LETTERS_CENTRE_DEC_DEG + 3.5 * cell
    left_ra = demo_data.LETTERS_CENTRE_RA_DEG + 5.5 * cell

    # Top row of "T" (cells 0-4) and, right of it on the sky, the gap column
    # (cell 5) and the middle of "M"'s top row (cell 8, unlit).
    def cell_value(column_cell, row_cell):
        ra = left_ra - (column_cell + 0.5) * cell
        dec = top_dec - (row_cell + 0.5) * cell
        row, column = sky_to_pixel(header, ra, dec)
        return planes[plane, row, column]

    lit = np.median([cell_value(c, 0) for c in range(5)] + [cell_value(2, r) for r in range(7)])
    unlit = np.median([cell_value(5, r) for r in range(7)] + [cell_value(8, 0)])
    assert lit - unlit == pytest.approx(
        demo_data.LETTER_UK[plane], abs=0.3 * abs(demo_data.LETTER_UK[plane])
    )


def test_letters_read_left_to_right_with_ra_increasing_to_the_left():
    ra_deg = np.array([demo_data.LETTERS_CENTRE_RA_DEG + 5, demo_data.LETTERS_CENTRE_RA_DEG - 5])
    dec_deg = np.array([demo_data.LETTERS_CENTRE_DEC_DEG + 4.5])
    # The top bar of "T" (left on the sky: higher RA) is lit across its width;
    # at the same place in "M" only the two outer strokes are.
    mask = demo_data._letters_mask(ra_deg, dec_deg)
    assert mask.tolist() == [[True, False]]


def test_ring_q_u_follow_the_quadrupole_pattern(planes, header):
    ring = demo_data.RING_RADIUS_DEG
    centre_ra, centre_dec = demo_data.RING_CENTRE_RA_DEG, demo_data.RING_CENTRE_DEC_DEG
    north = sky_to_pixel(header, centre_ra, centre_dec + ring)
    east = sky_to_pixel(header, centre_ra + ring / np.cos(np.radians(centre_dec)), centre_dec)
    amplitude = demo_data.RING_POL_UK
    # phi = 0 at north: Q = -A; phi = 90 deg at east: Q = +A.
    assert planes[1][north] < -0.5 * amplitude
    assert planes[1][east] > 0.5 * amplitude


def test_box_surrounds_the_letters():
    (box,) = demo_data.demo_boxes()
    half_width = 5.5 * demo_data.LETTER_CELL_DEG
    half_height = 3.5 * demo_data.LETTER_CELL_DEG
    ras = sorted([box["top_left_ra"], box["bottom_right_ra"]])
    assert ras[0] < demo_data.LETTERS_CENTRE_RA_DEG - half_width
    assert ras[1] > demo_data.LETTERS_CENTRE_RA_DEG + half_width
    assert box["bottom_right_dec"] < demo_data.LETTERS_CENTRE_DEC_DEG - half_height
    assert box["top_left_dec"] > demo_data.LETTERS_CENTRE_DEC_DEG + half_height
