"""Catalogue events through the channels-redis layer and a real redis-server on 127.0.0.1."""

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import User
from django.test import override_settings

from maps.consumers import CLOSE_LAYER_UNAVAILABLE
from maps.models import Layer
from tests.maps.test_events import (
    RECEIVE_TIMEOUT_SECONDS,
    _connect,
    _next,
    _session_cookie,
    _update,
)
from tests.support.redis import start_redis
from tilemaker_site.websockets import application

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def redis():
    with start_redis() as server:
        yield server


def _redis_layer(url: str) -> dict:
    backend = "channels_redis.core.RedisChannelLayer"
    return {"default": {"BACKEND": backend, "CONFIG": {"hosts": [url]}}}


def test_events_reach_sockets_through_redis_filtered_by_grants(catalogue, grant, redis):
    cookie = _session_cookie(User.objects.create_user("outsider", password="pw-not-used"))

    async def scenario():
        socket = await _connect(cookie)
        await _update(Layer, {"layer_id": "coadd-f090-q"}, name="secret renamed")
        await _update(Layer, {"layer_id": "coadd-f090-i"}, grant=grant)
        assert await _next(socket) == {"event": "removed", "kind": "layer", "id": "coadd-f090-i"}
        await socket.disconnect()

    with override_settings(CHANNEL_LAYERS=_redis_layer(redis.url)):
        async_to_sync(scenario)()


@pytest.fixture
def events_log(caplog):
    """Records of ``maps.events`` (the ``maps`` logger does not propagate to the root)."""
    logger = logging.getLogger("maps.events")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_a_save_succeeds_when_redis_is_down(catalogue, redis, events_log):
    """The admin's save commits and the failure is logged; viewers miss that event."""
    redis.stop()
    assert not redis.answers()
    with override_settings(CHANNEL_LAYERS=_redis_layer(redis.url)):
        layer = Layer.objects.get(layer_id="coadd-f090-i")
        layer.name = "renamed while Redis is down"
        layer.save()
    assert Layer.objects.get(layer_id="coadd-f090-i").name == "renamed while Redis is down"
    assert [record.getMessage() for record in events_log.records] == [
        "catalogue event not sent: layer coadd-f090-i"
    ]


def test_the_socket_is_refused_with_try_again_later_when_redis_is_down(catalogue, redis):
    """Not accepted then silent: refused, so the viewer knows to fall back to polling."""
    redis.stop()

    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/events", headers=[(b"origin", b"http://localhost")]
        )
        connected, code = await communicator.connect(timeout=RECEIVE_TIMEOUT_SECONDS)
        return connected, code

    with override_settings(CHANNEL_LAYERS=_redis_layer(redis.url)):
        assert async_to_sync(scenario)() == (False, CLOSE_LAYER_UNAVAILABLE)
