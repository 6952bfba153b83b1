"""Issue 19: the README's "Scripting the API" examples run against a live server.

Every code block marked ``<!-- guide:python:NAME -->`` or
``<!-- guide:curl:NAME -->`` is run as written, with only the environment
variables the guide names (``TILEMAKER``, ``TOKEN``, ``LAYER``,
``CATALOGUE``) set to this server, a real token of a user holding the
grant, and the ids of a restricted layer and catalogue. Python blocks run
after the ``session`` block, as a reader's one session would.
"""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits

from tests.support.fits import value_at, write_car_map
from tests.support.ports import free_port
from tests.support.servers import REPO_ROOT, ServerProcess, command_env, run_command

GRANT = "act-collab"
LAYER = "f090-i"
CATALOGUE = "act-clusters"
# The map pixel whose centre is at RA 10.25, Dec 0.25 (0.5-degree pixels,
# edges at whole and half degrees): the position every example measures.
RA_DEG, DEC_DEG = 10.25, 0.25
SOURCES = [
    {"name": "ACT-CL J0041", "ra": 10.0, "dec": -1.0, "extra": {"snr": 9.5}},
    {"name": "ACT-CL J0100", "ra": 15.0, "dec": 3.0, "extra": {"snr": 2.0}},
    {"name": "ACT-CL J2300", "ra": 345.0, "dec": 0.0, "extra": {"snr": 7.1}},
]
BLOCK = re.compile(r"<!-- guide:(python|curl):(\w+) -->\n```\w+\n(.*?)```", re.S)
SETUP_CODE = f"""
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
from maps.models import Grant
from tilemaker_site.accounts.models import ApiToken
user = get_user_model().objects.create_user("notebook-user")
Grant.objects.get(name="{GRANT}").users.add(user)
_row, secret = ApiToken.issue(user, "guide")
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print("TOKEN", secret)
print("SESSION", store.session_key)
"""


def guide_blocks() -> dict[tuple[str, str], str]:
    text = (REPO_ROOT / "README.md").read_text()
    return {(kind, name): code for kind, name, code in BLOCK.findall(text)}


def json_documents(text: str) -> list:
    """The JSON documents curl printed one after another (no newline between them)."""
    decoder, documents, at = json.JSONDecoder(), [], 0
    while at < len(text):
        document, at = decoder.raw_decode(text, at)
        documents.append(document)
        at = len(text) - len(text[at:].lstrip())
    return documents


def _layer_value() -> float:
    return float(np.float32(value_at(RA_DEG, DEC_DEG)))


