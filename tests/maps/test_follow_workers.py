"""A presenter on one daphne worker, a follower on another: they meet through Redis.

Real processes on 127.0.0.1: redis-server and two daphne workers serving
``tilemaker_site.asgi`` on one migrated SQLite database.
"""

import pytest

from tests.support.ports import free_port
from tests.support.redis import start_redis
from tests.support.ws_client import (
    migrated_worker_env,
    open_socket,
    read_text_frame,
    send_text_frame,
    start_daphne_worker,
)

pytestmark = pytest.mark.services

NOTE = "The presenter shows something you cannot see."


def test_a_follower_on_another_worker_gets_the_presenters_views_and_the_end(tmp_path):
    env = migrated_worker_env(tmp_path)
    with start_redis() as redis:
        env["TILEMAKER_REDIS_URL"] = redis.url
        first, second = free_port(), free_port()
        with (
            start_daphne_worker(first, cwd=tmp_path, env=env),
            start_daphne_worker(second, cwd=tmp_path, env=env),
        ):
            presenter = open_socket(first, "/ws/follow")
            session = read_text_frame(presenter)
            send_text_frame(presenter, {"type": "state", "state": "layer=nowhere&zoom=3"})
            # Answered after the state above was shared (one consumer, in order).
            send_text_frame(presenter, {"type": "settle"})
            assert read_text_frame(presenter)["type"] == "error"
            follower = open_socket(second, f"/ws/follow/{session['id']}")
            first_view = read_text_frame(follower)
            send_text_frame(presenter, {"type": "state", "state": "ra=10.5&zoom=4"})
            second_view = read_text_frame(follower)
            presenter.close()
            ended = read_text_frame(follower)
            follower.close()
    assert session["presenter"] == "a guest"
    # A layer nobody has is removed like a hidden one.
    assert first_view == {"type": "state", "state": "zoom=3", "presenter": "a guest", "note": NOTE}
    assert second_view == {"type": "state", "state": "ra=10.5&zoom=4", "presenter": "a guest"}
    assert ended == {"type": "ended"}
