"""Upgrading a database of the previous release with the entrypoint's migration
step (docker/migrate.py), on a real PostgreSQL: every row kept, the new
fields filled in.

The previous release is the schema before the pixel placement, Stokes and
polarisation-convention fields of maps and the help texts and columns of
catalogs (maps 0002, catalogs 0002). Its rows are written through the
historical models of that state, as that release's code would have.
"""

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.fits import write_car_map
from tests.support.ports import free_port
from tests.support.stack import DOCKER, REPO, Postgres, production_env

pytestmark = pytest.mark.services

PREVIOUS_RELEASE = {"maps": "0002_visibility_generation", "catalogs": "0002_initial"}
PIXEL_SCALE_DEG = 0.5

WRITE_PREVIOUS_RELEASE_ROWS = """
import json
from django.db import connection
from django.db.migrations.loader import MigrationLoader
previous = {previous!r}
apps = MigrationLoader(connection).project_state(list(previous.items())).apps
User = apps.get_model("auth", "User")
Grant = apps.get_model("maps", "Grant")
MapGroup = apps.get_model("maps", "MapGroup")
Map = apps.get_model("maps", "Map")
Band = apps.get_model("maps", "Band")
Layer = apps.get_model("maps", "Layer")
SourceGroup = apps.get_model("catalogs", "SourceGroup")
Source = apps.get_model("catalogs", "Source")
grant = Grant.objects.create(name="act", description="ACT collaboration")
alice = User.objects.create(username="alice")
grant.users.add(alice)
group = MapGroup.objects.create(map_group_id="old", name="Old group", grant=grant)
the_map = Map.objects.create(map_id="old-map", name="Old map", map_group=group)
band = Band.objects.create(band_id="old-band", name="f090", map=the_map)
Layer.objects.create(
    layer_id="old-i", name="I", band=band, units="uK", vmin=-100.0, vmax=100.0,
    cmap="viridis", provider={{"provider_type": "fits", "filename": {fits_path!r}}},
    tile_size=360, number_of_levels=1,
    bounding_left=180.0, bounding_right=-180.0, bounding_top=45.0, bounding_bottom=-45.0,
)
sources = SourceGroup.objects.create(source_group_id="old-sources", name="Old sources")
for i in range(5):
    Source.objects.create(source_group=sources, name=f"s{{i}}", ra=10.0 * i, dec=-5.0)
print("written")
"""

READ_CURRENT_ROWS = """
import json
from django.contrib.auth import get_user_model
from maps.models import Layer
from catalogs.models import SourceGroup
layer = Layer.objects.select_related("band__map__map_group__grant").get(layer_id="old-i")
group = SourceGroup.objects.get(source_group_id="old-sources")
alice = get_user_model().objects.get(username="alice")
print(json.dumps({
    "grant": layer.band.map.map_group.grant.name,
    "alice_grants": sorted(g.name for g in alice.tilemaker_grants.all()),
    "layer": [layer.units, layer.vmin, layer.vmax, layer.cmap, layer.stokes],
    "pixel_scale_deg": [layer.pixel_scale_ra_deg, layer.pixel_scale_dec_deg],
    "sources": sorted(s.name for s in group.sources.all()),
}))
"""


@pytest.fixture
def database():
    folder = Path(tempfile.mkdtemp(prefix="tilemaker-upgrade-"))
    folder.chmod(0o755)
    postgres = Postgres(folder / "postgres", free_port())
    try:
        postgres.start()
        yield folder, postgres
    finally:
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(env, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_entrypoint_upgrades_the_previous_release_with_data_intact(database):
    folder, postgres = database
    maps = folder / "maps"
    maps.mkdir()
    fits_path = maps / "old.fits"
    write_car_map(fits_path, nx=720, ny=180, pixel_scale_deg=PIXEL_SCALE_DEG)
    env = production_env(database_url=postgres.url, memcached_port=free_port())
    env.update({"TILEMAKER_CACHE_TYPE": "in_memory", "TILEMAKER_DATA_ROOTS": str(maps)})

    for app, migration in PREVIOUS_RELEASE.items():
        run(env, "manage.py", "migrate", "--noinput", app, migration)
    code = WRITE_PREVIOUS_RELEASE_ROWS.format(previous=PREVIOUS_RELEASE, fits_path=str(fits_path))
    assert "written" in run(env, "manage.py", "shell", "-c", code)

    upgrade = run(env, str(DOCKER / "migrate.py"))
    assert "Applying maps.0005_fill_pixel_placement... OK" in upgrade
    # --check exits non-zero while any migration is unapplied.
    run(env, "manage.py", "migrate", "--check")

    # The shell prints its auto-import notice first; the JSON is the last line.
    rows = run(env, "manage.py", "shell", "-c", READ_CURRENT_ROWS).splitlines()[-1]
    assert json.loads(rows) == {
        "grant": "act",
        "alice_grants": ["act"],
        "layer": ["uK", -100.0, 100.0, "viridis", ""],
        # Read from the FITS header by migration 0005 (0 until then).
        "pixel_scale_deg": [PIXEL_SCALE_DEG, PIXEL_SCALE_DEG],
        "sources": [f"s{i}" for i in range(5)],
    }
