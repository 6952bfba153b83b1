"""The websocket routes answer on the real server process (``open``: daphne behind
``tilemaker_site.server``'s flow-controlled server), not only under channels' communicator."""

from tests.support.ports import free_port
from tests.support.servers import ServerProcess
from tests.support.ws_client import open_events_socket


def test_open_accepts_a_websocket(workspace, iqu_map):
    port = free_port()
    args = ["open", str(iqu_map), "--port", str(port)]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()
        # Asserts the 101 answer; the send-buffer gate once made every handshake a 500.
        open_events_socket(port).close()
        assert "Traceback" not in server.output
