"""A write in one process reaches a socket on a daphne worker in another, through Redis.

Real processes on 127.0.0.1: redis-server, daphne serving ``tilemaker_site.asgi``,
and ``manage.py shell`` writing the shared SQLite database (as the admin or an
import would). The socket is a plain TCP client speaking just enough of
RFC 6455 to read the server's unmasked text frames.
"""

import base64
import json
import os
import socket
import sys

import pytest

from tests.support.ports import free_port
from tests.support.redis import start_redis
from tests.support.servers import ServerProcess, command_env, run_command, wait_until

pytestmark = pytest.mark.services

# A guard against a hang, not a timed assertion.
SOCKET_TIMEOUT_SECONDS = 60

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


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def _open_socket(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_SECONDS)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /ws/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Origin: http://127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def _read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "the server closed the socket"
        data += chunk
    return data


def _read_text_frame(sock: socket.socket) -> dict:
    first, second = _read_exactly(sock, 2)
    assert first == 0x81, f"not a final text frame: {first:#x}"
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(_read_exactly(sock, 2), "big")
    return json.loads(_read_exactly(sock, length))


def test_a_layer_created_in_another_process_reaches_a_daphne_worker_socket(tmp_path):
    env = command_env(
        tmpdir=tmp_path,
        home=tmp_path,
        extra={"TILEMAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )
    migrated = run_command(["migrate", "-v0"], cwd=tmp_path, env=env, launcher="manage.py")
    assert migrated.returncode == 0, migrated.stderr
    with start_redis() as redis:
        env["TILEMAKER_REDIS_URL"] = redis.url
        port = free_port()
        daphne = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
        with ServerProcess(
            [*daphne, "tilemaker_site.asgi:application"], cwd=tmp_path, env=env, launcher=None
        ) as worker:
            wait_until(lambda: _listening(port) or worker.process.poll() is not None)
            assert worker.process.poll() is None, worker.output
            sock = _open_socket(port)
            try:
                # The consumer joins the group before accepting: once the
                # handshake is answered, the socket hears every later event.
                created = run_command(
                    ["shell", "-c", CREATE_LAYER], cwd=tmp_path, env=env, launcher="manage.py"
                )
                assert created.returncode == 0, created.stderr
                received = [_read_text_frame(sock) for _ in range(4)]
            finally:
                sock.close()
    assert received == [
        {"event": "added", "kind": "group", "id": "night"},
        {"event": "added", "kind": "map", "id": "depth1"},
        {"event": "added", "kind": "band", "id": "f150"},
        {"event": "added", "kind": "layer", "id": "depth1-f150"},
    ]
