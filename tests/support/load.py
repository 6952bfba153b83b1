"""A bounded HTTP load generator: N keep-alive clients for T seconds over a URL mix.

Shared by tests/production (which assert on errors) and
bench/bench_production.py (which prints the numbers). Every request is
recorded with its start time, latency and status or connection error;
scheduled faults (kill memcached at t = 3 s...) run from the calling thread
while the clients keep going.
"""

import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import requests

REQUEST_TIMEOUT_SECONDS = 30.0
TILE_CMAPS = ("RdBu_r", "viridis", "magma", "gray")
TILE_FORMATS = ("png", "png", "webp")


@dataclass(frozen=True)
class Outcome:
    path: str
    started_s: float
    latency_s: float
    status: int | None
    error: str | None


@dataclass
class LoadResult:
    outcomes: list[Outcome]
    duration_s: float
    clients: int

    @property
    def server_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is not None and o.status >= 500]

    @property
    def connection_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]

    @property
    def statuses(self) -> Counter:
        return Counter(o.status if o.status is not None else "error" for o in self.outcomes)

    @property
    def throughput_rps(self) -> float:
        return len(self.outcomes) / self.duration_s

    def latency_percentile_ms(self, percent: float, *, since_s: float = 0.0) -> float:
        latencies = sorted(o.latency_s for o in self.outcomes if o.started_s >= since_s)
        if not latencies:
            return float("nan")
        index = min(len(latencies) - 1, max(0, round(percent / 100 * len(latencies)) - 1))
        return latencies[index] * 1000.0

    def max_latency_ms(self) -> float:
        return max(o.latency_s for o in self.outcomes) * 1000.0

    def summary(self, label: str) -> str:
        mean_ms = statistics.fmean(o.latency_s for o in self.outcomes) * 1000.0
        return (
            f"{label}: {len(self.outcomes)} requests by {self.clients} clients in "
            f"{self.duration_s:.1f} s = {self.throughput_rps:.1f} req/s; latency ms "
            f"p50 {self.latency_percentile_ms(50):.1f} p90 {self.latency_percentile_ms(90):.1f} "
            f"p99 {self.latency_percentile_ms(99):.1f} max {self.max_latency_ms():.1f} "
            f"mean {mean_ms:.1f}; statuses {dict(sorted(self.statuses.items(), key=str))}"
        )

    def describe_failures(self, limit: int = 10) -> str:
        bad = self.server_errors + self.connection_errors
        return "\n".join(
            f"t={o.started_s:.2f}s {o.path}: {o.status or o.error}" for o in bad[:limit]
        )


def request_mix(layers: Sequence[dict], *, source_group_id: str, seed: int = 8) -> list[str]:
    """A weighted list of API paths that a viewer session produces.

    ``layers`` are ``GET /layers/{id}`` answers. About six in ten requests
    are tiles (every level, several colour maps and formats, both
    orientations, some outside the map), the rest metadata, histograms,
    cut-outs and apertures.
    """
    rng = random.Random(seed)
    paths: list[str] = []
    for layer in layers:
        layer_id = layer["layer_id"]
        for level in range(layer["number_of_levels"]):
            for x in range(2 ** (level + 1)):
                for y in range(2**level):
                    for _ in range(2):
                        cmap = rng.choice(TILE_CMAPS)
                        fmt = rng.choice(TILE_FORMATS)
                        flip = rng.choice(("true", "false"))
                        paths.append(
                            f"/layers/{layer_id}/{level}/{y}/{x}/tile.{fmt}?cmap={cmap}&flip={flip}"
                        )
    tiles = len(paths)
    others: list[str] = []
    for layer in layers:
        layer_id = layer["layer_id"]
        ra_mid = (layer["bounding_left"] + layer["bounding_right"]) / 2
        dec_mid = (layer["bounding_top"] + layer["bounding_bottom"]) / 2
        others += [
            f"/layers/{layer_id}",
            f"/histograms/data/{layer_id}",
            f"/analysis/aperture/{layer_id}?ra={ra_mid:.3f}&dec={dec_mid:.3f}&radius=30",
        ]
        for offset_deg in (0.0, 10.0, 20.0):
            left, right = ra_mid + offset_deg + 3.0, ra_mid + offset_deg
            top, bottom = dec_mid + 3.0, dec_mid
            for fmt in ("fits", "png"):
                others.append(
                    f"/layers/{layer_id}/submap/{left}/{right}/{top}/{bottom}/image.{fmt}"
                )
    others += [
        "/map-groups",
        "/layers/default",
        "/search?q=synth",
        "/sources",
        f"/sources/{source_group_id}",
        "/highlights/boxes",
        "/histograms/RdBu_r.png",
    ]
    # Tiles about 60 % of the mix, whatever the number of levels.
    repeat = max(1, round(tiles * 2 / 3 / len(others)))
    paths += others * repeat
    rng.shuffle(paths)
    return paths


def run_load(
    base_url: str,
    *,
    paths: Sequence[str],
    clients: int,
    duration_s: float,
    make_session: Callable[[], requests.Session],
    events: Sequence[tuple[float, Callable[[], None]]] = (),
) -> LoadResult:
    """Run ``clients`` threads for ``duration_s`` seconds; ``events`` are (time_s, action)."""
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    start = time.monotonic()
    deadline = start + duration_s

    def client(index: int) -> None:
        session = make_session()
        mine = []
        position = index * 7919
        try:
            while time.monotonic() < deadline:
                path = paths[position % len(paths)]
                position += 1
                began = time.monotonic()
                status, error = None, None
                try:
                    response = session.get(base_url + path, timeout=REQUEST_TIMEOUT_SECONDS)
                    _ = response.content
                    status = response.status_code
                except requests.RequestException as exc:
                    error = type(exc).__name__ + ": " + str(exc)[:200]
                mine.append(Outcome(path, began - start, time.monotonic() - began, status, error))
        finally:
            session.close()
            with lock:
                outcomes.extend(mine)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    for at_s, action in sorted(events, key=lambda event: event[0]):
        time.sleep(max(0.0, start + at_s - time.monotonic()))
        action()
    for thread in threads:
        thread.join(timeout=duration_s + REQUEST_TIMEOUT_SECONDS + 10)
    outcomes.sort(key=lambda o: o.started_s)
    return LoadResult(outcomes, time.monotonic() - start, clients)
