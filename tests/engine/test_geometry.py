"""The tile grid of SPEC section 5: sizes, levels, range checks, flip remapping, bounds."""

import math

import numpy as np
import pytest

from maps.engine import (
    OutOfRangeError,
    TileGrid,
    TileIndex,
    resolve_tile,
    tile_bounds_deg,
    tile_grid_for,
)

ARCMIN = 1 / 60


@pytest.mark.parametrize(
    ("cdelt1", "cdelt2", "tile_size", "levels"),
    [
        (-0.5 * ARCMIN, 0.5 * ARCMIN, 675, 6),  # ACT DR6
        (-1 * ARCMIN, 1 * ARCMIN, 675, 5),
        (-2 * ARCMIN, 2 * ARCMIN, 675, 4),
        (0.25 * ARCMIN, 0.25 * ARCMIN, 675, 7),
        (-0.00833333, 0.00833333, 675, 6),  # CDELT written with 8 digits
        (-1 * ARCMIN * (1 + 3e-15), 1 * ARCMIN, 675, 5),  # pixell's 10799.99... full sky
        (360 / 2048, 180 / 1024, 256, 3),  # both multiples of 256
        (360 / 8192, 180 / 4096, 256, 5),
        (360 / 1536, 180 / 768, 384, 2),  # multiples of 256, but 6 x 256 is not a power of two
        (0.5, 0.5, 360, 1),
        (1 / 32, 1 / 32, 360, 5),
    ],
)
def test_tile_grid_of_evenly_dividing_scales(cdelt1, cdelt2, tile_size, levels):
    assert tile_grid_for(pixel_scale_ra_deg=cdelt1, pixel_scale_dec_deg=cdelt2) == TileGrid(
        tile_size=tile_size, number_of_levels=levels
    )


@pytest.mark.parametrize(
    ("scale_deg", "tile_size", "levels"),
    [
        (0.7 * ARCMIN, 965, 5),  # 15428.57 rows of sky: no exact grid
        (0.1 * ARCMIN, 844, 8),  # exact, but the halving rule leaves 3375-pixel tiles
        (0.35, 515, 1),
    ],
)
def test_awkward_scales_get_a_practical_grid_at_least_as_fine_as_the_map(
    scale_deg, tile_size, levels
):
    grid = tile_grid_for(pixel_scale_ra_deg=-scale_deg, pixel_scale_dec_deg=scale_deg)
    assert grid == TileGrid(tile_size=tile_size, number_of_levels=levels)
    assert grid.tile_size <= 1024
    deepest_scale = 180 / (grid.tile_size * 2 ** (grid.number_of_levels - 1))
    assert deepest_scale <= scale_deg
    # One level fewer would be coarser than the map.
    assert deepest_scale * 2 > scale_deg or grid.tile_size * 2 > 1024


@pytest.mark.parametrize(
    ("cdelt1", "cdelt2"), [(0, 1), (1, 0), (math.nan, 1), (1, math.inf), (400, 1), (1, 200)]
)
def test_unusable_pixel_scales(cdelt1, cdelt2):
    with pytest.raises(OutOfRangeError):
        tile_grid_for(pixel_scale_ra_deg=cdelt1, pixel_scale_dec_deg=cdelt2)


ACT_GRID = TileGrid(tile_size=675, number_of_levels=6)


@pytest.mark.parametrize(
    ("level", "x", "y", "flip", "expected"),
    [
        (0, 0, 0, False, (0, 0, 0)),
        (0, 1, 0, True, (0, 1, 0)),  # level 0: the remap is the identity
        (1, 0, 1, True, (1, 1, 1)),
        (1, 2, 0, True, (1, 3, 0)),
        (3, 0, 2, True, (3, 7, 2)),
        (3, 7, 2, True, (3, 0, 2)),
        (3, 8, 5, True, (3, 15, 5)),
        (3, 15, 7, True, (3, 8, 7)),
        (3, 11, 4, False, (3, 11, 4)),
        (5, 63, 31, False, (5, 63, 31)),
    ],
)
def test_resolve_tile_applies_the_flip_remap(level, x, y, flip, expected):
    index = resolve_tile(grid=ACT_GRID, level=level, x=x, y=y, flip=flip)
    assert (index.level, index.x, index.y) == expected


