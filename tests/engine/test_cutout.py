"""Cut-outs: the box asked for, pixels equal to the source, a WCS that round-trips."""

import numpy as np
import pytest
from astropy.wcs import WCS

from maps.engine import NoDataError, OutOfRangeError, source_from_provider
from tests.engine.brute import plane_values, plane_wcs

FULL_SKY = dict(nx=720, ny=360, pixel_scale_deg=0.5, ra_left_deg=180.0, dec_bottom_deg=-90.0)
FULL_SKY_RA_RIGHT = dict(FULL_SKY, ra_left_deg=-180.0, cdelt1_negative=False)
PARTIAL = dict(nx=200, ny=100, pixel_scale_deg=0.25, ra_left_deg=40.0, dec_bottom_deg=-30.0)
DEC_DOWN = dict(
    PARTIAL, extra_header={"CDELT2": -0.25, "CRPIX2": 0.5 + (-30.0 + 100 * 0.25) / 0.25}
)

CASES = {
    "across_ra_180": (FULL_SKY, (170.0, -170.0, 10.0, -5.0), (40, 30)),
    "across_ra_180_given_the_other_way": (FULL_SKY, (-170.0, 170.0, 10.0, -5.0), (40, 30)),
    "across_ra_180_ra_increasing": (FULL_SKY_RA_RIGHT, (170.0, -170.0, 10.0, -5.0), (40, 30)),
    "across_ra_0": (FULL_SKY, (5.0, -5.0, 60.0, 50.0), (20, 20)),
    "as_drawn_in_a_flipped_view": (FULL_SKY, (355.0, 5.0, 60.0, 50.0), (20, 20)),
    "left_below_right": (FULL_SKY, (10.0, 20.0, -50.0, -60.0), (20, 20)),
    "over_the_pole": (FULL_SKY, (-10.0, 10.0, 90.0, 80.0), (40, 20)),
    "partly_off_the_map": (PARTIAL, (45.0, 30.0, -20.0, -40.0), (40, 40)),
    "dec_stored_north_first": (DEC_DOWN, (35.0, 20.0, -10.0, -20.0), (60, 40)),
    "top_below_bottom": (PARTIAL, (35.0, 20.0, -20.0, -10.0), (60, 40)),
}


def _source_and_reference(make_car_map, options):
    path = make_car_map(**options)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    return source, plane_values(path), plane_wcs(path)


@pytest.mark.parametrize("case", CASES)
def test_cutout_pixels_and_wcs_match_the_source(make_car_map, case):
    options, (left, right, top, bottom), shape = CASES[case]
    source, values, source_wcs = _source_and_reference(make_car_map, options)
    cutout = source.cutout(
        left_ra_deg=left, right_ra_deg=right, top_dec_deg=top, bottom_dec_deg=bottom,
        max_pixels=10_000,
    )  # fmt: skip
    ny, nx = values.shape
    period = 360.0 / 0.5 if nx == 720 else None
    assert (cutout.data.shape[1], cutout.data.shape[0]) == shape
    assert cutout.data.dtype == np.float32
    assert cutout.header["CDELT1"] * source_wcs.wcs.cdelt[0] > 0, "RA keeps the source's direction"
    assert cutout.header["CDELT2"] > 0
    assert cutout.header["BUNIT"] == "uK"
    np.testing.assert_array_equal(cutout.image, cutout.data[::-1])
    cutout_wcs = WCS(cutout.header)
    # Every cut-out pixel centre is a source pixel centre, holding the same value.
    rows, cols = np.mgrid[0 : cutout.data.shape[0], 0 : cutout.data.shape[1]]
    ra, dec = cutout_wcs.pixel_to_world_values(cols.ravel(), rows.ravel())
    dec_in_range = np.abs(dec) <= 90
    assert dec_in_range.all()
    x, y = source_wcs.world_to_pixel_values(ra, dec)
    if period:
        x = np.mod(x, period)
    np.testing.assert_allclose(x, np.round(x), atol=0.01)
    np.testing.assert_allclose(y, np.round(y), atol=0.01)
    source_cols, source_rows = np.round(x).astype(int) % nx, np.round(y).astype(int)
    inside = (source_rows >= 0) & (source_rows < ny)
    assert inside.all()
    np.testing.assert_array_equal(
        cutout.data.ravel(), values[source_rows, source_cols].astype(np.float32)
    )
    # Sky -> pixel in the cut-out equals sky -> pixel in the source, up to a whole-pixel shift.
    rng = np.random.default_rng(7)
    eastward = (right - left) % 360
    start, width = (left, eastward) if eastward <= 180 else (right, 360 - eastward)
    sky_ra = start + rng.uniform(0.3, width - 0.3, 200)
    low_dec, high_dec = max(min(top, bottom), -90), min(max(top, bottom), 90)
    sky_dec = rng.uniform(low_dec + 0.3, high_dec - 0.3, 200)
    xc, yc = cutout_wcs.world_to_pixel_values(sky_ra, sky_dec)
    xs, ys = source_wcs.world_to_pixel_values(sky_ra, sky_dec)
    shift_x = xs - xc
    if period:
        shift_x = np.mod(shift_x - shift_x[0] + period / 2, period) - period / 2 + shift_x[0]
    np.testing.assert_allclose(shift_x, shift_x[0], atol=0.01)
    # A source stored north first gives a cut-out stored south first: rows mirror.
    shift_y = ys + yc if source_wcs.wcs.cdelt[1] < 0 else ys - yc
    np.testing.assert_allclose(shift_y, shift_y[0], atol=0.01)


