"""Tiles against brute-force references: every level, both flips, mean and stride, overview."""

import threading

import numpy as np
import pytest
from astropy.io import fits

from maps.engine import (
    NoDataError,
    OutOfRangeError,
    TileIndex,
    resolve_tile,
    source_from_provider,
)
from tests.engine.brute import expected_tile, plane_values, plane_wcs, tiles_touching_map
from tests.support.fits import car_header
from tests.support.sample_maps import MAPS, SCALE, provider_for


def _assert_tile_matches(source, values, wcs, *, level, x, y, flip=False, method="mean"):
    expected = expected_tile(values, wcs, source.info.grid, level=level, x=x, y=y, method=method)
    if flip:
        expected = expected[:, ::-1]
    if not np.isfinite(expected).any():
        with pytest.raises(NoDataError):
            source.tile(index=TileIndex(level=level, x=x, y=y), flip=flip, method=method)
        return
    tile = source.tile(index=TileIndex(level=level, x=x, y=y), flip=flip, method=method)
    assert tile.dtype == np.float32
    assert tile.shape == (source.info.grid.tile_size,) * 2
    np.testing.assert_array_equal(np.isnan(tile), np.isnan(expected))
    np.testing.assert_allclose(tile, expected, rtol=1e-5, atol=2e-3, equal_nan=True)


@pytest.mark.parametrize("name", MAPS)
def test_every_tile_of_every_level_matches_block_means(make_car_map, name):
    options = MAPS[name]
    path = make_car_map(f"{name}.fits", **options)
    source = source_from_provider(provider_for(path, options))
    hdu, index = options.get("hdu_index", 0), (options.get("n_planes") or 1) - 1
    values = plane_values(path, hdu=hdu, index=index)
    wcs = plane_wcs(path, hdu=hdu)
    grid = source.info.grid
    for level in range(grid.number_of_levels):
        for x, y in tiles_touching_map(source.info, level):
            _assert_tile_matches(source, values, wcs, level=level, x=x, y=y)
    source.build_overview()
    assert source.overview_ready
    for level in range(grid.number_of_levels - 1):
        for x, y in tiles_touching_map(source.info, level):
            _assert_tile_matches(source, values, wcs, level=level, x=x, y=y)


@pytest.mark.parametrize("name", ["act_like", "full_sky", "not_dividing_the_sky"])
def test_stride_takes_the_middle_pixel_of_each_block(make_car_map, name):
    options = MAPS[name]
    path = make_car_map(f"{name}.fits", **options)
    source = source_from_provider(provider_for(path, options))
    values, wcs = plane_values(path), plane_wcs(path)
    for level in range(source.info.grid.number_of_levels - 1):
        for x, y in tiles_touching_map(source.info, level):
            _assert_tile_matches(source, values, wcs, level=level, x=x, y=y, method="stride")


@pytest.mark.parametrize("name", ["act_like", "across_ra_180", "full_sky"])
def test_flipped_tiles_are_the_remapped_tile_mirrored(make_car_map, name):
    options = MAPS[name]
    path = make_car_map(f"{name}.fits", **options)
    source = source_from_provider(provider_for(path, options))
    values, wcs = plane_values(path), plane_wcs(path)
    grid = source.info.grid
    for level in range(grid.number_of_levels):
        half = 2**level
        for requested_x in range(2 * half):
            # SPEC section 5, written out independently of resolve_tile.
            x = half - 1 - requested_x if requested_x < half else 3 * half - 1 - requested_x
            for y in range(half):
                index = resolve_tile(grid=grid, level=level, x=requested_x, y=y, flip=True)
                assert (index.x, index.y) == (x, y)
                if (x, y) in set(tiles_touching_map(source.info, level)):
                    _assert_tile_matches(source, values, wcs, level=level, x=x, y=y, flip=True)


def _single_pixel_map(path, *, nx, ny, scale, ra_left, dec_bottom, cdelt1_negative, row, col):
    header = car_header(
        nx=nx, ny=ny, pixel_scale_deg=scale, ra_left_deg=ra_left, dec_bottom_deg=dec_bottom,
        cdelt1_negative=cdelt1_negative,
    )  # fmt: skip
    data = np.full((ny, nx), np.nan, dtype=np.float32)
    data[row, col] = 42.0
    for key in ("NAXIS", "NAXIS1", "NAXIS2"):
        header.remove(key)
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    ra = header["CRVAL1"] + (col + 1 - header["CRPIX1"]) * header["CDELT1"]
    dec = header["CRVAL2"] + (row + 1 - header["CRPIX2"]) * header["CDELT2"]
    return (ra + 180.0) % 360.0 - 180.0, dec


