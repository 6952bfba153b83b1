"""A layer's map file rewritten, replaced or gone, through the HTTP API (issue 17, point 2).

Every cache derived from a file (memcached here, a real one, and the
process's own) is keyed by the file's version, so a replaced file never
answers with the old values; a file gone or cut short answers a JSON 503
that names the layer, and is served again once it is back.
"""

import os
import shutil
import zlib

import numpy as np
import pytest
from django.core.cache import cache
from django.test import override_settings

from maps.engine.file_identity import file_version
from tests.support.fits import write_constant_map
from tests.support.image_layers import make_layer

# RA 20 .. 0, Dec -5 .. 5 (write_constant_map): the deepest tile over RA 10, Dec 2.
UNREADABLE = {"detail": "the map file of layer live is not readable now"}


@pytest.fixture
def with_memcached(memcached_server):
    with override_settings(CACHES=memcached_server.caches_setting()):
        yield memcached_server
        cache.close()


@pytest.fixture
def live(db, tmp_path):
    path = write_constant_map(tmp_path / "live.fits", 1.0)
    layer = make_layer("live", path, vmin=0.0, vmax=4.0)
    level = layer.number_of_levels - 1
    size_deg = 180.0 / 2**level
    x, y = int((10.0 + 180.0) // size_deg), int((2.0 + 90.0) // size_deg)
    return path, f"/layers/live/{level}/{y}/{x}"


def _data_value(response) -> float:
    planes = np.frombuffer(zlib.decompress(response.content), dtype=np.uint8).reshape(4, -1)
    values = np.ascontiguousarray(planes.T).view("<f4").ravel()
    return float(np.unique(values[np.isfinite(values)])[0])


def _replace_keeping_size_and_mtime(path, value: float, tmp_path) -> None:
    """A new file renamed over ``path``: same size and mtime, another inode."""
    before = os.stat(path)
    incoming = write_constant_map(tmp_path / "incoming.fits", value)
    os.utime(incoming, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(incoming, path)


def test_a_replaced_file_is_never_served_from_memcached(client, live, tmp_path, with_memcached):
    path, tile = live
    first = client.get(f"{tile}/data.f32")
    assert _data_value(first) == 1.0
    png = client.get(f"{tile}/tile.png")
    aperture = client.get("/analysis/aperture/live", {"ra": 12, "dec": 0, "radius": 30})
    assert aperture.json()["mean"] == 1.0
    _replace_keeping_size_and_mtime(path, 2.0, tmp_path)
    again = client.get(f"{tile}/data.f32")
    assert _data_value(again) == 2.0
    assert again["ETag"] != first["ETag"]
    assert client.get(f"{tile}/tile.png").content != png.content
    aperture = client.get("/analysis/aperture/live", {"ra": 12, "dec": 0, "radius": 30})
    assert aperture.json()["mean"] == 2.0
    histogram = client.get("/histograms/data/live").json()
    peak = int(np.argmax(histogram["histogram"]))
    assert histogram["edges"][peak] <= 2.0 < histogram["edges"][peak + 1]


def test_the_layer_says_its_file_version_and_tiles_take_it_as_v(client, live, tmp_path):
    path, tile = live
    version = client.get("/layers/live").json()["file_version"]
    assert version == file_version(str(path))
    plain = client.get(f"{tile}/tile.png")
    versioned = client.get(f"{tile}/tile.png", {"v": version})
    assert (plain.status_code, versioned.status_code) == (200, 200)
    assert versioned.content == plain.content
    assert client.get(f"{tile}/data.f32", {"v": "any-string"}).status_code == 200
    _replace_keeping_size_and_mtime(path, 2.0, tmp_path)
    assert client.get("/layers/live").json()["file_version"] == file_version(str(path)) != version


@pytest.mark.parametrize("how", ["removed", "truncated"])
def test_an_unreadable_file_answers_503_naming_the_layer_and_recovers(client, live, tmp_path, how):
    path, tile = live
    assert client.get(f"{tile}/tile.png").status_code == 200
    kept = shutil.copyfile(path, tmp_path / "kept.fits")
    if how == "removed":
        os.remove(path)
    else:
        os.truncate(path, 2 * 2880)
    urls = [
        (f"{tile}/tile.png", {}),
        (f"{tile}/data.f32", {}),
        ("/histograms/data/live", {}),
        ("/analysis/aperture/live", {"ra": 12, "dec": 0, "radius": 30}),
    ]
    for url, query in urls:
        response = client.get(url, query)
        assert (response.status_code, response.json()) == (503, UNREADABLE), url
        assert response["Retry-After"] == "2"
    layer = client.get("/layers/live")
    assert layer.status_code == 200
    assert layer.json()["file_version"] == (None if how == "removed" else file_version(str(path)))
    os.replace(kept, path)
    for url, query in urls:
        assert client.get(url, query).status_code == 200, url
    assert _data_value(client.get(f"{tile}/data.f32")) == 1.0
