"""Region statistics against brute force over every pixel centre, positions through astropy.

Circles and annuli: astropy's angular separation. Ellipses, boxes and
polygons: astropy's TAN projection at the region centre (an independent
gnomonic implementation) and matplotlib's point-in-polygon for polygons.
"""

import math

import numpy as np
import pytest
from astropy.coordinates import angular_separation
from astropy.wcs import WCS
from matplotlib.path import Path

from maps.engine import NoDataError, OutOfRangeError, source_from_provider
from maps.engine.region_stats import (
    checked_region,
    cutout_bounds,
    line_profile,
    region_stats,
)
from tests.engine.brute import plane_values, plane_wcs

FULL_SKY = dict(
    nx=720, ny=360, pixel_scale_deg=0.5, ra_left_deg=180.0, dec_bottom_deg=-90.0,
    nan_box=(slice(190, 200), slice(300, 330)),
)  # fmt: skip
BIG = 10_000_000


def _centres(path):
    values = plane_values(path)
    rows, cols = np.mgrid[0 : values.shape[0], 0 : values.shape[1]]
    ra, dec = plane_wcs(path).pixel_to_world_values(cols.ravel(), rows.ravel())
    return values.ravel(), ra, dec


def _tangent_degrees(ra0, dec0, ra, dec):
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [ra0, dec0]
    wcs.wcs.crpix = [1.0, 1.0]  # FITS pixels are 1-based: pixel 0 is the tangent point
    wcs.wcs.cdelt = [1.0, 1.0]
    x, y = wcs.world_to_pixel_values(ra, dec)
    far = angular_separation(*np.radians([ra, dec]), *np.radians([ra0, dec0])) >= math.pi / 2
    return np.where(far, np.nan, np.radians(x)), np.where(far, np.nan, np.radians(y))


def _brute_mask(region, ra, dec):
    kind = region["kind"]
    if kind in ("circle", "annulus"):
        sep = np.degrees(
            angular_separation(
                np.radians(ra), np.radians(dec), *np.radians([region["ra_deg"], region["dec_deg"]])
            )
        )
        if kind == "circle":
            return sep <= region["radius_deg"]
        return (sep > region["inner_radius_deg"]) & (sep <= region["outer_radius_deg"])
    if kind == "polygon":
        vertices = np.array(region["vertices_deg"])
        vectors = np.stack(
            [
                np.cos(np.radians(vertices[:, 1])) * np.cos(np.radians(vertices[:, 0])),
                np.cos(np.radians(vertices[:, 1])) * np.sin(np.radians(vertices[:, 0])),
                np.sin(np.radians(vertices[:, 1])),
            ]
        ).sum(axis=1)
        ra0 = math.degrees(math.atan2(vectors[1], vectors[0]))
        dec0 = math.degrees(math.asin(vectors[2] / np.linalg.norm(vectors)))
        vx, vy = _tangent_degrees(ra0, dec0, vertices[:, 0], vertices[:, 1])
        x, y = _tangent_degrees(ra0, dec0, ra, dec)
        ok = np.isfinite(x)
        inside = np.zeros(ra.shape, dtype=bool)
        inside[ok] = Path(np.column_stack([vx, vy])).contains_points(np.column_stack([x, y])[ok])
        return inside
    x, y = _tangent_degrees(region["ra_deg"], region["dec_deg"], ra, dec)
    angle = math.radians(region["angle_deg"])
    # Width axis: angle counter-clockwise from west through north.
    u = -x * math.cos(angle) + y * math.sin(angle)
    v = x * math.sin(angle) + y * math.cos(angle)
    a = math.tan(math.radians(region["width_deg"] / 2))
    b = math.tan(math.radians(region["height_deg"] / 2))
    with np.errstate(invalid="ignore"):
        if kind == "ellipse":
            return (u / a) ** 2 + (v / b) ** 2 <= 1
        return (np.abs(u) <= a) & (np.abs(v) <= b)