def _aperture_mean() -> float:
    """The 3 x 3 pixels within 45 arcmin: centre, 4 sides at 30', 4 corners at 42'."""
    offsets = np.array([-0.5, 0.0, 0.5])
    ra, dec = np.meshgrid(RA_DEG + offsets, DEC_DEG + offsets)
    return float(np.mean(value_at(ra, dec).astype(np.float32).astype(np.float64)))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("guide")
    folders = {name: root / name for name in ("maps", "cwd", "tmpdir", "home")}
    for folder in folders.values():
        folder.mkdir()
    write_car_map(folders["maps"] / "f090.fits")
    (folders["maps"] / "clusters.json").write_text(json.dumps(SOURCES))
    layer = {"layer_id": LAYER, "name": "f090 I", "vmin": -300, "vmax": 300}
    layer["provider"] = {"provider_type": "fits", "filename": "f090.fits"}
    band = {"band_id": "f090", "name": "f090", "layers": [layer]}
    config = {
        "map_groups": [
            {
                "map_group_id": "act-dr6",
                "name": "ACT DR6",
                "grant": GRANT,
                "maps": [{"map_id": "coadd", "name": "Coadd", "bands": [band]}],
            }
        ],
        "source_groups": [
            {
                "source_group_id": CATALOGUE,
                "name": "ACT clusters",
                "grant": GRANT,
                "provider": {"filename": "clusters.json"},
            }
        ],
    }
    config_path = folders["maps"] / "config.json"
    config_path.write_text(json.dumps(config))
    env = command_env(
        tmpdir=folders["tmpdir"],
        home=folders["home"],
        extra={
            "TILEMAKER_DATABASE_URL": f"sqlite:///{folders['home'] / 'db.sqlite3'}",
            "TILEMAKER_PRECACHE": "no",
        },
    )
    for args in (["migrate", "--noinput"], ["import_config", str(config_path)]):
        # Generous: a migrate took over 60 s at a load average of 12 on 2 cores.
        result = run_command(args, cwd=folders["cwd"], env=env, launcher="manage.py", timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
    setup = run_command(
        ["shell", "-c", SETUP_CODE], cwd=folders["cwd"], env=env, launcher="manage.py"
    )
    assert setup.returncode == 0, setup.stderr
    token = re.search(r"^TOKEN (\S+)$", setup.stdout, re.M).group(1)
    with ServerProcess(
        ["serve", "--port", str(free_port())], cwd=folders["cwd"], env=env
    ) as server:
        server.wait_ready()
        server.token = token
        server.session_key = re.search(r"^SESSION (\S+)$", setup.stdout, re.M).group(1)
        server.home = folders["home"]
        yield server


@pytest.fixture
def run(served, tmp_path):
    """Run one guide block as the reader would; ``(returncode, stdout, stderr)``."""
    blocks = guide_blocks()

    def run(kind: str, name: str, *, token: bool = True, **extra: str):
        env = {k: v for k, v in os.environ.items() if k != "TOKEN"}
        env.update(TILEMAKER=served.url.rstrip("/"), LAYER=LAYER, CATALOGUE=CATALOGUE, **extra)
        env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"  # never through a proxy
        if token:
            env["TOKEN"] = served.token
        if kind == "python":
            command = [sys.executable, "-c", blocks["python", "session"] + blocks[kind, name]]
        else:
            command = ["bash", "-e", "-c", blocks[kind, name]]
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
        return done.returncode, done.stdout, done.stderr

    return run


def test_every_example_is_marked_in_both_languages():
    names = {name for kind, name in guide_blocks() if kind == "curl"}
    assert names == {"list", "cutout", "aperture", "regions", "catalogue", "errors"}
    assert {name for kind, name in guide_blocks() if kind == "python"} == names | {
        "session",
        "create",
    }


def test_a_session_creates_a_token_that_reads_the_restricted_layer(run, served, tmp_path):
    code, out, err = run(
        "python", "create", token=False, SESSIONID=served.session_key, HOME=str(tmp_path)
    )
    assert code == 0, err
    assert re.fullmatch(r"tmk_[0-9a-f]+ expires \S+\n", out), out
    stored = tmp_path / ".tilemaker-token"
    assert stored.stat().st_mode & 0o777 == 0o600
    secret = stored.read_text()
    assert secret.startswith(out.split()[0] + "_")
    headers = {"Authorization": f"Bearer {secret}"}
    assert served.http.get(f"{served.url}layers/{LAYER}", headers=headers).status_code == 200
    assert served.http.get(f"{served.url}layers/{LAYER}").status_code == 404


def test_listing_finds_the_restricted_layer(run):
    code, out, err = run("python", "list")
    assert (code, out) == (0, f"act-dr6 coadd f090 {LAYER}\n"), err
    code, out, err = run("curl", "list")
    assert code == 0, err
    groups, search, layer = json_documents(out)
    assert [g["map_group_id"] for g in groups] == ["act-dr6"]
    assert search["matched_ids"]
    assert layer["layer_id"] == LAYER


def test_the_cutout_reads_the_pixel_written_at_that_position(run, tmp_path):
    code, out, err = run("python", "cutout")
    assert (code, out) == (0, f"{_layer_value():.4f} uK\n"), err
    code, out, err = run("curl", "cutout")
    assert code == 0, err
    with fits.open(tmp_path / "cutout.fits") as hdul:
        assert hdul[0].data.shape == (8, 8)


def test_without_a_token_the_restricted_cutout_is_missing(run):
    code, out, err = run("python", "cutout", token=False)
    assert code != 0
    assert out == ""
    assert "404 Client Error" in err
    code, _out, _err = run("curl", "cutout", token=False)
    assert code == 22  # curl -f: HTTP error >= 400


def test_the_aperture_and_the_region_measure_the_same_pixels(run):
    mean = _aperture_mean()
    code, out, err = run("python", "aperture")
    assert code == 0, err
    assert out.startswith(f"mean {mean:.4f} std ")
    code, out, err = run("curl", "aperture")
    assert code == 0, err
    assert json_documents(out)[0]["mean"] == pytest.approx(mean, abs=1e-4)
    code, out, err = run("python", "regions")
    assert (code, out) == (0, f"{LAYER} 9 {mean:.4f}\n"), err
    code, out, err = run("curl", "regions")
    assert code == 0, err
    assert json_documents(out)[0]["planes"][LAYER]["n_pixels"] == 9


def test_the_catalogue_filters_and_box(run):
    code, out, err = run("python", "catalogue")
    assert code == 0, err
    assert out.splitlines() == [
        "['ACT-CL J0041', 'ACT-CL J2300']",
        "2 [('ACT-CL J0041', 10.0, -1.0), ('ACT-CL J0100', 15.0, 3.0)]",
    ]
    code, out, err = run("curl", "catalogue")
    assert code == 0, err
    filtered, box = json_documents(out)
    assert [s["name"] for s in filtered["sources"]] == ["ACT-CL J0041", "ACT-CL J2300"]
    assert box["total"] == 2


def test_errors_are_json_with_a_detail(run):
    code, out, err = run("python", "errors")
    assert code == 0, err
    assert out.splitlines() == [
        "404 No layer with that id.",
        "401 Invalid, expired or revoked token.",
    ]
    code, out, err = run("curl", "errors")
    assert code == 0, err
    missing, refused = out.splitlines()
    assert missing == '{"detail":"No layer with that id."} 404'
    assert refused == '{"detail":"Invalid, expired or revoked token."} 401'
