"""Tile server benchmark on an ACT-scale map, through the real server.

Starts ``manage.py serve`` (daphne) on 127.0.0.1 with a throwaway SQLite
database holding the I/Q/U planes of ``bench/act_map.py``'s map, then
prints, for tiles of 675 px:

- cold native-level tiles (file -> float -> palette PNG), p50 / p99
- warm tiles (same colours again), p50, for an anonymous caller (no session
  cookie: no database read to know who it is) and for a logged-in one (its
  session read from the database); revalidation with ``If-None-Match`` (304)
- re-coloured tiles (float data cached, new vmin/vmax), p50
- coarse tiles: level 0 from the file, levels 0-2 from the overview, 3-4 from the file
- throughput of 8 concurrent keep-alive clients, and the server's CPU use
- a 10 x 10 degree FITS cut-out
- the server's resident memory

Usage: ``python3 bench/bench_tiles.py [--workers N] [--memcached]``; without
``--memcached`` each worker has its own in-process cache.
Numbers depend on the machine and on what else runs on it; the map file
should be in the page cache (run twice) for stable cold-tile numbers.
"""

import argparse
import http.client
import json
import multiprocessing
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from act_map import ensure_act_map  # noqa: E402
from timing import percentile  # noqa: E402

from tests.support.memcached import start_memcached  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

LAYERS = {"act-i": (0, -300.0, 300.0), "act-q": (1, -30.0, 30.0), "act-u": (2, -30.0, 30.0)}
DEEPEST = 5  # 0.5 arcmin: 675-pixel tiles, levels 0..5
# Tile rows fully inside the map's Dec -63..+23 at the deepest level.
DATA_ROWS = range(5, 20)
TILES_ACROSS = 64
COLD_SAMPLES = 100
WARM_SAMPLES = 200
THROUGHPUT_CLIENTS = 8
THROUGHPUT_SECONDS = 10.0


def write_config(folder: Path, fits_path: Path) -> Path:
    layers = [
        {
            "layer_id": layer_id,
            "name": layer_id[-1].upper(),
            "quantity": "T" if index == 0 else "Q/U",
            "units": "uK",
            "vmin": vmin,
            "vmax": vmax,
            "cmap": "RdBu_r",
            "provider": {"provider_type": "fits", "filename": str(fits_path), "index": index},
        }
        for layer_id, (index, vmin, vmax) in LAYERS.items()
    ]
    config = {
        "map_groups": [
            {
                "map_group_id": "bench",
                "name": "Bench",
                "description": "ACT-scale synthetic map",
                "maps": [
                    {
                        "map_id": "act",
                        "name": "ACT-like",
                        "description": "",
                        "bands": [
                            {"band_id": "f090", "name": "f090", "description": "", "layers": layers}
                        ],
                    }
                ],
            }
        ]
    }
    path = folder / "config.json"
    path.write_text(json.dumps(config))
    return path


class Server:
    """``manage.py serve`` in a subprocess, with its log collected in a thread."""

    def __init__(self, folder: Path, config: Path, *, workers: int, memcached_port: int | None):
        self.port = free_port()
        self.env = env = {
            **os.environ,
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(48),
            "TILEMAKER_ALLOWED_HOSTS": "127.0.0.1",
            "TILEMAKER_DATABASE_URL": f"sqlite:///{folder / 'bench.sqlite3'}",
            "TILEMAKER_CONFIG_PATH": str(config),
            "TILEMAKER_SERVE_FRONTEND": "no",
            "TILEMAKER_PRECACHE": "no",
            "TILEMAKER_HTTPS": "no",
            "TILEMAKER_LOG_REQUESTS": "no",
        }
        if memcached_port is not None:
            env["TILEMAKER_CACHE_TYPE"] = "memcached"
            env["TILEMAKER_MEMCACHED_HOST"] = "127.0.0.1"
            env["TILEMAKER_MEMCACHED_PORT"] = str(memcached_port)
        command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--workers", str(workers)]
        self.server = ServerProcess(command, launcher=None, cwd=REPO, env=env)
        self.process = self.server.process
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit("server exited:\n" + self.server.output)
            try:
                status, _ = get(self.connect(), "/map-groups")
            except OSError:
                status = None
            if status == 200:
                return
            time.sleep(0.2)
        self.stop()
        raise SystemExit(
            "server did not answer 200 on /map-groups:\n" + "\n".join(self.server.lines[-20:])
        )

    def session_cookie(self) -> str:
        """A logged-in user's session cookie, made in the server's database."""
        script = (
            "from django.contrib.auth import get_user_model;"
            "from django.test import Client;"
            "user = get_user_model().objects.create_user('bench');"
            "client = Client(); client.force_login(user);"
            "print(client.cookies['sessionid'].value)"
        )
        found = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return f"sessionid={found.stdout.split()[-1]}"

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)

    def pids(self) -> list[int]:
        """The server process and its children (daphne workers)."""
        found = [self.process.pid]
        for status in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = status.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(status.parent.name))
        return found

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total

    def memory_mb(self) -> dict[str, float]:
        totals = {"VmRSS": 0.0, "RssAnon": 0.0, "RssFile": 0.0}
        for pid in self.pids():
            try:
                lines = Path(f"/proc/{pid}/status").read_text().splitlines()
            except OSError:
                continue
            for line in lines:
                key, _, value = line.partition(":")
                if key in totals:
                    totals[key] += int(value.split()[0]) / 1024
        return totals

    def stop(self):
        with self.server:  # kills the process group if SIGTERM left any of it
            self.server.stop(signal.SIGTERM)


