"""Go-to by name at survey scale: /source-names on a 1,000,000-source catalogue.

Run ``python3 bench/bench_source_names.py [--database sqlite|postgresql]
[--sources N] [--repeats N]``. It fills a throwaway database (SQLite in a
temporary folder, or a PostgreSQL started on 127.0.0.1 as the production
tests do) with N sources named like survey catalogues ("ACT-CL J0102-4915",
"PSZ2 G006.49+50.56", ...), half of them in a catalogue behind a grant the
caller lacks, then times the whole Django stack in-process for prefixes of
1 to 12 characters, and prints the database's plan for one of them (it must
use ``source_name_lower``). Times are medians and 90th percentiles in ms.
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PREFIXES = ["ACT-CL J", "ACT-S J", "PSZ2 G", "NGC ", "SPT-CL J", "2MASX J"]


def configure(database_url: str, static_root: Path) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "tilemaker_site.settings",
            "TILEMAKER_DATABASE_URL": database_url,
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": secrets.token_urlsafe(48),
            "TILEMAKER_ALLOWED_HOSTS": "testserver",
            "TILEMAKER_PRECACHE": "no",
            "TILEMAKER_LOG_REQUESTS": "no",
            "TILEMAKER_STATIC_ROOT": str(static_root),
        }
    )
    sys.path.insert(0, str(REPO))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def source_name(rng: random.Random) -> str:
    prefix = rng.choice(PREFIXES)
    return f"{prefix}{rng.randrange(10000):04d}{rng.choice('+-')}{rng.randrange(10000):04d}"


def fill(n_sources: int, rng: random.Random) -> list[str]:
    from django.db import connection, transaction

    from catalogs.models import SourceGroup
    from maps.models import Grant

    public = SourceGroup.objects.create(source_group_id="public", name="Public")
    hidden = SourceGroup.objects.create(
        source_group_id="hidden", name="Hidden", grant=Grant.objects.create(name="collab")
    )
    names = []
    batch = 50_000
    with transaction.atomic(), connection.cursor() as cursor:
        for start in range(0, n_sources, batch):
            rows = []
            for i in range(start, min(n_sources, start + batch)):
                name = source_name(rng)
                names.append(name)
                group = public.pk if i % 2 else hidden.pk
                rows.append((group, name, rng.uniform(0, 360), rng.uniform(-90, 90), "{}"))
            cursor.executemany(
                "INSERT INTO catalogs_source (source_group_id, name, ra, dec, extra) "
                "VALUES (%s, %s, %s, %s, %s)",
                rows,
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return names


def explain(prefix: str) -> str:
    from django.contrib.auth.models import AnonymousUser

    from catalogs.names import names_with_prefix

    return names_with_prefix(AnonymousUser(), prefix, 20).explain()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--sources", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(16)
    with tempfile.TemporaryDirectory(prefix="bench-names-") as tmp:
        folder = Path(tmp)
        # PostgreSQL runs as the postgres user and must reach into it.
        folder.chmod(0o755)
        postgres = None
        if args.database == "postgresql":
            sys.path.insert(0, str(REPO))
            from tests.support.ports import free_port
            from tests.support.stack import Postgres

            postgres = Postgres(folder / "postgres", free_port())
            postgres.start()
            url = postgres.url
        else:
            url = f"sqlite:///{folder / 'bench.sqlite3'}"
        try:
            configure(url, folder)
            started = time.perf_counter()
            names = fill(args.sources, rng)
            print(
                f"{args.database}: {args.sources:,} sources written and analysed "
                f"in {time.perf_counter() - started:.1f} s"
            )
            run(names, args.repeats, rng)
        finally:
            if postgres is not None:
                postgres.stop()


def run(names: list[str], repeats: int, rng: random.Random) -> None:
    from django.test import Client

    client = Client()
    print("prefix chars  median ms  p90 ms  rows (of a limit of 20)")
    for length in (1, 2, 4, 8, 12):
        seconds, counts = [], []
        for _ in range(repeats):
            prefix = rng.choice(names)[:length].lower()
            started = time.perf_counter()
            response = client.get("/source-names", {"q": prefix}, secure=True)
            seconds.append(time.perf_counter() - started)
            assert response.status_code == 200, response.content[:200]
            counts.append(len(response.json()))
        seconds.sort()
        p90 = seconds[int(0.9 * (len(seconds) - 1))]
        print(
            f"{length:>12}  {1000 * statistics.median(seconds):>9.2f}  {1000 * p90:>6.2f}  "
            f"{min(counts)}..{max(counts)}"
        )
    print("plan for prefix 'act-cl j01':")
    print(explain("act-cl j01"))


if __name__ == "__main__":
    main()
