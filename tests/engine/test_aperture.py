"""Apertures against a brute-force angular selection over every pixel of the map."""

import math

import numpy as np
import pytest
from astropy.coordinates import angular_separation

from maps.engine import NoDataError, OutOfRangeError, source_from_provider
from tests.engine.brute import plane_values, plane_wcs

FULL_SKY = dict(
    nx=720, ny=360, pixel_scale_deg=0.5, ra_left_deg=180.0, dec_bottom_deg=-90.0,
    nan_box=(slice(190, 200), slice(300, 330)),
)  # fmt: skip
PARTIAL = dict(
    nx=200, ny=100, pixel_scale_deg=0.25, ra_left_deg=40.0, dec_bottom_deg=-30.0,
    cdelt1_negative=False, nan_box=(slice(40, 60), slice(90, 110)),
)  # fmt: skip

CASES = {
    "across_ra_180": (FULL_SKY, 179.8, 10.3, 200.0),
    "across_ra_0": (FULL_SKY, 0.1, -20.2, 90.0),
    "holding_the_north_pole": (FULL_SKY, 30.0, 88.4, 150.0),
    "centred_on_the_south_pole": (FULL_SKY, 0.0, -90.0, 100.0),
    "wide_in_ra_at_high_dec": (FULL_SKY, 100.0, 70.1, 300.0),
    "over_a_nan_region": (FULL_SKY, 14.0, 6.0, 600.0),
    "partial_map_edge": (PARTIAL, 40.0, -20.0, 120.0),
    "partial_map_nan_hole": (PARTIAL, 65.1, -17.4, 200.0),
    "a_single_pixel": (PARTIAL, 40.0 + 0.125 + 0.25 * 17, -30.0 + 0.125 + 0.25 * 40, 1.0),
}


def _brute_force(values, wcs, ra_deg, dec_deg, radius_arcmin):
    rows, cols = np.mgrid[0 : values.shape[0], 0 : values.shape[1]]
    ra, dec = wcs.pixel_to_world_values(cols.ravel(), rows.ravel())
    separation = angular_separation(
        np.radians(ra), np.radians(dec), math.radians(ra_deg), math.radians(dec_deg)
    )
    flat = values.ravel()
    chosen = flat[(separation <= math.radians(radius_arcmin / 60)) & np.isfinite(flat)]
    return chosen.astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("case", CASES)
def test_aperture_equals_brute_force_selection(make_car_map, case):
    options, ra, dec, radius = CASES[case]
    path = make_car_map(**options)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    expected = _brute_force(plane_values(path), plane_wcs(path), ra, dec, radius)
    stats = source.aperture(ra_deg=ra, dec_deg=dec, radius_arcmin=radius, max_radius_arcmin=600)
    assert stats["n_pixels"] == expected.size
    assert stats["mean"] == pytest.approx(expected.mean(), rel=1e-6, abs=1e-4)
    assert stats["std"] == pytest.approx(expected.std(), rel=1e-6, abs=1e-4)
    assert stats["min"] == pytest.approx(expected.min(), rel=1e-6)
    assert stats["max"] == pytest.approx(expected.max(), rel=1e-6)
    if case == "a_single_pixel":
        assert stats["n_pixels"] == 1


@pytest.mark.parametrize(
    ("ra", "dec", "radius", "error", "message"),
    [
        (50.0, -20.0, 0.0, OutOfRangeError, "radius must be positive"),
        (50.0, -20.0, -3.0, OutOfRangeError, "radius must be positive"),
        (50.0, -20.0, 601.0, OutOfRangeError, "larger than the limit of 600"),
        (50.0, -20.0, math.nan, OutOfRangeError, "radius must be finite"),
        (math.inf, -20.0, 5.0, OutOfRangeError, "ra must be finite"),
        (50.0, 91.0, 5.0, OutOfRangeError, "outside -90..90"),
        (50.0, 60.0, 5.0, NoDataError, "does not overlap the map"),
        (150.0, -20.1, 5.0, NoDataError, "does not overlap the map"),
        (65.0, -17.5, 30.0, NoDataError, "no finite pixel"),
        (40.0 + 0.25 * 17, -30.0 + 0.25 * 40, 0.1, NoDataError, "no pixel centre lies in"),
        (40.0 + 0.125 + 0.25 * 17, -30.0 + 0.25 * 40, 0.1, NoDataError, "no pixel centre lies in"),
        (40.0 + 0.25 * 17, -30.0 + 0.125 + 0.25 * 40, 0.1, NoDataError, "no pixel centre lies in"),
    ],
)
def test_bad_apertures(make_car_map, ra, dec, radius, error, message):
    path = make_car_map(**PARTIAL)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    with pytest.raises(error, match=message):
        source.aperture(ra_deg=ra, dec_deg=dec, radius_arcmin=radius, max_radius_arcmin=600)
