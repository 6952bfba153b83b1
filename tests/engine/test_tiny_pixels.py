"""A map with a tiny pixel scale: many levels, every tile cheap (issue 11, point 6).

The 1e-6 degree map is 24 x 24 pixels on a 19-level grid whose level-0 tile
spans 1.8e8 x 1.8e8 deepest-level pixels. Before the fix a coarse tile tried
to allocate gigabytes (index arrays over the whole tile, an overview over
the whole sky) and failed.
"""

import tracemalloc

import numpy as np
import pytest

from maps.engine import (
    NoDataError,
    OutOfRangeError,
    TileGrid,
    TileIndex,
    source_from_provider,
    tile_grid_for,
)
from maps.engine import sources as sources_module
from maps.engine.geometry import MAX_LEVELS, cyclic_cover
from tests.engine.brute import map_columns, map_rows, plane_values, plane_wcs
from tests.support import badfits
from tests.support.fits import write_car_map
from tests.support.sample_maps import MAPS, provider_for

TINY = badfits.TINY_PIXEL
RA_CENTRE_DEG = TINY["ra_left_deg"] - TINY["nx"] / 2 * TINY["pixel_scale_deg"]
DEC_CENTRE_DEG = TINY["dec_bottom_deg"] + TINY["ny"] / 2 * TINY["pixel_scale_deg"]
# A tile, with its float64 sums and int64 counts, is under 10 MB at 687 pixels;
# the old code asked for 1.3 GB and more.
MAX_TILE_BYTES = 32 * 1024 * 1024
# Grid pixels each side of the map's centre that the reference looks at: the
# map is 24 pixels across, about 24 grid pixels.
NEAR_PIXELS = 40


@pytest.fixture
def tiny(tmp_path):
    path = badfits.tiny_pixel(tmp_path / "tiny.fits")
    assert path.stat().st_size == 5760
    return path


