"""The aperture endpoint over a HEALPix layer answers from the HEALPix pixels (healpy truth)."""

import warnings

import healpy as hp
import numpy as np
import pytest

from maps.importers import import_config
from tests.support.configs import config_with_layers, write_json

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def healpix_layer(tmp_path):
    nside = 128
    theta, phi = hp.pix2ang(nside, np.arange(12 * nside**2))
    values = (np.cos(theta) * 10 + np.sin(3 * phi)).astype(np.float32)
    values[: 12 * nside**2 // 2] = hp.UNSEEN  # northern half without data
    path = tmp_path / "hp.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(str(path), values, nest=True, partial=True, dtype=np.float32)
    layer = {
        "layer_id": "hp",
        "name": "hp",
        "provider": {"provider_type": "healpix", "filename": str(path), "field": 0},
    }
    import_config(write_json(tmp_path / "config.json", config_with_layers(layer)))
    return values, nside


def test_aperture_over_healpix_pixels(client, healpix_layer):
    values, nside = healpix_layer
    ra, dec, radius = 40.0, -30.0, 90.0
    response = client.get("/analysis/aperture/hp", {"ra": ra, "dec": dec, "radius": radius})
    assert response.status_code == 200, response.content
    pixels = hp.query_disc(
        nside, hp.ang2vec(ra, dec, lonlat=True), np.radians(radius / 60), nest=True
    )
    expected = values[pixels].astype(np.float64)
    body = response.json()
    assert body["mean"] == pytest.approx(expected.mean(), rel=1e-9)
    assert body["std"] == pytest.approx(expected.std(), rel=1e-6)
    assert (body["min"], body["max"]) == (expected.min(), expected.max())


def test_aperture_where_the_partial_map_has_no_pixels_is_404(client, healpix_layer):
    response = client.get("/analysis/aperture/hp", {"ra": 40, "dec": 45, "radius": 30})
    assert response.status_code == 404
    assert "detail" in response.json()
