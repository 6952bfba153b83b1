"""The production topology, natively: PostgreSQL, memcached, Redis, daphne workers, nginx.

What docker/compose.yaml runs in containers, started here as plain processes
on 127.0.0.1 (free ports, one temporary folder), so tests and
bench/bench_production.py can exercise it and break parts of it on purpose.
nginx runs the configuration rendered from docker/nginx.conf by
docker/render-nginx.sh, and the workers run docker/run_workers.py's
command line, so what is tested is what ships.

Every process started here is remembered by its pid and stopped by
``Stack.close()``; nothing is stopped by name.
"""

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.fits import write_car_map
from tests.support.memcached import Memcached
from tests.support.ports import free_port
from tests.support.redis import Redis

REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
SERVER_NAME = "localhost"

# The synthetic data: an ACT-like partial-sky (Dec -60..+30) I/Q/U map at
# 7.5 arcmin, 3 zoom levels of 360 px tiles (half a megabyte of float32
# each), written in under a second.
PIXEL_SCALE_DEG = 0.125
MAP_NX = 2880
MAP_NY = 720
MAP_DEC_BOTTOM_DEG = -60.0
MAP_RA_LEFT_DEG = 180.0
LAYER_IDS = ("synth-i", "synth-q", "synth-u")
SECOND_LAYER_ID = "synth2-i"
MAP_GROUP_ID = "prodtest"
CACHALOT_TIMEOUT_SECONDS = 5
SOURCE_GROUP_ID = "prodtest-sources"


class StackError(RuntimeError):
    """A service did not start; the message ends with the tail of its log."""


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _wait_for(predicate, *, what: str, log: Path, process=None, timeout=START_TIMEOUT_SECONDS):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"{what} exited with {process.returncode}:\n{_tail(log)}")
        if predicate():
            return
        time.sleep(0.1)
    raise StackError(f"{what} not ready after {timeout:.0f} s:\n{_tail(log)}")


def _stop_process(process: subprocess.Popen, sig=signal.SIGTERM) -> None:
    if process.poll() is not None:
        return
    try:
        os.kill(process.pid, signal.SIGCONT)  # a paused process cannot handle SIGTERM
        os.kill(process.pid, sig)
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    except ProcessLookupError:
        process.wait()


