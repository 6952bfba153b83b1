"""Server memory under slow clients: 1,000,000-source catalogue and 8 MB cut-outs.

Run: python3 bench/bench_memory.py [--repo PATH] [--sources-clients N] [--cutout-clients N]

Builds a throw-away SQLite database (one catalogue of 1,000,000 sources, one
2000 x 1000 map), starts ``serve`` (1 worker) from ``--repo`` (default: this
checkout; give /work/main to measure the code before a change), opens the
slow clients (raw sockets, 4 KiB receive window, reading ~4 KB/s for
``--seconds``), samples the server's VmRSS from /proc and prints idle RSS,
peak RSS, VmHWM and the stated bound. Every client then disconnects.
"""

import argparse
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(HERE))

from tests.support.ports import free_port  # noqa: E402
from tests.support.servers import ServerProcess  # noqa: E402

CUTOUT = "/layers/big-i/submap/50/-50/25/-25/image.fits"
SOURCES = "/sources/big"
READ_BYTES_PER_SECOND = 4096


def vm(pid: int, field: str) -> int:
    """``VmRSS`` / ``VmHWM`` of ``pid`` in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def prepare(folder: Path, sources: int) -> dict:
    sys.path.insert(0, str(HERE))
    from tests.support.configs import config_with_layers, layer_entry, write_json
    from tests.support.fits import write_car_map

    big = write_car_map(
        folder / "big.fits",
        nx=2000,
        ny=1000,
        pixel_scale_deg=0.05,
        ra_left_deg=50.0,
        dec_bottom_deg=-25.0,
    )
    write_json(folder / "config.json", config_with_layers(layer_entry("big-i", str(big))))
    db = folder / "bench.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")},
        "TILEMAKER_DATABASE_URL": f"sqlite:///{db}",
        "TILEMAKER_PRECACHE": "no",
        "TILEMAKER_CONFIG_PATH": str(folder / "config.json"),
        "TILEMAKER_LOG_REQUESTS": "no",
    }
    subprocess.run(
        [sys.executable, str(HERE / "manage.py"), "migrate", "-v", "0"],
        env={**env, "PYTHONPATH": str(HERE)},
        check=True,
    )
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO catalogs_sourcegroup (source_group_id, name, description, position)"
            " VALUES ('big', 'Big', '1M sources', 0)"
        )
        group = connection.execute("SELECT id FROM catalogs_sourcegroup").fetchone()[0]
        connection.executemany(
            "INSERT INTO catalogs_source (source_group_id, name, ra, dec, extra)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                (
                    group,
                    f"src-{i:07d}",
                    (i * 0.000337) % 360,
                    (i * 0.000171) % 180 - 90,
                    '{"flux": 1.5}',
                )
                for i in range(sources)
            ),
        )
    return env


def slow_client(port: int, path: str, seconds: float, stats: dict) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(seconds + 60)
    try:
        sock.connect(("127.0.0.1", port))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        head = sock.recv(12)
        stats.setdefault(head[9:12].decode() or "none", []).append(path)
        end = time.monotonic() + seconds
        while time.monotonic() < end and sock.recv(READ_BYTES_PER_SECOND // 4):
            time.sleep(0.25)
    except OSError as error:
        stats.setdefault(type(error).__name__, []).append(path)
    finally:
        sock.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repo", type=Path, default=HERE)
    parser.add_argument("--sources", type=int, default=1_000_000)
    parser.add_argument("--sources-clients", type=int, default=25)
    parser.add_argument("--cutout-clients", type=int, default=25)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-memory-"))
    env = prepare(folder, args.sources)
    port = free_port()
    server = ServerProcess(
        [sys.executable, str(args.repo / "manage.py"), "serve", "--port", str(port)],
        launcher=None,
        cwd=args.repo,
        env={**env, "PYTHONPATH": str(args.repo), "PYTHONUNBUFFERED": "1"},
    )
    try:
        server.wait_ready()
        time.sleep(2)
        idle = vm(server.process.pid, "VmRSS")
        stats: dict = {}
        paths = [SOURCES] * args.sources_clients + [CUTOUT] * args.cutout_clients
        clients = [
            threading.Thread(target=slow_client, args=(port, path, args.seconds, stats))
            for path in paths
        ]
        start = time.monotonic()
        for client in clients:
            client.start()
        peak = idle
        while any(client.is_alive() for client in clients):
            peak = max(peak, vm(server.process.pid, "VmRSS"))
            time.sleep(0.2)
        time.sleep(2)
        after = vm(server.process.pid, "VmRSS")
        hwm = vm(server.process.pid, "VmHWM")
        print(f"code: {args.repo}  load average: {os.getloadavg()[0]:.1f}")
        print(
            f"{args.sources_clients} slow /sources clients ({args.sources:,} sources), "
            f"{args.cutout_clients} slow 8 MB FITS cut-out clients, "
            f"{time.monotonic() - start:.0f} s"
        )
        print("answers:", {status: len(paths_) for status, paths_ in sorted(stats.items())})
        mb = 1024 * 1024
        print(
            f"idle RSS {idle / mb:.0f} MB, peak RSS {peak / mb:.0f} MB (VmHWM {hwm / mb:.0f} MB), "
            f"after the clients left {after / mb:.0f} MB"
        )
        # The README's formula with the defaults this server runs with.
        renders = max(2, os.cpu_count() or 2)
        bound = idle + renders * 16 * 25_000_000 + 256 * mb + len(paths) * (64 * 1024 + mb // 2)
        print(
            f"stated bound: idle + {renders} renders x 16 B x 25 Mpx + 256 MB in flight"
            f" + {len(paths)} connections x 0.56 MB = {bound / mb:.0f} MB"
        )
    finally:
        with server:
            server.stop(signal.SIGTERM)


if __name__ == "__main__":
    main()
