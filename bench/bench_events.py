"""Catalogue event latency across processes: a save in one process to the frame at
sockets on two daphne workers, through a real redis-server on 127.0.0.1.

``manage.py shell`` renames one layer ``SAVES`` times (a pause between saves, so
each latency is one event's, not a queue's) and prints the wall-clock time
before each save; a reader thread per worker stamps each frame as it arrives.
Prints p50/p99 per worker. Run: ``python3 bench/bench_events.py``.
"""

import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from timing import percentile

from tests.support.ports import free_port
from tests.support.redis import start_redis
from tests.support.servers import command_env, run_command
from tests.support.ws_client import open_events_socket, read_text_frame, start_daphne_worker

SAVES = 200
PAUSE_SECONDS = 0.02

SETUP = """
from maps.models import Band, Layer, Map, MapGroup
group = MapGroup.objects.create(map_group_id="night", name="Night")
map_ = Map.objects.create(map_id="depth1", name="Depth-1", map_group=group)
band = Band.objects.create(band_id="f150", name="f150", map=map_)
Layer.objects.create(layer_id="depth1-f150", name="I", band=band,
                     provider={"provider_type": "fits", "filename": "/nowhere.fits"})
"""

WRITER = f"""
import time
from maps.models import Layer
layer = Layer.objects.get(layer_id="depth1-f150")
for number in range({SAVES}):
    print("sent", repr(time.time()), flush=True)
    layer.name = f"I {{number}}"
    layer.save()
    time.sleep({PAUSE_SECONDS})
"""


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
        for args in (["migrate", "-v0"], ["shell", "-c", SETUP]):
            done = run_command(args, cwd=folder, env=env, launcher="manage.py")
            assert done.returncode == 0, done.stderr
        ports = [free_port(), free_port()]
        workers = [start_daphne_worker(port, cwd=folder, env=env) for port in ports]
        try:
            sockets = [open_events_socket(port) for port in ports]
            arrivals: list[list[float]] = [[] for _ in ports]

            def read(index: int) -> None:
                for _ in range(SAVES):
                    read_text_frame(sockets[index])
                    arrivals[index].append(time.time())

            readers = [threading.Thread(target=read, args=(i,)) for i in range(len(ports))]
            for reader in readers:
                reader.start()
            written = run_command(
                ["shell", "-c", WRITER], cwd=folder, env=env, launcher="manage.py", timeout=600
            )
            assert written.returncode == 0, written.stderr
            sent = [float(m) for m in re.findall(r"^sent (\S+)$", written.stdout, re.M)]
            for reader in readers:
                reader.join(timeout=60)
            for sock in sockets:
                sock.close()
        finally:
            for worker in workers:
                worker.__exit__(None, None, None)
    print(f"{SAVES} saves in another process, {len(ports)} daphne workers, redis-server")
    for index, got in enumerate(arrivals):
        latencies_ms = [(arrived - start) * 1000 for start, arrived in zip(sent, got, strict=True)]
        print(
            f"worker {index + 1}: p50 {statistics.median(latencies_ms):.1f} ms, "
            f"p99 {percentile(latencies_ms, 99):.1f} ms, max {max(latencies_ms):.1f} ms"
        )


if __name__ == "__main__":
    main()
