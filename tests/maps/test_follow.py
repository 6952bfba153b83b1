"""Following a presenter on ``ws/follow``: what each follower is sent.

The sockets go through ``tilemaker_site.websockets.application`` (origin check,
session cookie, routing) with channels' communicator and the in-memory
channel layer; the presenter and its followers meet only through the layer's
groups, as they do across workers. "Never sent" is checked by order: a later
state the follower must receive is the next message.
"""

import time
from urllib.parse import parse_qsl, urlencode

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client, override_settings

from maps import consumers, follow
from tests.support.redis import start_redis
from tilemaker_site.websockets import application

pytestmark = pytest.mark.django_db(transaction=True)

# A guard against a hang, not a timed assertion.
RECEIVE_TIMEOUT_SECONDS = 30
NOTE = "The presenter shows something you cannot see."

# A presenter's view with every kind of object a grant can hide: the hidden
# layer coadd-f090-q as the main layer (with its colours), the hidden
# catalogue secret-cat and box "Secret box" beside visible ones.
SECRET_VIEW = urlencode(
    [
        ("layer", "coadd-f090-q"),
        ("ra", "10.0000000"),
        ("dec", "-2.5000000"),
        ("zoom", "3"),
        ("flip", "1"),
        ("vmin", "-20"),
        ("vmax", "20"),
        ("cmap", "magma"),
        ("log", "0"),
        ("abs", "0"),
        ("cat", "bright"),
        ("cat", "secret-cat"),
        ("box", "Cluster box"),
        ("box", "Secret box"),
        ("cmp", "blink"),
        ("cmpl", "coadd-f090-i"),
        ("cmpl", "coadd-f090-q"),
        ("panels", "2"),
        ("p1", "coadd-f090-u"),
        ("p1vmin", "-5"),
        ("p2", "coadd-f150-i"),
        ("p2vmin", "-7"),
        ("p2cmap", "gray"),
        ("tcat", "secret-cat"),
        ("tsort", "-flux"),
    ]
)
# What a follower without the grant gets: the same view without any hidden
# object nor what describes it (coadd-f150-i is hidden by its band).
SECRET_VIEW_WITHOUT_GRANT = urlencode(
    [
        ("ra", "10.0000000"),
        ("dec", "-2.5000000"),
        ("zoom", "3"),
        ("flip", "1"),
        ("cat", "bright"),
        ("box", "Cluster box"),
        ("cmp", "blink"),
        ("cmpl", "coadd-f090-i"),
        ("panels", "2"),
        ("p1", "coadd-f090-u"),
        ("p1vmin", "-5"),
    ]
)
PUBLIC_VIEW = "layer=coadd-f090-i&ra=1.0000000&dec=2.0000000&zoom=1&cat=bright"


def _session_cookie(user: User) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


@pytest.fixture
def insider(catalogue, grant):
    user = User.objects.create_user("insider", first_name="Ada", password="pw-not-used")
    grant.users.add(user)
    return _session_cookie(user)


@pytest.fixture
def outsider(catalogue):
    return _session_cookie(User.objects.create_user("outsider", password="pw-not-used"))


async def _open(path: str, cookie: str | None = None) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://localhost")]
    if cookie is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await communicator.connect(timeout=RECEIVE_TIMEOUT_SECONDS)
    assert connected
    return communicator


async def _next(communicator: WebsocketCommunicator) -> dict:
    return await communicator.receive_json_from(timeout=RECEIVE_TIMEOUT_SECONDS)


async def _present(cookie: str | None = None) -> tuple[WebsocketCommunicator, str]:
    presenter = await _open("/ws/follow", cookie)
    session = await _next(presenter)
    assert session["type"] == "session"
    assert follow.SESSION_ID.fullmatch(session["id"])
    return presenter, session["id"]


async def _send_state(presenter: WebsocketCommunicator, state: str) -> None:
    await presenter.send_json_to({"type": "state", "state": state})


async def _settled(presenter: WebsocketCommunicator) -> None:
    """Return once the presenter's consumer has taken every state sent so far (the
    latest is the one a new follower gets): it takes its messages in order, so
    its answer to a bad frame comes after them."""
    await presenter.send_to(text_data="settle")
    assert (await _next(presenter))["type"] == "error"


def _run(scenario) -> None:
    async_to_sync(scenario)()