def _as_postgres_user() -> list[str]:
    # PostgreSQL refuses to run as root; CI runs the tests as root.
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _postgres_binary(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    on_path = shutil.which(name)
    if on_path is None:
        raise StackError(f"{name} not found: install Debian's postgresql package")
    return on_path


def _worker_command(*, host: str, port: int) -> list[str]:
    spec = importlib.util.spec_from_file_location("run_workers", DOCKER / "run_workers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.worker_command(host=host, port=port)


# --- PostgreSQL ---------------------------------------------------------------


@dataclass
class Postgres:
    folder: Path
    port: int
    user: str = "tilemaker"
    database: str = "tilemaker"
    password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(12))

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://{self.user}:{self.password}@127.0.0.1:{self.port}/{self.database}"

    def start(self) -> None:
        self.folder.mkdir(mode=0o700)
        password_file = self.folder / "password"
        password_file.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            shutil.chown(password_file, "postgres", "postgres")
        subprocess.run(
            [
                *_as_postgres_user(),
                _postgres_binary("initdb"),
                "--pgdata",
                str(self.data_dir),
                "--username",
                self.user,
                "--pwfile",
                str(password_file),
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )
        password_file.unlink()
        # Durability is not under test: fsync off keeps migrations quick.
        options = (
            f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._pg_ctl("start", "-w", "-t", str(int(START_TIMEOUT_SECONDS)), "-o", options)
        self._psql(f"CREATE DATABASE {self.database}")

    def _pg_ctl(self, *args: str) -> None:
        result = subprocess.run(
            [
                *_as_postgres_user(),
                _postgres_binary("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_SECONDS + 10,
        )
        if result.returncode != 0:
            raise StackError(f"pg_ctl {args[0]}: {result.stderr}\n{_tail(self.log)}")

    def _psql(self, sql: str):
        import psycopg

        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
            autocommit=True,
            connect_timeout=10,
        ) as connection:
            cursor = connection.execute(sql)
            return cursor.fetchall() if cursor.description else None

    def connection_count(self) -> int:
        """Open client connections to the application database."""
        rows = self._psql(
            f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{self.database}'"
        )
        return rows[0][0]

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "fast", "-w")


# --- daphne workers -----------------------------------------------------------


@dataclass
class Worker:
    port: int
    log: Path
    env: dict
    process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                _worker_command(host="127.0.0.1", port=self.port),
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for(self._healthy, what=f"daphne on {self.port}", log=self.log, process=self.process)

    def _healthy(self) -> bool:
        try:
            return self.get("/healthz", timeout=2).status_code in (200, 503)
        except requests.RequestException:
            return False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, **kwargs) -> requests.Response:
        """A request straight to this worker, with the headers nginx would add."""
        headers = {"Host": SERVER_NAME, "X-Forwarded-Proto": "https", **kwargs.pop("headers", {})}
        return requests.get(self.url + path, headers=headers, **kwargs)

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process)


# --- nginx --------------------------------------------------------------------


@dataclass
class Nginx:
    folder: Path
    https_port: int
    http_port: int
    upstreams: list[str]
    process: subprocess.Popen | None = None

    @property
    def config(self) -> Path:
        return self.folder / "nginx.conf"

    @property
    def certificate(self) -> Path:
        return self.folder / "tls" / "cert.pem"

    @property
    def error_log(self) -> Path:
        return self.folder / "error.log"

    @property
    def access_log(self) -> Path:
        return self.folder / "access.log"

    def render(self) -> None:
        self.folder.mkdir(mode=0o755)
        env = {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "NGINX_TEMPLATE": str(DOCKER / "nginx.conf"),
            "NGINX_OUTPUT": str(self.config),
            "TILEMAKER_UPSTREAMS": " ".join(self.upstreams),
            "NGINX_SERVER_NAME": SERVER_NAME,
            "NGINX_HTTP_PORT": f"127.0.0.1:{self.http_port}",
            "NGINX_HTTPS_PORT": f"127.0.0.1:{self.https_port}",
            "NGINX_HTTPS_REDIRECT_PORT": str(self.https_port),
            "NGINX_CERT": str(self.certificate),
            "NGINX_KEY": str(self.folder / "tls" / "key.pem"),
            "NGINX_RUNTIME_DIR": str(self.folder / "run"),
            "NGINX_USER": "www-data" if os.geteuid() == 0 else "nobody",
            "NGINX_ERROR_LOG": str(self.error_log),
            "NGINX_ACCESS_LOG": str(self.access_log),
        }
        subprocess.run(
            ["sh", str(DOCKER / "render-nginx.sh")],
            env=env,
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT_SECONDS,
        )

    def start(self) -> None:
        self.render()
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        with (self.folder / "stdout.log").open("ab") as log:
            self.process = subprocess.Popen(
                [nginx, "-c", str(self.config), "-e", str(self.error_log), "-g", "daemon off;"],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_for(self._listening, what="nginx", log=self.error_log, process=self.process)

    def _listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.https_port), timeout=0.5):
                return True
        except OSError:
            return False

    def negotiated_protocol(self) -> str | None:
        """The ALPN protocol nginx picks when a client offers h2 and http/1.1."""
        context = ssl.create_default_context(cafile=str(self.certificate))
        context.set_alpn_protocols(["h2", "http/1.1"])
        with (
            socket.create_connection(("127.0.0.1", self.https_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=SERVER_NAME) as tls,
        ):
            return tls.selected_alpn_protocol()

    def stop(self) -> None:
        if self.process is not None:
            _stop_process(self.process, signal.SIGQUIT)


# --- the whole stack ----------------------------------------------------------


def write_dataset(folder: Path) -> Path:
    """Synthetic maps, a catalogue and a box, and the config naming them; returns the config."""
    folder.mkdir(mode=0o755)
    common = {
        "pixel_scale_deg": PIXEL_SCALE_DEG,
        "ra_left_deg": MAP_RA_LEFT_DEG,
        "dec_bottom_deg": MAP_DEC_BOTTOM_DEG,
        "nx": MAP_NX,
        "ny": MAP_NY,
    }
    write_car_map(folder / "synth_iqu.fits", n_planes=3, **common)
    write_car_map(folder / "synth2.fits", **common)
    layers = [
        {
            "layer_id": layer_id,
            "name": stokes,
            "description": f"Stokes {stokes}",
            "quantity": f"T ({stokes})",
            "units": "uK",
            "vmin": -300.0,
            "vmax": 300.0,
            "cmap": "RdBu_r",
            "stokes": stokes,
            "provider": {"provider_type": "fits", "filename": "synth_iqu.fits", "index": plane},
        }
        for plane, (layer_id, stokes) in enumerate(zip(LAYER_IDS, "IQU", strict=True))
    ]
    second = {
        "layer_id": SECOND_LAYER_ID,
        "name": "I (auto contrast)",
        "vmin": "auto",
        "vmax": "auto",
        "cmap": "viridis",
        "provider": {"provider_type": "fits", "filename": "synth2.fits"},
    }
    config = {
        "map_groups": [
            {
                "map_group_id": MAP_GROUP_ID,
                "name": "Production test",
                "description": "Synthetic maps for tests/production",
                "maps": [
                    {
                        "map_id": "synth",
                        "name": "Synthetic IQU",
                        "description": "three planes",
                        "bands": [
                            {
                                "band_id": "synth-f090",
                                "name": "f090",
                                "description": "",
                                "layers": layers,
                            }
                        ],
                    },
                    {
                        "map_id": "synth2",
                        "name": "Synthetic 2-D",
                        "description": "one plane",
                        "bands": [
                            {
                                "band_id": "synth2-f150",
                                "name": "f150",
                                "description": "",
                                "layers": [second],
                            }
                        ],
                    },
                ],
            }
        ],
        "source_groups": [
            {
                "source_group_id": SOURCE_GROUP_ID,
                "name": "Grid sources",
                "description": "a regular grid",
                "sources": [
                    {"name": f"src{i}", "ra": 10.0 * i, "dec": -30.0 + (i % 5) * 10.0}
                    for i in range(36)
                ],
            }
        ],
        "boxes": [
            {
                "name": "deep field",
                "description": "a box",
                "top_left_ra": 40.0,
                "top_left_dec": 10.0,
                "bottom_right_ra": 20.0,
                "bottom_right_dec": -10.0,
            }
        ],
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config, indent=1))
    return path


