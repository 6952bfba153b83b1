"""The container's scripts, run natively: docker/entrypoint.sh (migrate, import,
check, workers kept alive, clean stop), docker/healthcheck.py, docker/render-nginx.sh."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.support.fits import write_car_map
from tests.support.ports import consecutive_free_ports, free_port
from tests.support.stack import DOCKER, REPO, SERVER_NAME, Nginx

WORKERS = 2
START_TIMEOUT_SECONDS = 120.0
STOP_TIMEOUT_SECONDS = 30.0


def children_of(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def worker_pid(supervisor: int, port: int) -> int | None:
    for child in children_of(supervisor):
        try:
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except FileNotFoundError:
            continue
        if b"daphne" in command and str(port).encode() in command:
            return child
    return None


@pytest.fixture
def container_env(tmp_path):
    maps = tmp_path / "maps"
    maps.mkdir()
    write_car_map(maps / "small.fits", nx=720, ny=180, pixel_scale_deg=0.5)
    config = maps / "config.json"
    layer = {
        "layer_id": "small-i",
        "name": "I",
        "provider": {"provider_type": "fits", "filename": "small.fits"},
    }
    band = {"band_id": "small-b", "name": "b", "description": "", "layers": [layer]}
    the_map = {"map_id": "small-m", "name": "m", "description": "", "bands": [band]}
    group = {"map_group_id": "small", "name": "Small", "description": "", "maps": [the_map]}
    config.write_text(json.dumps({"map_groups": [group]}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
    env.update(
        {
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": "container-test-" + "k" * 40,
            "TILEMAKER_ALLOWED_HOSTS": "maps.example.org",
            "TILEMAKER_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "TILEMAKER_CONFIG_PATH": str(config),
            "TILEMAKER_DATA_ROOTS": str(maps),
            "TILEMAKER_STATIC_ROOT": str(tmp_path / "static"),
            "TILEMAKER_WORKERS": str(WORKERS),
            "TILEMAKER_WORKER_BASE_PORT": str(consecutive_free_ports(WORKERS)),
            "PYTHONUNBUFFERED": "1",
        }
    )
    (tmp_path / "static").mkdir()
    return env


def healthcheck(env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(DOCKER / "healthcheck.py")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def wait_healthy(env, entrypoint, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert entrypoint.poll() is None, log.read_text()
        if healthcheck(env).returncode == 0:
            return
        time.sleep(0.5)
    pytest.fail("container never became healthy:\n" + log.read_text()[-3000:])


@pytest.mark.services
def test_entrypoint_migrates_imports_serves_restarts_and_stops(container_env, tmp_path):
    log = tmp_path / "container.log"
    base_port = int(container_env["TILEMAKER_WORKER_BASE_PORT"])
    with log.open("wb") as output:
        entrypoint = subprocess.Popen(
            ["sh", str(DOCKER / "entrypoint.sh")],
            cwd=REPO,
            env=container_env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_healthy(container_env, entrypoint, log)
        for port in range(base_port, base_port + WORKERS):
            response = requests.get(
                f"http://127.0.0.1:{port}/layers/default",
                headers={"Host": "maps.example.org", "X-Forwarded-Proto": "https"},
                timeout=30,
            )
            assert response.status_code == 200
            assert response.json()["layer"]["layer_id"] == "small-i"

        # exec: the entrypoint's pid is now the supervisor's.
        victim = worker_pid(entrypoint.pid, base_port)
        assert victim is not None
        os.kill(victim, signal.SIGKILL)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while worker_pid(entrypoint.pid, base_port) in (None, victim):
            assert time.monotonic() < deadline, "killed worker never restarted"
            time.sleep(0.2)
        wait_healthy(container_env, entrypoint, log)

        workers = [worker_pid(entrypoint.pid, p) for p in range(base_port, base_port + WORKERS)]
        entrypoint.send_signal(signal.SIGTERM)
        assert entrypoint.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
        for pid in workers:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
            )
    finally:
        if entrypoint.poll() is None:
            entrypoint.kill()
            entrypoint.wait()
    text = log.read_text()
    assert "Applying" in text or "No migrations to apply" in text
    assert "tilemaker.W017" in text  # check --deploy ran (SQLite warned, start not refused)
    assert f"Worker {victim} exited with code -9: restarting it" in text
    assert "precache: done" in text


def test_healthcheck_fails_when_no_worker_answers(container_env):
    result = healthcheck(container_env)
    assert result.returncode == 1
    assert "unhealthy workers" in result.stderr


def render(tmp_path, **env) -> str:
    output = tmp_path / "nginx.conf"
    base = {
        "PATH": os.environ["PATH"],
        "NGINX_TEMPLATE": str(DOCKER / "nginx.conf"),
        "NGINX_OUTPUT": str(output),
        "NGINX_CERT": str(tmp_path / "tls" / "cert.pem"),
        "NGINX_KEY": str(tmp_path / "tls" / "key.pem"),
        "NGINX_RUNTIME_DIR": str(tmp_path / "run"),
    }
    subprocess.run(
        ["sh", str(DOCKER / "render-nginx.sh")],
        env={**base, **env},
        check=True,
        capture_output=True,
        timeout=60,
    )
    return output.read_text()


@pytest.mark.parametrize(
    ("env", "servers"),
    [
        ({}, ["app:8001", "app:8002"]),
        ({"TILEMAKER_WORKERS": "3"}, ["app:8001", "app:8002", "app:8003"]),
        (
            {"TILEMAKER_APP_HOST": "tm", "TILEMAKER_WORKER_BASE_PORT": "9000"},
            ["tm:9000", "tm:9001"],
        ),
        ({"TILEMAKER_UPSTREAMS": "10.0.0.5:80 10.0.0.6:80"}, ["10.0.0.5:80", "10.0.0.6:80"]),
    ],
)
def test_render_lists_one_upstream_per_worker(tmp_path, env, servers):
    text = render(tmp_path, **env)
    assert re.findall(r"server (\S+) max_fails=1 fail_timeout=5s;", text) == servers
    directives = [line for line in text.splitlines() if not line.strip().startswith("#")]
    assert re.findall(r"@[A-Z_]+@", "\n".join(directives)) == []


@pytest.mark.parametrize(
    ("public_port", "expected"), [("443", "$host$request_uri"), ("8443", "$host:8443$request_uri")]
)
def test_render_redirects_to_the_public_https_port(tmp_path, public_port, expected):
    text = render(tmp_path, NGINX_HTTPS_REDIRECT_PORT=public_port)
    assert f"return 301 https://{expected};" in text


def test_render_makes_a_certificate_once_and_keeps_a_mounted_one(tmp_path):
    render(tmp_path)
    cert = tmp_path / "tls" / "cert.pem"
    first = cert.read_bytes()
    assert first.startswith(b"-----BEGIN CERTIFICATE-----")
    assert (tmp_path / "tls" / "key.pem").stat().st_mode & 0o077 == 0
    render(tmp_path)
    assert cert.read_bytes() == first


@pytest.mark.services
def test_nginx_answers_json_503_when_no_worker_is_up(tmp_path):
    nginx = Nginx(tmp_path / "nginx", free_port(), free_port(), [f"127.0.0.1:{free_port()}"])
    nginx.start()
    try:
        with requests.Session() as session:
            session.trust_env = False
            response = session.get(
                f"https://{SERVER_NAME}:{nginx.https_port}/layers/default",
                verify=str(nginx.certificate),
                timeout=30,
            )
    finally:
        nginx.stop()
    assert response.status_code == 503
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Retry-After"] == "5"
    assert set(response.json()) == {"detail"}
