"""Fixtures for the image endpoint tests: one small layer whose pixels are ``value_at``.

A pytest plugin (``pytest_plugins`` in tests/conftest.py): its fixtures reach
every test without being imported; its constants and helpers are imported.
"""

from dataclasses import dataclass

import numpy as np
import pytest
from django.core.cache import cache

from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from tests.support.memcached import Memcached
from tilemaker_site.cache import memcached_cache

# 0.25 deg pixels: the whole sky is 1440 x 720, so tiles are 360 px and there
# are two levels: 1 (native, 4 x 2 tiles) and 0 (2 x 2 means, 2 x 1 tiles).
PIXEL_SCALE_DEG = 0.25
NX, NY = 720, 360
RA_LEFT_DEG, DEC_BOTTOM_DEG = 90.0, -45.0
TILE_SIZE, LEVELS = 360, 2
VMIN, VMAX = -150.0, 150.0
CMAP = "viridis"
# Rows and columns of the map (file order) that hold NaN.
NAN_ROWS, NAN_COLS = slice(100, 140), slice(200, 260)


def make_layer(layer_id, path, *, grant=None, **display):
    group, _ = MapGroup.objects.get_or_create(map_group_id="img-group", defaults={"name": "G"})
    sky_map, _ = Map.objects.get_or_create(
        map_id="img-map", defaults={"name": "M", "map_group": group}
    )
    band, _ = Band.objects.get_or_create(band_id="img-band", defaults={"name": "B", "map": sky_map})
    fields = {
        "vmin": VMIN,
        "vmax": VMAX,
        "cmap": CMAP,
        "units": "uK",
        "provider": {"provider_type": "fits", "filename": str(path)},
        **display,
    }
    layer = Layer(layer_id=layer_id, name=layer_id, band=band, grant=grant, **fields)
    refresh_layer_geometry(layer)
    layer.save()
    return layer


@pytest.fixture
def image_map(make_car_map):
    return make_car_map(
        "image_layer.fits",
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
        nan_box=(NAN_ROWS, NAN_COLS),
    )


@pytest.fixture
def image_layer(db, image_map):
    """A public layer over ``image_map`` with vmin/vmax -150/150 and viridis."""
    cache.clear()
    layer = make_layer("img-layer", image_map)
    assert (layer.tile_size, layer.number_of_levels) == (TILE_SIZE, LEVELS)
    yield layer
    cache.clear()


@pytest.fixture
def restricted_layer(db, image_map):
    grant = Grant.objects.create(name="img-secret")
    return make_layer("img-secret-layer", image_map, grant=grant)


def map_pixel_centre(column, row):
    """RA/Dec (deg) of the centre of map pixel (column, row); CDELT1 < 0."""
    ra = RA_LEFT_DEG - (np.asarray(column) + 0.5) * PIXEL_SCALE_DEG
    dec = DEC_BOTTOM_DEG + (np.asarray(row) + 0.5) * PIXEL_SCALE_DEG
    return ra, dec


# Short, so tests can wait out the pause after a failure.
MEMCACHED_RETRY_SECONDS = 1.0


@dataclass
class MemcachedServer(Memcached):
    def caches_setting(
        self, *, timeout_seconds: float = 0.5, retry_seconds: float = MEMCACHED_RETRY_SECONDS
    ) -> dict:
        """A ``CACHES`` value as settings.py builds it for ``TILEMAKER_CACHE_TYPE=memcached``."""
        return {
            "default": memcached_cache(
                self.location,
                timeout_seconds=timeout_seconds,
                pool_size=4,
                retry_seconds=retry_seconds,
            )
        }


@pytest.fixture
def memcached_server():
    """A real memcached on loopback (default 1 MB item limit), stopped after the test."""
    with MemcachedServer(memory_mb=64).start() as server:
        yield server
