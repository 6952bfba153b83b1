"""Apertures over HEALPix columns select HEALPix pixels, against ``healpy.query_disc``."""

import healpy as hp
import numpy as np
import pytest

from maps.engine import NoDataError, OutOfRangeError
from tests.engine.test_healpix import smooth_map, source, write

# (ra_deg, dec_deg, radius_arcmin): across RA 0, a pole, a point source, a tiny cap.
CENTRES = [(0.2, -20.3, 300.0), (31.0, 88.5, 500.0), (200.4, 10.7, 47.0), (123.4, -45.6, 600.0)]


def expected_values(values, nside, ra_deg, dec_deg, radius_arcmin, *, nest, coord=None):
    """The finite values of the pixels healpy selects (pixel centres within the radius)."""
    theta, phi = np.radians(90.0 - dec_deg), np.radians(ra_deg)
    if coord is not None:
        theta, phi = hp.Rotator(coord=["C", coord])(theta, phi)
    pixels = hp.query_disc(
        nside, hp.ang2vec(theta, phi), np.radians(radius_arcmin / 60), inclusive=False, nest=nest
    )
    chosen = values[pixels].astype(np.float64)
    return chosen[np.isfinite(chosen) & (chosen != np.float32(hp.UNSEEN))], pixels


def assert_same(stats, expected):
    assert stats["n_pixels"] == expected.size
    assert stats["mean"] * stats["n_pixels"] == pytest.approx(expected.sum(), rel=1e-9, abs=1e-6)
    assert stats["mean"] == pytest.approx(expected.mean(), rel=1e-9, abs=1e-9)
    assert stats["std"] == pytest.approx(expected.std(), rel=1e-6, abs=1e-9)
    assert stats["min"] == expected.min()
    assert stats["max"] == expected.max()


@pytest.mark.parametrize("nest", [False, True])
@pytest.mark.parametrize("nside", [64, 1024])
@pytest.mark.parametrize("centre", CENTRES)
def test_aperture_is_healpy_query_disc(tmp_path, nside, nest, centre):
    ring = smooth_map(nside)
    stored = hp.reorder(ring, r2n=True) if nest else ring
    layer = source(write(tmp_path / "m.fits", stored, nest=nest))
    ra, dec, radius = centre
    expected, _ = expected_values(stored, nside, ra, dec, radius, nest=nest)
    stats = layer.aperture(ra_deg=ra, dec_deg=dec, radius_arcmin=radius, max_radius_arcmin=600)
    assert_same(stats, expected)


def test_partial_map_counts_only_stored_pixels(tmp_path):
    nside = 256
    ring = smooth_map(nside)
    partial = np.full_like(ring, hp.UNSEEN)
    kept = hp.query_disc(nside, hp.ang2vec(10.0, 5.0, lonlat=True), np.radians(3.0))
    partial[kept] = ring[kept]
    layer = source(write(tmp_path / "p.fits", partial, partial=True))
    # Straddles the stored disc's edge: about half the aperture has data.
    expected, pixels = expected_values(partial, nside, 13.0, 5.0, 120.0, nest=False)
    assert 0 < expected.size < len(pixels)
    stats = layer.aperture(ra_deg=13.0, dec_deg=5.0, radius_arcmin=120.0, max_radius_arcmin=600)
    assert_same(stats, expected)
    with pytest.raises(NoDataError):
        layer.aperture(ra_deg=200.0, dec_deg=-40.0, radius_arcmin=60.0, max_radius_arcmin=600)


def test_a_single_pixel(tmp_path):
    nside = 64
    ring = smooth_map(nside)
    layer = source(write(tmp_path / "m.fits", ring))
    ra, dec = hp.pix2ang(nside, 1000, lonlat=True)
    stats = layer.aperture(ra_deg=ra, dec_deg=dec, radius_arcmin=1.0, max_radius_arcmin=600)
    assert stats == {"mean": 1000.0, "std": 0.0, "min": 1000.0, "max": 1000.0, "n_pixels": 1}


def test_galactic_map_is_selected_in_its_own_frame(tmp_path):
    nside = 256
    npix = 12 * nside**2
    i_map = smooth_map(nside)
    q_map = np.cos(np.arange(npix) * 0.01).astype(np.float32)
    u_map = np.sin(np.arange(npix) * 0.013).astype(np.float32)
    path = write(tmp_path / "g.fits", [i_map, q_map, u_map], coord="G")
    ra, dec, radius = 266.4, -28.9, 90.0  # the Galactic centre, far from its RA/Dec position
    expected, pixels = expected_values(i_map, nside, ra, dec, radius, nest=False, coord="G")
    stats = source(path).aperture(
        ra_deg=ra, dec_deg=dec, radius_arcmin=radius, max_radius_arcmin=600
    )
    assert_same(stats, expected)
    # Q in the equatorial frame at each selected pixel centre, as the tiles show it.
    theta, phi = hp.pix2ang(nside, pixels)
    psi = hp.Rotator(coord=["G", "C"]).angle_ref(theta, phi)
    rotated = (q_map[pixels] + 1j * u_map[pixels]) * np.exp(2j * psi)
    q_stats = source(path, field=1).aperture(
        ra_deg=ra, dec_deg=dec, radius_arcmin=radius, max_radius_arcmin=600
    )
    assert q_stats["n_pixels"] == len(pixels)
    assert q_stats["mean"] == pytest.approx(rotated.real.mean(), abs=1e-5)
    assert q_stats["max"] == pytest.approx(rotated.real.max(), abs=1e-5)


@pytest.mark.parametrize(
    ("ra", "dec", "radius"), [(0.0, 91.0, 10.0), (0.0, 0.0, 0.0), (0.0, 0.0, 601.0), (np.nan, 0, 1)]
)
def test_out_of_range_input(tmp_path, ra, dec, radius):
    layer = source(write(tmp_path / "m.fits", smooth_map(64)))
    with pytest.raises(OutOfRangeError):
        layer.aperture(ra_deg=ra, dec_deg=dec, radius_arcmin=radius, max_radius_arcmin=600)
