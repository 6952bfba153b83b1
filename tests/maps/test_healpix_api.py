"""HEALPix layers through the HTTP API, imported from a config, against healpy lookups.

The map is synthesised here with healpy; the expected value at a sky position
is ``map[healpy.ang2pix(...)]``, the positions coming from the SPEC tile grid
or from a cut-out's own WCS, never from the engine.
"""

import io
import warnings

import healpy as hp
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from django.core.cache import cache
from PIL import Image

from maps.engine.colormap import N_COLOURS, lookup_table
from maps.engine.healpix_source import HealpixSource
from maps.importers import import_config
from maps.models import Layer
from tests.maps.conftest import counts
from tests.maps.test_data_tiles import decode
from tests.maps.test_import_errors import LAYER0, problems_for
from tests.support.configs import config_with_layers, write_json

pytestmark = pytest.mark.django_db

# 55 arcmin pixels: tiles of 256 px, levels 0 (0.70 deg pixels) and 1 (0.35 deg),
# both native (the pixel under each tile pixel centre).
NSIDE = 64
TILE_SIZE, LEVELS = 256, 2
VMIN, VMAX = -12.0, 12.0
CMAP = "viridis"
POINT_SOURCES = (5, 20000, 12 * NSIDE**2 - 7)


def sky_map() -> np.ndarray:
    """RING values: a known function of position, plus point sources at known pixels."""
    theta, phi = hp.pix2ang(NSIDE, np.arange(12 * NSIDE**2))
    values = (np.cos(theta) * 10 + np.sin(3 * phi)).astype(np.float32)
    values[list(POINT_SOURCES)] = 11.5
    return values


def lookup(ra_deg, dec_deg) -> np.ndarray:
    return sky_map()[hp.ang2pix(NSIDE, ra_deg, dec_deg, lonlat=True)]


def tile_centres(level, x, y):
    """Tile pixel centres from SPEC section 5: row 0 north, RA increasing to the right."""
    size_deg = 180.0 / 2**level
    centres = (np.arange(TILE_SIZE) + 0.5) / TILE_SIZE * size_deg
    return np.meshgrid(-180.0 + x * size_deg + centres, -90.0 + (y + 1) * size_deg - centres)


def write_healpix(path, maps, **kwargs) -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hp.write_map(str(path), maps, overwrite=True, dtype=np.float32, **kwargs)
    return str(path)


def healpix_layer(filename, **provider) -> dict:
    return {
        "layer_id": "hp",
        "name": "Planck-like",
        "provider": {"provider_type": "healpix", "filename": filename, **provider},
        "vmin": VMIN,
        "vmax": VMAX,
        "cmap": CMAP,
        "units": "uK",
    }


@pytest.fixture
def hp_layer(tmp_path):
    cache.clear()
    path = write_healpix(tmp_path / "iq.fits", [sky_map(), -sky_map()], column_names=["I", "Q"])
    config = config_with_layers(healpix_layer(path, field="I"))
    import_config(write_json(tmp_path / "c.json", config))
    layer = Layer.objects.get(layer_id="hp")
    assert (layer.tile_size, layer.number_of_levels) == (TILE_SIZE, LEVELS)
    yield layer
    cache.clear()


TILES = [(1, 0, 0), (1, 1, 2), (1, 1, 3), (0, 0, 0), (0, 0, 1)]


@pytest.mark.parametrize(("level", "y", "x"), TILES)
def test_data_tile_values_are_the_healpix_pixel_under_each_centre(client, hp_layer, level, y, x):
    response = client.get(f"/layers/hp/{level}/{y}/{x}/data.f32")
    assert response.status_code == 200, response.content
    assert response["X-Tile-Shape"] == f"{TILE_SIZE},{TILE_SIZE}"
    got = decode(response.content, (TILE_SIZE, TILE_SIZE))
    np.testing.assert_array_equal(got, lookup(*tile_centres(level, x, y)))


def colour_indices(values: np.ndarray) -> np.ndarray:
    """Colour table index of each value; -1 within 1e-3 colour steps of a boundary."""
    steps = (values.astype(np.float64) - VMIN) / (VMAX - VMIN) * N_COLOURS
    indices = np.clip(np.floor(steps), 0, N_COLOURS - 1).astype(int)
    near = (steps > 0) & (steps < N_COLOURS) & (np.abs(steps - np.round(steps)) < 1e-3)
    return np.where(near, -1, indices)


@pytest.mark.parametrize(("level", "y", "x"), TILES)
def test_png_tile_has_the_colour_of_the_healpix_pixel_under_each_centre(
    client, hp_layer, level, y, x
):
    response = client.get(f"/layers/hp/{level}/{y}/{x}/tile.png")
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png"
    image = np.array(Image.open(io.BytesIO(response.content)).convert("RGBA"))
    assert image.shape == (TILE_SIZE, TILE_SIZE, 4)
    indices = colour_indices(lookup(*tile_centres(level, x, y)))
    checked = indices >= 0
    assert checked.mean() > 0.99
    np.testing.assert_array_equal(image[checked], lookup_table(CMAP)[indices[checked]])


