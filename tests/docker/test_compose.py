"""docker/compose.yaml for real: the images built here, the stack started under
a local Docker engine (host networking, free 127.0.0.1 ports), then used the
way a collaboration uses it: a config imported from the read-only maps
folder, tiles, cut-outs and the API through nginx over HTTP/2, a GitHub
login and its grants, one app container and memcached killed under load,
and ``compose down`` leaving nothing behind.

The last test takes the stack down; the tests run in file order.
"""

import io
import json
import ssl
import subprocess
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.wcs import WCS

from tests.docker.conftest import GITHUB_ORG
from tests.support.compose import APP_IMAGE, CA_BUNDLE, SERVICES, docker
from tests.support.fits import value_at
from tests.support.load import request_mix, run_load
from tests.support.stack import (
    LAYER_IDS,
    MAP_GROUP_ID,
    SECOND_LAYER_ID,
    SERVER_NAME,
    SOURCE_GROUP_ID,
)
from tests.support.ws_client import open_events_socket, read_text_frame

pytestmark = [pytest.mark.docker, pytest.mark.services]

LOAD_CLIENTS = 8
FAULT_AT_S = 3.0
FAULT_RUN_S = 10.0
CACHE_RECOVERY_TIMEOUT_S = 60.0
REPO = Path(__file__).resolve().parents[2]


def in_image(script: str) -> str:
    """``sh -c SCRIPT`` in a throw-away container of the app image, as its user."""
    return docker(
        "run", "--rm", "--network", "host", "--entrypoint", "sh", APP_IMAGE, "-c", script
    ).stdout


def get(stack, path: str, **kwargs) -> requests.Response:
    with stack.session() as session:
        return session.get(stack.base_url + path, timeout=30, **kwargs)


