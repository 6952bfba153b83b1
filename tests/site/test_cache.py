"""The shared memcached client: one per process, and safe when memcached dies under load."""

import gc
import threading
import time
import warnings

import pytest
from django.core.cache.backends.memcached import PyMemcacheCache

from tests.support.memcached import start_memcached
from tilemaker_site.cache import SharedPyMemcacheCache, memcached_cache

pytestmark = pytest.mark.services


@pytest.fixture
def memcached():
    server = start_memcached(item_size_mb=16, memory_mb=256)
    yield server.process, server.location
    server.stop()


def backend(location: str, *, retry_seconds: float = 5.0) -> SharedPyMemcacheCache:
    entry = memcached_cache(location, timeout_seconds=0.5, pool_size=4, retry_seconds=retry_seconds)
    return SharedPyMemcacheCache(location, entry)


def test_request_threads_share_one_client_that_survives_close(memcached):
    _, location = memcached
    first, second = backend(location), backend(location)
    first.set("tm:test", b"tile")
    first.close()
    assert second.get("tm:test") == b"tile"
    assert first._cache is second._cache
    # Django's own backend gives every thread a client of its own.
    options = memcached_cache(location, timeout_seconds=0.5, pool_size=4, retry_seconds=5.0)
    assert PyMemcacheCache(location, options)._cache is not first._cache


def test_memcached_killed_under_load_raises_nothing(memcached):
    process, location = memcached
    cache = backend(location, retry_seconds=1.0)
    errors: list[Exception] = []
    stop_at = time.monotonic() + 2.5

    def hammer(worker: int) -> None:
        n = 0
        while time.monotonic() < stop_at:
            try:
                cache.set(f"tm:{worker}:{n % 10}", b"x" * 1000)
                cache.get(f"tm:{worker}:{n % 10}")
                cache.get_many([f"tm:{worker}:1", f"tm:{worker}:2"])
            except Exception as error:  # every kind counts: none may escape
                errors.append(error)
            n += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    time.sleep(0.8)
    process.kill()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.get("tm:0:1") is None
    # pymemcache drops the sockets of a dead server without closing them;
    # collect them here rather than in some later test's teardown.
    cache._cache.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
