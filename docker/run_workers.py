"""Run N daphne workers on consecutive ports and keep them running.

The container's main process (after docker/entrypoint.sh). One port per
worker rather than one shared socket, so nginx knows each worker: it marks a
dead one down and resends an idempotent request to another. The workers are
kept by ``tilemaker_site.server.WorkerPool``, the supervisor of ``serve
--workers``: a worker that exits is restarted, at most
``WORKER_RESTARTS_PER_MINUTE`` times a minute, after which everything stops
with exit code 1 (and the container's restart policy takes over);
SIGTERM/SIGINT stop them all, with SIGKILL for any that has not ended after
the grace period.

Once the workers are starting, one separate process warms the shared cache
(``maps.tiles.precache_all``: histograms and level-0 tiles, unless
TILEMAKER_PRECACHE=no), so the work is done once for all workers and no
worker delays its first answer for it.

    python docker/run_workers.py --workers 4 --base-port 8001 --host 0.0.0.0
"""

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

# Run as a script from the project folder: the project's packages sit one up.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tilemaker_site.server import WorkerPool

ASGI_APPLICATION = "tilemaker_site.asgi:application"


def worker_command(*, host: str, port: int) -> list[str]:
    # No --proxy-headers: daphne would take the left-most X-Forwarded-For
    # entry, which the browser writes (nginx appends to it); the client
    # address comes from tilemaker_site.rate_limits.client_address with
    # TILEMAKER_TRUSTED_PROXIES naming nginx. --verbosity 0: no daphne access
    # log, as tilemaker_site.middleware already writes one line per request.
    return [
        sys.executable,
        "-m",
        "daphne",
        "--bind",
        host,
        "--port",
        str(port),
        "--verbosity",
        "0",
        ASGI_APPLICATION,
    ]


PRECACHE_CODE = (
    "import os, django; "
    "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'tilemaker_site.settings'); "
    "django.setup(); from maps.tiles import precache_all; precache_all()"
)


def log(message: str) -> None:
    print(f"run_workers: {message}", file=sys.stderr, flush=True)


def supervise(*, workers: int, base_port: int, host: str) -> int:
    ports = [base_port + i for i in range(workers)]
    pool = WorkerPool(
        lambda slot: subprocess.Popen(worker_command(host=host, port=ports[slot])),
        log=log,
    )
    signal.signal(signal.SIGTERM, pool.stop)
    signal.signal(signal.SIGINT, pool.stop)
    pool.start(workers)
    log(f"{workers} daphne workers on {host}:{ports[0]}-{ports[-1]}")
    warmer = subprocess.Popen([sys.executable, "-c", PRECACHE_CODE])
    failed = pool.supervise()
    pool.shutdown(also=[warmer])
    log("all workers stopped")
    return 1 if failed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("TILEMAKER_WORKERS", "2"))
    )
    parser.add_argument(
        "--base-port",
        type=int,
        default=int(os.environ.get("TILEMAKER_WORKER_BASE_PORT", "8001")),
    )
    parser.add_argument("--host", default="0.0.0.0")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    return supervise(workers=args.workers, base_port=args.base_port, host=args.host)


if __name__ == "__main__":
    sys.exit(main())
