"""``open --watch DIR``: the serving process follows the folder (real subprocess, real HTTP)."""

import signal

import pytest

from tests.site.commands.test_open import layer_ids
from tests.support.fits import write_car_map
from tests.support.ports import free_port
from tests.support.servers import ServerProcess, run_command, wait_until

# open's ids for iqu_map.fits: group "maps" (the folder), map "iqu_map", band "all".
IQU_LAYERS = ["maps-iqu_map-all-i", "maps-iqu_map-all-q", "maps-iqu_map-all-u"]


def _layers(server) -> list[str]:
    answer = server.get("layers/default")
    return layer_ids(answer.json()["default_layer_menu"]) if answer.status_code == 200 else []


@pytest.mark.parametrize("poll", [None, "0.2"])
def test_open_watch_adds_and_removes_maps_as_files_come_and_go(workspace, iqu_map, poll):
    port = free_port()
    args = ["open", "--watch", str(workspace.maps), "--port", str(port)]
    if poll:
        args += ["--poll", poll]
    env = workspace.env(TILEMAKER_WATCH_SETTLE_SECONDS="0.5")
    with ServerProcess(args, cwd=workspace.cwd, env=env, launcher="console-script") as server:
        server.wait_ready()
        assert _layers(server) == IQU_LAYERS
        assert server.get("layers/maps-extra-f150-i").status_code == 404
        new = write_car_map(workspace.maps / "extra_f150_map.fits")
        wait_until(lambda: server.get("layers/maps-extra-f150-i").status_code == 200)
        new.unlink()
        wait_until(lambda: server.get("layers/maps-extra-f150-i").status_code == 404)
        assert _layers(server) == IQU_LAYERS
        assert server.stop(signal.SIGINT) == 0
    assert "Watching " in server.output


def test_open_watch_needs_a_folder(workspace, iqu_map):
    result = run_command(["open", "--watch", str(iqu_map)], cwd=workspace.cwd, env=workspace.env())
    assert result.returncode != 0
    assert "--watch needs at least one folder to watch" in result.stderr
