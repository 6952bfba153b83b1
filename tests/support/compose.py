"""docker/compose.yaml run for real: images built, the stack up on free ports.

Used by tests/docker and bench/bench_docker.py. The images are built from
the base of scripts/docker-base.sh (the public registry is out of reach);
the official postgres and memcached images compose.yaml names are replaced
by Debian stand-ins (tests/docker/images). Every container uses host
networking on free 127.0.0.1 ports, so several stacks (and the native one of
tests/production) can run side by side. ``down()`` removes everything the
stack made; nothing is stopped by name except this stack's own project.
"""

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.ports import consecutive_free_ports, free_port
from tests.support.stack import REPO, SERVER_NAME, StackError, write_dataset

DOCKER = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
COMPOSE_FILE = REPO / "docker" / "compose.yaml"
TEST_COMPOSE_FILE = REPO / "tests" / "docker" / "compose.test.yaml"
APP_IMAGE = "tilemaker:ci"
NGINX_IMAGE = "tilemaker-nginx:ci"
SERVICES_IMAGE = "tilemaker-test-services:ci"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
BUILD_TIMEOUT_SECONDS = 1200.0
# The image's HEALTHCHECK start period (docker/Dockerfile): every container
# must be healthy within it.
START_PERIOD_SECONDS = 120.0
SERVICES = ("db", "memcached", "redis", "app", "app-2", "nginx")


def run(args: list[str], *, timeout: float = 300.0, env: dict | None = None, check=True):
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        raise StackError(
            f"{' '.join(args[:4])} ...: {result.stdout[-3000:]}{result.stderr[-3000:]}"
        )
    return result


def docker(*args: str, timeout: float = 120.0, check=True) -> subprocess.CompletedProcess:
    return run([DOCKER, *args], timeout=timeout, check=check)


def base_image() -> str:
    run(["bash", str(REPO / "scripts" / "dockerd.sh")], timeout=120)
    result = run(["bash", str(REPO / "scripts" / "docker-base.sh")], timeout=BUILD_TIMEOUT_SECONDS)
    return result.stdout.strip().splitlines()[-1]


def build(
    dockerfile: Path, context: Path, tag: str, *, base: str, pip_ca=False, no_cache=False
) -> float:
    """``docker build`` with BuildKit on the host network; the seconds it took."""
    args = [DOCKER, "build", "--quiet", "--network", "host", "--build-arg", f"BASE_IMAGE={base}"]
    if pip_ca:
        # PyPI is reached through a TLS-inspecting proxy here: pip trusts the
        # host's bundle, lent as a secret that no layer keeps.
        args += ["--secret", f"id=pip_ca,src={CA_BUNDLE}"]
    if no_cache:
        args.append("--no-cache")
    args += ["-f", str(dockerfile), "-t", tag, str(context)]
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    began = time.monotonic()
    run(args, timeout=BUILD_TIMEOUT_SECONDS, env=env)
    return time.monotonic() - began


def build_images() -> dict[str, float]:
    """The app, nginx and stand-in images; the build seconds of each."""
    base = base_image()
    return {
        APP_IMAGE: build(REPO / "docker" / "Dockerfile", REPO, APP_IMAGE, base=base, pip_ca=True),
        NGINX_IMAGE: build(
            REPO / "docker" / "nginx.Dockerfile", REPO / "docker", NGINX_IMAGE, base=base
        ),
        SERVICES_IMAGE: build(
            REPO / "tests" / "docker" / "images" / "services.Dockerfile",
            REPO / "tests" / "docker" / "images",
            SERVICES_IMAGE,
            base=base,
        ),
    }


