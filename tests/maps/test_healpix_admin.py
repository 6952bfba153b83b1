"""A HEALPix file goes through genconfig's config and import_config; the admin shows its header."""

import warnings
from html import escape

import healpy as hp
import numpy as np
import pytest

from maps.importers import import_config
from maps.models import Layer
from maps.scanning import config_for_files
from tests.maps.test_admin import change, staff  # noqa: F401 (fixture)
from tests.support.configs import config_with_layers, layer_entry, write_json
from tests.support.fits import write_car_map

pytestmark = [pytest.mark.django_db]


def test_admin_shows_nside_ordering_and_frame(tmp_path, staff):  # noqa: F811
    nside = 64
    values = np.full(12 * nside**2, hp.UNSEEN, dtype=np.float32)
    values[1000:5000] = 1.0
    path = tmp_path / "HFI_SkyMap_100_2048_R3.01_full.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(
            str(path), values, nest=True, coord="G", partial=True, column_units="K_CMB",
            dtype=np.float32,
        )  # fmt: skip
    config, problems = config_for_files([path])
    assert problems == []
    import_config(write_json(tmp_path / "config.json", config))
    layer = Layer.objects.get(provider__provider_type="healpix")
    assert (layer.stokes, layer.units, layer.band.name) == ("I", "uK", "100 GHz")  # K_CMB in uK
    content = staff.get(change(layer)).content.decode()
    assert escape("NSIDE 64, NESTED, galactic (column T, partial sky)") in content
    assert 'name="healpix"' not in content

    write_car_map(tmp_path / "car.fits", nx=40, ny=20, pixel_scale_deg=0.01)
    import_config(
        write_json(tmp_path / "car.json", config_with_layers(layer_entry("car", "car.fits")))
    )
    car_page = staff.get(change(Layer.objects.get(layer_id="car"))).content.decode()
    assert "NSIDE" not in car_page