def get(connection: http.client.HTTPConnection, path: str, headers=None) -> tuple[int, bytes]:
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    return response.status, response.read()


def timed(connection, path, headers=None, expect=200) -> float:
    started = time.perf_counter()
    status, body = get(connection, path, headers)
    elapsed = time.perf_counter() - started
    if status != expect:
        raise SystemExit(f"{path}: HTTP {status}: {body[:200]!r}")
    return elapsed * 1000


def tile_path(layer_id, x, y, *, level=DEEPEST, query="") -> str:
    return f"/layers/{layer_id}/{level}/{y}/{x}/tile.png{query}"


def _client_loop(port: int, paths: list[str], seed: int, seconds: float) -> tuple[int, int]:
    """One keep-alive client: (answers, non-200 answers) within ``seconds``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    rng = random.Random(seed)
    stop = time.monotonic() + seconds
    done = failed = 0
    while time.monotonic() < stop:
        status, _ = get(connection, rng.choice(paths))
        done += 1
        failed += status != 200
    connection.close()
    if failed:
        raise SystemExit(f"{failed} of {done} answers were not 200")
    return done, failed


def throughput(server: Server, paths: list[str]) -> tuple[float, float, float]:
    """Tiles per second, server CPU (percent of one core) and server CPU ms per tile.

    Clients are processes, not threads, so the client side is not held back
    by its own GIL (it still shares the machine's cores with the server).
    """
    context = multiprocessing.get_context("fork")
    with context.Pool(THROUGHPUT_CLIENTS) as pool:
        cpu_before = server.cpu_seconds()
        started = time.monotonic()
        results = pool.starmap(
            _client_loop,
            [(server.port, paths, n, THROUGHPUT_SECONDS) for n in range(THROUGHPUT_CLIENTS)],
        )
        wall = time.monotonic() - started
        cpu_seconds = server.cpu_seconds() - cpu_before
    tiles = sum(r[0] for r in results)
    return tiles / wall, cpu_seconds / wall * 100, cpu_seconds / tiles * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1, help="daphne processes (default 1)")
    parser.add_argument("--memcached", action="store_true", help="share a memcached cache")
    args = parser.parse_args()

    fits_path = ensure_act_map()
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-"))
    memcached = None
    server = None
    try:
        memcached_port = None
        if args.memcached:
            memcached = start_memcached(memory_mb=1024)
            memcached_port = memcached.port
        config = write_config(folder, fits_path)
        started = time.perf_counter()
        server = Server(folder, config, workers=args.workers, memcached_port=memcached_port)
        print(
            f"server up in {time.perf_counter() - started:.1f} s on port {server.port} "
            f"(workers={args.workers}, cache={'memcached' if memcached_port else 'in-process'}, "
            f"cores={os.cpu_count()}, load average {os.getloadavg()[0]:.1f})"
        )
        connection = server.connect()
        rng = random.Random(2026)
        pool = [(x, y) for x in range(TILES_ACROSS) for y in DATA_ROWS]
        rng.shuffle(pool)
        cold_tiles, pool = pool[:COLD_SAMPLES], pool[COLD_SAMPLES:]

        timed(connection, tile_path("act-i", *pool.pop()))  # first request: imports, DB, mmap
        cold = [timed(connection, tile_path("act-i", x, y)) for x, y in cold_tiles]
        print(
            f"cold native tile (675 px PNG): p50 {percentile(cold, 50):.1f} ms, "
            f"p99 {percentile(cold, 99):.1f} ms  (n={len(cold)})"
        )

        warm_path = tile_path("act-i", *cold_tiles[0])
        warm = [timed(connection, warm_path) for _ in range(WARM_SAMPLES)]
        print(
            f"warm tile (same colours):      p50 {percentile(warm, 50):.1f} ms, "
            f"p99 {percentile(warm, 99):.1f} ms  (n={len(warm)})"
        )
        logged_in = {"Cookie": server.session_cookie()}
        warm_session = [timed(connection, warm_path, logged_in) for _ in range(WARM_SAMPLES)]
        connection.request("GET", warm_path)
        response = connection.getresponse()
        response.read()
        etag = response.getheader("ETag")
        revalidated = [
            timed(connection, warm_path, {"If-None-Match": etag}, expect=304)
            for _ in range(WARM_SAMPLES)
        ]
        print(
            f"warm tile, logged-in caller:  p50 {percentile(warm_session, 50):.1f} ms; "
            f"If-None-Match (304): p50 {percentile(revalidated, 50):.1f} ms"
        )

        recoloured = [
            timed(connection, tile_path("act-i", x, y, query=f"?vmin=-{200 + i}&vmax={250 + i}"))
            for i, (x, y) in enumerate(cold_tiles)
        ]
        print(
            f"re-coloured tile (data cached): p50 {percentile(recoloured, 50):.1f} ms, "
            f"p99 {percentile(recoloured, 99):.1f} ms  (n={len(recoloured)})"
        )

        webp = [
            timed(connection, tile_path("act-i", x, y).replace(".png", ".webp"))
            for x, y in cold_tiles[:30]
        ]
        print(f"re-coloured tile as WebP:     p50 {percentile(webp, 50):.1f} ms")

        coarse_file = timed(connection, tile_path("act-q", 1, 0, level=0))
        print(f"level-0 tile cold, from the file (overview not built yet): {coarse_file:.0f} ms")
        # That request started the overview build in the background; levels
        # 0-2 (8+ native pixels per tile pixel) come from it once it is ready.
        waited = time.perf_counter()
        for x, y in [(x, y) for y in (1, 2) for x in range(8)]:
            if timed(connection, tile_path("act-q", x, y, level=2)) < 100:
                break
            time.sleep(1)
        from_overview = [timed(connection, tile_path("act-q", 0, 0, level=0))] + [
            timed(connection, tile_path("act-q", x, 2, level=2)) for x in range(8)
        ]
        print(
            f"overview ready within {time.perf_counter() - waited:.0f} s; then cold tiles of "
            f"levels 0-2: p50 {percentile(from_overview, 50):.0f} ms"
        )
        from_file = [timed(connection, tile_path("act-q", x, 9, level=4)) for x in range(10)]
        from_file += [timed(connection, tile_path("act-q", x, 4, level=3)) for x in range(10)]
        print(
            f"cold tiles of levels 3-4 (block means from the file): "
            f"p50 {percentile(from_file, 50):.0f} ms"
        )

        workloads = {
            "warm tiles": [tile_path("act-i", x, y) for x, y in cold_tiles],
            "re-coloured tiles": [
                tile_path("act-i", x, y, query=f"?vmin=-{v}&vmax={v}")
                for x, y in cold_tiles
                for v in range(300, 340)
            ],
            "new native tiles (mostly uncached)": [tile_path("act-u", x, y) for x, y in pool],
        }
        for name, paths in workloads.items():
            rate, cpu, cpu_ms = throughput(server, paths)
            print(
                f"throughput, {THROUGHPUT_CLIENTS} keep-alive clients, {name}: {rate:.0f} tiles/s; "
                f"server CPU {cpu:.0f}% (200% = both cores), {cpu_ms:.1f} ms CPU per tile; "
                f"anonymous RSS {server.memory_mb()['RssAnon']:.0f} MB"
            )

        cutouts = [
            timed(connection, f"/layers/act-i/submap/{ra + 10}/{ra}/5/-5/image.fits")
            for ra in range(0, 100, 20)
        ]
        print(
            f"10 x 10 deg FITS cut-out (1200 x 1200 px, 5.8 MB): "
            f"p50 {percentile(cutouts, 50):.0f} ms  (n={len(cutouts)})"
        )

        memory = server.memory_mb()
        print(
            f"server RSS {memory['VmRSS']:.0f} MB (anonymous {memory['RssAnon']:.0f} MB, "
            f"mapped file pages {memory['RssFile']:.0f} MB); "
            f"load average at the end {os.getloadavg()[0]:.1f}"
        )
        connection.close()
    finally:
        if server is not None:
            server.stop()
        if memcached is not None:
            memcached.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
