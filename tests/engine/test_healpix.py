"""HEALPix maps on the SPEC tile grid, against healpy as independent ground truth."""

import warnings

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits

from maps.engine import FitsError, TileIndex, parse_provider, source_from_provider
from maps.engine.healpix import loc2pix, scaled_unit, sky_to_map
from maps.engine.providers import HealpixProvider, ProviderError


def write(path, maps, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(str(path), maps, overwrite=True, dtype=np.float32, **kwargs)
    return str(path)


def smooth_map(nside):
    """A known function of position, plus point sources at known pixels (RING)."""
    theta, phi = hp.pix2ang(nside, np.arange(12 * nside**2))
    values = (np.cos(theta) * 10 + np.sin(3 * phi)).astype(np.float32)
    values[[5, 1000, 12 * nside**2 - 7]] = 1000.0
    return values


def tile_centres(level, x, y, tile_size=256):
    """Tile pixel centres from the SPEC grid formulas: row 0 north, RA increasing right."""
    size_deg = 180.0 / 2**level
    centres = (np.arange(tile_size) + 0.5) / tile_size * size_deg
    ra = -180.0 + x * size_deg + centres
    dec = -90.0 + (y + 1) * size_deg - centres
    return np.meshgrid(ra, dec)


def source(path, **provider):
    return source_from_provider({"provider_type": "healpix", "filename": path, **provider})


@pytest.mark.parametrize("nest", [False, True])
@pytest.mark.parametrize("nside", [64, 512])
def test_native_tile_pixels_are_the_healpix_pixel_under_their_centre(tmp_path, nest, nside):
    ring = smooth_map(nside)
    stored = hp.reorder(ring, r2n=True) if nest else ring
    layer = source(write(tmp_path / "m.fits", stored, nest=nest))
    grid = layer.info.grid
    assert grid.tile_size == 256
    assert grid.deepest_pixel_scale_deg <= hp.nside2resol(nside, arcmin=True) / 60 / 2
    level = grid.deepest_level
    for x, y in ((0, 0), (2**level, 2**level // 2), (2 ** (level + 1) - 1, 2**level - 1)):
        ra, dec = tile_centres(level, x, y)
        expected = ring[hp.ang2pix(nside, ra, dec, lonlat=True)]
        np.testing.assert_array_equal(layer.tile(index=TileIndex(level=level, x=x, y=y)), expected)


def test_flip_mirrors_the_tile(tmp_path):
    layer = source(write(tmp_path / "m.fits", smooth_map(64)))
    index = TileIndex(level=1, x=1, y=0)
    np.testing.assert_array_equal(
        layer.tile(index=index, flip=True), layer.tile(index=index)[:, ::-1]
    )


def test_partial_map_has_nan_outside_its_pixels(tmp_path):
    nside = 128
    ring = smooth_map(nside)
    partial = np.full_like(ring, hp.UNSEEN)
    kept = np.arange(0, len(ring) // 3)
    partial[kept] = ring[kept]
    layer = source(write(tmp_path / "p.fits", partial, partial=True))
    with fits.open(tmp_path / "p.fits") as hdus:
        assert hdus[1].header["INDXSCHM"] == "EXPLICIT"
    level = layer.info.grid.deepest_level
    ra, dec = tile_centres(level, 1, 2**level - 1)
    pixels = hp.ang2pix(nside, ra, dec, lonlat=True)
    expected = np.where(pixels < len(kept), ring[pixels], np.nan)
    np.testing.assert_array_equal(
        layer.tile(index=TileIndex(level=level, x=1, y=2**level - 1)), expected
    )


def nan_mean_downgrade(nest, step):
    blocks = nest.reshape(-1, 4**step)
    finite = np.isfinite(blocks)
    with np.errstate(invalid="ignore"):
        return np.where(finite, blocks, 0).sum(axis=1, dtype=np.float64) / finite.sum(axis=1)


def test_coarse_tiles_are_nan_aware_downgraded_means(tmp_path):
    nside = 256
    ring = smooth_map(nside)
    ring[:4000] = hp.UNSEEN
    layer = source(write(tmp_path / "m.fits", ring))
    nest = hp.reorder(np.where(ring == hp.UNSEEN, np.nan, ring), r2n=True)
    for level in range(layer.info.grid.deepest_level - 1):
        step = layer.step_for_level(level)
        assert step >= 1
        ra, dec = tile_centres(level, 0, 2**level - 1)
        pixels = hp.ang2pix(nside >> step, ra, dec, lonlat=True, nest=True)
        tile = layer.tile(index=TileIndex(level=level, x=0, y=2**level - 1))
        expected = nan_mean_downgrade(nest, step)[pixels].astype(np.float32)
        np.testing.assert_allclose(tile, expected, rtol=1e-5)


def test_the_downgrade_is_healpy_ud_grade_on_a_full_map():
    nest = hp.reorder(smooth_map(256), r2n=True)
    for step in (1, 3, 4):
        np.testing.assert_allclose(
            nan_mean_downgrade(nest, step),
            hp.ud_grade(nest, 256 >> step, order_in="NESTED", order_out="NESTED"),
            rtol=1e-5,
        )


def test_galactic_iqu_rotated_to_equatorial(tmp_path):
    nside = 64
    npix = 12 * nside**2
    i_map = smooth_map(nside)
    q_map = np.cos(np.arange(npix) * 0.01).astype(np.float32)
    u_map = np.sin(np.arange(npix) * 0.013).astype(np.float32)
    path = write(tmp_path / "g.fits", [i_map, q_map, u_map], coord="G")
    ra, dec = tile_centres(1, 1, 0)
    to_gal = hp.Rotator(coord=["C", "G"])
    theta, phi = to_gal(np.radians(90 - dec.ravel()), np.radians(ra.ravel()))
    pixels = hp.ang2pix(nside, theta, phi)
    psi = hp.Rotator(coord=["G", "C"]).angle_ref(theta, phi)
    rotated = (q_map[pixels] + 1j * u_map[pixels]) * np.exp(2j * psi)
    index = TileIndex(level=1, x=1, y=0)
    np.testing.assert_array_equal(
        source(path, field="TEMPERATURE").tile(index=index).ravel(), i_map[pixels]
    )
    np.testing.assert_allclose(
        source(path, field=1).tile(index=index).ravel(), rotated.real, atol=1e-5
    )
    np.testing.assert_allclose(
        source(path, field=2).tile(index=index).ravel(), rotated.imag, atol=1e-5
    )


def test_cutout_header_names_the_source(tmp_path):
    layer = source(write(tmp_path / "m.fits", smooth_map(64)))
    cut = layer.cutout(
        left_ra_deg=10, right_ra_deg=20, top_dec_deg=5, bottom_dec_deg=-5, max_pixels=10**6
    )
    assert cut.header["HPXFILE"] == "m.fits"
    assert cut.header["HPXNSIDE"] == 64
    assert "Resampled from a HEALPix equatorial map" in str(cut.header["HISTORY"])


def test_combination_of_two_healpix_maps(tmp_path):
    a = write(tmp_path / "a.fits", smooth_map(64))
    b = write(tmp_path / "b.fits", smooth_map(64) * 2)
    combined = source_from_provider(
        {
            "provider_type": "fits_combination",
            "function": "-",
            "providers": [
                {"provider_type": "healpix", "filename": b},
                {"provider_type": "healpix", "filename": a},
            ],
        }
    )
    index = TileIndex(level=1, x=0, y=0)
    np.testing.assert_array_equal(combined.tile(index=index), source(a).tile(index=index))
    other = write(tmp_path / "c.fits", smooth_map(128))
    with pytest.raises(ProviderError, match="inputs must share one grid"):
        source_from_provider(
            {
                "provider_type": "fits_combination",
                "function": "-",
                "providers": [
                    {"provider_type": "healpix", "filename": a},
                    {"provider_type": "healpix", "filename": other},
                ],
            }
        )


def test_provider_parsing():
    assert parse_provider({"provider_type": "healpix", "filename": "x.fits"}) == HealpixProvider(
        "x.fits", 1, 0
    )
    assert parse_provider(
        {"provider_type": "healpix", "filename": "x.fits", "field": "Q_STOKES"}
    ).to_dict() == {"provider_type": "healpix", "filename": "x.fits", "hdu": 1, "field": "Q_STOKES"}
    with pytest.raises(ProviderError) as caught:
        parse_provider({"provider_type": "healpix", "filename": "x.fits", "field": -1})
    assert str(caught.value) == (
        "provider.field: expected a column name or an integer >= 0, found the number -1"
    )


def table(path, *, nside=4, rows=None, **cards):
    npix = 12 * nside**2
    column = fits.Column(name="I", format="E", array=np.zeros(rows or npix, np.float32))
    hdu = fits.BinTableHDU.from_columns([column])
    header = {"PIXTYPE": "HEALPIX", "NSIDE": nside, "ORDERING": "RING", **cards}
    for key, value in header.items():
        if value is not None:
            hdu.header[key] = value
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=True)
    return str(path)


@pytest.mark.parametrize(
    ("kwargs", "provider", "message", "key"),
    [
        (
            {"PIXTYPE": None},
            {},
            "HDU 1 is not a HEALPix map (no binary table with PIXTYPE = 'HEALPIX')",
            "hdu",
        ),
        ({"NSIDE": 3, "rows": 12 * 4**2}, {}, "NSIDE = 3 is not a power of two", "hdu"),
        ({"ORDERING": None}, {}, "ORDERING is missing (RING or NESTED)", "hdu"),
        (
            {"rows": 100},
            {},
            "100 rows x 1 pixels = 100 pixels, but NSIDE = 4 needs 12 NSIDE^2 = 192",
            "hdu",
        ),
        ({}, {"field": "Q"}, "no column 'Q' (columns: I)", "field"),
        ({}, {"field": 3}, "field 3 is outside 0..0 (columns: I)", "field"),
        (
            {},
            {"hdu": 0},
            "HDU 0 is not a HEALPix map (no binary table with PIXTYPE = 'HEALPIX')",
            "hdu",
        ),
    ],
)
def test_bad_input_is_one_line_naming_the_field(tmp_path, kwargs, provider, message, key):
    rows = kwargs.pop("rows", None)
    path = table(tmp_path / "bad.fits", rows=rows, **kwargs)
    with pytest.raises(FitsError) as caught:
        source(path, **provider)
    assert str(caught.value) == message
    assert caught.value.key == key


@pytest.mark.parametrize("nest", [False, True])
@pytest.mark.parametrize("nside", [1, 2, 64, 2048, 8192])
def test_loc2pix_is_healpy_ang2pix_even_on_pixel_edges(nside, nest):
    rng = np.random.default_rng(nside)
    ra = rng.uniform(-180, 360, 200_000)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, len(ra))))
    # Whole degrees fall on ring and face edges; the poles and near them take
    # the sin(theta) branch.
    ra[:2000], dec[:2000] = np.round(ra[:2000]), np.round(dec[:2000])
    dec[2000:2100], dec[2100:2200], dec[2200:2300] = 90.0, -90.0, 89.9999
    z, phi, sin_theta, _ = sky_to_map(ra, dec, "C")
    np.testing.assert_array_equal(
        loc2pix(z, phi, sin_theta, nside, nested=nest),
        hp.ang2pix(nside, ra, dec, lonlat=True, nest=nest),
    )


