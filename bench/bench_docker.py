"""The Docker path's numbers: image size, build time cold and warm, stack start
time, tiles/s through nginx (TLS, HTTP/1.1 keep-alive clients) with 2 and 4
daphne workers per app container, and the memory each worker takes.

Builds with tests/support/compose.py (the base from scripts/docker-base.sh,
cached) and runs docker/compose.yaml on free 127.0.0.1 ports. "cold" builds
the app image with --no-cache (PyPI downloads included, base image cached);
"warm" rebuilds it unchanged. Tiles are the synthetic maps' PNG tiles of
every level and colour map, each asked several times, so the numbers are
mostly memcached hits rendered to PNG; C clients on the same 2 cores as the
servers.

    python bench/bench_docker.py [--clients 16] [--seconds 20] [--workers 2 4]
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.compose import (
    APP_IMAGE,
    REPO,
    base_image,
    build,
    build_images,
    docker,
    start_compose_stack,
)
from tests.support.github_stub import GithubStub
from tests.support.load import run_load
from tests.support.stack import LAYER_IDS

TILE_CMAPS = ("RdBu_r", "viridis", "gray")


def tile_paths(stack) -> list[str]:
    """Every tile of the maps in every colour map, asked once (so cached)."""
    with stack.session() as session:
        levels = session.get(f"{stack.base_url}/layers/{LAYER_IDS[0]}", timeout=30).json()[
            "number_of_levels"
        ]
        candidates = [
            f"/layers/{layer_id}/{level}/{y}/{x}/tile.png?cmap={cmap}"
            for layer_id in LAYER_IDS
            for level in range(levels)
            for y in range(2**level)
            for x in range(2 ** (level + 1))
            for cmap in TILE_CMAPS
        ]
        # The partial-sky map leaves some tiles empty (404): not tiles served.
        return [
            path
            for path in candidates
            if session.get(stack.base_url + path, timeout=60).status_code == 200
        ]


def worker_memory_mb(stack) -> list[float]:
    """Resident memory of each daphne worker in the first app container (MB)."""
    # No procps in the image: read /proc directly.
    script = (
        "for proc in /proc/[0-9]*; do "
        "if tr '\\0' ' ' <$proc/cmdline 2>/dev/null | grep -q '^[^ ]* -m daphne'; then "
        "awk '/VmRSS/ {print $2}' $proc/status; fi; done"
    )
    out = docker("exec", stack.container("app"), "sh", "-c", script).stdout
    return [int(kb) / 1024 for kb in out.split()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    args = parser.parse_args()

    began = time.monotonic()
    base = base_image()
    print(f"base image {base}: ready in {time.monotonic() - began:.1f} s")
    build_images()
    cold = build(
        REPO / "docker" / "Dockerfile",
        REPO,
        APP_IMAGE + "-cold",
        base=base,
        pip_ca=True,
        no_cache=True,
    )
    warm = build(REPO / "docker" / "Dockerfile", REPO, APP_IMAGE, base=base, pip_ca=True)
    size_mb = int(docker("image", "inspect", "--format", "{{.Size}}", APP_IMAGE).stdout) / 1e6
    docker("image", "rm", APP_IMAGE + "-cold")
    print(f"app image: {size_mb:.0f} MB; build cold {cold:.1f} s, warm {warm:.1f} s")

    stub = GithubStub().start()
    try:
        for workers in args.workers:
            began = time.monotonic()
            stack = start_compose_stack(workers=workers, github_stub_url=stub.url)
            started_s = time.monotonic() - began
            try:
                paths = tile_paths(stack)
                run_load(
                    stack.base_url,
                    paths=paths,
                    clients=args.clients,
                    duration_s=5.0,
                    make_session=stack.session,
                )
                result = run_load(
                    stack.base_url,
                    paths=paths,
                    clients=args.clients,
                    duration_s=args.seconds,
                    make_session=stack.session,
                )
                memory = worker_memory_mb(stack)
                print(
                    f"{workers} workers x 2 app containers: up and healthy in {started_s:.1f} s; "
                    f"{result.throughput_rps:.0f} tiles/s, p50 "
                    f"{result.latency_percentile_ms(50):.0f} ms, p99 "
                    f"{result.latency_percentile_ms(99):.0f} ms, statuses "
                    f"{dict(result.statuses)}; worker RSS "
                    + ", ".join(f"{mb:.0f}" for mb in memory)
                    + " MB"
                )
            finally:
                stack.down()
                shutil.rmtree(stack.folder, ignore_errors=True)
    finally:
        stub.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
