"""The tile cache: chunked float tiles in a real memcached, keys, outages, the render gate,
pre-caching.

Cache hits are proven by making the engine unusable after the first request:
a second answer that still succeeds (and has the right pixels) came from
the cache.
"""

import io
import os
import re
import signal
import threading
import time
import warnings
from contextlib import contextmanager

import numpy as np
import pymemcache
import pytest
from django.core.cache import cache
from django.core.cache.backends.memcached import PyMemcacheCache
from django.test import override_settings
from PIL import Image

from maps import render_limits, tile_store, tiles
from maps.engine import TileIndex
from maps.engine.sources import PixelSource
from maps.models import Layer
from tests.support.fits import write_big_map
from tests.support.image_layers import MEMCACHED_RETRY_SECONDS, make_layer

pytestmark = pytest.mark.django_db

# 0.5 arcmin pixels as ACT: 675-pixel tiles, 6 levels; a 700 x 700 map at RA 5..-0.8, Dec 0..5.8.
BIG_TILE_INDEX = TileIndex(level=5, x=32, y=16)
BIG_TILE = "/layers/big/5/16/32/tile.png"
BIG_TILE_BYTES = 675 * 675 * 4
MEMCACHED_ITEM_LIMIT = 1024 * 1024


@pytest.fixture
def big_layer(db, tmp_path):
    layer = make_layer("big", write_big_map(tmp_path / "big.fits"))
    assert (layer.tile_size, layer.number_of_levels) == (675, 6)
    return layer


@pytest.fixture
def with_memcached(memcached_server):
    with override_settings(CACHES=memcached_server.caches_setting()):
        yield memcached_server
        cache.close()


@pytest.fixture
def engine_off(monkeypatch):
    """Call to make every engine read fail from then on."""

    def disable():
        def refuse(*args, **kwargs):
            raise AssertionError("the engine was asked although the answer was cached")

        monkeypatch.setattr(PixelSource, "tile", refuse)
        monkeypatch.setattr(PixelSource, "histogram_sample", refuse)

    return disable


@contextmanager
def raw_client(server):
    """A plain pymemcache client, with the prefix Django's default key function adds."""
    client = pymemcache.Client(
        ("127.0.0.1", server.port), connect_timeout=1, timeout=1, key_prefix=b":1:"
    )
    try:
        yield client
    finally:
        client.close()


def get_in_new_thread(client, url, **query):
    """A request on a fresh thread, as daphne runs each sync request (own cache clients)."""
    answer = {}
    worker = threading.Thread(target=lambda: answer.update(response=client.get(url, query)))
    worker.start()
    worker.join()
    return answer["response"]


def data_key(layer_id, index=BIG_TILE_INDEX, method="mean"):
    layer = Layer.objects.get(layer_id=layer_id)
    return tiles.tile_data_key(layer, tiles.pixel_source(layer), index, method)


def decode(response) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(response.content)).convert("RGBA"))


# --- memcached ---------------------------------------------------------------------


@pytest.mark.services
def test_float_tiles_are_split_under_the_item_limit_and_shared(
    client, big_layer, with_memcached, engine_off
):
    first = client.get(BIG_TILE)
    assert first.status_code == 200
    key = data_key("big")
    with raw_client(with_memcached) as raw:
        chunks = [raw.get(f"{key}:{i}") for i in range(3)]
    assert chunks[2] is None
    assert all(chunk is not None and len(chunk) < MEMCACHED_ITEM_LIMIT for chunk in chunks[:2])
    assert len(chunks[0]) + len(chunks[1]) == BIG_TILE_BYTES + 8
    # A second, independent Django cache client (another worker) sees the same entries.
    options = with_memcached.caches_setting()["default"]
    other = PyMemcacheCache(options["LOCATION"], options)
    assert other.get_many([f"{key}:0", f"{key}:1"]) == {
        f"{key}:0": chunks[0],
        f"{key}:1": chunks[1],
    }
    other.close()

    engine_off()
    recoloured = client.get(BIG_TILE, {"vmin": "-140", "vmax": "140"})
    assert recoloured.status_code == 200
    assert not np.array_equal(decode(recoloured), decode(first))
    assert client.get(BIG_TILE).content == first.content


@pytest.mark.services
def test_same_pixels_with_memcached_and_in_process_cache(client, big_layer, with_memcached):
    via_memcached = client.get(BIG_TILE, {"vmin": "-50", "vmax": "80"}).content
    recoloured = client.get(BIG_TILE, {"vmin": "-60", "vmax": "80"}).content
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    ):
        assert client.get(BIG_TILE, {"vmin": "-50", "vmax": "80"}).content == via_memcached
        assert client.get(BIG_TILE, {"vmin": "-60", "vmax": "80"}).content == recoloured


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_killed_memcached_means_serving_from_disk(client, big_layer, with_memcached):
    before = client.get(BIG_TILE).content
    with_memcached.process.kill()
    with_memcached.process.wait(timeout=10)
    for url in (BIG_TILE, "/layers/big/5/16/31/tile.png", "/histograms/data/big", BIG_TILE):
        started = time.monotonic()
        response = get_in_new_thread(client, url)
        assert response.status_code == 200
        assert time.monotonic() - started < 2.0
    assert client.get(BIG_TILE).content == before


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_hung_memcached_costs_at_most_one_timeout_per_request(client, big_layer, with_memcached):
    before = client.get(BIG_TILE).content
    with_memcached.process.send_signal(signal.SIGSTOP)
    try:
        durations = []
        for url in (BIG_TILE, "/layers/big/5/16/31/tile.png", "/histograms/data/big", BIG_TILE):
            started = time.monotonic()
            response = get_in_new_thread(client, url)
            assert response.status_code == 200
            durations.append(time.monotonic() - started)
        assert response.content == before
        # The client's timeout is 0.5 s: the first request pays it once, and the
        # shared client then skips memcached instead of every request waiting.
        assert durations[0] < 1.5
        assert sum(durations[1:]) < 1.0
    finally:
        with_memcached.process.send_signal(signal.SIGCONT)
    # Back to normal once memcached runs again and the pause after the
    # failure is over: a new tile is stored.
    time.sleep(MEMCACHED_RETRY_SECONDS + 0.5)
    assert get_in_new_thread(client, BIG_TILE, method="stride").status_code == 200
    with raw_client(with_memcached) as raw:
        assert raw.get(f"{data_key('big', method='stride')}:0") is not None