@pytest.mark.parametrize("coord", ["C", "G"])
def test_coarse_tiles_are_the_same_before_and_after_the_pyramid(tmp_path, coord):
    nside = 512
    npix = 12 * nside**2
    ring = smooth_map(nside)
    ring[:4000] = hp.UNSEEN
    q_map = np.cos(np.arange(npix) * 0.01).astype(np.float32)
    u_map = np.sin(np.arange(npix) * 0.013).astype(np.float32)
    path = write(tmp_path / "m.fits", [ring, q_map, u_map], coord=coord)
    layer = source(path, field=1)
    assert not layer.overview_ready
    assert layer.overview_nbytes == 0
    indices = [TileIndex(level=0, x=x, y=0) for x in range(2)]
    before = [layer.tile(index=index) for index in indices]
    assert not layer.overview_ready
    layer.build_overview()
    assert layer.overview_ready
    assert layer.overview_nbytes > 0
    for index, tile in zip(indices, before, strict=True):
        assert layer.step_for_level(index.level) > 2
        np.testing.assert_allclose(layer.tile(index=index), tile, rtol=1e-6, atol=1e-6)


def test_provider_scale_is_a_finite_non_zero_number():
    parsed = parse_provider({"provider_type": "healpix", "filename": "x.fits", "scale": 1e6})
    assert parsed.scale == 1e6
    assert parsed.to_dict()["scale"] == 1e6
    for bad, found in [(0, "the number 0"), (float("inf"), "the number inf"), ([1], "a list")]:
        with pytest.raises(ProviderError) as caught:
            parse_provider({"provider_type": "healpix", "filename": "x.fits", "scale": bad})
        assert str(caught.value) == (
            f"provider.scale: expected a finite non-zero number, found {found}"
        )