def test_a_repeated_tile_comes_from_the_tile_cache(client, hp_layer, monkeypatch):
    first = client.get("/layers/hp/1/1/2/data.f32")
    assert first.status_code == 200

    def no_engine(*args, **kwargs):
        raise AssertionError("the engine was asked for a cached tile")

    monkeypatch.setattr(HealpixSource, "tile", no_engine)
    again = client.get("/layers/hp/1/1/2/data.f32")
    assert again.status_code == 200
    assert again.content == first.content


def virtual_plane_values() -> np.ndarray:
    """The lookup at every pixel centre of the layer's full-sky CAR plane (RA decreasing
    to the right): 1024 x 512 pixels, under the histogram's sample size, so all of them."""
    ny = TILE_SIZE * 2 ** (LEVELS - 1)
    scale_deg = 180.0 / ny
    ra = -(np.arange(2 * ny) + 0.5 - ny) * scale_deg
    dec = (np.arange(ny) + 0.5 - ny / 2) * scale_deg
    return lookup(*np.meshgrid(ra, dec)).ravel()


def test_histogram_and_limits_describe_the_healpix_values(client, hp_layer):
    values = virtual_plane_values()
    limits = client.get("/layers/hp/limits", {"method": "minmax"})
    assert limits.status_code == 200, limits.content
    assert limits.json() == {
        "layer_id": "hp",
        "method": "minmax",
        "vmin": float(values.min()),
        "vmax": float(values.max()),
    }
    assert limits.json()["vmax"] == 11.5
    percentiles = client.get("/layers/hp/limits", {"percent": "90"}).json()
    assert [percentiles["vmin"], percentiles["vmax"]] == np.percentile(values, [5, 95]).tolist()
    response = client.get("/histograms/data/hp")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["vmin"], body["vmax"]) == (VMIN, VMAX)
    assert body["histogram"] == np.histogram(values, bins=np.array(body["edges"]))[0].tolist()
    assert sum(body["histogram"]) == values.size


def test_cutout_is_a_car_fits_whose_pixels_are_the_healpix_pixel_under_their_centre(
    client, hp_layer
):
    response = client.get("/layers/hp/submap/40/10/20/-15/image.fits")
    assert response.status_code == 200, response.content
    with fits.open(io.BytesIO(response.content)) as hdus:
        header, data = hdus[0].header, hdus[0].data.astype(np.float32)
    wcs = WCS(header)
    assert wcs.wcs.ctype[0] == "RA---CAR"
    rows, columns = np.mgrid[: data.shape[0], : data.shape[1]]
    ra, dec = wcs.pixel_to_world_values(columns, rows)
    assert ra.min() > 9.0
    assert ra.max() < 41.0
    assert dec.min() > -16.0
    assert dec.max() < 21.0
    np.testing.assert_array_equal(data, lookup(ra, dec))
    assert header["HPXNSIDE"] == NSIDE
    assert header["HPXCOL"] == "I"
    assert header["HPXFILE"] == "iq.fits"
    assert "Resampled from a HEALPix equatorial map" in str(header["HISTORY"])


def broken_file(tmp_path, name, change) -> str:
    path = write_healpix(tmp_path / "good.fits", [sky_map(), sky_map()], column_names=["I", "Q"])
    with fits.open(path) as hdus:
        change(hdus[1].header)
        hdus.writeto(tmp_path / name)
    return str(tmp_path / name)


def set_key(key, value):
    return lambda header: header.set(key, value)


def delete_key(key):
    return lambda header: header.remove(key)


@pytest.mark.parametrize(
    ("change", "provider", "field", "message"),
    [
        (None, {"field": 2}, "field", "field 2 is outside 0..1 (columns: I, Q)"),
        (None, {"field": "U"}, "field", "no column 'U' (columns: I, Q)"),
        (
            None,
            {"hdu": 0},
            "hdu",
            "HDU 0 is not a HEALPix map (no binary table with PIXTYPE = 'HEALPIX')",
        ),
        (
            delete_key("PIXTYPE"),
            {},
            "hdu",
            "HDU 1 is not a HEALPix map (no binary table with PIXTYPE = 'HEALPIX')",
        ),
        (set_key("NSIDE", 48), {}, "hdu", "NSIDE = 48 is not a power of two"),
        (
            set_key("NSIDE", 128),
            {},
            "hdu",
            "48 rows x 1024 pixels = 49152 pixels, but NSIDE = 128 needs 12 NSIDE^2 = 196608",
        ),
        (delete_key("ORDERING"), {}, "hdu", "ORDERING is missing (RING or NESTED)"),
    ],
)
def test_a_bad_healpix_provider_is_one_line_naming_file_entry_and_field(
    tmp_path, change, provider, field, message
):
    path = (
        broken_file(tmp_path, "bad.fits", change)
        if change
        else write_healpix(tmp_path / "m.fits", [sky_map(), sky_map()], column_names=["I", "Q"])
    )
    before = counts()
    config = write_json(tmp_path / "c.json", config_with_layers(healpix_layer(path, **provider)))
    assert problems_for(config) == [
        f"{config}: {LAYER0} (layer_id 'hp'): provider.{field}: {path}: {message}"
    ]
    assert counts() == before
