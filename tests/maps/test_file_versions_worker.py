"""A daphne worker that sees a new version of a map file announces it on ``ws/events``.

Real processes on 127.0.0.1: daphne serving ``tilemaker_site.asgi`` (the
in-memory channel layer: the socket and the tile request meet one worker).
"""

import json
import os
import shutil

import requests

from tests.site.commands.test_rewrite_serve import native_tile_path, served_config
from tests.support.fits import write_constant_map
from tests.support.ports import free_port
from tests.support.servers import HTTP_TIMEOUT_SECONDS, command_env, run_command, wait_until
from tests.support.ws_client import open_events_socket, read_text_frame, start_daphne_worker


def test_a_worker_announces_a_file_it_sees_replaced_once(tmp_path):
    served = write_constant_map(tmp_path / "served.fits", 1.0)
    incoming = write_constant_map(tmp_path / "incoming.fits", 2.0, nx=2400)
    config = tmp_path / "config.json"
    config.write_text(json.dumps(served_config(served)))
    env = command_env(
        tmpdir=tmp_path,
        home=tmp_path,
        extra={"TILEMAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"},
    )
    imported = run_command(["import_config", str(config)], cwd=tmp_path, env=env, timeout=600)
    assert imported.returncode == 0, imported.stderr
    port = free_port()
    base = f"http://127.0.0.1:{port}/"
    tile = base + native_tile_path(served)
    with start_daphne_worker(port, cwd=tmp_path, env=env), requests.Session() as http:
        http.trust_env = False
        sock = open_events_socket(port)
        try:
            assert http.get(tile, timeout=HTTP_TIMEOUT_SECONDS).status_code == 200
            before = http.get(base + "layers/rewritten", timeout=HTTP_TIMEOUT_SECONDS).json()
            os.replace(incoming, served)
            # The worker looks at the file again RECHECK_SECONDS after its last look.
            wait_until(
                lambda: (
                    http.get(base + "layers/rewritten", timeout=HTTP_TIMEOUT_SECONDS).json()[
                        "file_version"
                    ]
                    != before["file_version"]
                )
            )
            after = http.get(base + "layers/rewritten", timeout=HTTP_TIMEOUT_SECONDS).json()
            assert http.get(tile, timeout=HTTP_TIMEOUT_SECONDS).status_code == 200
            event = read_text_frame(sock)
            # Once per version: the next event is the next version's.
            shutil.copyfile(tmp_path / "served.fits", tmp_path / "again.fits")
            os.replace(tmp_path / "again.fits", served)
            wait_until(
                lambda: (
                    http.get(base + "layers/rewritten", timeout=HTTP_TIMEOUT_SECONDS).json()[
                        "file_version"
                    ]
                    != after["file_version"]
                )
            )
            final = http.get(base + "layers/rewritten", timeout=HTTP_TIMEOUT_SECONDS).json()
            next_event = read_text_frame(sock)
        finally:
            sock.close()
    assert event == {
        "event": "rewritten",
        "kind": "layer",
        "id": "rewritten",
        "version": after["file_version"],
    }
    assert next_event == {**event, "version": final["file_version"]}