@pytest.mark.parametrize(
    ("cdelt1_negative", "ra_left", "row", "col"),
    [
        (True, 10.0, 37, 123),
        (False, -7.0, 5, 290),
        (True, -175.0, 60, 20),  # RA -175.6: left of the seam in the map's own order
        (True, -175.0, 61, 380),  # RA 173.1: the other side of the seam
    ],
)
def test_a_pixel_at_a_known_position_lands_in_the_right_tile_and_pixel(
    tmp_path, cdelt1_negative, ra_left, row, col
):
    path = tmp_path / "point.fits"
    ra, dec = _single_pixel_map(
        path, nx=400, ny=120, scale=SCALE, ra_left=ra_left, dec_bottom=-20.0,
        cdelt1_negative=cdelt1_negative, row=row, col=col,
    )  # fmt: skip
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    grid = source.info.grid
    size = grid.tile_size
    for level in range(grid.number_of_levels):
        tile_deg = 180.0 / 2**level
        x, y = int((ra + 180.0) // tile_deg), int((dec + 90.0) // tile_deg)
        column = int(((ra + 180.0) - x * tile_deg) / tile_deg * size)
        row_from_north = size - 1 - int(((dec + 90.0) - y * tile_deg) / tile_deg * size)
        half = 2**level
        for flip in (False, True):
            requested_x = (half - 1 - x if x < half else 3 * half - 1 - x) if flip else x
            index = resolve_tile(grid=grid, level=level, x=requested_x, y=y, flip=flip)
            tile = source.tile(index=index, flip=flip)
            finite = np.argwhere(np.isfinite(tile))
            expected_column = size - 1 - column if flip else column
            assert finite.tolist() == [[row_from_north, expected_column]], (level, flip)
            assert tile[row_from_north, expected_column] == 42.0


def test_tiles_outside_the_map_are_no_data_without_reading(make_car_map, monkeypatch):
    path = make_car_map(**MAPS["act_like"])
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})

    def refuse(**window):
        raise AssertionError(f"read {window} for a tile off the map")

    monkeypatch.setattr(source, "read_window", refuse)
    with pytest.raises(NoDataError):
        source.tile(index=TileIndex(level=4, x=0, y=0))


def test_nan_only_tile_is_no_data(make_car_map):
    path = make_car_map(
        nx=400, ny=200, pixel_scale_deg=SCALE, ra_left_deg=10.0, dec_bottom_deg=-3.0,
        nan_box=(slice(0, 200), slice(0, 400)),
    )  # fmt: skip
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    with pytest.raises(NoDataError):
        source.tile(index=TileIndex(level=4, x=16, y=7))


@pytest.mark.parametrize(
    ("level", "x", "y", "method"),
    [(5, 0, 0, "mean"), (-1, 0, 0, "mean"), (1, 4, 0, "mean"), (1, 0, 2, "mean"),
     (1, 0, 0, "median")],
)  # fmt: skip
def test_invalid_tile_requests_are_out_of_range(make_car_map, level, x, y, method):
    path = make_car_map(**MAPS["act_like"])
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    with pytest.raises(OutOfRangeError):
        source.tile(index=TileIndex(level=level, x=x, y=y), method=method)


def test_overview_builds_in_the_background(make_car_map):
    path = make_car_map(**MAPS["act_like"])
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    assert not source.overview_ready
    source.start_overview()
    source.start_overview()
    for _ in range(200):
        if source.overview_ready:
            break
        threading.Event().wait(0.05)
    assert source.overview_ready


def test_concurrent_tiles_equal_serial_tiles(make_car_map):
    path = make_car_map(**MAPS["full_sky"])
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    indexes = [TileIndex(level=3, x=x, y=y) for x in range(16) for y in range(8)]
    serial = {index: source.tile(index=index) for index in indexes}
    results = {}

    def work(part):
        for index in part:
            results[index] = source.tile(index=index)

    threads = [threading.Thread(target=work, args=(indexes[i::4],)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in indexes:
        np.testing.assert_array_equal(results[index], serial[index])


def test_huge_and_infinite_values_are_no_data_without_warnings(make_car_map):
    path = make_car_map(**MAPS["act_like"], dtype="float64")
    with fits.open(path, mode="update") as hdus:
        hdus[0].data[20:40, 20:60] = 1e300
        hdus[0].data[60:64, 20:60] = np.inf
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    values = plane_values(path)
    with np.errstate(over="ignore"):
        values[~np.isfinite(values.astype(np.float32))] = np.nan
    wcs = plane_wcs(path)
    for level in (4, 2, 0):
        for x, y in tiles_touching_map(source.info, level):
            _assert_tile_matches(source, values, wcs, level=level, x=x, y=y)
