"""Time importing a 100k-source catalogue (JSON and CSV), first import and re-import.

Run: python3 bench/import_catalog.py [N]. Uses a throw-away SQLite database
in a temporary folder; prints wall and CPU seconds per phase. Numbers are noisy while
other work shares the machine's two cores.
"""

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-bench-catalog-"))
    os.environ["TILEMAKER_DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tilemaker_site.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    from catalogs.readers import read_catalog
    from maps.importers import import_config

    call_command("migrate", verbosity=0)
    rows = [
        {
            "ra": (i * 0.0036) % 360,
            "dec": -60 + (i % 800) * 0.1,
            "name": f"S{i}",
            "extra": {"snr": i},
        }
        for i in range(n)
    ]
    (folder / "cat.json").write_text(json.dumps(rows))
    lines = ["name,ra,dec,snr"] + [
        f"{r['name']},{r['ra']},{r['dec']},{i}" for i, r in enumerate(rows)
    ]
    (folder / "cat.csv").write_text("\n".join(lines) + "\n")
    for file_type in ("json", "csv"):
        started, cpu = time.perf_counter(), time.process_time()
        read_catalog(folder / f"cat.{file_type}", file_type=file_type)
        print(
            f"read + validate {n} sources ({file_type}): {time.perf_counter() - started:.2f} s "
            f"(CPU {time.process_time() - cpu:.2f} s)"
        )
        config = folder / f"config-{file_type}.json"
        provider = {"file_type": file_type, "filename": f"cat.{file_type}"}
        config.write_text(
            json.dumps(
                {
                    "source_groups": [
                        {"source_group_id": file_type, "name": file_type, "provider": provider}
                    ]
                }
            )
        )
        for attempt in ("first import", "re-import"):
            started, cpu = time.perf_counter(), time.process_time()
            report = import_config(config)
            print(
                f"{attempt} of {report.sources} sources ({file_type}): "
                f"{time.perf_counter() - started:.2f} s (CPU {time.process_time() - cpu:.2f} s)"
            )


if __name__ == "__main__":
    main()
