"""``open``: real subprocesses, real HTTP, and nothing left behind."""

import io
import re
import signal
import socket

import numpy as np
import pytest
from PIL import Image

from tests.site.commands.conftest import CATALOG
from tests.support.fits import write_car_map
from tests.support.ports import free_port
from tests.support.servers import (
    HTTP_TIMEOUT_SECONDS,
    LAUNCHERS,
    ServerProcess,
    run_command,
    tree,
)


def layer_ids(menu: list[dict]) -> list[str]:
    return [
        layer["layer_id"]
        for group in menu
        for map_entry in group["maps"]
        for band in map_entry["bands"]
        for layer in band["layers"]
    ]


@pytest.mark.parametrize("launcher", sorted(LAUNCHERS))
def test_open_serves_maps_and_catalogue_then_leaves_nothing(
    workspace, iqu_map, catalog_file, launcher
):
    maps_before, cwd_before = tree(workspace.maps), tree(workspace.cwd)
    port = free_port()
    args = ["open", str(iqu_map), str(catalog_file), "--port", str(port)]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env(), launcher=launcher) as server:
        url = server.wait_ready()
        assert url == f"http://127.0.0.1:{port}/"
        assert any(workspace.tmpdir.iterdir()), "the database should live in TMPDIR meanwhile"

        default = server.get("layers/default")
        assert default.status_code == 200
        layer = default.json()["layer"]
        # write_car_map: RA 90 .. -90, Dec -45 .. 45.
        assert (layer["bounding_left"], layer["bounding_right"]) in ((90.0, -90.0), (-90.0, 90.0))
        assert (layer["bounding_top"], layer["bounding_bottom"]) == (45.0, -45.0)
        assert len(layer_ids(default.json()["default_layer_menu"])) == 3

        # 0.5 deg pixels: a 720 x 360 sky, one level of 360 px tiles; tile x=1
        # spans RA 0 .. 180 (left to right), the map covers RA 0 .. 90 of it.
        tile = server.get(f"layers/{layer['layer_id']}/0/0/1/tile.png")
        assert tile.status_code == 200, tile.text
        assert tile.headers["Content-Type"] == "image/png"
        alpha = np.asarray(Image.open(io.BytesIO(tile.content)).convert("RGBA"))[:, :, 3]
        assert alpha.shape == (360, 360)
        # rows 90..270 are Dec 45 .. -45; columns 0..180 are RA 0 .. 90.
        assert alpha[100:260, 5:175].min() == 255
        assert alpha[:, 185:].max() == 0
        assert alpha[:85, :].max() == 0

        groups = server.get("sources").json()
        assert len(groups) == 1
        sources = server.get(f"sources/{groups[0]['source_group_id']}").json()["sources"]
        assert [(s["name"], s["ra"], s["dec"], s["extra"]) for s in sources] == [
            (s["name"], s["ra"], s["dec"], s["extra"]) for s in CATALOG
        ]

        assert server.stop(signal.SIGINT) == 0
    assert tree(workspace.maps) == maps_before
    assert tree(workspace.cwd) == cwd_before
    assert list(workspace.tmpdir.iterdir()) == []
    # Not even caches or config folders in the home folder (often the working directory).
    assert list(workspace.home.iterdir()) == []


@pytest.mark.parametrize(
    "signals",
    [
        [signal.SIGTERM],
        [signal.SIGHUP],
        # `timeout` sends SIGTERM to the child, then to its process group.
        [signal.SIGTERM, signal.SIGTERM],
        [signal.SIGINT, signal.SIGINT],
    ],
)
def test_other_stop_signals_also_clean_up(workspace, iqu_map, signals):
    args = ["open", str(iqu_map), "--port", str(free_port())]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()
        first, *more = signals
        server.process.send_signal(first)
        for again in more:
            # Right when the clean-up starts.
            server.wait_for(re.compile(r"^Stopped\.$"))
            if server.process.poll() is None:
                server.process.send_signal(again)
        assert server.process.wait(timeout=30) == 0
        assert "Traceback" not in server.output
    assert list(workspace.tmpdir.iterdir()) == []
    assert list(workspace.cwd.iterdir()) == []