@pytest.mark.parametrize(
    ("unit", "scale", "served"),
    [
        ("K_CMB", 1e6, "uK"),
        ("K_CMB^2", 1e12, "uK^2"),
        ("mK", 1e3, "uK"),
        ("K_RJ", 1e6, "uK_RJ"),
        ("1/K_CMB^2", 1e-12, "uK^-2"),
        ("K_CMB", 1.0, "K_CMB"),
        ("K_CMB", 2.0, None),
        ("MJy/sr", 1e6, None),
        (None, 1e6, None),
    ],
)
def test_scaled_unit(unit, scale, served):
    assert scaled_unit(unit, scale) == served


def test_scaled_source_multiplies_tiles_and_cutouts(tmp_path):
    nside = 32
    values = smooth_map(nside)
    path = write(tmp_path / "m.fits", values, column_units="K_CMB")
    plain, scaled = source(path), source(path, scale=-1e6)
    index = TileIndex(level=0, x=1, y=0)
    np.testing.assert_array_equal(
        scaled.tile(index=index), plain.tile(index=index) * np.float32(-1e6)
    )
    cut = scaled.cutout(
        left_ra_deg=20, right_ra_deg=10, top_dec_deg=5, bottom_dec_deg=-5, max_pixels=10**6
    )
    plain_cut = plain.cutout(
        left_ra_deg=20, right_ra_deg=10, top_dec_deg=5, bottom_dec_deg=-5, max_pixels=10**6
    )
    np.testing.assert_array_equal(cut.data, plain_cut.data * np.float32(-1e6))
    assert plain_cut.header["BUNIT"] == "K_CMB"
    assert "BUNIT" not in cut.header  # -1e6 K_CMB is no unit: none rather than a wrong one
    assert cut.header["HPXSCALE"] == -1e6


def test_a_coarse_tile_waits_for_a_started_pyramid_build_only(tmp_path):
    nside = 512
    path = write(tmp_path / "m.fits", smooth_map(nside))
    layer = source(path)
    assert layer.step_for_level(0) > 2
    # No build started (engine use without the server): a coarse tile reads the file.
    assert layer.wait_for_overview(level=0) is False
    assert not layer.overview_ready
    # Levels whose downgrades are computed per tile never wait.
    native = layer.info.grid.deepest_level
    assert layer.wait_for_overview(level=native) is True
    layer.start_overview()
    assert layer.wait_for_overview(level=0) is True
    assert layer.overview_ready
