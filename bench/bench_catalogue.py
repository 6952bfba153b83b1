"""Catalogue API timings: 200 layers and a 100k-source catalogue in a throwaway SQLite DB.

Run ``python3 bench/bench_catalogue.py [--sources N] [--repeats N]``. Every
request goes through the whole Django stack in-process (middleware, URL
resolution, DRF, grants), production settings (DEBUG off, HTTPS). For each
endpoint it prints the median and 90th percentile over the repeats, twice:
"cold" with django-cachalot's query cache emptied before every request, and
"warm" for repeated identical requests. django-cachalot caches only in a
shared cache: with the default in-process one, warm requests read the
database too (run with ``TILEMAKER_CACHE_TYPE=memcached`` and a memcached
on ``TILEMAKER_MEMCACHED_PORT`` to time cachalot). The machine is shared,
so expect noise; compare runs made side by side.
"""

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from timing import percentile

REPO = Path(__file__).resolve().parent.parent
GROUPS, MAPS_PER_GROUP, BANDS_PER_MAP, LAYERS_PER_BAND = 5, 4, 2, 5  # 200 layers


def configure(db_path: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "tilemaker_site.settings",
            "TILEMAKER_DATABASE_URL": f"sqlite:///{db_path}",
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(48),
            "TILEMAKER_ALLOWED_HOSTS": "testserver",
            "TILEMAKER_PRECACHE": "no",
            # One log line per request would swamp the table below.
            "TILEMAKER_LOG_REQUESTS": "no",
            "TILEMAKER_STATIC_ROOT": str(db_path.parent),
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build_catalogue(workdir: Path, n_sources: int) -> None:
    from catalogs.models import Source, SourceGroup
    from maps.layer_geometry import refresh_layer_geometry
    from maps.models import Band, Grant, Layer, Map, MapGroup
    from sky_regions.models import Box
    from tests.support.fits import write_car_map

    fits_path = str(write_car_map(workdir / "bench.fits", n_planes=3))
    restricted = Grant.objects.create(name="collaboration")
    for g in range(GROUPS):
        group = MapGroup.objects.create(
            map_group_id=f"group-{g}",
            name=f"Survey {g}",
            grant=restricted if g == GROUPS - 1 else None,
            position=g,
        )
        for m in range(MAPS_PER_GROUP):
            map_ = Map.objects.create(
                map_id=f"map-{g}-{m}", name=f"Map {g}.{m}", map_group=group, position=m
            )
            for b in range(BANDS_PER_MAP):
                band = Band.objects.create(
                    band_id=f"band-{g}-{m}-{b}", name=f"f{90 + 60 * b:03d}", map=map_, position=b
                )
                for i in range(LAYERS_PER_BAND):
                    layer = Layer(
                        layer_id=f"layer-{g}-{m}-{b}-{i}",
                        name=f"{'IQU'[i % 3]} {i}",
                        band=band,
                        position=i,
                        provider={
                            "provider_type": "fits",
                            "filename": fits_path,
                            "index": i % 3,
                        },
                    )
                    refresh_layer_geometry(layer)
                    layer.save()
    big = SourceGroup.objects.create(source_group_id="big", name="100k sources")
    SourceGroup.objects.create(source_group_id="small", name="A few", position=1)
    batch = []
    for n in range(n_sources):
        batch.append(
            Source(
                source_group=big,
                name=f"ACT-CL J{n:06d}",
                ra=(n * 0.0036) % 360.0,
                dec=-60.0 + (n * 0.0007) % 80.0,
                extra={"flux_mjy": n % 997 / 10.0, "snr": 5.0 + n % 50, "redshift": 0.1},
            )
        )
        if len(batch) == 10_000:
            Source.objects.bulk_create(batch)
            batch.clear()
    Source.objects.bulk_create(batch)
    for n in range(20):
        Box.objects.create(
            name=f"box {n}",
            top_left_ra=n,
            top_left_dec=n / 2 + 1,
            bottom_right_ra=n + 1,
            bottom_right_dec=n / 2,
        )


def time_requests(client, url: str, repeats: int, *, cold: bool):
    """Wall and CPU seconds of ``repeats`` GETs of ``url``, and the body size."""
    from cachalot.api import invalidate

    wall, cpu, size = [], [], 0
    client.get(url, secure=True)  # URL and code paths warmed once either way
    for _ in range(repeats):
        if cold:
            invalidate()
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        response = client.get(url, secure=True)
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
        if response.status_code != 200:
            raise SystemExit(f"{url}: status {response.status_code} {response.content[:200]!r}")
        size = len(response.content)
    return wall, cpu, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="tilemaker-bench-") as tmp:
        workdir = Path(tmp)
        configure(workdir / "bench.sqlite3")
        started = time.perf_counter()
        build_catalogue(workdir, args.sources)
        print(
            f"built 200 layers, {args.sources} sources in {time.perf_counter() - started:.1f} s",
            flush=True,
        )

        from django.contrib.auth.models import User
        from django.test import Client

        from maps.models import Grant

        holder = User.objects.create_user("holder")
        Grant.objects.get(name="collaboration").users.add(holder)
        anonymous, member = Client(), Client()
        member.force_login(holder)

        endpoints = [
            ("/map-groups", anonymous),
            ("/map-groups/group-0/maps", anonymous),
            ("/maps/map-0-0/bands", anonymous),
            ("/bands/band-0-0-0/layers", anonymous),
            ("/layers/default", anonymous),
            ("/layers/layer-3-3-1-4", anonymous),
            ("/layers/layer-4-3-1-4", member),
            ("/search?q=f150", anonymous),
            ("/search?q=f150", member),
            ("/search?q=i", member),
            ("/sources", anonymous),
            ("/sources/big", anonymous),
            ("/highlights/boxes", anonymous),
        ]
        print("median (p90) over the repeats, in ms; cpu = this process's CPU time")
        print(
            f"{'endpoint':26} {'caller':9} {'cold wall':>15} {'cold cpu':>9} "
            f"{'warm wall':>15} {'warm cpu':>9} {'bytes':>9}"
        )
        for url, client in endpoints:
            repeats = max(5, args.repeats // 3) if url == "/sources/big" else args.repeats
            cold_wall, cold_cpu, size = time_requests(client, url, repeats, cold=True)
            warm_wall, warm_cpu, _ = time_requests(client, url, repeats, cold=False)
            caller = "member" if client is member else "anonymous"
            print(
                f"{url:26} {caller:9} {ms(cold_wall):>15} {ms(cold_cpu, p90=False):>9} "
                f"{ms(warm_wall):>15} {ms(warm_cpu, p90=False):>9} {size:9d}",
                flush=True,
            )


def ms(seconds: list[float], *, p90: bool = True) -> str:
    text = f"{1000 * statistics.median(seconds):.1f}"
    return f"{text} ({1000 * percentile(seconds, 90):.1f})" if p90 else text


if __name__ == "__main__":
    main()
