"""Cost of a grant-checked lookup by id (``get_visible_or_404``), the first step of every tile.

Run ``python3 bench/bench_lookup.py [--calls N] [--database-url URL]``
(default: a throwaway SQLite file; a PostgreSQL URL needs an empty
database). Prints microseconds per call, median over rounds, for a public,
a hidden and an unknown layer id: with the database connection kept open,
and with a connection opened for each call, as each request opens one
(``conn_max_age=0``). Also the bare visibility-generation read
(``maps.remembered``) and the uncached ORM query for comparison.
"""

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def configure(database_url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "tilemaker_site.settings",
            "TILEMAKER_DATABASE_URL": database_url,
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(48),
            "TILEMAKER_ALLOWED_HOSTS": "testserver",
            "TILEMAKER_PRECACHE": "no",
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def build(workdir: Path) -> None:
    from maps.layer_geometry import refresh_layer_geometry
    from maps.models import Band, Grant, Layer, Map, MapGroup
    from tests.support.fits import write_car_map

    provider = {"provider_type": "fits", "filename": str(write_car_map(workdir / "b.fits"))}
    group = MapGroup.objects.create(map_group_id="bench-group", name="G")
    sky_map = Map.objects.create(map_id="bench-map", name="M", map_group=group)
    band = Band.objects.create(band_id="bench-band", name="B", map=sky_map)
    secret = Grant.objects.create(name="bench-secret")
    for layer in (
        Layer(layer_id="bench-public", name="P", band=band, provider=provider),
        Layer(layer_id="bench-hidden", name="H", band=band, provider=provider, grant=secret),
    ):
        refresh_layer_geometry(layer)
        layer.save()


def per_call_us(call, calls: int, *, reconnect: bool, rounds: int = 5) -> float:
    from django.db import connection

    medians = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
            if reconnect:
                connection.close()
        medians.append((time.perf_counter() - started) / calls * 1e6)
    return statistics.median(medians)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-lookup-") as folder:
        workdir = Path(folder)
        configure(args.database_url or f"sqlite:///{workdir / 'bench.sqlite3'}")
        build(workdir)

        from django.contrib.auth.models import AnonymousUser
        from django.db import connection
        from django.http import Http404

        from maps import grants, remembered
        from maps.models import Layer

        def lookup(layer_id):
            def call():
                with contextlib.suppress(Http404):
                    grants.get_visible_or_404(Layer, AnonymousUser(), layer_id=layer_id)

            return call

        cases = {f"get_visible_or_404 {kind}": lookup(f"bench-{kind}") for kind in ("public",)}
        cases.update(
            {f"get_visible_or_404 {kind}": lookup(f"bench-{kind}") for kind in ("hidden",)}
        )
        cases["get_visible_or_404 unknown"] = lookup("bench-never")
        cases["generation read alone"] = lambda: remembered.generation("default")
        cases["ORM query, not remembered"] = lambda: (
            grants.visible(Layer, AnonymousUser()).filter(layer_id="bench-public").first()
        )
        print(f"{connection.vendor}, {args.calls} calls x 5 rounds, median of rounds")
        print(f"{'':32} {'open connection':>16} {'connect per call':>17}")
        for name, call in cases.items():
            call()
            kept = per_call_us(call, args.calls, reconnect=False)
            fresh = per_call_us(call, max(args.calls // 4, 1), reconnect=True)
            print(f"{name:32} {kept:13.1f} us {fresh:14.1f} us")
        connection.close()


if __name__ == "__main__":
    main()