@pytest.mark.parametrize(
    ("level", "x", "y", "message"),
    [
        (6, 0, 0, "level 6 is outside 0..5"),
        (-1, 0, 0, "level -1 is outside 0..5"),
        (1_000_000_000, 0, 0, "level 1000000000 is outside 0..5"),
        (10**100, 0, 0, "is outside 0..5"),
        (2, 8, 0, "x 8 is outside 0..7 at level 2"),
        (2, -1, 0, "x -1 is outside 0..7 at level 2"),
        (2, 0, 4, "y 4 is outside 0..3 at level 2"),
        (2, 0, -1, "y -1 is outside 0..3 at level 2"),
        (2.0, 0, 0, "level must be an integer"),
        (True, 0, 0, "level must be an integer"),
        (1, "0", 0, "x must be an integer"),
    ],
)
def test_resolve_tile_rejects_out_of_range(level, x, y, message):
    with pytest.raises(OutOfRangeError, match=message):
        resolve_tile(grid=ACT_GRID, level=level, x=x, y=y, flip=True)


@pytest.mark.parametrize(
    ("level", "x", "y", "bounds"),
    [
        (0, 0, 0, (-180.0, 0.0, -90.0, 90.0)),
        (0, 1, 0, (0.0, 180.0, -90.0, 90.0)),
        (1, 3, 1, (90.0, 180.0, 0.0, 90.0)),
        (5, 0, 0, (-180.0, -174.375, -90.0, -84.375)),
    ],
)
def test_tile_bounds(level, x, y, bounds):
    assert tile_bounds_deg(index=TileIndex(level=level, x=x, y=y)) == pytest.approx(bounds)


# pixell's patch geometry at 0.5 arcmin: centres on multiples of the pixel size,
# so every grid pixel centre is a tie between two map pixels.
@pytest.mark.parametrize("cdelt1", [-1 / 120, 1 / 120])
def test_ties_go_east_and_north_on_every_grid_pixel_and_the_offset_says_so(cdelt1):
    from maps.engine.geometry import PixelGrid, tile_grid_for

    grid = tile_grid_for(pixel_scale_ra_deg=cdelt1, pixel_scale_dec_deg=1 / 120)
    pixels = PixelGrid(
        nx=43200, ny=10000, crpix1=101.0, crval1=0.0, cdelt1=cdelt1,
        crpix2=5001.0, crval2=0.0, cdelt2=1 / 120,
    )  # fmt: skip
    scale_deg = grid.deepest_pixel_scale_deg
    columns = np.arange(2 * grid.tile_size * 2**grid.deepest_level)
    shown = pixels.columns_at(grid=grid, grid_columns=columns)
    centre_ra = -180 + (columns + 0.5) * scale_deg
    shown_ra = pixels.ra_of_column(shown)
    east_deg = (shown_ra - centre_ra + 180) % 360 - 180
    assert np.allclose(east_deg, scale_deg / 2, atol=1e-9)
    rows = np.arange(grid.tile_size * 2**grid.deepest_level)
    shown_rows = pixels.rows_at(grid=grid, grid_rows=rows)
    on_map = shown_rows >= 0
    north_deg = pixels.dec_of_row(shown_rows[on_map]) - (-90 + (rows[on_map] + 0.5) * scale_deg)
    assert np.allclose(north_deg, scale_deg / 2, atol=1e-9)
    offset_ra_deg, offset_dec_deg = pixels.pixel_offset_deg(grid=grid)
    assert offset_ra_deg == pytest.approx(scale_deg / 2, abs=1e-12)
    assert offset_dec_deg == pytest.approx(scale_deg / 2, abs=1e-12)


def test_offset_is_zero_where_grid_and_map_edges_agree_or_the_grid_is_finer_than_the_map():
    from maps.engine.geometry import PixelGrid, tile_grid_for

    # pixell full sky: RA centres on multiples of 0.5 (a tie, the east one), Dec
    # centres at 0.25 + k * 0.5, the grid's own.
    grid = tile_grid_for(pixel_scale_ra_deg=-0.5, pixel_scale_dec_deg=0.5)
    full = PixelGrid(
        nx=720, ny=360, crpix1=360.5, crval1=0.25, cdelt1=-0.5,
        crpix2=180.5, crval2=0.0, cdelt2=0.5,
    )  # fmt: skip
    assert full.pixel_offset_deg(grid=grid) == pytest.approx((0.25, 0.0), abs=1e-12)
    # 0.3 deg does not divide 180 evenly into a power-of-two grid: the grid is finer.
    grid = tile_grid_for(pixel_scale_ra_deg=-0.7, pixel_scale_dec_deg=0.7)
    odd = PixelGrid(
        nx=10, ny=10, crpix1=1.0, crval1=0.0, cdelt1=-0.7, crpix2=1.0, crval2=0.0, cdelt2=0.7
    )
    assert grid.deepest_pixel_scale_deg < 0.7
    assert odd.pixel_offset_deg(grid=grid) == (0.0, 0.0)