def http2_get(stack, path: str, tmp_path: Path) -> tuple[str, str, bytes]:
    """GET over HTTP/2 with curl (nghttp2, as browsers speak it); (version, status, body)."""
    body = tmp_path / "body"
    result = subprocess.run(
        [
            "curl",
            "--http2",
            "--noproxy",
            "*",
            "--silent",
            "--show-error",
            "--cacert",
            stack.ca_file,
            "--output",
            str(body),
            "--write-out",
            "%{http_version} %{response_code}",
            stack.base_url + path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    version, status = result.stdout.split()
    return version, status, body.read_bytes()


def github_login(stack, github, login: str) -> requests.Session:
    """Log in through nginx and the GitHub stand-in, as a browser does; the logged-in session."""
    github.add_account(login)
    github.next_login = login
    session = stack.session()
    me = session.get(f"{stack.base_url}/auth/me", timeout=30).json()
    started = session.post(
        f"{stack.base_url}/auth/login/github/",
        data={"csrfmiddlewaretoken": me["csrf_token"]},
        # Django checks the Referer of every HTTPS POST against the host.
        headers={"Referer": f"{stack.base_url}/"},
        allow_redirects=False,
        timeout=30,
    )
    assert started.status_code == 302, started.text
    assert started.headers["Location"].startswith(f"{github.url}/login/oauth/authorize?")
    with requests.Session() as browser:
        browser.trust_env = False
        approved = browser.get(started.headers["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code == 302
    callback = urlsplit(approved.headers["Location"])
    # nginx passes Host without the port, so the redirect URI names port 443;
    # the test's nginx listens on a free port instead.
    assert (callback.scheme, callback.hostname) == ("https", SERVER_NAME)
    assert callback.path == "/auth/complete/github/"
    finished = session.get(
        f"{stack.base_url}{callback.path}?{callback.query}", allow_redirects=False, timeout=30
    )
    assert finished.status_code == 302, finished.text
    return session


# --- the image ------------------------------------------------------------------


def test_image_runs_unprivileged_without_compilers_tests_or_secrets(images):
    host_bundle = subprocess.run(
        ["sha256sum", CA_BUNDLE], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    out = in_image(
        "id -u; echo ---; "
        "for tool in gcc cc c++ g++ clang make; do command -v $tool; done; echo ---; "
        "find /app \\( -name tests -o -name conftest.py -o -name 'test_*.py' "
        "-o -name .git \\) -print; "
        "ls /run/secrets 2>/dev/null; echo ---; "
        "find / -xdev -type f \\( -name '*.crt' -o -name '*.pem' \\) "
        "! -path /etc/ssl/certs/ca-certificates.crt -exec sha256sum {} + 2>/dev/null; true"
    )
    uid, compilers, test_files, certificates = (part.split() for part in out.split("---"))
    assert uid != ["0"]
    assert compilers == []
    assert test_files == []
    # The host's bundle was lent to pip as a build secret: no copy of it stays.
    assert host_bundle not in certificates[0::2]

    config = json.loads(
        docker("image", "inspect", "--format", "{{json .Config}}", APP_IMAGE).stdout
    )
    assert config["User"] == "tilemaker"
    assert "docker/healthcheck.py" in config["Healthcheck"]["Test"][-1]
    assert not [
        v for v in config["Env"] if v.split("=")[0].endswith(("SECRET_KEY", "PASSWORD", "PIP_CERT"))
    ]


# --- the stack ------------------------------------------------------------------


def test_every_container_defines_a_health_check_and_is_healthy(compose_stack):
    # The fixture waited up to the image's start period for all of them.
    for service in SERVICES:
        container = compose_stack.container(service)
        healthcheck = docker(
            "inspect", "--format", "{{json .Config.Healthcheck}}", container
        ).stdout
        assert json.loads(healthcheck)["Test"], service
        assert compose_stack.health(service) == "healthy"


def test_migrations_ran_once_for_both_app_containers(compose_stack):
    applied = [
        compose_stack.logs(service).count("Applying maps.0001_initial... OK")
        for service in ("app", "app-2")
    ]
    assert sorted(applied) == [0, 1]
    duplicates = compose_stack.psql(
        "SELECT app, name FROM django_migrations GROUP BY app, name HAVING count(*) > 1"
    )
    assert duplicates == []


def test_config_was_imported_from_the_read_only_maps_folder(compose_stack):
    groups = get(compose_stack, "/map-groups").json()
    assert [group["map_group_id"] for group in groups] == [MAP_GROUP_ID]
    refused = docker(
        "exec", compose_stack.container("app"), "touch", "/maps/written-by-app", check=False
    )
    assert refused.returncode != 0
    assert "Read-only file system" in refused.stderr
    assert not (compose_stack.maps / "written-by-app").exists()


def test_tiles_cutouts_and_api_over_http2(compose_stack, tmp_path):
    version, status, body = http2_get(compose_stack, "/layers/synth-i/1/1/1/tile.png", tmp_path)
    assert (version, status) == ("2", "200")
    assert body.startswith(b"\x89PNG\r\n\x1a\n")

    version, status, body = http2_get(compose_stack, "/layers/synth-q", tmp_path)
    assert (version, status) == ("2", "200")
    assert json.loads(body) == get(compose_stack, "/layers/synth-q").json()
    assert json.loads(body)["layer_id"] == "synth-q"

    left, right, top, bottom = 12.0, 8.0, -20.0, -24.0
    path = f"/layers/synth-u/submap/{left}/{right}/{top}/{bottom}/image.fits"
    version, status, body = http2_get(compose_stack, path, tmp_path)
    assert (version, status) == ("2", "200")
    with fits.open(io.BytesIO(body)) as hdus:
        data = hdus[0].data.astype(np.float64)
        wcs = WCS(hdus[0].header)
    rows, cols = np.indices(data.shape)
    ra_deg, dec_deg = wcs.wcs_pix2world(cols, rows, 0)
    np.testing.assert_allclose(data, value_at(ra_deg, dec_deg, 2), rtol=1e-5, atol=1e-3)
    assert data.shape == (32, 32)


def test_github_login_and_grants_hold(compose_stack, github):
    restricted = f"{compose_stack.base_url}/layers/{SECOND_LAYER_ID}"
    github.org_members[GITHUB_ORG] = {"alice": "active"}
    assert get(compose_stack, f"/layers/{SECOND_LAYER_ID}").status_code == 404

    with github_login(compose_stack, github, "alice") as alice:
        assert (
            alice.get(f"{compose_stack.base_url}/auth/me", timeout=30).json()["username"] == "alice"
        )
        answer = alice.get(restricted, timeout=30)
        assert answer.status_code == 200
        assert answer.json()["layer_id"] == SECOND_LAYER_ID
    with github_login(compose_stack, github, "bob") as bob:
        hidden = bob.get(restricted, timeout=30)
        missing = bob.get(f"{compose_stack.base_url}/layers/no-such-layer", timeout=30)
        assert (hidden.status_code, hidden.json()) == (missing.status_code, missing.json())
        assert hidden.status_code == 404


# --- faults -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def paths(compose_stack):
    layers = [get(compose_stack, f"/layers/{layer_id}").json() for layer_id in LAYER_IDS]
    return request_mix(layers, source_group_id=SOURCE_GROUP_ID)


def load_with_fault(stack, paths, fault):
    result = run_load(
        stack.base_url,
        paths=paths,
        clients=LOAD_CLIENTS,
        duration_s=FAULT_RUN_S,
        make_session=stack.session,
        events=[(FAULT_AT_S, fault)],
    )
    assert result.outcomes, "no request completed"
    # The documented window (README, "Docker"): none. nginx resends an
    # idempotent request a dead worker dropped to the other container, and a
    # dead memcached means reading the maps from disk.
    assert not result.server_errors, result.describe_failures()
    assert not result.connection_errors, result.describe_failures()
    return result


def test_docker_kill_of_one_app_container_loses_no_request(compose_stack, paths):
    victim = compose_stack.container("app")
    load_with_fault(compose_stack, paths, lambda: docker("kill", victim))
    # docker counts a kill as a manual stop, which the restart policy leaves
    # alone (a crash it restarts): the operator's "up" brings it back.
    compose_stack.compose("up", "--detach", "--no-build", "app")
    compose_stack.wait_healthy(["app"])
    assert get(compose_stack, "/healthz").json() == {"database": "ok", "cache": "ok"}


def test_docker_kill_of_memcached_loses_no_request(compose_stack, paths):
    victim = compose_stack.container("memcached")
    load_with_fault(compose_stack, paths, lambda: docker("kill", victim))
    compose_stack.compose("up", "--detach", "--no-build", "memcached")
    compose_stack.wait_healthy(["memcached"])
    # The workers' clients retry a dead server after a pause, not at once.
    deadline = time.monotonic() + CACHE_RECOVERY_TIMEOUT_S
    while get(compose_stack, "/healthz").json() != {"database": "ok", "cache": "ok"}:
        assert time.monotonic() < deadline, "the workers never used memcached again"
        time.sleep(1.0)


# --- live events ----------------------------------------------------------------


RENAME_LAYER = (
    "from maps.models import Layer; layer = Layer.objects.get(layer_id={layer_id!r}); "
    "layer.name = {name!r}; layer.save()"
)


def test_an_edit_in_one_app_container_reaches_sockets_through_nginx_and_on_the_other(
    compose_stack,
):
    """A socket through nginx (TLS, HTTP/1.1 upgrade, either container's worker) and one
    straight to a worker of ``app`` hear a rename made by a process in ``app-2``."""
    tls = ssl.create_default_context(cafile=compose_stack.ca_file)
    proxied = open_events_socket(compose_stack.https_port, tls=tls, host=SERVER_NAME)
    direct = open_events_socket(compose_stack.app_base_ports[0])
    try:
        code = RENAME_LAYER.format(layer_id=LAYER_IDS[0], name="I (renamed in app-2)")
        done = docker(
            "exec",
            compose_stack.container("app-2"),
            "python",
            "manage.py",
            "shell",
            "-c",
            code,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        expected = {"event": "changed", "kind": "layer", "id": LAYER_IDS[0]}
        assert read_text_frame(proxied) == expected
        assert read_text_frame(direct) == expected
    finally:
        proxied.close()
        direct.close()


def test_docker_kill_of_redis_loses_no_request(compose_stack, paths):
    victim = compose_stack.container("redis")
    load_with_fault(compose_stack, paths, lambda: docker("kill", victim))
    compose_stack.compose("up", "--detach", "--no-build", "redis")
    compose_stack.wait_healthy(["redis"])
    assert get(compose_stack, "/healthz").status_code == 200


# --- teardown -------------------------------------------------------------------


def test_compose_down_leaves_nothing_but_the_documented_database_volume(compose_stack):
    compose_stack.down(volumes=False)
    assert compose_stack.leftovers() == {
        "containers": [],
        "volumes": [f"{compose_stack.project}_db-data"],
        "networks": [],
    }
    compose_stack.down(volumes=True)
    assert compose_stack.leftovers() == {"containers": [], "volumes": [], "networks": []}
