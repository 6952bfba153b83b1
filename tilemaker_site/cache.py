"""A memcached cache backend with one pooled client per process.

Django's ``PyMemcacheCache`` builds a client per thread and closes it when
each request finishes. Under ASGI every sync request runs in a thread of its
own, so each request paid a TCP connect, and a hung memcached cost every
request a full timeout because no client lived long enough to remember the
failure. Here all threads share one thread-safe ``HashClient`` with a
connection pool; a server that fails is skipped for ``dead_timeout``
seconds (reads fall through to disk), then tried again.
"""

import threading

from django.core.cache.backends.memcached import PyMemcacheCache
from django.utils.functional import cached_property
from pymemcache.client.hash import HashClient

_clients: dict[tuple, HashClient] = {}
_clients_lock = threading.Lock()


class LockedHashClient(HashClient):
    """A ``HashClient`` whose dead-server bookkeeping survives many threads.

    pymemcache updates its failed/dead server tables without a lock, so when
    memcached dies under load several threads remove the same server at once
    and all but the first raise (``No such node ... to remove``), which
    ``ignore_exc`` does not cover.
    """

    def __init__(self, *args, **kwargs):
        self._membership_lock = threading.RLock()
        super().__init__(*args, **kwargs)

    def _mark_failed_server(self, server):
        with self._membership_lock:
            if server not in self._dead_clients:
                super()._mark_failed_server(server)

    def remove_server(self, server, port=None):
        address = server if port is None else (server, port)
        with self._membership_lock:
            if address in self._dead_clients:
                return
            self._failed_clients.setdefault(address, {"failed_time": 0.0, "attempts": 0})
            super().remove_server(address)

    def _retry_dead(self):
        with self._membership_lock:
            super()._retry_dead()


class SharedPyMemcacheCache(PyMemcacheCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = LockedHashClient

    @cached_property
    def _cache(self):
        key = (tuple(self.client_servers), tuple(sorted(self._options.items(), key=str)))
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                client = self._class(self.client_servers, **self._options)
                _clients[key] = client
            return client

    def close(self, **kwargs):
        # Called at the end of every request; the shared pool stays open.
        pass


def memcached_cache(
    location: str, *, timeout_seconds: float, pool_size: int, retry_seconds: float
) -> dict:
    """The ``CACHES["default"]`` entry for a memcached at ``location`` ("host:port")."""
    return {
        "BACKEND": "tilemaker_site.cache.SharedPyMemcacheCache",
        "LOCATION": location,
        "TIMEOUT": None,
        "OPTIONS": {
            # A dead or hung memcached must degrade to reading from disk,
            # never to a 5xx or a request stuck for seconds.
            "ignore_exc": True,
            "connect_timeout": timeout_seconds,
            "timeout": timeout_seconds,
            "use_pooling": True,
            "max_pool_size": pool_size,
            "no_delay": True,
            # One failure marks the server dead for a few seconds: a hung
            # memcached then costs one timeout, not one per request.
            "retry_attempts": 0,
            "dead_timeout": retry_seconds,
        },
    }