@dataclass
class ComposeStack:
    folder: Path
    workers: int
    github_stub_url: str
    grants: str = ""
    project: str = field(default_factory=lambda: "tilemaker-test-" + secrets.token_hex(4))
    settings: dict = field(default_factory=dict)

    def __post_init__(self):
        self.maps = self.folder / "maps"
        self.tls = self.folder / "tls"
        self.https_port = free_port()
        self.postgres_port = free_port()
        self.memcached_port = free_port()
        self.redis_port = free_port()
        # Each app container takes TILEMAKER_WORKERS consecutive ports.
        self.app_base_ports = [consecutive_free_ports(self.workers) for _ in range(2)]
        self.postgres_password = "pw-" + secrets.token_hex(12)
        self.settings = {
            "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(50),
            "TILEMAKER_ALLOWED_HOSTS": f"{SERVER_NAME},127.0.0.1",
            "POSTGRES_PASSWORD": self.postgres_password,
            "POSTGRES_PORT": str(self.postgres_port),
            "MEMCACHED_PORT": str(self.memcached_port),
            "REDIS_PORT": str(self.redis_port),
            "TILEMAKER_MEMCACHED_MEMORY_MB": "256",
            "TILEMAKER_MAPS_DIR": str(self.maps),
            "TILEMAKER_CONFIG_PATH": "/maps/config.json",
            "TILEMAKER_WORKERS": str(self.workers),
            "TILEMAKER_APP_BASE_PORT": str(self.app_base_ports[0]),
            "TILEMAKER_APP_2_BASE_PORT": str(self.app_base_ports[1]),
            "TILEMAKER_HTTP_PORT": str(free_port()),
            "TILEMAKER_HTTPS_PORT": str(self.https_port),
            # The public origin, port included: Django's CSRF check compares
            # the Referer of a login POST with it (nginx passes Host without port).
            "TILEMAKER_ORIGINS": f"https://{SERVER_NAME}:{self.https_port}",
            "TILEMAKER_TLS_DIR": str(self.tls),
            "TILEMAKER_GITHUB_KEY": "stub-client-id",
            "TILEMAKER_GITHUB_SECRET": "stub-client-secret",
            "TILEMAKER_GITHUB_ORG_GRANTS": self.grants,
            "TILEMAKER_TEST_GITHUB_STUB_URL": self.github_stub_url,
            "TILEMAKER_TEST_GITHUB_SHIM": str(REPO / "tests" / "docker" / "github_shim"),
            "TILEMAKER_IMAGE": APP_IMAGE,
            "TILEMAKER_NGINX_IMAGE": NGINX_IMAGE,
            "TILEMAKER_POSTGRES_IMAGE": SERVICES_IMAGE,
            "TILEMAKER_MEMCACHED_IMAGE": SERVICES_IMAGE,
            "TILEMAKER_REDIS_IMAGE": SERVICES_IMAGE,
        }

    def compose(self, *args: str, timeout: float = 300.0, check=True):
        env_file = self.folder / "env"
        command = [
            "docker-compose",
            "--project-name",
            self.project,
            "--env-file",
            str(env_file),
            "-f",
            str(COMPOSE_FILE),
            "-f",
            str(TEST_COMPOSE_FILE),
            *args,
        ]
        # compose interpolates from its own environment before the env file:
        # a TILEMAKER_* variable of the calling shell must not leak in.
        env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
        return run(command, timeout=timeout, env=env, check=check)

    def write_env(self) -> None:
        lines = [f"{key}={value}" for key, value in self.settings.items()]
        (self.folder / "env").write_text("\n".join(lines) + "\n")

    def up(self) -> float:
        """``compose up``, then wait until every container is healthy; the seconds it took."""
        self.write_env()
        began = time.monotonic()
        self.compose("up", "--detach", "--no-build", timeout=START_PERIOD_SECONDS + 60)
        self.wait_healthy()
        return time.monotonic() - began

    def container(self, service: str) -> str:
        ids = self.compose("ps", "--quiet", service).stdout.split()
        if len(ids) != 1:
            raise StackError(f"{service}: expected one container, found {ids}")
        return ids[0]

    def health(self, service: str) -> str:
        out = docker("inspect", "--format", "{{json .State}}", self.container(service)).stdout
        state = json.loads(out)
        return (state.get("Health") or {}).get("Status", state["Status"])

    def wait_healthy(self, services=SERVICES, timeout: float = START_PERIOD_SECONDS) -> None:
        deadline = time.monotonic() + timeout
        while True:
            states = {service: self.health(service) for service in services}
            if all(state == "healthy" for state in states.values()):
                return
            if time.monotonic() > deadline:
                raise StackError(
                    f"not healthy after {timeout:.0f} s: {states}\n{self.logs()[-5000:]}"
                )
            time.sleep(1.0)

    def logs(self, *services: str) -> str:
        return self.compose("logs", "--no-color", *services, check=False).stdout

    @property
    def base_url(self) -> str:
        return f"https://{SERVER_NAME}:{self.https_port}"

    @property
    def ca_file(self) -> str:
        return str(self.tls / "cert.pem")

    def session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_file
        return session

    def psql(self, sql: str) -> list:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.postgres_port,
            user="tilemaker",
            password=self.postgres_password,
            dbname="tilemaker",
            connect_timeout=10,
        ) as connection:
            return connection.execute(sql).fetchall()

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks still carrying this project's label."""
        label = f"label=com.docker.compose.project={self.project}"
        return {
            kind: docker(*command, "--filter", label, "--format", field).stdout.split()
            for kind, command, field in (
                ("containers", ("ps", "--all"), "{{.Names}}"),
                ("volumes", ("volume", "ls"), "{{.Name}}"),
                ("networks", ("network", "ls"), "{{.Name}}"),
            )
        }

    def down(self, *, volumes: bool = True) -> None:
        self.compose("down", "--timeout", "15", *(["--volumes"] if volumes else []), check=False)


def start_compose_stack(
    *, workers: int, github_stub_url: str, grants: str = "", second_map_grant: str | None = None
) -> ComposeStack:
    """Build (cached) images, write the synthetic maps and bring the stack up.

    ``second_map_grant`` restricts the map of ``SECOND_LAYER_ID`` to that grant.
    """
    build_images()
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-docker-"))
    # The app containers' user (uid 10001) reads the maps through the mount.
    folder.chmod(0o755)
    stack = ComposeStack(folder, workers, github_stub_url, grants)
    config_path = write_dataset(stack.maps)
    if second_map_grant is not None:
        config = json.loads(config_path.read_text())
        config["map_groups"][0]["maps"][1]["grant"] = second_map_grant
        config_path.write_text(json.dumps(config, indent=1))
    stack.tls.mkdir()
    try:
        stack.up()
    except BaseException:
        print(stack.logs()[-5000:])
        stack.down()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return stack
