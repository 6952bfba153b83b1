"""Follow-a-presenter latency across workers: a presenter's state sent to one daphne
worker to the frame at a follower connected to another, through a real
redis-server on 127.0.0.1.

The presenter sends ``STATES`` views (a pause between them, as a viewer's
throttle does, so each latency is one view's, not a queue's), each naming a
layer that does not exist so that the grant check runs for every view. Prints
p50/p99. Run: ``python3 bench/bench_follow.py``.
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from timing import percentile

from tests.support.ports import free_port
from tests.support.redis import start_redis
from tests.support.servers import command_env, run_command
from tests.support.ws_client import (
    open_socket,
    read_text_frame,
    send_text_frame,
    start_daphne_worker,
)

STATES = 200
# The viewer sends at most one view per 100 ms (follow.js SEND_INTERVAL_MS).
PAUSE_SECONDS = 0.1


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, start_redis() as redis:
        folder = Path(folder)
        env = command_env(
            tmpdir=folder,
            home=folder,
            extra={
                "TILEMAKER_DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
                "TILEMAKER_REDIS_URL": redis.url,
            },
        )
        done = run_command(["migrate", "-v0"], cwd=folder, env=env, launcher="manage.py")
        assert done.returncode == 0, done.stderr
        ports = [free_port(), free_port()]
        workers = [start_daphne_worker(port, cwd=folder, env=env) for port in ports]
        try:
            presenter = open_socket(ports[0], "/ws/follow")
            session = read_text_frame(presenter)
            follower = open_socket(ports[1], f"/ws/follow/{session['id']}")
            assert read_text_frame(follower)["type"] == "waiting"
            latencies_ms = []
            for number in range(STATES):
                started = time.perf_counter()
                state = f"layer=missing&ra={number}.5&zoom=3"
                send_text_frame(presenter, {"type": "state", "state": state})
                received = read_text_frame(follower)
                latencies_ms.append((time.perf_counter() - started) * 1000)
                assert received["state"] == f"ra={number}.5&zoom=3", received
                time.sleep(PAUSE_SECONDS)
            presenter.close()
            follower.close()
        finally:
            for worker in workers:
                worker.__exit__(None, None, None)
    print(f"{STATES} views, presenter and follower on 2 daphne workers, redis-server")
    print(
        f"presenter -> follower: p50 {statistics.median(latencies_ms):.1f} ms, "
        f"p99 {percentile(latencies_ms, 99):.1f} ms, max {max(latencies_ms):.1f} ms"
    )


if __name__ == "__main__":
    main()
