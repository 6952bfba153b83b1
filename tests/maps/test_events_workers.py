"""A write in one process reaches a socket on a daphne worker in another, through Redis.

Real processes on 127.0.0.1: redis-server, daphne serving ``tilemaker_site.asgi``,
and ``manage.py shell`` writing the shared SQLite database (as the admin or an
import would).
"""

import time

import pytest

from tests.support.ports import free_port
from tests.support.redis import start_redis
from tests.support.servers import run_command
from tests.support.ws_client import (
    migrated_worker_env,
    open_events_socket,
    read_text_frame,
    start_daphne_worker,
)

pytestmark = pytest.mark.services


# Longer than channels-redis' BRPOP wait (5 s) and redis-py's default read timeout (5 s).
IDLE_SECONDS = 8

CREATE_LAYER = """
from maps.models import Band, Layer, Map, MapGroup
group = MapGroup.objects.create(map_group_id="night", name="Night")
band = Band.objects.create(
    band_id="f150", name="f150",
    map=Map.objects.create(map_id="depth1", name="Depth-1", map_group=group),
)
Layer.objects.create(
    layer_id="depth1-f150", name="I", band=band,
    provider={"provider_type": "fits", "filename": "/nowhere.fits"},
)
"""


def test_a_layer_created_in_another_process_reaches_a_daphne_worker_socket(tmp_path):
    env = migrated_worker_env(tmp_path)
    with start_redis() as redis:
        env["TILEMAKER_REDIS_URL"] = redis.url
        port = free_port()
        with start_daphne_worker(port, cwd=tmp_path, env=env):
            sock = open_events_socket(port)
            try:
                # The consumer joins the group before accepting: once the
                # handshake is answered, the socket hears every later event.
                created = run_command(
                    ["shell", "-c", CREATE_LAYER], cwd=tmp_path, env=env, launcher="manage.py"
                )
                assert created.returncode == 0, created.stderr
                received = [read_text_frame(sock) for _ in range(4)]
            finally:
                sock.close()
    assert received == [
        {"event": "added", "kind": "group", "id": "night"},
        {"event": "added", "kind": "map", "id": "depth1"},
        {"event": "added", "kind": "band", "id": "f150"},
        {"event": "added", "kind": "layer", "id": "depth1-f150"},
    ]


def test_an_idle_socket_stays_open_past_the_layers_wait_and_still_hears_events(tmp_path):
    """Idle longer than channels-redis' 5 s BRPOP wait, which with redis-py's
    default 5 s read timeout closed the socket (1011) before any event came."""
    env = migrated_worker_env(tmp_path)
    with start_redis() as redis:
        env["TILEMAKER_REDIS_URL"] = redis.url
        port = free_port()
        with start_daphne_worker(port, cwd=tmp_path, env=env):
            sock = open_events_socket(port)
            try:
                time.sleep(IDLE_SECONDS)
                created = run_command(
                    ["shell", "-c", CREATE_LAYER], cwd=tmp_path, env=env, launcher="manage.py"
                )
                assert created.returncode == 0, created.stderr
                first = read_text_frame(sock)
            finally:
                sock.close()
    assert first == {"event": "added", "kind": "group", "id": "night"}