CASES = {
    "circle_across_ra_0": {"kind": "circle", "ra_deg": 0.1, "dec_deg": -20.2, "radius_deg": 3.0},
    "circle_holding_a_pole": {"kind": "circle", "ra_deg": 30.0, "dec_deg": 86.0, "radius_deg": 6},
    "annulus": {
        "kind": "annulus", "ra_deg": 200.3, "dec_deg": 10.1,
        "inner_radius_deg": 2.0, "outer_radius_deg": 5.0,
    },
    "rotated_ellipse_at_dec_50": {
        "kind": "ellipse", "ra_deg": 120.2, "dec_deg": 50.3,
        "width_deg": 12.0, "height_deg": 4.0, "angle_deg": 30.0,
    },
    "rotated_box_across_ra_180": {
        "kind": "box", "ra_deg": 179.9, "dec_deg": -5.2,
        "width_deg": 9.0, "height_deg": 3.0, "angle_deg": -60.0,
    },
    "concave_polygon_across_ra_0": {
        "kind": "polygon",
        "vertices_deg": [[355.0, -10.0], [8.0, -11.0], [2.0, -4.0], [9.0, 3.0], [354.0, 2.0]],
    },
    "polygon_over_the_nan_hole": {
        "kind": "polygon", "vertices_deg": [[10.0, 2.0], [20.0, 2.0], [20.0, 12.0], [10.0, 12.0]],
    },
}  # fmt: skip


@pytest.mark.parametrize("case", CASES)
def test_region_stats_equal_brute_force(make_car_map, case):
    path = make_car_map(**FULL_SKY)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    region = checked_region(CASES[case], max_vertices=100)
    values, ra, dec = _centres(path)
    chosen = values[_brute_mask(region, ra, dec) & np.isfinite(values)]
    expected = chosen.astype(np.float32).astype(np.float64)
    stats = region_stats(
        read=source.read_window, pixel_grid=source.info.pixel_grid, region=region, max_pixels=BIG
    )
    assert stats["n_pixels"] == expected.size > 20
    assert stats["sum"] == pytest.approx(expected.sum(), rel=1e-9)
    assert stats["mean"] == pytest.approx(expected.mean(), rel=1e-9)
    assert stats["median"] == pytest.approx(np.median(expected), rel=1e-9)
    assert stats["std"] == pytest.approx(expected.std(), rel=1e-9)
    assert stats["min"] == expected.min()
    assert stats["max"] == expected.max()


def test_circle_background_subtracts_the_annulus_median(make_car_map):
    path = make_car_map(**FULL_SKY)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    circle = checked_region(CASES["circle_across_ra_0"], max_vertices=0)
    background = {"inner_radius_deg": 4.0, "outer_radius_deg": 6.0}
    values, ra, dec = _centres(path)
    annulus = {"kind": "annulus", "ra_deg": 0.1, "dec_deg": -20.2, **background}
    ring = values[_brute_mask(annulus, ra, dec) & np.isfinite(values)]
    inner = values[_brute_mask(circle, ra, dec) & np.isfinite(values)]
    stats = region_stats(
        read=source.read_window,
        pixel_grid=source.info.pixel_grid,
        region=circle,
        max_pixels=BIG,
        background=background,
    )
    assert stats["background"]["n_pixels"] == ring.size
    assert stats["background"]["median"] == pytest.approx(np.median(ring))
    assert stats["background_subtracted_sum"] == pytest.approx(
        inner.sum() - inner.size * np.median(ring), rel=1e-9
    )


def test_point_takes_the_nearest_pixel(make_car_map):
    path = make_car_map(**FULL_SKY)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    values = plane_values(path)
    col, row = plane_wcs(path).world_to_pixel_values(40.1, 20.1)
    region = checked_region({"kind": "point", "ra_deg": 40.1, "dec_deg": 20.1}, max_vertices=0)
    stats = region_stats(
        read=source.read_window, pixel_grid=source.info.pixel_grid, region=region, max_pixels=BIG
    )
    assert stats["n_pixels"] == 1
    assert stats["sum"] == pytest.approx(values[round(float(row)), round(float(col))])


