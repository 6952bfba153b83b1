"""Fair use: the expensive endpoints' rate limits, counted in a real memcached.

Each test's clients share one memcached as daphne workers do; the clock is
the throttle's own, replaced, so a window ends without waiting.
"""

import ipaddress
import logging

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from tests.support.memcached import start_memcached
from tilemaker_site import rate_limits
from tilemaker_site.accounts.models import ApiToken
from tilemaker_site.cache import memcached_cache
from tilemaker_site.env import env_networks, env_rate

pytestmark = [pytest.mark.django_db, pytest.mark.services]

User = get_user_model()

LAYER = "coadd-f090-i"
HISTOGRAM = f"/histograms/data/{LAYER}"
TILE = f"/layers/{LAYER}/0/0/0/tile.png"
# A minute-aligned start 10 s into its window: Retry-After is then 50.
START = 60.0 * 29_000_000 + 10.0
REFUSED = {"detail": "Request was throttled. Expected available in 50 seconds."}


@pytest.fixture
def clock(monkeypatch):
    now = [START]
    monkeypatch.setattr(rate_limits.ExpensiveRateThrottle, "timer", staticmethod(lambda: now[0]))
    return now


@pytest.fixture
def shared_cache(settings, catalogue, clock):
    server = start_memcached()
    settings.CACHES = {
        "default": memcached_cache(
            server.location, timeout_seconds=0.5, pool_size=4, retry_seconds=5.0
        )
    }
    settings.RATE_LIMIT_EXPENSIVE = (3, 60)
    settings.RATE_LIMIT_EXPENSIVE_ANON = (2, 60)
    settings.TRUSTED_PROXIES = []
    yield server
    server.stop()


def statuses(client: Client, count: int, url: str = HISTOGRAM, **extra) -> list[int]:
    return [client.get(url, **extra).status_code for _ in range(count)]


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_an_anonymous_address_over_its_limit_gets_429_with_retry_after(shared_cache):
    first, second = Client(REMOTE_ADDR="198.51.100.1"), Client(REMOTE_ADDR="198.51.100.1")
    assert statuses(first, 1) + statuses(second, 1) == [200, 200]
    refused = second.get(HISTOGRAM)
    assert refused.status_code == 429
    assert refused.json() == REFUSED
    assert refused["Retry-After"] == "50"
    # Every expensive endpoint shares the count; tiles are not counted at all.
    aperture = f"/analysis/aperture/{LAYER}?ra=5&dec=0&radius=10"
    assert statuses(first, 1, aperture) == [429]
    assert statuses(first, 1, f"/layers/{LAYER}/submap/5/-5/5/-5/image.fits") == [429]
    assert statuses(first, 1, f"/layers/{LAYER}/limits") == [429]
    assert statuses(first, 1, f"/derived/diff/{LAYER}/{LAYER}/histogram") == [429]
    region = {"layer_id": LAYER, "region": "circle(5,0,0.1)"}
    for url in ("/regions/stats", "/regions/cutout"):
        assert first.post(url, region, content_type="application/json").status_code == 429
    assert statuses(first, 5, TILE) == [200] * 5
    # Another address has its own count.
    assert statuses(Client(REMOTE_ADDR="198.51.100.2"), 3) == [200, 200, 429]


def test_the_count_starts_again_with_the_next_window(shared_cache, clock):
    client = Client(REMOTE_ADDR="198.51.100.3")
    assert statuses(client, 3) == [200, 200, 429]
    clock[0] += 50.0
    assert statuses(client, 3) == [200, 200, 429]


def test_tokens_and_session_of_one_user_share_a_count_other_users_do_not(shared_cache):
    alice, bob = User.objects.create_user("alice"), User.objects.create_user("bob")
    _row, first = ApiToken.issue(alice, "laptop")
    _row, second = ApiToken.issue(alice, "cluster")
    _row, bobs = ApiToken.issue(bob, "notebook")
    # The signed-in limit (3), not the anonymous one (2), and per user, not per address.
    assert statuses(bearer(first), 2) + statuses(bearer(second), 1) == [200, 200, 200]
    assert statuses(bearer(second), 1) == [429]
    session = Client()
    session.force_login(alice)
    assert statuses(session, 1) == [429]
    assert statuses(bearer(bobs), 4) == [200, 200, 200, 429]
    assert statuses(Client(), 2) == [200, 200]