@pytest.mark.services
def test_grants_are_checked_before_memcached(client, restricted_layer, with_memcached):
    url = "/layers/img-secret-layer/1/0/2/tile.png"
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        assert client.get(url).status_code == 200
    hidden = client.get(url)
    assert hidden.status_code == 404
    assert hidden.json() == {"detail": "No layer with that id."}


# --- Keys --------------------------------------------------------------------------

WEIRD = ["a b", "ü-layer", "x\x00y", "tile\r\nset x 0 0 1", "k" * 5000, "", "%s", "tm:tile:"]


@pytest.mark.services
def test_cache_keys_are_valid_memcached_keys_for_any_input(with_memcached):
    keys = {tile_store.cache_key("tile", weird, 1, 2.5, None, True) for weird in WEIRD}
    assert len(keys) == len(WEIRD)
    with raw_client(with_memcached) as raw:
        for key in keys:
            assert re.fullmatch(r"tm:tile:[0-9a-f]{64}", key)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                cache.set(key, b"v")
            assert raw.get(key) == b"v"


@pytest.mark.parametrize(
    "changed",
    [
        ("tile", "layer-b", 5, 32, 16, "mean"),
        ("tile", "layer-a", 4, 32, 16, "mean"),
        ("tile", "layer-a", 5, 16, 32, "mean"),
        ("tile", "layer-a", 5, 32, 16, "stride"),
        ("image", "layer-a", 5, 32, 16, "mean"),
    ],
)
def test_every_input_changes_the_key(changed):
    assert tile_store.cache_key("tile", "layer-a", 5, 32, 16, "mean") != tile_store.cache_key(
        *changed
    )


def test_rewritten_file_is_never_served_stale(client, tmp_path, db):
    path = write_big_map(tmp_path / "changing.fits")
    make_layer("changing", path)
    url = "/layers/changing/5/16/32/tile.png"
    before = decode(client.get(url))
    time.sleep(0.01)
    write_big_map(path, nan_box=(slice(100, 300), slice(100, 300)))
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    after = decode(client.get(url))
    assert (after[..., 3] == 0).sum() > (before[..., 3] == 0).sum() + 30000


def test_empty_tiles_are_remembered(client, big_layer, engine_off):
    empty = "/layers/big/5/16/40/tile.png"
    assert client.get(empty).status_code == 404
    engine_off()
    assert client.get(empty).status_code == 404


# --- The render gate ----------------------------------------------------------------


class SlowSource:
    """Records how many tiles are being computed at once."""

    version = "slow"

    def __init__(self):
        self.active = 0
        self.most = 0
        self.lock = threading.Lock()

    def tile(self, *, index, flip, method):
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(0.05)
        with self.lock:
            self.active -= 1
        return np.full((4, 4), float(index.x), dtype=np.float32)


def test_heavy_work_is_bounded_by_the_render_gate(db, image_layer):
    image_layer.tile_size = 4
    source = SlowSource()
    results = {}

    def fetch(x):
        results[x] = tiles.tile_data(image_layer, source, TileIndex(level=9, x=x, y=0), "mean")

    threads = [threading.Thread(target=fetch, args=(x,)) for x in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    limit = render_limits.render_gate.get()._initial_value
    assert source.most == min(limit, 12)
    assert sorted(results) == list(range(12))
    assert all((results[x] == x).all() for x in results)


# --- Pre-caching ---------------------------------------------------------------------


def test_precache_warms_histograms_and_level_zero_tiles(client, big_layer, engine_off):
    lines = []
    with override_settings(PRECACHE=True):
        tiles.precache_all(log=lines.append)
    assert lines[0] == "precache: 1 layer(s): overviews, histograms and level-0 tiles"
    assert re.fullmatch(r"precache: big in \d+\.\d\d s", lines[1])
    assert re.fullmatch(r"precache: done, 1 layer\(s\), 2 tile\(s\) in \d+\.\d\d s", lines[2])
    engine_off()
    assert client.get("/histograms/data/big").status_code == 200
    # Level 0: the map straddles RA 0, so both tiles hold some of it.
    assert client.get("/layers/big/0/0/0/tile.png").status_code == 200
    assert client.get("/layers/big/0/0/1/tile.png").status_code == 200


def test_precache_respects_the_setting(big_layer, engine_off):
    lines = []
    with override_settings(PRECACHE=False):
        tiles.precache_all(log=lines.append)
    assert lines == ["precache: skipped (TILEMAKER_PRECACHE=no)"]
    engine_off()
    with pytest.raises(AssertionError, match="engine was asked"):
        tiles.layer_histogram_cached(big_layer)


def test_precache_reports_unreadable_layers_and_goes_on(big_layer, tmp_path, db):
    path = write_big_map(tmp_path / "gone.fits")
    make_layer("gone", path)
    os.remove(path)
    lines = []
    tiles.precache_all(log=lines.append, force=True)
    assert any(line.startswith("precache: gone: skipped (") for line in lines)
    assert any(line.startswith("precache: big in ") for line in lines)
