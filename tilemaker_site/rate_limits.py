"""Fair use: the rate limit of the expensive endpoints, decided here only.

The expensive views (cut-outs, apertures, histograms, limits, region
statistics and cut-outs) list ``ExpensiveRateThrottle``; DRF asks it after
authentication, so a refusal is DRF's 429 ``{"detail": ...}`` with an
integer ``Retry-After``, through the project's exception handler.

A signed-in caller is counted per user (``TILEMAKER_RATE_LIMIT_EXPENSIVE``):
all their tokens and their browser session share one count, as GitHub
counts its personal access tokens, so a second token does not double the
allowance. Anyone else is counted per client address
(``TILEMAKER_RATE_LIMIT_EXPENSIVE_ANON``).

The counts are fixed windows in Django's cache (memcached in production,
so every worker of every container shares them): ``add`` creates the
window's counter and ``incr`` counts, both atomic in memcached, where a
read-modify-write (DRF's own throttles keep a list of timestamps) would lose
counts between workers. A fixed window lets a burst of up to twice the limit
straddle a window's end; that is the price of one round trip per request.
A cache that does not answer lets every request through (logged once per
outage): fair use is not worth an outage.
"""

import hashlib
import ipaddress
import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

logger = logging.getLogger("tilemaker.rate_limits")

KEY_PREFIX = "ratelimit"

_cache_failing = False


def _trusted(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in settings.TRUSTED_PROXIES)


def client_address(request) -> str:
    """The caller's address: the peer, unless it is a trusted proxy.

    Behind a trusted proxy it is the right-most X-Forwarded-For entry that
    is not a trusted proxy: each proxy appends the address it was reached
    from (nginx's ``$proxy_add_x_forwarded_for``), so entries to its left
    were written by the client and prove nothing.
    """
    peer = request.META.get("REMOTE_ADDR", "")
    if not _trusted(peer):
        return peer
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop):
            return hop
    return hops[0] if hops else peer


def _count(key: str, window_seconds: int) -> int | None:
    """This window's count after this request, or None if the cache did not answer."""
    global _cache_failing
    try:
        cache.add(key, 0, timeout=window_seconds + 1)
        count = cache.incr(key)
        # The memcached client ignores errors: with the server down, incr
        # answers False (measured with pymemcache 4) rather than raising.
        if type(count) is not int:
            raise ConnectionError(f"the cache answered {count!r} to incr")
    except Exception as error:
        if not _cache_failing:
            _cache_failing = True
            logger.warning("rate limits off until the cache answers again: %s", error)
        return None
    _cache_failing = False
    return count


class ExpensiveRateThrottle(BaseThrottle):
    # The clock, replaceable so tests cross a window without waiting.
    timer = staticmethod(time.time)

    def allow_request(self, request, view) -> bool:
        if request.user.is_authenticated:
            rate = settings.RATE_LIMIT_EXPENSIVE
            identity = f"user:{request.user.pk}"
        else:
            rate = settings.RATE_LIMIT_EXPENSIVE_ANON
            identity = f"address:{client_address(request)}"
        if rate is None:
            return True
        requests, window_seconds = rate
        now = self.timer()
        window = int(now // window_seconds)
        # Hashed: an address may hold characters memcached keys may not.
        digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
        count = _count(f"{KEY_PREFIX}:expensive:{digest}:{window}", window_seconds)
        if count is None or count <= requests:
            return True
        self._wait_seconds = max(1, math.ceil((window + 1) * window_seconds - now))
        return False

    def wait(self) -> int:
        return self._wait_seconds