def test_forwarded_for_from_an_untrusted_peer_is_ignored(shared_cache):
    client = Client(REMOTE_ADDR="198.51.100.4")
    spoofed = [
        client.get(HISTOGRAM, HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code for i in range(3)
    ]
    assert spoofed == [200, 200, 429]


def test_behind_a_trusted_proxy_the_rightmost_untrusted_forwarded_address_counts(
    shared_cache, settings
):
    settings.TRUSTED_PROXIES = [ipaddress.ip_network("127.0.0.1")]
    proxy = Client(REMOTE_ADDR="127.0.0.1")

    def through_proxy(forwarded_for: str) -> int:
        return proxy.get(HISTOGRAM, HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    # What the client wrote left of the address nginx appended changes nothing.
    assert [through_proxy(f"10.0.0.{i}, 203.0.113.7") for i in range(3)] == [200, 200, 429]
    # A second trusted hop is skipped; another client behind the proxy has its own count.
    assert [through_proxy("203.0.113.8, 127.0.0.1") for _ in range(3)] == [200, 200, 429]
    # The proxy's own requests (no header) count as the proxy's address.
    assert statuses(proxy, 3) == [200, 200, 429]


def test_a_cache_that_does_not_answer_lets_requests_through_and_logs_once(
    shared_cache, monkeypatch, caplog
):
    monkeypatch.setattr(rate_limits, "_cache_failing", False)
    logger = logging.getLogger("tilemaker.rate_limits")
    logger.addHandler(caplog.handler)
    try:
        shared_cache.kill()
        assert statuses(Client(REMOTE_ADDR="198.51.100.5"), 4) == [200] * 4
    finally:
        logger.removeHandler(caplog.handler)
    warnings = [r for r in caplog.records if r.name == "tilemaker.rate_limits"]
    assert len(warnings) == 1
    assert warnings[0].getMessage().startswith("rate limits off until the cache answers again")


def test_limits_switched_off_never_refuse(shared_cache, settings):
    settings.RATE_LIMIT_EXPENSIVE_ANON = None
    assert statuses(Client(REMOTE_ADDR="198.51.100.6"), 4) == [200] * 4


@pytest.mark.parametrize(
    ("value", "expected"),
    [("60/minute", (60, 60)), ("5/Second", (5, 1)), ("1000/day", (1000, 86400)), ("off", None)],
)
def test_rate_settings_read(monkeypatch, value, expected):
    monkeypatch.setenv("TILEMAKER_RATE_LIMIT_EXPENSIVE", value)
    assert env_rate("RATE_LIMIT_EXPENSIVE", "off") == expected


@pytest.mark.parametrize("value", ["60", "0/minute", "ten/minute", "5/fortnight"])
def test_malformed_rate_settings_stop_the_start(monkeypatch, value):
    monkeypatch.setenv("TILEMAKER_RATE_LIMIT_EXPENSIVE", value)
    with pytest.raises(ImproperlyConfigured, match="TILEMAKER_RATE_LIMIT_EXPENSIVE"):
        env_rate("RATE_LIMIT_EXPENSIVE", "off")


def test_trusted_proxies_read_addresses_and_networks(monkeypatch):
    monkeypatch.setenv("TILEMAKER_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8,::1")
    assert [str(n) for n in env_networks("TRUSTED_PROXIES")] == [
        "127.0.0.1/32",
        "10.0.0.0/8",
        "::1/128",
    ]
    monkeypatch.setenv("TILEMAKER_TRUSTED_PROXIES", "nginx")
    with pytest.raises(ImproperlyConfigured, match="TILEMAKER_TRUSTED_PROXIES"):
        env_networks("TRUSTED_PROXIES")
