"""Throughput and latency of the production topology, natively on this machine.

Starts what docker/compose.yaml runs (PostgreSQL, memcached, N daphne
workers, nginx with TLS + HTTP/2, synthetic data) on loopback, then drives
it with C keep-alive HTTPS clients over the viewer's request mix (tiles ~60 %,
metadata, histograms, cut-outs, apertures) in these scenarios:

  cold       first pass over an empty cache
  warm       the same mix again, everything cacheable cached
  no-cache   memcached killed at 3 s (tiles from disk)
  hung-cache memcached SIGSTOPped at 3 s (each cache call times out)
  worker-kill one daphne worker SIGKILLed at 3 s (nginx resends)

and prints requests/s, p50/p90/p99/max latency and status counts for each.
The client runs on the same 2 cores as the servers, and other work on the
machine moves the numbers: compare runs made under the same conditions.

    python bench/bench_production.py [--workers 2] [--clients 16] [--seconds 30]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.load import request_mix, run_load
from tests.support.stack import (
    LAYER_IDS,
    SECOND_LAYER_ID,
    SOURCE_GROUP_ID,
    start_stack,
)

FAULT_AT_S = 3.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    started = time.perf_counter()
    stack = start_stack(workers=args.workers)
    print(f"stack up in {time.perf_counter() - started:.1f} s: {stack.base_url}", flush=True)
    try:
        with stack.session() as session:
            layers = [
                session.get(f"{stack.base_url}/layers/{layer_id}", timeout=30).json()
                for layer_id in (*LAYER_IDS, SECOND_LAYER_ID)
            ]
        paths = request_mix(layers, source_group_id=SOURCE_GROUP_ID)
        print(
            f"{args.workers} workers, {args.clients} clients, {len(set(paths))} distinct "
            f"paths, {len(paths)} in the mix",
            flush=True,
        )

        def load(label, seconds, events=()):
            result = run_load(
                stack.base_url,
                paths=paths,
                clients=args.clients,
                duration_s=seconds,
                make_session=stack.session,
                events=events,
            )
            print(result.summary(label), flush=True)
            failures = len(result.server_errors) + len(result.connection_errors)
            if failures:
                print(f"  {failures} failures:\n{result.describe_failures()}", flush=True)
            return result

        load("cold", args.seconds)
        load("warm", args.seconds)
        counters = stack.memcached.counters()
        hit_ratio = counters["get_hits"] / max(1, counters["cmd_get"])
        print(f"memcached after warm: {counters} (hit ratio {hit_ratio:.2f})", flush=True)

        load("no-cache", args.seconds, [(FAULT_AT_S, stack.memcached.kill)])
        stack.memcached.start()
        load("warm-again", args.seconds)

        hung = load("hung-cache", args.seconds, [(FAULT_AT_S, stack.memcached.pause)])
        stack.memcached.resume()
        print(
            f"  hung-cache p99 after the pause: "
            f"{hung.latency_percentile_ms(99, since_s=FAULT_AT_S):.0f} ms",
            flush=True,
        )

        load("worker-kill", args.seconds, [(FAULT_AT_S, stack.workers[0].kill)])
        stack.workers[0].start()
    finally:
        stack.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
