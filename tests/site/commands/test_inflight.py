"""A real `serve` whose clients do not read: cut-out bodies stay within the in-flight budget."""

import socket
import time

import pytest

from tests.support.configs import config_with_layers, layer_entry, write_json
from tests.support.fits import write_car_map
from tests.support.ports import free_port
from tests.support.servers import ServerProcess

# 2000 x 1000 float32 pixels: an 8 MB FITS body, more than Twisted's and the
# kernel's buffers hold for a client that reads nothing; reserved at 16 MB
# before reading. With a 20 MB budget one body is held, a second cut-out
# does not fit beside it.
CUTOUT = "/layers/big-i/submap/50/-50/25/-25/image.fits"
BUDGET_MB = 20


@pytest.fixture
def server(workspace):
    big = write_car_map(
        workspace.maps / "big.fits",
        nx=2000,
        ny=1000,
        pixel_scale_deg=0.05,
        ra_left_deg=50.0,
        dec_bottom_deg=-25.0,
    )
    config_path = write_json(
        workspace.maps / "config.json", config_with_layers(layer_entry("big-i", big.name))
    )
    env = workspace.env(
        TILEMAKER_DATABASE_URL=f"sqlite:///{workspace.home / 'tilemaker.sqlite3'}",
        TILEMAKER_PRECACHE="no",
        TILEMAKER_CONFIG_PATH=str(config_path),
        TILEMAKER_MAX_INFLIGHT_MB=str(BUDGET_MB),
        TILEMAKER_INFLIGHT_WAIT_SECONDS="1",
    )
    with ServerProcess(["serve", "--port", str(free_port())], cwd=workspace.cwd, env=env) as proc:
        proc.wait_ready()
        yield proc


def slow_reader(server, path: str) -> socket.socket:
    """A client that asks for ``path`` and reads only its first bytes (the status line)."""
    port = int(server.url.rstrip("/").rsplit(":", 1)[1])
    sock = socket.socket()
    # A small window, so the kernel takes little of the body off the server.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(60)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    assert sock.recv(12).startswith(b"HTTP/1.1 200")
    return sock


def read_all(sock: socket.socket) -> int:
    total = 0
    while chunk := sock.recv(1 << 16):
        total += len(chunk)
    return total


def get_when_admitted(server, path: str):
    """``path`` once the budget has room again: the release happens when the server notices."""
    deadline = time.monotonic() + 30
    while True:
        response = server.get(path.lstrip("/"))
        if response.status_code != 503 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_an_over_budget_cutout_waits_then_answers_503_while_a_body_is_unread(server):
    held = slow_reader(server, CUTOUT)
    try:
        response = server.get(CUTOUT.lstrip("/"))
        assert response.status_code == 503
        assert response.json() == {"detail": "Too many cut-outs are being sent; try again shortly."}
        assert response.headers["Retry-After"] == "5"
        # Small answers are not held up by the budget.
        assert server.get("layers/big-i").status_code == 200
    finally:
        held.close()


def test_the_body_is_released_when_its_client_disconnects(server):
    slow_reader(server, CUTOUT).close()
    response = get_when_admitted(server, CUTOUT)
    assert response.status_code == 200
    assert len(response.content) > 8_000_000


def test_the_body_is_released_when_its_client_has_read_it(server):
    held = slow_reader(server, CUTOUT)
    with held:
        assert server.get(CUTOUT.lstrip("/")).status_code == 503
        held.settimeout(30)
        # Connection: keep-alive, so read the headers' Content-Length worth.
        assert read_all_of_one_response(held) > 8_000_000
        response = get_when_admitted(server, CUTOUT)
    assert response.status_code == 200


def read_all_of_one_response(sock: socket.socket) -> int:
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(1 << 16)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            line.split(b":", 1)[1]
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        )
    )
    received = len(body)
    while received < length:
        received += len(sock.recv(1 << 16))
    return received