def test_a_follower_gets_the_latest_state_at_once_and_then_every_change(catalogue, insider):
    async def scenario():
        presenter, session_id = await _present(insider)
        await _send_state(presenter, "layer=coadd-f090-u&zoom=0")
        await _send_state(presenter, PUBLIC_VIEW)
        await _settled(presenter)
        follower = await _open(f"/ws/follow/{session_id}")
        assert await _next(follower) == {"type": "state", "state": PUBLIC_VIEW, "presenter": "Ada"}
        moved = PUBLIC_VIEW.replace("zoom=1", "zoom=2")
        await _send_state(presenter, moved)
        assert await _next(follower) == {"type": "state", "state": moved, "presenter": "Ada"}
        await presenter.disconnect()
        await follower.disconnect()

    _run(scenario)


def test_a_follower_arriving_before_any_state_waits_for_the_first(catalogue):
    async def scenario():
        presenter, session_id = await _present()
        follower = await _open(f"/ws/follow/{session_id}")
        assert await _next(follower) == {"type": "waiting", "presenter": "a guest"}
        await _send_state(presenter, PUBLIC_VIEW)
        assert await _next(follower) == {
            "type": "state",
            "state": PUBLIC_VIEW,
            "presenter": "a guest",
        }
        await presenter.disconnect()
        await follower.disconnect()

    _run(scenario)


def test_a_follower_without_the_grant_gets_the_view_without_hidden_objects_and_a_note(
    catalogue, insider, outsider
):
    async def scenario():
        presenter, session_id = await _present(insider)
        await _send_state(presenter, SECRET_VIEW)
        await _settled(presenter)
        without = await _open(f"/ws/follow/{session_id}", outsider)
        anonymous = await _open(f"/ws/follow/{session_id}")
        holder = await _open(f"/ws/follow/{session_id}", insider)
        for follower in (without, anonymous):
            assert await _next(follower) == {
                "type": "state",
                "state": SECRET_VIEW_WITHOUT_GRANT,
                "presenter": "Ada",
                "note": NOTE,
            }
        assert await _next(holder) == {"type": "state", "state": SECRET_VIEW, "presenter": "Ada"}
        # The next, visible view comes without the note.
        await _send_state(presenter, PUBLIC_VIEW)
        for follower in (without, anonymous, holder):
            assert await _next(follower) == {
                "type": "state",
                "state": PUBLIC_VIEW,
                "presenter": "Ada",
            }
        for socket in (presenter, without, anonymous, holder):
            await socket.disconnect()

    _run(scenario)


@pytest.mark.parametrize("layer_id", ["no-such-layer", "%00", "x" * 5000])
def test_a_missing_layer_is_removed_like_a_hidden_one(catalogue, layer_id):
    assert follow.visible_state(f"layer={layer_id}&zoom=2&vmin=1", frozenset()) == (
        "zoom=2",
        True,
    )


def test_the_filtered_state_never_names_a_hidden_object(catalogue):
    state, hidden = follow.visible_state(SECRET_VIEW, frozenset())
    assert hidden
    values = {value for _, value in parse_qsl(state)}
    assert not values & {"coadd-f090-q", "secret-cat", "Secret box", "coadd-f150-i"}


def test_followers_are_told_when_the_presenter_leaves(catalogue):
    async def scenario():
        presenter, session_id = await _present()
        await _send_state(presenter, PUBLIC_VIEW)
        await _settled(presenter)
        follower = await _open(f"/ws/follow/{session_id}")
        await _next(follower)
        await presenter.disconnect()
        assert await _next(follower) == {"type": "ended"}
        assert (await follower.receive_output(timeout=RECEIVE_TIMEOUT_SECONDS))["type"] == (
            "websocket.close"
        )

    _run(scenario)


@pytest.mark.parametrize(
    ("frame", "detail"),
    [
        ("not json", 'A message must be a JSON object: {"type": "state", "state": ...}.'),
        ("[1, 2]", 'A message must be a JSON object: {"type": "state", "state": ...}.'),
        ('{"type": "steer"}', "Unknown message type 'steer': only \"state\"."),
        ('{"type": "state"}', "state must be the view's URL query, a string."),
        ('{"type": "state", "state": 5}', "state must be the view's URL query, a string."),
        (
            '{"type": "state", "state": "' + "a" * 16385 + '"}',
            "state is longer than 16384 characters.",
        ),
    ],
)
def test_a_malformed_message_gets_an_error_frame_and_the_session_goes_on(catalogue, frame, detail):
    async def scenario():
        presenter, session_id = await _present()
        follower = await _open(f"/ws/follow/{session_id}")
        assert (await _next(follower))["type"] == "waiting"
        await presenter.send_to(text_data=frame)
        assert await _next(presenter) == {"type": "error", "detail": detail}
        await _send_state(presenter, PUBLIC_VIEW)
        assert (await _next(follower))["state"] == PUBLIC_VIEW
        await presenter.disconnect()
        await follower.disconnect()

    _run(scenario)


