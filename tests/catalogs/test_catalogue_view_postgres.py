"""A large catalogue in PostgreSQL: COPY, rebuilt indexes and VACUUM, then view queries.

The bulk path of the import (over ``REBUILD_INDEXES_ABOVE`` sources) and the
planner-chosen rank walk run only on PostgreSQL; this starts a real one on
127.0.0.1 (tests/support/stack.py) and imports through a child process.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from tests.support.ports import free_port
from tests.support.stack import Postgres

REPO = Path(__file__).resolve().parents[2]
N_SOURCES = 60_000
ODD_NAME = 'tab\there, "quoted", back\\slash, new\nline, \u00e9'

CHILD = """
import json, sys
import django
django.setup()
from django.core.management import call_command
from django.test import Client
from maps.importers import import_config
call_command("migrate", verbosity=0)
import_config(sys.argv[1])
client = Client()
queries = json.loads(sys.argv[2])
print(json.dumps([client.get("/sources/big/view", query).json() for query in queries]))
"""


@pytest.fixture
def postgres():
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-view-pg-"))
    folder.chmod(0o755)  # PostgreSQL runs as its own user
    server = Postgres(folder / "postgres", free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def test_a_large_catalogue_imported_into_postgresql_answers_view_queries(postgres, tmp_path):
    rng = np.random.default_rng(11)
    ra, dec = rng.uniform(0, 360, N_SOURCES), rng.uniform(-60, 20, N_SOURCES)
    snr = rng.permutation(N_SOURCES).astype(float)
    sources = [
        {"name": f"S{i}", "ra": r, "dec": d, "extra": {"snr": s}}
        for i, (r, d, s) in enumerate(zip(ra.tolist(), dec.tolist(), snr.tolist(), strict=True))
    ]
    sources[0] = {"name": ODD_NAME, "ra": 10.5, "dec": 0.5, "extra": {"snr": 1e9, "note": "\\t"}}
    (tmp_path / "cat.json").write_text(json.dumps(sources))
    group = {"source_group_id": "big", "name": "Big", "provider": {"filename": "cat.json"}}
    (tmp_path / "config.json").write_text(json.dumps({"source_groups": [group]}))
    queries = [
        {"left": 360, "right": 0, "top": 90, "bottom": -90, "limit": 3},
        {"left": 15, "right": 5, "top": 3, "bottom": -3},
        {"left": 2, "right": -3, "top": 1, "bottom": -4},
        # Filtered: a crowded box (the rank walk), a sparse one (the zone
        # index), and the dimmest hundred, past the row cap set below.
        {"left": 360, "right": 0, "top": 90, "bottom": -90, "limit": 3, "filter": "snr < 59000"},
        {"left": 15, "right": 5, "top": 3, "bottom": -3, "filter": "snr > 30000"},
        {"left": 360, "right": 0, "top": 90, "bottom": -90, "filter": "snr < 100"},
    ]
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "DJANGO_SETTINGS_MODULE": "tilemaker_site.settings",
        "TILEMAKER_DATABASE_URL": postgres.url,
        "TILEMAKER_ALLOWED_HOSTS": "testserver",
        "TILEMAKER_LOG_REQUESTS": "no",
        "TILEMAKER_MAX_VIEW_SCAN_ROWS": "50000",
    }
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "config.json"), json.dumps(queries)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    whole, box, across_zero, *filtered = json.loads(result.stdout.splitlines()[-1])

    brightest = sorted(sources, key=lambda s: -s["extra"]["snr"])[:3]
    assert [item[1] for item in whole["sources"]] == [s["name"] for s in brightest]
    assert whole["sources"][0][1:] == [ODD_NAME, 10.5, 0.5, {"note": "\\t", "snr": 1e9}]
    assert (whole["total"], whole["total_is_estimate"]) == (N_SOURCES, True)

    def inside(west, east, bottom, top):
        return sorted(
            (s for s in sources if (west <= s["ra"] <= east) and bottom <= s["dec"] <= top),
            key=lambda s: -s["extra"]["snr"],
        )

    expected = inside(5, 15, -3, 3)
    assert (box["total"], box["complete"]) == (len(expected), True)
    assert [item[1] for item in box["sources"]] == [s["name"] for s in expected]
    expected = sorted(
        inside(357, 360, -4, 1) + inside(0, 2, -4, 1), key=lambda s: -s["extra"]["snr"]
    )
    assert [item[1] for item in across_zero["sources"]] == [s["name"] for s in expected]

    crowded, sparse, dimmest = filtered
    matching = sorted(
        (s for s in sources if s["extra"]["snr"] < 59000), key=lambda s: -s["extra"]["snr"]
    )
    assert [item[1] for item in crowded["sources"]] == [s["name"] for s in matching[:3]]
    assert (crowded["total_is_estimate"], crowded["truncated"]) == (True, False)
    expected = [s for s in inside(5, 15, -3, 3) if s["extra"]["snr"] > 30000]
    assert [item[1] for item in sparse["sources"]] == [s["name"] for s in expected]
    assert (sparse["total"], sparse["complete"], sparse["truncated"]) == (
        len(expected),
        True,
        False,
    )
    # None in the 50,000 rows tested, then the last 10,000 ranks sampled: the
    # dimmest 100, every fifth of them tested.
    assert (dimmest["sources"], dimmest["truncated"], dimmest["total"]) == ([], True, 100)
    assert dimmest["total_is_estimate"] is True