def test_precache_runs_after_ready_and_can_be_switched_off(workspace, iqu_map):
    args = ["open", str(iqu_map), "--port", str(free_port())]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()
        server.wait_for(re.compile(r"precache: done"))
        lines = server.lines
        ready_at = next(i for i, line in enumerate(lines) if "TileMaker ready" in line)
        progress = [
            i for i, line in enumerate(lines) if re.match(r"precache: .* in [0-9.]+ s$", line)
        ]
        assert len(progress) >= 4, "a line with its time for each of 3 layers, and the total"
        assert min(progress) > ready_at
        assert server.stop() == 0

    env = workspace.env(TILEMAKER_PRECACHE="no")
    with ServerProcess(args, cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        assert server.get("layers/default").status_code == 200
        assert server.stop() == 0
        assert "precache" not in server.output


def write_bad_files(workspace) -> dict[str, str]:
    """file name -> a pattern its one-line reason must match."""
    (workspace.maps / "notes.fits").write_text("these are not the pixels you are looking for\n")
    write_car_map(
        workspace.maps / "gnomonic.fits",
        extra_header={"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"},
    )
    return {
        "missing.fits": r"(?i)(no such|not found|does not exist|missing)",
        "notes.fits": r"(?i)fits",
        "gnomonic.fits": r"(?i)(CAR|TAN|projection)",
    }


def test_unusable_files_are_named_and_the_others_still_open(workspace, iqu_map):
    reasons = write_bad_files(workspace)
    maps_before = tree(workspace.maps)
    paths = [str(workspace.maps / name) for name in reasons]
    args = ["open", *paths, str(iqu_map), "--port", str(free_port())]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()
        before_ready = server.output.split("TileMaker ready")[0].splitlines()
        for name, reason in reasons.items():
            lines = [line for line in before_ready if name in line]
            assert len(lines) == 1, server.output
            assert re.search(reason, lines[0].split(name, 1)[1]), lines[0]
        menu = server.get("layers/default").json()["default_layer_menu"]
        assert len(layer_ids(menu)) == 3
        assert server.stop() == 0
    assert tree(workspace.maps) == maps_before
    assert list(workspace.tmpdir.iterdir()) == []


@pytest.mark.parametrize(
    "names",
    [["missing.fits"], ["notes.fits"], ["notes.fits", "gnomonic.fits", "missing.fits"]],
)
def test_nothing_usable_exits_non_zero_naming_every_file(workspace, names):
    reasons = write_bad_files(workspace)
    maps_before = tree(workspace.maps)
    args = ["open", *(str(workspace.maps / name) for name in names), "--port", str(free_port())]
    result = run_command(args, cwd=workspace.cwd, env=workspace.env())
    assert result.returncode != 0
    assert "could be opened" in result.stderr
    assert "Traceback" not in result.stderr
    for name in names:
        line = next(line for line in result.stdout.splitlines() if name in line)
        assert re.search(reasons[name], line.split(name, 1)[1]), line
    assert tree(workspace.maps) == maps_before
    assert list(workspace.cwd.iterdir()) == []
    assert list(workspace.tmpdir.iterdir()) == []


def test_busy_port_is_one_line_suggesting_another(workspace, iqu_map):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_command(
            ["open", str(iqu_map), "--port", str(port)], cwd=workspace.cwd, env=workspace.env()
        )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(port) in lines[0]
    assert "--port" in lines[0]
    assert "in use" in lines[0]
    assert list(workspace.tmpdir.iterdir()) == []


@pytest.mark.parametrize(
    ("launcher", "host_args", "status"),
    [
        ("console-script", ["--host", "0.0.0.0"], 200),
        ("manage.py", ["--host=0.0.0.0"], 200),
        ("manage.py", [], 400),
    ],
)
def test_only_a_server_bound_beyond_loopback_answers_any_host_name(
    workspace, iqu_map, launcher, host_args, status
):
    # Bound to 0.0.0.0, the server is reached by the machine's name, which
    # Django cannot know; on loopback, Host checking guards against DNS
    # rebinding. The request itself still goes to 127.0.0.1.
    port = free_port()
    args = ["open", str(iqu_map), "--port", str(port), *host_args]
    env = workspace.env(TILEMAKER_PRECACHE="no")
    with ServerProcess(args, cwd=workspace.cwd, env=env, launcher=launcher) as server:
        server.wait_ready()
        answer = server.http.get(
            f"http://127.0.0.1:{port}/layers/default",
            headers={"Host": "maps.example.org"},
            timeout=HTTP_TIMEOUT_SECONDS,
        )
        assert answer.status_code == status
        assert server.stop() == 0


def test_auto_contrast_makes_every_range_auto(workspace, iqu_map):
    args = ["open", str(iqu_map), "--auto-contrast", "--port", str(free_port())]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()
        menu = server.get("layers/default").json()["default_layer_menu"]
        layers = [server.get(f"layers/{layer_id}").json() for layer_id in layer_ids(menu)]
        assert server.stop() == 0
    assert [(layer["vmin"], layer["vmax"]) for layer in layers] == [("auto", "auto")] * 3


def test_without_auto_contrast_ranges_are_those_genconfig_chooses(workspace, iqu_map):
    from maps.scanning import config_for_files

    config, _ = config_for_files([str(iqu_map)])
    expected = {
        layer["layer_id"]: (layer.get("vmin", "auto"), layer.get("vmax", "auto"))
        for group in config["map_groups"]
        for map_entry in group["maps"]
        for band in map_entry["bands"]
        for layer in band["layers"]
    }
    args = ["open", str(iqu_map), "--port", str(free_port())]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()
        served = {
            layer_id: server.get(f"layers/{layer_id}").json()
            for layer_id in layer_ids(server.get("layers/default").json()["default_layer_menu"])
        }
        assert server.stop() == 0
    normalise = {None: "auto"}
    assert {
        layer_id: (
            normalise.get(layer["vmin"], layer["vmin"]),
            normalise.get(layer["vmax"], layer["vmax"]),
        )
        for layer_id, layer in served.items()
    } == {k: (normalise.get(a, a), normalise.get(b, b)) for k, (a, b) in expected.items()}


def test_open_refuses_to_run_without_its_temporary_database():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="temporary database"):
        call_command("open", "x.fits")
