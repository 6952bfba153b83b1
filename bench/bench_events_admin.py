"""Catalogue event latency for a curator's admin edit, across workers, in the
production topology: the native stack of tests/support/stack.py (PostgreSQL,
memcached, redis-server, two daphne workers with the container's command line,
nginx with docker/nginx.conf).

The curator posts the layer's admin change form straight to worker A, ``SAVES``
times (a pause between saves, so each latency is one event's); one socket is
connected straight to worker B, one through nginx over TLS. Latency is from
just before the POST to the frame at each socket, so it includes the admin's
own POST (validation, the save, its redirect), whose duration is printed as
well. Prints p50/p99 per socket. Run: ``python3 bench/bench_events_admin.py``.
"""

import ssl
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from timing import percentile

from tests.support.admin_form import Curator
from tests.support.stack import LAYER_IDS, SERVER_NAME, start_stack
from tests.support.ws_client import open_events_socket, read_text_frame

SAVES = 100
PAUSE_SECONDS = 0.05


def main() -> None:
    stack = start_stack(workers=2)
    try:
        worker_a, worker_b = stack.workers
        curator = Curator(stack, worker_a, LAYER_IDS[0])
        tls = ssl.create_default_context(cafile=stack.ca_file)
        sockets = {
            "worker B, direct": open_events_socket(worker_b.port),
            "through nginx (TLS)": open_events_socket(
                stack.nginx.https_port, tls=tls, host=SERVER_NAME
            ),
        }
        arrivals: dict[str, list[float]] = {name: [] for name in sockets}

        def read(name: str) -> None:
            for _ in range(SAVES):
                read_text_frame(sockets[name])
                arrivals[name].append(time.perf_counter())

        readers = [threading.Thread(target=read, args=(name,)) for name in sockets]
        for reader in readers:
            reader.start()
        sent, answered = [], []
        for number in range(SAVES):
            curator.rename_layer(
                f"I {number}", before_post=lambda: sent.append(time.perf_counter())
            )
            answered.append(time.perf_counter())
            time.sleep(PAUSE_SECONDS)
        for reader in readers:
            reader.join(timeout=60)
        for sock in sockets.values():
            sock.close()
    finally:
        stack.close()
    print(f"{SAVES} admin change-form saves on worker A, 2 daphne workers, redis-server, nginx")
    request_ms = [(end - start) * 1000 for start, end in zip(sent, answered, strict=True)]
    print(
        f"the admin's POST (save and redirect): p50 {statistics.median(request_ms):.1f} ms, "
        f"p99 {percentile(request_ms, 99):.1f} ms"
    )
    for name, got in arrivals.items():
        latencies_ms = [(arrived - start) * 1000 for start, arrived in zip(sent, got, strict=True)]
        print(
            f"{name}: p50 {statistics.median(latencies_ms):.1f} ms, "
            f"p99 {percentile(latencies_ms, 99):.1f} ms, max {max(latencies_ms):.1f} ms"
        )


if __name__ == "__main__":
    main()
