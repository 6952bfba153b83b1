"""A K_CMB HEALPix file opened as Planck users expect: shown in uK, every value scaled alike.

The file goes through ``config_for_files`` and ``import_config`` (what
``tilemaker open`` runs); the expected values are healpy's lookups of the map
written, times 1e6, computed here independently of the engine.
"""

import io

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from django.core.cache import cache

from maps.importers import import_config
from maps.models import Layer
from maps.scanning import config_for_files
from tests.maps.conftest import counts
from tests.maps.test_data_tiles import decode
from tests.maps.test_healpix_api import (
    LEVELS,
    NSIDE,
    TILE_SIZE,
    healpix_layer,
    lookup,
    sky_map,
    tile_centres,
    write_healpix,
)
from tests.maps.test_import_errors import LAYER0, problems_for
from tests.support.configs import config_with_layers, write_json

pytestmark = pytest.mark.django_db

MICROKELVIN_PER_KELVIN = np.float32(1e6)


@pytest.fixture
def planck_layer(tmp_path):
    """The I_STOKES layer of a Planck-named K_CMB file (values: ``sky_map()`` in K)."""
    cache.clear()
    path = write_healpix(
        tmp_path / "HFI_SkyMap_143_2048_R3.01_full.fits",
        [sky_map(), -sky_map()],
        column_names=["I_STOKES", "II_COV"],
        column_units=["K_CMB", "K_CMB^2"],
    )
    config, problems = config_for_files([path])
    assert problems == []
    import_config(write_json(tmp_path / "c.json", config))
    layer = Layer.objects.get(provider__field="I_STOKES")
    assert (layer.tile_size, layer.number_of_levels) == (TILE_SIZE, LEVELS)
    yield layer
    cache.clear()


def test_k_cmb_file_is_opened_in_microkelvin(planck_layer):
    assert planck_layer.units == "uK"
    assert (planck_layer.vmin, planck_layer.vmax) == (-500.0, 500.0)
    assert planck_layer.provider["scale"] == 1e6
    covariance = Layer.objects.get(provider__field="II_COV")
    assert (covariance.units, covariance.provider["scale"]) == ("uK^2", 1e12)


@pytest.mark.parametrize(("level", "y", "x"), [(1, 1, 2), (0, 0, 1)])
def test_tiles_are_the_healpix_values_times_1e6(client, planck_layer, level, y, x):
    response = client.get(f"/layers/{planck_layer.layer_id}/{level}/{y}/{x}/data.f32")
    assert response.status_code == 200, response.content
    got = decode(response.content, (TILE_SIZE, TILE_SIZE))
    expected = lookup(*tile_centres(level, x, y)) * MICROKELVIN_PER_KELVIN
    np.testing.assert_array_equal(got, expected)


def test_limits_are_in_microkelvin(client, planck_layer):
    limits = client.get(f"/layers/{planck_layer.layer_id}/limits", {"method": "minmax"})
    assert limits.status_code == 200, limits.content
    assert limits.json()["vmax"] == float(np.float32(11.5) * MICROKELVIN_PER_KELVIN)


def test_cutout_values_and_bunit_are_in_microkelvin(client, planck_layer):
    response = client.get(f"/layers/{planck_layer.layer_id}/submap/40/10/20/-15/image.fits")
    assert response.status_code == 200, response.content
    with fits.open(io.BytesIO(response.content)) as hdus:
        header, data = hdus[0].header, hdus[0].data.astype(np.float32)
    rows, columns = np.mgrid[: data.shape[0], : data.shape[1]]
    ra, dec = WCS(header).pixel_to_world_values(columns, rows)
    np.testing.assert_array_equal(data, lookup(ra, dec) * MICROKELVIN_PER_KELVIN)
    assert header["BUNIT"] == "uK"
    assert (header["HPXSCALE"], header["HPXUNIT"]) == (1e6, "K_CMB")


def test_aperture_mean_is_in_microkelvin(client, planck_layer):
    ra, dec, radius_arcmin = 40.0, -30.0, 300.0
    response = client.get(
        f"/analysis/aperture/{planck_layer.layer_id}",
        {"ra": ra, "dec": dec, "radius": radius_arcmin},
    )
    assert response.status_code == 200, response.content
    pixels = hp.query_disc(NSIDE, hp.ang2vec(ra, dec, lonlat=True), np.radians(radius_arcmin / 60))
    expected = (sky_map()[pixels] * MICROKELVIN_PER_KELVIN).astype(np.float64)
    body = response.json()
    assert body["mean"] == pytest.approx(expected.mean(), rel=1e-9)
    assert (body["min"], body["max"]) == (expected.min(), expected.max())


@pytest.mark.parametrize(
    ("scale", "found"),
    [(0, "the number 0"), ("1e6", "the string '1e6'"), (True, "a boolean"), (None, None)],
)
def test_a_bad_scale_is_refused_in_one_line(tmp_path, scale, found):
    path = write_healpix(tmp_path / "m.fits", [sky_map()], column_names=["I"])
    entry = healpix_layer(path, scale=scale)
    config = write_json(tmp_path / "c.json", config_with_layers(entry))
    if found is None:
        # null is the default, 1: accepted, and not stored.
        import_config(config)
        assert Layer.objects.get(layer_id="hp").provider == {
            "provider_type": "healpix",
            "filename": path,
            "hdu": 1,
            "field": 0,
        }
        return
    before = counts()
    assert problems_for(config) == [
        f"{config}: {LAYER0} (layer_id 'hp'): provider.scale: "
        f"expected a finite non-zero number, found {found}"
    ]
    assert counts() == before


def test_the_first_coarse_tile_waits_for_the_pyramid_outside_the_render_slot(
    client, tmp_path, monkeypatch
):
    """NSIDE 512: level 0 reads the map downgraded 8 times, from the pyramid."""
    from maps import render_limits
    from maps.tiles import pixel_source

    cache.clear()
    nside = 512
    theta, _ = hp.pix2ang(nside, np.arange(12 * nside**2))
    path = write_healpix(tmp_path / "m.fits", np.cos(theta).astype(np.float32))
    import_config(write_json(tmp_path / "c.json", config_with_layers(healpix_layer(path))))
    source = pixel_source(Layer.objects.get(layer_id="hp"))
    assert not source.overview_ready
    slots = []
    real_wait = type(source).wait_for_overview

    def wait_for_overview(self, *, level):
        slots.append(render_limits.render_gate.get()._value)
        return real_wait(self, level=level)

    monkeypatch.setattr(type(source), "wait_for_overview", wait_for_overview)
    response = client.get("/layers/hp/0/0/1/data.f32")
    assert response.status_code == 200, response.content
    assert source.overview_ready
    assert slots == [render_limits.render_gate.get()._value]  # no slot held while waiting
    cache.clear()