def test_line_profile_follows_the_great_circle_at_the_pixel_scale(make_car_map):
    path = make_car_map(**FULL_SKY)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    region = checked_region(
        {"kind": "line", "start_deg": [10.1, 30.1], "end_deg": [50.2, 40.2]}, max_vertices=0
    )
    profile = line_profile(
        read=source.read_window, pixel_grid=source.info.pixel_grid, region=region, max_samples=BIG
    )
    length = math.degrees(angular_separation(*np.radians([10.1, 30.1, 50.2, 40.2])))
    assert len(profile["value"]) == math.ceil(length / 0.5) + 1
    assert profile["offset_deg"][-1] == pytest.approx(length)
    steps = np.diff(profile["offset_deg"])
    assert steps.max() <= 0.5
    values, wcs = plane_values(path), plane_wcs(path)
    cols, rows = wcs.world_to_pixel_values(profile["ra_deg"], profile["dec_deg"])
    expected = values[np.rint(rows).astype(int), np.rint(cols).astype(int) % 720]
    np.testing.assert_allclose(profile["value"], expected.astype(np.float32), rtol=1e-6)
    # Every sample lies on the great circle through the ends.
    normal = np.cross(*[
        [math.cos(math.radians(d)) * math.cos(math.radians(r)),
         math.cos(math.radians(d)) * math.sin(math.radians(r)), math.sin(math.radians(d))]
        for r, d in ([10.1, 30.1], [50.2, 40.2])
    ])  # fmt: skip
    ra, dec = np.radians(profile["ra_deg"]), np.radians(profile["dec_deg"])
    points = np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=1)
    assert np.abs(points @ normal).max() < 1e-12


@pytest.mark.parametrize(
    ("region", "message"),
    [
        ({"kind": "circle", "ra_deg": 10, "dec_deg": 0, "radius_deg": 20}, "more than the limit"),
        ({"kind": "circle", "ra_deg": 10, "dec_deg": 0, "radius_deg": 85}, "spans"),
        ({"kind": "circle", "ra_deg": float("nan"), "dec_deg": 0, "radius_deg": 1}, "finite"),
        ({"kind": "circle", "ra_deg": 1, "dec_deg": 91, "radius_deg": 1}, "outside -90..90"),
        ({"kind": "circle", "ra_deg": 1, "dec_deg": 0, "radius_deg": -1}, "positive"),
        ({"kind": "annulus", "ra_deg": 1, "dec_deg": 0,
          "inner_radius_deg": 2, "outer_radius_deg": 1}, "inner radius"),
        ({"kind": "polygon", "vertices_deg": [[0, 0], [1, 1]]}, "3 to 5 vertices"),
        ({"kind": "polygon", "vertices_deg": [[0, 0]] * 6}, "3 to 5 vertices"),
        ({"kind": "polygon", "vertices_deg": [[0, 0], [1, "x"], [2, 2]]}, "number"),
        ({"kind": "polygon", "vertices_deg": [[0, 0], [120, 0], [240, 0]]}, "spans the sphere"),
        ({"kind": "hexagon"}, "kind must be one of"),
        ({"kind": "line", "start_deg": [0, 0], "end_deg": [1]}, "end_deg"),
        ({"kind": "line", "start_deg": [0, 0], "end_deg": [10, 0]}, "samples"),
    ],
)  # fmt: skip
def test_bad_regions_are_refused_before_reading(make_car_map, region, message):
    path = make_car_map(**FULL_SKY)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})

    def read(**window):
        raise AssertionError("read before the region was checked")

    def measure():
        checked = checked_region(region, max_vertices=5)
        grid = source.info.pixel_grid
        if checked["kind"] == "line":
            line_profile(read=read, pixel_grid=grid, region=checked, max_samples=3)
        else:
            region_stats(read=read, pixel_grid=grid, region=checked, max_pixels=5_000)

    with pytest.raises(OutOfRangeError, match=message):
        measure()


def test_a_region_off_a_partial_map_is_no_data(make_car_map):
    path = make_car_map(nx=200, ny=100, pixel_scale_deg=0.25, ra_left_deg=40.0, dec_bottom_deg=-30)
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    region = checked_region(
        {"kind": "circle", "ra_deg": 200, "dec_deg": 50, "radius_deg": 1}, max_vertices=0
    )
    with pytest.raises(NoDataError):
        region_stats(
            read=source.read_window,
            pixel_grid=source.info.pixel_grid,
            region=region,
            max_pixels=BIG,
        )


def test_cutout_bounds_hold_the_enclosing_cap():
    bounds = cutout_bounds(checked_region(CASES["circle_across_ra_0"], max_vertices=0))
    assert bounds["top_dec_deg"] == pytest.approx(-17.2)
    assert bounds["bottom_dec_deg"] == pytest.approx(-23.2)
    half = math.degrees(math.asin(math.sin(math.radians(3)) / math.cos(math.radians(-20.2))))
    assert bounds["left_ra_deg"] == pytest.approx(0.1 - half)
    assert bounds["right_ra_deg"] == pytest.approx(0.1 + half)