@dataclass
class Stack:
    folder: Path
    postgres: Postgres
    memcached: Memcached
    redis: Redis
    workers: list[Worker]
    nginx: Nginx
    env: dict
    config_path: Path

    @property
    def base_url(self) -> str:
        return f"https://{SERVER_NAME}:{self.nginx.https_port}"

    @property
    def ca_file(self) -> str:
        return str(self.nginx.certificate)

    def session(self) -> requests.Session:
        """A keep-alive HTTPS client trusting the stack's self-signed certificate."""
        session = requests.Session()
        # Not the environment's CA bundle or proxies: the stack's certificate, direct.
        session.trust_env = False
        session.verify = self.ca_file
        return session

    def manage(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess:
        """``python manage.py ARGS`` against the stack's database and cache."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def rename_map_group(self, name: str) -> None:
        """Rename the map group through the ORM from a third process, as an admin would."""
        code = (
            "from maps.models import MapGroup; "
            f"group = MapGroup.objects.get(map_group_id={MAP_GROUP_ID!r}); "
            f"group.name = {name!r}; group.save()"
        )
        result = self.manage("shell", "-c", code)
        if result.returncode != 0:
            raise StackError(f"rename failed: {result.stderr}")

    def map_group_names(self) -> list[str]:
        """The map group's name as each worker answers it."""
        return [worker.get("/map-groups").json()[0]["name"] for worker in self.workers]

    def logs(self) -> str:
        """Everything every service wrote, for asserting what is never logged."""
        paths = [w.log for w in self.workers] + [
            self.nginx.access_log,
            self.nginx.error_log,
            self.memcached.log,
        ]
        return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())

    def close(self) -> None:
        for part in (self.nginx, *self.workers, self.memcached, self.redis):
            try:
                part.stop()
            except Exception as error:  # keep tearing down the rest
                print(f"stack teardown: {error}", file=sys.stderr)
        try:
            self.postgres.stop()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def production_env(*, database_url: str, memcached_port: int) -> dict:
    """The environment docker/compose.yaml gives the app container, pointed at loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
    env.update(
        {
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(50),
            "TILEMAKER_ALLOWED_HOSTS": f"{SERVER_NAME},127.0.0.1",
            "TILEMAKER_DATABASE_URL": database_url,
            "TILEMAKER_CACHE_TYPE": "memcached",
            "TILEMAKER_MEMCACHED_HOST": "127.0.0.1",
            "TILEMAKER_MEMCACHED_PORT": str(memcached_port),
            "TILEMAKER_MEMCACHED_TIMEOUT_SECONDS": "0.5",
            "TILEMAKER_PRECACHE": "no",
            # Short, so a test can wait out the staleness bound after a hung cache.
            "TILEMAKER_CACHALOT_TIMEOUT_SECONDS": str(CACHALOT_TIMEOUT_SECONDS),
            "TILEMAKER_AUTH_TYPE": "github",
            "TILEMAKER_GITHUB_KEY": "test-github-key",
            "TILEMAKER_GITHUB_SECRET": "test-github-secret-" + secrets.token_hex(8),
            "TILEMAKER_ORIGINS": "https://viewer.example.org",
            "TILEMAKER_TRUSTED_PROXIES": "127.0.0.1",
            # Every test client here is one address; the limits themselves are
            # tested in tests/site/test_rate_limits.py.
            "TILEMAKER_RATE_LIMIT_EXPENSIVE": "off",
            "TILEMAKER_RATE_LIMIT_EXPENSIVE_ANON": "off",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_stack(*, workers: int = 2) -> Stack:
    """Start everything, migrate and import the synthetic data; ``close()`` undoes it all."""
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-production-"))
    # PostgreSQL (as the postgres user) and nginx workers must reach into it.
    folder.chmod(0o755)
    postgres = Postgres(folder / "postgres", free_port())
    memcached = Memcached(
        free_port(),
        item_size_mb=16,
        memory_mb=256,
        max_connections=1024,
        log=folder / "memcached.log",
    )
    # The channel layer of live events, as docker/compose.yaml's redis service.
    redis = Redis()
    data = folder / "maps"
    env = production_env(database_url=postgres.url, memcached_port=memcached.port)
    env["TILEMAKER_REDIS_URL"] = redis.url
    env["TILEMAKER_DATA_ROOTS"] = str(data)
    env["TILEMAKER_STATIC_ROOT"] = str(folder / "static")
    worker_list = [Worker(free_port(), folder / f"daphne-{i}.log", env) for i in range(workers)]
    upstreams = [f"127.0.0.1:{worker.port}" for worker in worker_list]
    nginx = Nginx(folder / "nginx", free_port(), free_port(), upstreams)
    stack = Stack(folder, postgres, memcached, redis, worker_list, nginx, env, data / "config.json")
    try:
        postgres.start()
        memcached.start()
        redis.start()
        write_dataset(data)
        steps = (
            ("collectstatic", "--noinput"),
            ("migrate", "--noinput"),
            ("import_config", str(stack.config_path)),
        )
        for step in steps:
            result = stack.manage(*step)
            if result.returncode != 0:
                raise StackError(f"manage.py {step[0]}: {result.stdout}{result.stderr}")
        for worker in worker_list:
            worker.start()
        nginx.start()
    except BaseException:
        stack.close()
        raise
    return stack