def test_a_binary_frame_gets_an_error_frame(catalogue):
    async def scenario():
        presenter, _ = await _present()
        await presenter.send_to(bytes_data=b"\x00\x01")
        assert (await _next(presenter))["type"] == "error"
        await presenter.disconnect()

    _run(scenario)


def test_a_follower_cannot_send_state(catalogue):
    async def scenario():
        presenter, session_id = await _present()
        await _send_state(presenter, PUBLIC_VIEW)
        await _settled(presenter)
        follower = await _open(f"/ws/follow/{session_id}")
        await _next(follower)
        await _send_state(follower, "layer=coadd-f090-u")
        assert await _next(follower) == {
            "type": "error",
            "detail": "Followers cannot send state: only the presenter's view is shared.",
        }
        # Nobody heard it: the presenter's next view is the next thing the follower gets.
        await _send_state(presenter, "zoom=4")
        assert (await _next(follower))["state"] == "zoom=4"
        await presenter.disconnect()
        await follower.disconnect()

    _run(scenario)


@pytest.mark.parametrize("session_id", ["short", "A" * 32])
def test_an_unknown_or_malformed_session_id_gets_an_error_and_a_close(
    catalogue, monkeypatch, session_id
):
    monkeypatch.setattr(consumers, "NO_PRESENTER_SECONDS", 0.1)

    async def scenario():
        follower = await _open(f"/ws/follow/{session_id}")
        assert await _next(follower) == {
            "type": "error",
            "detail": "No presentation has that id (it may have ended)."
            if session_id != "short"
            else "No presentation has that id.",
        }
        closed = await follower.receive_output(timeout=RECEIVE_TIMEOUT_SECONDS)
        assert closed == {"type": "websocket.close", "code": consumers.CLOSE_NOT_FOUND}

    _run(scenario)


def test_a_presenter_sending_in_a_loop_is_shared_at_most_once_per_interval(catalogue):
    states = [
        f"layer=coadd-f090-i&ra=1.0000000&dec=2.0000000&zoom={n % 7}&flip={n}" for n in range(300)
    ]

    async def scenario():
        presenter, session_id = await _present()
        await _send_state(presenter, PUBLIC_VIEW)
        follower = await _open(f"/ws/follow/{session_id}")
        assert (await _next(follower))["state"] == PUBLIC_VIEW
        started = time.monotonic()
        for state in states:
            await _send_state(presenter, state)
        received = [(await _next(follower))["state"]]
        while received[-1] != states[-1]:
            received.append((await _next(follower))["state"])
        elapsed_seconds = time.monotonic() - started
        # Never two states within one interval, whatever the machine's load; the
        # latest always arrives, and in the order sent.
        assert len(received) <= 1 + elapsed_seconds / consumers.MIN_STATE_INTERVAL_SECONDS
        assert len(received) < len(states) / 4
        assert received == sorted(received, key=states.index)
        await presenter.disconnect()
        await follower.disconnect()

    _run(scenario)


def test_two_presenters_get_different_unguessable_ids(catalogue):
    async def scenario():
        first, first_id = await _present()
        second, second_id = await _present()
        assert first_id != second_id
        await first.disconnect()
        await second.disconnect()

    _run(scenario)


@pytest.mark.services
def test_presenter_and_followers_meet_through_redis(catalogue, insider, outsider):
    """The channels-redis layer (as with several workers): the join, the welcome
    sent to one follower's channel, the filtered states and the end."""
    backend = "channels_redis.core.RedisChannelLayer"

    async def scenario():
        presenter, session_id = await _present(insider)
        await _send_state(presenter, SECRET_VIEW)
        await _settled(presenter)
        follower = await _open(f"/ws/follow/{session_id}", outsider)
        assert await _next(follower) == {
            "type": "state",
            "state": SECRET_VIEW_WITHOUT_GRANT,
            "presenter": "Ada",
            "note": NOTE,
        }
        await _send_state(presenter, PUBLIC_VIEW)
        assert (await _next(follower))["state"] == PUBLIC_VIEW
        await presenter.disconnect()
        assert await _next(follower) == {"type": "ended"}

    with start_redis() as redis:
        layers = {"default": {"BACKEND": backend, "CONFIG": {"hosts": [redis.url]}}}
        with override_settings(CHANNEL_LAYERS=layers):
            _run(scenario)
