"""The registry of restricted kinds that every app fills in and maps reads."""

import importlib

import pytest

from catalogs.models import Source, SourceGroup
from maps import restricted
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box

visibility_migration = importlib.import_module("maps.migrations.0002_visibility_generation")


def test_every_kind_is_registered_with_the_lookups_to_its_grants():
    assert {kind.model: kind.grant_paths for kind in restricted.kinds()} == {
        MapGroup: ("grant",),
        Map: ("grant", "map_group__grant"),
        Band: ("grant", "map__grant", "map__map_group__grant"),
        Layer: ("grant", "band__grant", "band__map__grant", "band__map__map_group__grant"),
        SourceGroup: ("grant",),
        Source: ("source_group__grant",),
        Box: ("grant",),
    }


def test_the_admin_lists_kinds_with_a_grant_field_in_registration_order():
    listed = [kind.model for kind in restricted.kinds() if kind.has_own_grant]
    assert listed == [MapGroup, Map, Band, Layer, SourceGroup, Box]


def tables_along(model, path: str) -> set[str]:
    tables = {model._meta.db_table}
    for name in path.split("__"):
        model = model._meta.get_field(name).related_model
        tables.add(model._meta.db_table)
    return tables


def test_remembered_kinds_are_watched_by_the_visibility_triggers():
    # A remembered row is trusted until the visibility generation changes;
    # a table without a trigger would let a write go unseen for ever.
    for kind in restricted.kinds():
        if not kind.remembered:
            continue
        for path in kind.grant_paths:
            unwatched = tables_along(kind.model, path) - set(visibility_migration.WATCHED_TABLES)
            assert not unwatched, (kind.model, path)
    assert not restricted.kind(Source).remembered


def test_a_model_no_grant_can_hide_is_refused():
    with pytest.raises(LookupError, match=r"maps\.Grant is not a registered restricted kind"):
        restricted.kind(Grant)