def _tile_of_centre(level: int) -> tuple[int, int]:
    size_deg = 180.0 / 2**level
    return int((RA_CENTRE_DEG + 180) // size_deg), int((DEC_CENTRE_DEG + 90) // size_deg)


def _expected_near_map(values, wcs, grid: TileGrid, *, level, x, y, method) -> np.ndarray:
    """The tile (north up) from astropy's mapping of the grid pixels around the map only."""
    size, factor = grid.tile_size, grid.block_factor(level)
    width, scale_deg = size * factor, grid.deepest_pixel_scale_deg
    near = np.arange(-NEAR_PIXELS, NEAR_PIXELS)
    global_cols = round((RA_CENTRE_DEG + 180) / scale_deg) + near
    global_rows = round((DEC_CENTRE_DEG + 90) / scale_deg) + near
    ny, nx = values.shape
    cols = map_columns(wcs, nx, -180.0 + (global_cols + 0.5) * scale_deg)
    rows = map_rows(wcs, ny, -90.0 + (global_rows + 0.5) * scale_deg)
    # The window holds the whole map.
    assert cols[0] == cols[-1] == rows[0] == rows[-1] == -1
    in_cols, in_rows = global_cols - x * width, global_rows - y * width
    keep_cols = (cols >= 0) & (in_cols >= 0) & (in_cols < width)
    keep_rows = (rows >= 0) & (in_rows >= 0) & (in_rows < width)
    if method == "stride":
        keep_cols &= in_cols % factor == factor // 2
        keep_rows &= in_rows % factor == factor // 2
    sub = values[np.ix_(rows[keep_rows], cols[keep_cols])]
    flat = ((in_rows[keep_rows] // factor)[:, None] * size + in_cols[keep_cols] // factor).ravel()
    finite = np.isfinite(sub).ravel()
    sums = np.bincount(flat[finite], weights=sub.ravel()[finite], minlength=size * size)
    counts = np.bincount(flat[finite], minlength=size * size)
    mean = np.full(size * size, np.nan)
    mean[counts > 0] = sums[counts > 0] / counts[counts > 0]
    return mean.reshape(size, size)[::-1]


def _tile_with_peak(source, **kwargs) -> tuple[np.ndarray, int]:
    tracemalloc.start()
    try:
        tile = source.tile(**kwargs)
        return tile, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_1e6_degree_pixel_gets_19_levels():
    assert tile_grid_for(pixel_scale_ra_deg=-1e-6, pixel_scale_dec_deg=1e-6) == TileGrid(
        tile_size=687, number_of_levels=19
    )


@pytest.mark.parametrize("scale_deg", [1e-7, 5e-324, 360 / (256 * 2**25)])
def test_finer_pixels_than_the_level_cap_are_refused_naming_cdelt(scale_deg):
    with pytest.raises(OutOfRangeError) as caught:
        tile_grid_for(pixel_scale_ra_deg=-scale_deg, pixel_scale_dec_deg=scale_deg)
    assert str(caught.value) == (
        f"pixel scale CDELT1 = {-scale_deg}, CDELT2 = {scale_deg} deg needs more than "
        f"{MAX_LEVELS} zoom levels: pixels finer than 3.4e-07 deg are not served"
    )


@pytest.mark.parametrize("nan_box", [None, (slice(3, 17), slice(0, 9))])
@pytest.mark.parametrize("method", ["mean", "stride"])
def test_every_level_of_a_tiny_pixel_map_is_cheap_and_right(tmp_path, method, nan_box):
    tiny = write_car_map(tmp_path / "tiny.fits", **TINY, nan_box=nan_box)
    source = source_from_provider({"provider_type": "fits", "filename": str(tiny)})
    grid = source.info.grid
    assert grid.number_of_levels == 19
    values, wcs = plane_values(tiny), plane_wcs(tiny)
    finite_pixels = []
    for level in range(grid.number_of_levels):
        x, y = _tile_of_centre(level)
        expected = _expected_near_map(values, wcs, grid, level=level, x=x, y=y, method=method)
        if method == "stride" and not np.isfinite(expected).any():
            with pytest.raises(NoDataError):
                source.tile(index=TileIndex(level=level, x=x, y=y), method=method)
            continue
        tile, peak_bytes = _tile_with_peak(
            source, index=TileIndex(level=level, x=x, y=y), method=method
        )
        assert peak_bytes < MAX_TILE_BYTES, (level, peak_bytes)
        np.testing.assert_array_equal(np.isnan(tile), np.isnan(expected))
        np.testing.assert_allclose(tile, expected, rtol=1e-6, equal_nan=True)
        finite_pixels.append(int(np.isfinite(tile).sum()))
    if method == "mean":
        # Native level: every map pixel shows; level 0: the whole map is one pixel
        # (or a few, where it straddles block edges), the mean of what lies there.
        assert finite_pixels[-1] >= 24 * 24 - (14 * 9 if nan_box else 0)
        assert 1 <= finite_pixels[0] <= 4


def test_the_overview_of_a_tiny_pixel_map_is_small_and_gives_the_same_tiles(tiny):
    source = source_from_provider({"provider_type": "fits", "filename": str(tiny)})
    grid = source.info.grid
    from_file = {
        level: source.tile(index=TileIndex(level=level, x=x, y=y))
        for level in range(grid.number_of_levels - 1)
        for x, y in [_tile_of_centre(level)]
    }
    tracemalloc.start()
    try:
        source.build_overview()
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert source.overview_ready
    assert peak_bytes < MAX_TILE_BYTES
    assert source.overview_nbytes < 10_000
    for level, expected in from_file.items():
        x, y = _tile_of_centre(level)
        tile, peak_bytes = _tile_with_peak(source, index=TileIndex(level=level, x=x, y=y))
        assert peak_bytes < MAX_TILE_BYTES
        np.testing.assert_allclose(tile, expected, rtol=1e-6, equal_nan=True)


def test_tiles_away_from_a_tiny_pixel_map_are_no_data(tiny):
    source = source_from_provider({"provider_type": "fits", "filename": str(tiny)})
    for level, x, y in [(0, 0, 0), (1, 3, 1), (18, 0, 0), (10, 2047, 1023)]:
        with pytest.raises(NoDataError, match="the tile is outside the map"):
            source.tile(index=TileIndex(level=level, x=x, y=y))


@pytest.mark.parametrize("name", sorted(MAPS))
def test_the_map_cover_is_what_the_whole_sky_arrays_say(make_car_map, name):
    """``PixelGrid.cover`` (a few candidates around the map) against every grid pixel."""
    options = MAPS[name]
    source = source_from_provider(provider_for(make_car_map(f"{name}.fits", **options), options))
    grid, pixel_grid = source.info.grid, source.info.pixel_grid
    rows = pixel_grid.tile_rows(grid=grid, level=0, y=0)
    cols = np.concatenate([pixel_grid.tile_columns(grid=grid, level=0, x=x) for x in (0, 1)])
    present_rows = np.flatnonzero(rows >= 0)
    cover = source.cover
    assert (cover.first_row, cover.stop_row) == (present_rows[0], present_rows[-1] + 1)
    assert (cover.first_column, cover.column_count) == cyclic_cover(cols >= 0)
    assert cover.sky_columns == len(cols)


def test_a_mean_over_the_work_cap_is_refused_before_reading(make_car_map, monkeypatch):
    options = MAPS["act_like"]
    source = source_from_provider(provider_for(make_car_map("act.fits", **options), options))
    level_1 = source.tile(index=TileIndex(level=1, x=2, y=1))
    monkeypatch.setattr(sources_module, "MAX_TILE_SOURCE_PIXELS", 1000)

    def refuse(**window):
        raise AssertionError("read although the tile was over the cap")

    monkeypatch.setattr(source, "read_window", refuse)
    with pytest.raises(OutOfRangeError) as caught:
        source.tile(index=TileIndex(level=1, x=2, y=1))
    # RA 0..10 and Dec 0..3.25 of the map fall in this tile: 320 x 104 pixels.
    assert str(caught.value) == (
        "level 1 is too coarse for this map: a tile would average 33280 pixels "
        "(at most 1000 are read for one tile); zoom in"
    )
    monkeypatch.undo()
    # The overview answers every coarse level without reading the file again.
    source.build_overview()
    monkeypatch.setattr(sources_module, "MAX_TILE_SOURCE_PIXELS", 1000)
    np.testing.assert_allclose(
        source.tile(index=TileIndex(level=1, x=2, y=1)), level_1, rtol=1e-5, atol=2e-3
    )
