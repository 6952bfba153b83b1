"""Catalogue events on the websocket ``ws/events``: what each user hears.

The sockets go through ``tilemaker_site.websockets.application``, the
websocket side of the ASGI app (origin check, session cookie, routing), with
channels' communicator and the in-memory channel layer.
"Never hears" is checked by order, not by waiting: after the write the user
must not hear about, a write they may see is made, and it must be the next
message (the channel layer delivers one group's messages in order).
"""

import asyncio

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client

from catalogs.models import SourceGroup
from maps import events
from maps.engine.file_identity import file_version
from maps.models import Band, Layer, Map, MapGroup
from sky_regions.models import Box
from tests.support.catalogue import walk
from tilemaker_site.websockets import application

pytestmark = pytest.mark.django_db(transaction=True)

# A guard against a hang, not a timed assertion: a missing event fails here.
RECEIVE_TIMEOUT_SECONDS = 30


def _session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def outsider(catalogue):
    """The session cookie of a logged-in user without the grant."""
    return _session_cookie(User.objects.create_user("outsider", password="pw-not-used"))


@pytest.fixture
def insider(catalogue, grant):
    """The session cookie of a logged-in user holding the grant."""
    user = User.objects.create_user("insider", password="pw-not-used")
    grant.users.add(user)
    return _session_cookie(user)


async def _connect(cookie: str | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/events", headers=headers)
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT_SECONDS)
    assert connected
    return communicator


async def _next(communicator: WebsocketCommunicator) -> dict:
    return await communicator.receive_json_from(timeout=RECEIVE_TIMEOUT_SECONDS)


@database_sync_to_async
def _update(model, lookup: dict, **changes) -> None:
    obj = model.objects.get(**lookup)
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save()


@database_sync_to_async
def _delete(model, lookup: dict) -> None:
    model.objects.get(**lookup).delete()


def _run(scenario) -> None:
    async_to_sync(scenario)()


def test_a_visible_layer_change_reaches_an_anonymous_viewer(catalogue):
    async def scenario():
        socket = await _connect()
        await _update(Layer, {"layer_id": "coadd-f090-i"}, name="I renamed")
        assert await _next(socket) == {"event": "changed", "kind": "layer", "id": "coadd-f090-i"}
        await socket.disconnect()

    _run(scenario)


PLANCK_LAYER = [("layer", "pr3-f353-i")]
PLANCK_BAND = [("band", "pr3-f353"), *PLANCK_LAYER]
PLANCK_MAP = [("map", "planck-pr3"), *PLANCK_BAND]


@pytest.mark.parametrize(
    ("model", "lookup", "kind", "public_id", "removed_below"),
    [
        (MapGroup, {"map_group_id": "planck"}, "group", "planck", PLANCK_MAP),
        (Map, {"map_id": "planck-pr3"}, "map", "planck-pr3", PLANCK_BAND),
        (Band, {"band_id": "pr3-f353"}, "band", "pr3-f353", PLANCK_LAYER),
        (Layer, {"layer_id": "pr3-f353-i"}, "layer", "pr3-f353-i", []),
        (SourceGroup, {"source_group_id": "bright"}, "catalogue", "bright", []),
        (Box, {"name": "Cluster box"}, "box", "Cluster box", []),
    ],
)
def test_every_kind_announces_its_changes_by_public_id(
    catalogue, outsider, model, lookup, kind, public_id, removed_below
):
    """A delete also announces everything it deletes below (a catalogue's sources are
    not announced: a viewer knows them only through their catalogue)."""

    async def scenario():
        socket = await _connect(outsider)
        await _update(model, lookup, description="Edited in the admin")
        assert await _next(socket) == {"event": "changed", "kind": kind, "id": public_id}
        await _delete(model, lookup)
        expected = sorted([(kind, public_id), *removed_below])
        received = [await _next(socket) for _ in expected]
        assert sorted(received, key=lambda event: (event["kind"], event["id"])) == [
            {"event": "removed", "kind": kind_, "id": id_} for kind_, id_ in expected
        ]
        await _update(Layer, {"layer_id": "coadd-f090-u"}, name="U renamed")
        assert await _next(socket) == {"event": "changed", "kind": "layer", "id": "coadd-f090-u"}
        await socket.disconnect()

    _run(scenario)


def test_a_hidden_layer_change_never_reaches_a_user_without_the_grant(catalogue, outsider, insider):
    async def scenario():
        without, holder = await _connect(outsider), await _connect(insider)
        # Hidden by its own grant, by its band's, by its map's, by its group's.
        for layer_id in ("coadd-f090-q", "coadd-f150-i", "night-f220-i", "so-f280-i"):
            await _update(Layer, {"layer_id": layer_id}, name="secret renamed")
            assert await _next(holder) == {"event": "changed", "kind": "layer", "id": layer_id}
        await _update(SourceGroup, {"source_group_id": "secret-cat"}, name="secret renamed")
        await _delete(Box, {"name": "Secret box"})
        await _update(Layer, {"layer_id": "coadd-f090-u"}, name="U renamed")
        assert await _next(without) == {"event": "changed", "kind": "layer", "id": "coadd-f090-u"}
        await without.disconnect()
        await holder.disconnect()

    _run(scenario)


