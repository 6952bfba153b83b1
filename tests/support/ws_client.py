"""A minimal websocket client for ``ws/events`` and ``ws/follow`` on a real server
(tests and bench/).

A plain TCP socket speaking just enough of RFC 6455 to open the socket, read
the server's unmasked text frames and send short masked frames (text, pongs).
"""

import base64
import json
import os
import socket
import ssl
import sys
from pathlib import Path

from tests.support.servers import ServerProcess, command_env, run_command, wait_until

# A guard against a hang, not a timed assertion.
SOCKET_TIMEOUT_SECONDS = 60


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return False
    return True


def open_events_socket(port: int, **options) -> socket.socket:
    return open_socket(port, "/ws/events", **options)


def open_socket(
    port: int,
    path: str,
    *,
    tls: ssl.SSLContext | None = None,
    host: str = "127.0.0.1",
    cookie: str | None = None,
) -> socket.socket:
    """A websocket to ``path`` on 127.0.0.1:``port``, handshake answered 101; over TLS
    (HTTP/1.1, as browsers open websockets through nginx) when ``tls`` is given, as the
    user of the session ``cookie`` when given."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=SOCKET_TIMEOUT_SECONDS)
    scheme = "http"
    if tls is not None:
        sock = tls.wrap_socket(sock, server_hostname=host)
        scheme = "https"
    key = base64.b64encode(os.urandom(16)).decode()
    cookie_line = "" if cookie is None else f"Cookie: {cookie}\r\n"
    sock.sendall(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n{cookie_line}"
            f"Origin: {scheme}://{host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


def read_exactly(sock: socket.socket, count: int) -> bytes:
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        assert chunk, "the server closed the socket"
        data += chunk
    return data


TEXT, PING, PONG = 0x81, 0x89, 0x8A


def read_text_frame(sock: socket.socket) -> dict:
    """The next text frame's JSON; pings on the way are answered (daphne pings every
    20 s and closes a socket that leaves a ping unanswered for 30 s)."""
    while True:
        first, second = read_exactly(sock, 2)
        length = second & 0x7F
        if length == 126:
            length = int.from_bytes(read_exactly(sock, 2), "big")
        payload = read_exactly(sock, length)
        if first == PING:
            _send_frame(sock, PONG, payload)
            continue
        assert first == TEXT, f"not a final text frame: {first:#x}"
        return json.loads(payload)


def send_text_frame(sock: socket.socket, message: dict) -> None:
    """Send ``message`` as JSON in one masked text frame (a client must mask)."""
    _send_frame(sock, TEXT, json.dumps(message).encode())


def _send_frame(sock: socket.socket, opcode: int, payload: bytes) -> None:
    assert len(payload) < 65536, "only 7- and 16-bit lengths are spoken here"
    mask = os.urandom(4)
    if len(payload) < 126:
        head = bytes([opcode, 0x80 | len(payload)])
    else:
        head = bytes([opcode, 0x80 | 126]) + len(payload).to_bytes(2, "big")
    masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(payload))
    sock.sendall(head + mask + masked)


def start_daphne_worker(port: int, *, cwd: Path, env: dict) -> ServerProcess:
    """A daphne process serving ``tilemaker_site.asgi`` on 127.0.0.1:``port``, answering.

    Waits for the port rather than a log line: Django's logging settings, loaded
    with the application, hide daphne's own start-up messages.
    """
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port)]
    worker = ServerProcess(
        [*command, "tilemaker_site.asgi:application"], cwd=cwd, env=env, launcher=None
    )
    wait_until(lambda: listening(port) or worker.process.poll() is not None)
    assert worker.process.poll() is None, worker.output
    return worker


def migrated_worker_env(folder: Path) -> dict:
    """The environment of processes sharing a migrated SQLite file in ``folder``
    (daphne workers, ``manage.py shell``); callers add TILEMAKER_REDIS_URL."""
    env = command_env(
        tmpdir=folder,
        home=folder,
        extra={"TILEMAKER_DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}"},
    )
    migrated = run_command(["migrate", "-v0"], cwd=folder, env=env, launcher="manage.py")
    assert migrated.returncode == 0, migrated.stderr
    return env
