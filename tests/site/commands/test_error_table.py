"""Issue 11: hostile requests to ``serve`` (daphne, SQLite, DEBUG on) all get a JSON 4xx."""

import json

import pytest

from tests.support.error_cases import Case, check, every_method_cases, reported_cases
from tests.support.fits import write_car_map
from tests.support.login_session import LOGIN_SESSION_CODE, session_key_from
from tests.support.ports import free_port
from tests.support.servers import ServerProcess, run_command

LAYER = "demo-i"
BROKEN = "broken"


def _corrupt_data(path):
    """Scramble the second half of a tile-compressed file, leaving its headers readable."""
    data = bytearray(path.read_bytes())
    for index in range(len(data) // 2, len(data) - 3000):
        data[index] = (data[index] * 7 + 13) & 0xFF
    path.write_bytes(bytes(data))


def _layer(layer_id, filename, hdu=0):
    provider = {"provider_type": "fits", "filename": filename}
    if hdu:
        provider["hdu"] = hdu
    return {"layer_id": layer_id, "name": layer_id, "vmin": -300, "vmax": 300, "provider": provider}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    folders = {name: root / name for name in ("maps", "cwd", "tmpdir", "home")}
    for folder in folders.values():
        folder.mkdir()
    write_car_map(folders["maps"] / "plain.fits")
    broken = write_car_map(folders["maps"] / "broken.fits", compressed=True)
    band = {"band_id": "b", "name": "f090", "description": "", "layers": []}
    band["layers"] = [_layer(LAYER, "plain.fits"), _layer(BROKEN, "broken.fits", hdu=1)]
    config = {
        "map_groups": [
            {
                "map_group_id": "g",
                "name": "G",
                "description": "",
                "maps": [{"map_id": "m", "name": "M", "description": "", "bands": [band]}],
            }
        ]
    }
    config_path = folders["maps"] / "config.json"
    config_path.write_text(json.dumps(config))
    from tests.support.servers import command_env

    env = command_env(
        tmpdir=folders["tmpdir"],
        home=folders["home"],
        extra={
            "TILEMAKER_DATABASE_URL": f"sqlite:///{folders['home'] / 'db.sqlite3'}",
            "TILEMAKER_PRECACHE": "no",
        },
    )
    for args in (["migrate", "--noinput"], ["import_config", str(config_path)]):
        result = run_command(args, cwd=folders["cwd"], env=env, launcher="manage.py")
        assert result.returncode == 0, result.stdout + result.stderr
    # Imported while readable; its pixels go bad afterwards, as on a failing disk.
    _corrupt_data(broken)
    login = run_command(
        ["shell", "-c", LOGIN_SESSION_CODE], cwd=folders["cwd"], env=env, launcher="manage.py"
    )
    assert login.returncode == 0, login.stderr
    with ServerProcess(
        ["serve", "--port", str(free_port())], cwd=folders["cwd"], env=env
    ) as server:
        server.wait_ready()
        server.session_key = session_key_from(login.stdout)
        yield server


def _cases():
    reported = reported_cases(
        LAYER, no_data_tile=f"/layers/{LAYER}/2/3/0/tile.png", broken_layer=BROKEN
    )
    return reported + every_method_cases(LAYER, BROKEN)


def _run(server, cases: list[Case], cookie: str | None) -> list[str]:
    base = server.url.rstrip("/")
    http = server.http
    http.cookies.clear()
    if cookie:
        http.cookies.set("sessionid", cookie)
    try:
        return [problem for case in cases if (problem := check(http, base, case))]
    finally:
        http.cookies.clear()


def test_the_session_is_a_logged_in_one(served):
    served.http.cookies.set("sessionid", served.session_key)
    try:
        assert served.get("auth/me").json()["username"] == "fuzz-user"
    finally:
        served.http.cookies.clear()


@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "session"])
def test_every_hostile_request_gets_a_json_4xx(served, logged_in):
    problems = _run(served, _cases(), served.session_key if logged_in else None)
    assert problems == [], "\n".join(problems)