def test_a_layer_becoming_hidden_arrives_as_removed_and_visible_again_as_added(
    catalogue, grant, outsider, insider
):
    async def scenario():
        without, holder = await _connect(outsider), await _connect(insider)
        await _update(Layer, {"layer_id": "coadd-f090-i"}, grant=grant)
        assert await _next(without) == {"event": "removed", "kind": "layer", "id": "coadd-f090-i"}
        assert await _next(holder) == {"event": "changed", "kind": "layer", "id": "coadd-f090-i"}
        await _update(Layer, {"layer_id": "coadd-f090-i"}, grant=None)
        assert await _next(without) == {"event": "added", "kind": "layer", "id": "coadd-f090-i"}
        assert await _next(holder) == {"event": "changed", "kind": "layer", "id": "coadd-f090-i"}
        await without.disconnect()
        await holder.disconnect()

    _run(scenario)


def test_a_grant_taken_away_after_connecting_applies_to_the_next_event(catalogue, grant):
    user = User.objects.create_user("leaver", password="pw-not-used")
    grant.users.add(user)
    cookie = _session_cookie(user)

    async def scenario():
        socket = await _connect(cookie)
        await database_sync_to_async(grant.users.remove)(user)
        await _update(Layer, {"layer_id": "coadd-f090-q"}, name="secret renamed")
        await _update(Layer, {"layer_id": "coadd-f090-u"}, name="U renamed")
        # Losing the grant is itself announced: every object it hid "removed"
        # (tests/maps/test_events_grants.py), and nothing else before the U change.
        changed = {"event": "changed", "kind": "layer", "id": "coadd-f090-u"}
        while (event := await _next(socket)) != changed:
            assert event["event"] == "removed", event
        await socket.disconnect()

    _run(scenario)


def test_a_new_public_id_is_the_old_object_removed_and_a_new_one_added(catalogue):
    async def scenario():
        socket = await _connect()
        await _update(Layer, {"layer_id": "pr3-f353-i"}, layer_id="pr3-f353-intensity")
        assert await _next(socket) == {"event": "removed", "kind": "layer", "id": "pr3-f353-i"}
        assert await _next(socket) == {
            "event": "added",
            "kind": "layer",
            "id": "pr3-f353-intensity",
        }
        await socket.disconnect()

    _run(scenario)


def test_a_page_of_another_site_cannot_open_the_socket(catalogue):
    async def scenario():
        communicator = WebsocketCommunicator(
            application, "/ws/events", headers=[(b"origin", b"http://evil.example")]
        )
        connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT_SECONDS)
        assert not connected

    _run(scenario)


def test_a_rewritten_map_file_reaches_each_user_for_the_layers_they_may_see(
    catalogue, outsider, insider
):
    """Every catalogue layer reads one file: the user without the grant hears only
    about the visible ones (and about nothing more: the next message is a later write)."""
    filename = Layer.objects.get(layer_id="coadd-f090-i").provider["filename"]
    version = file_version(filename)
    layers = [(node.public_id, hidden) for depth, node, hidden, _ in walk() if depth == 3]
    visible = [layer_id for layer_id, hidden in layers if not hidden]
    assert 0 < len(visible) < len(layers)

    def rewritten(layer_ids):
        return [
            {"event": "rewritten", "kind": "layer", "id": layer_id, "version": version}
            for layer_id in sorted(layer_ids)
        ]

    async def scenario():
        without, holder = await _connect(outsider), await _connect(insider)
        await database_sync_to_async(events.file_rewritten)(filename)
        heard_without = [await _next(without) for _ in visible]
        heard_by_holder = [await _next(holder) for _ in layers]
        assert sorted(heard_without, key=lambda event: event["id"]) == rewritten(visible)
        assert sorted(heard_by_holder, key=lambda event: event["id"]) == rewritten(
            layer_id for layer_id, _ in layers
        )
        await _update(Layer, {"layer_id": "coadd-f090-u"}, name="U renamed")
        assert await _next(without) == {"event": "changed", "kind": "layer", "id": "coadd-f090-u"}
        await without.disconnect()
        await holder.disconnect()

    _run(scenario)


def test_a_file_no_layer_reads_announces_nothing(catalogue, tmp_path):
    other = tmp_path / "other.fits"
    other.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)

    async def scenario():
        socket = await _connect()
        await database_sync_to_async(events.file_rewritten)(str(other))
        await _update(Layer, {"layer_id": "coadd-f090-u"}, name="U renamed")
        assert await _next(socket) == {"event": "changed", "kind": "layer", "id": "coadd-f090-u"}
        await socket.disconnect()

    _run(scenario)


def test_a_write_in_a_thread_running_an_event_loop_is_still_announced(caplog):
    # Playwright's sync API, for one, runs an event loop in the thread that
    # saves: async_to_sync refuses such a thread, and the event was lost.
    message = {"type": events.MESSAGE_TYPE, "kind": "layer", "id": "x", "before": None, "after": []}

    async def scenario() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add(events.GROUP, channel)
        events._group_send(message)
        return await asyncio.wait_for(layer.receive(channel), RECEIVE_TIMEOUT_SECONDS)

    assert asyncio.run(scenario()) == message
    assert "not sent" not in caplog.text
