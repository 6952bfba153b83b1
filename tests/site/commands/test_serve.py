"""``serve``: the configured database, one process or several on one port."""

import json
import os
import re
import signal
import socket
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.redis import start_redis
from tests.support.servers import STOP_TIMEOUT_SECONDS, ServerProcess, run_command, wait_until
from tilemaker_site.management.commands.serve import NO_REDIS_WARNING
from tilemaker_site.server import WORKER_RESTARTS_PER_MINUTE


@pytest.fixture
def config_file(workspace, iqu_map):
    """A data configuration naming the map by a path relative to the config."""
    config = {
        "map_groups": [
            {
                "map_group_id": "demo-group",
                "name": "Demo",
                "description": "",
                "maps": [
                    {
                        "map_id": "demo-map",
                        "name": "Demo map",
                        "description": "",
                        "bands": [
                            {
                                "band_id": "demo-band",
                                "name": "f090",
                                "description": "",
                                "layers": [
                                    {
                                        "layer_id": "demo-i",
                                        "name": "I",
                                        "vmin": -300,
                                        "vmax": 300,
                                        "provider": {
                                            "provider_type": "fits",
                                            "filename": iqu_map.name,
                                            "index": 0,
                                        },
                                    }
                                ],
                            }
                        ],
                    }
                ],
            }
        ],
        "boxes": [
            {
                "name": "Patch",
                "top_left_ra": 10,
                "top_left_dec": 5,
                "bottom_right_ra": 30,
                "bottom_right_dec": -5,
            }
        ],
    }
    path = workspace.maps / "config.json"
    path.write_text(json.dumps(config))
    return path


def database_env(workspace, **extra):
    return workspace.env(
        TILEMAKER_DATABASE_URL=f"sqlite:///{workspace.home / 'tilemaker.sqlite3'}",
        TILEMAKER_PRECACHE="no",
        **extra,
    )


def check_served(server):
    layer = server.get("layers/demo-i")
    assert layer.status_code == 200, layer.text
    assert (layer.json()["vmin"], layer.json()["vmax"]) == (-300, 300)
    assert server.get("layers/demo-i/0/0/1/tile.png").status_code == 200
    assert [box["name"] for box in server.get("highlights/boxes").json()] == ["Patch"]


def test_serve_after_import_config(workspace, config_file):
    env = database_env(workspace)
    imported = run_command(["import_config", str(config_file)], cwd=workspace.cwd, env=env)
    assert imported.returncode == 0, imported.stderr
    with ServerProcess(["serve", "--port", str(free_port())], cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        check_served(server)
        assert server.stop(signal.SIGINT) == 0


def test_serve_imports_config_path_at_start(workspace, config_file):
    env = database_env(workspace, TILEMAKER_CONFIG_PATH=str(config_file))
    with ServerProcess(["serve", "--port", str(free_port())], cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        check_served(server)
        assert server.stop(signal.SIGTERM) == 0


def test_workers_share_one_port_and_all_stop(workspace, config_file):
    env = database_env(workspace, TILEMAKER_CONFIG_PATH=str(config_file))
    port = free_port()
    args = ["serve", "--port", str(port), "--workers", "3", "-v", "2"]
    with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        assert "3 workers" in server.output
        for _ in range(12):
            check_served(server)
        # -v 2 turns on every worker's access log: all requests were answered
        # and logged, whichever worker accepted them.
        assert len(re.findall(r'"GET /layers/demo-i" 200', server.output)) == 12
        assert server.stop(signal.SIGTERM) == 0
        assert server.wait_group_gone(), "a worker outlived the parent"
    with socket.socket() as probe:
        # Connections the server closed linger in TIME_WAIT; only a listener may block this.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen()


def test_workers_without_redis_warn_that_live_events_stay_on_one_worker(workspace, config_file):
    env = database_env(workspace, TILEMAKER_CONFIG_PATH=str(config_file))
    env.pop("TILEMAKER_REDIS_URL", None)
    args = ["serve", "--port", str(free_port()), "--workers", "2"]
    with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        assert NO_REDIS_WARNING.format(workers=2) in server.output
        assert server.stop(signal.SIGTERM) == 0


def test_workers_with_redis_do_not_warn(workspace, config_file):
    with start_redis() as redis:
        env = database_env(
            workspace, TILEMAKER_CONFIG_PATH=str(config_file), TILEMAKER_REDIS_URL=redis.url
        )
        args = ["serve", "--port", str(free_port()), "--workers", "2"]
        with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
            server.wait_ready()
            check_served(server)
            assert "TILEMAKER_REDIS_URL" not in server.output
            assert server.stop(signal.SIGTERM) == 0


def test_workers_stop_when_their_parent_is_killed(workspace, config_file):
    env = database_env(workspace, TILEMAKER_CONFIG_PATH=str(config_file))
    args = ["serve", "--port", str(free_port()), "--workers", "2"]
    with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        server.process.kill()
        server.process.wait(timeout=10)
        assert server.wait_group_gone(), "orphaned workers kept running"


def test_busy_port(workspace):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_command(
            ["serve", "--port", str(port)], cwd=workspace.cwd, env=database_env(workspace)
        )
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "--port" in result.stderr


def worker_pids(server) -> set[int]:
    """The running (not zombie) child processes of the server, from /proc."""
    found = set()
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name (in parentheses) may hold spaces: split after it.
            fields = stat_file.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == server.process.pid and fields[0] != "Z":
            found.add(int(stat_file.parent.name))
    return found


def two_workers(server) -> set[int] | None:
    pids = worker_pids(server)
    return pids if len(pids) == 2 else None


def test_a_killed_worker_is_restarted_while_the_others_serve(workspace, config_file):
    env = database_env(workspace, TILEMAKER_CONFIG_PATH=str(config_file))
    args = ["serve", "--port", str(free_port()), "--workers", "2"]
    with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        first = wait_until(lambda: two_workers(server))
        killed, survivor = sorted(first)
        os.kill(killed, signal.SIGKILL)
        for _ in range(6):
            check_served(server)
        server.wait_for(re.compile(rf"Worker {killed} exited with code -9: restarting it"))
        now = wait_until(lambda: two_workers(server))
        assert survivor in now
        assert killed not in now
        for _ in range(6):
            check_served(server)
        assert server.process.poll() is None
        assert server.stop(signal.SIGTERM) == 0
        assert server.wait_group_gone(), "a worker outlived the parent"


def test_a_crash_loop_stops_the_server_after_the_restart_limit(workspace, config_file):
    env = database_env(workspace, TILEMAKER_CONFIG_PATH=str(config_file))
    args = ["serve", "--port", str(free_port()), "--workers", "2"]
    with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        wait_until(lambda: len(worker_pids(server)) == 2)
        for number in range(1, WORKER_RESTARTS_PER_MINUTE + 1):
            victim = max(worker_pids(server))
            os.kill(victim, signal.SIGKILL)
            server.wait_for(
                re.compile(rf"Worker {victim} exited .*restarting it \(restart {number} ")
            )
            wait_until(lambda victim=victim: len(worker_pids(server) - {victim}) == 2)
        victim = max(worker_pids(server))
        os.kill(victim, signal.SIGKILL)
        server.wait_for(
            re.compile(
                rf"Worker {victim} exited with code -9: {WORKER_RESTARTS_PER_MINUTE} workers "
                "were already restarted in the last minute, stopping"
            )
        )
        assert server.process.wait(timeout=STOP_TIMEOUT_SECONDS) != 0
        assert "a worker stopped unexpectedly" in server.output
        assert server.wait_group_gone(), "a worker outlived the parent"
