"""Data migrations, run on the test database between their neighbours."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("maps", "0004_layer_stokes")]
AFTER = [("maps", "0005_fill_pixel_placement")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def at_0004(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def test_0005_reads_the_placement_of_layers_imported_before_0003(at_0004, make_car_map):
    # A pixell-style map: pixel centres on multiples of 0.5 deg, so the tile
    # grid's pixel edges fall on them and the tiles are drawn shifted.
    path = make_car_map(
        "old.fits", nx=20, ny=10, pixel_scale_deg=0.5, ra_left_deg=5.25, dec_bottom_deg=-2.75
    )
    apps = at_0004
    group = apps.get_model("maps", "MapGroup").objects.create(map_group_id="g", name="G")
    map_ = apps.get_model("maps", "Map").objects.create(map_id="m", name="M", map_group=group)
    band = apps.get_model("maps", "Band").objects.create(band_id="b", name="B", map=map_)
    layer_model = apps.get_model("maps", "Layer")
    provider = {"provider_type": "fits", "filename": str(path)}
    layer_model.objects.create(layer_id="old", name="Old", band=band, provider=provider)
    missing = {"provider_type": "fits", "filename": "/nonexistent/gone.fits"}
    layer_model.objects.create(layer_id="gone", name="Gone", band=band, provider=missing)

    apps = migrate(AFTER)

    from maps.engine.providers import parse_provider
    from maps.layer_geometry import derived_fields, read_provider

    _, plane = read_provider(parse_provider(provider))
    expected = derived_fields(plane)
    placement = (
        "pixel_scale_ra_deg",
        "pixel_scale_dec_deg",
        "pixel_offset_ra_deg",
        "pixel_offset_dec_deg",
    )
    layers = apps.get_model("maps", "Layer").objects
    old = layers.get(layer_id="old")
    assert {name: getattr(old, name) for name in placement} == {n: expected[n] for n in placement}
    assert old.pixel_scale_ra_deg == 0.5
    assert (old.pixel_offset_ra_deg, old.pixel_offset_dec_deg) != (0.0, 0.0)
    gone = layers.get(layer_id="gone")
    assert [getattr(gone, name) for name in placement] == [0.0] * 4


def test_layer_writes_still_bump_the_visibility_generation_after_every_migration(image_layer):
    # SQLite rebuilds maps_layer for each added column (0006 too), dropping its triggers.
    from django.db import connection

    from maps.models import VisibilityGeneration

    before = VisibilityGeneration.objects.get().value
    with connection.cursor() as cursor:
        cursor.execute("UPDATE maps_layer SET polarisation_convention = 'COSMO'")
    assert VisibilityGeneration.objects.get().value != before