def test_the_pixel_cap_is_checked_before_reading(make_car_map, monkeypatch):
    source, _, _ = _source_and_reference(make_car_map, FULL_SKY)

    def refuse(**window):
        raise AssertionError("read before checking the cap")

    monkeypatch.setattr(source, "read_window", refuse)
    with pytest.raises(
        OutOfRangeError, match=r"40 x 30 = 1200 pixels, more than the limit of 1199"
    ):
        source.cutout(
            left_ra_deg=170, right_ra_deg=-170, top_dec_deg=10, bottom_dec_deg=-5, max_pixels=1199
        )


@pytest.mark.parametrize(
    ("box", "error", "message"),
    [
        ((10, 10, 5, 0), OutOfRangeError, "the box has no width"),
        ((10, 20, 5, 5), OutOfRangeError, "the box has no height"),
        ((float("nan"), 20, 5, 0), OutOfRangeError, "left RA must be finite"),
        ((10, float("inf"), 5, 0), OutOfRangeError, "right RA must be finite"),
        ((10, 20, 95, 0), OutOfRangeError, "top Dec 95.0 is outside -90..90"),
        ((10, 20, "north", 0), OutOfRangeError, "top Dec must be a number"),
        ((-100, -120, 5, 0), NoDataError, "does not overlap the map"),
        ((30, 20, 80, 70), NoDataError, "does not overlap the map"),
        ((24, 22, -5, -6), NoDataError, "no data in the region"),
    ],
)
def test_bad_boxes(make_car_map, box, error, message):
    options = dict(PARTIAL, nan_box=(slice(0, 100), slice(60, 100)))
    source, _, _ = _source_and_reference(make_car_map, options)
    left, right, top, bottom = box
    with pytest.raises(error, match=message):
        source.cutout(
            left_ra_deg=left, right_ra_deg=right, top_dec_deg=top, bottom_dec_deg=bottom,
            max_pixels=10**6,
        )  # fmt: skip


def test_whole_ra_circle(make_car_map):
    source, values, _ = _source_and_reference(make_car_map, FULL_SKY)
    cutout = source.cutout(
        left_ra_deg=-180, right_ra_deg=180, top_dec_deg=1, bottom_dec_deg=-1, max_pixels=10**6
    )
    assert cutout.data.shape == (4, 720)
    np.testing.assert_array_equal(np.sort(cutout.data[0]), np.sort(values[178].astype(np.float32)))
