"""``/sources/{id}/view``: the sources of a sky box, at most ``limit``, brightest first."""

import json
from pathlib import Path

import numpy as np
import pytest
from django.db import connection

from catalogs import view_query
from catalogs.models import Source, SourceGroup
from maps import importers
from maps.importers import import_config_data


def import_sources(sources: list[dict], **group) -> SourceGroup:
    entry = {"source_group_id": "field", "name": "Field", "sources": sources, **group}
    import_config_data({"source_groups": [entry]}, base_dir=Path("."), source_name="test")
    return SourceGroup.objects.get(source_group_id="field")


def view(client, group_id="field", **params):
    query = {"left": 360, "right": 0, "top": 90, "bottom": -90, **params}
    return client.get(f"/sources/{group_id}/view", query)


def names(response) -> list[str]:
    body = response.json()
    assert body["fields"] == ["id", "name", "ra", "dec", "extra"]
    return [item[1] for item in body["sources"]]


# A 4 x 3 grid: RA 0, 1, 358, 359 and Dec -1, 0, 1; snr grows with the index.
GRID = [
    {"name": f"s{ra}_{dec}", "ra": ra, "dec": dec, "extra": {"snr": 10 * n}}
    for n, (ra, dec) in enumerate((ra, dec) for ra in (0, 1, 358, 359) for dec in (-1, 0, 1))
]


@pytest.fixture
def grid(db):
    return import_sources(GRID)


def test_a_box_answers_exactly_the_sources_inside_it_with_their_rows(grid, anonymous_client):
    response = view(anonymous_client, left=1.5, right=0.5, top=0.5, bottom=-1)
    assert response.status_code == 200
    row_id = Source.objects.get(name="s1_-1").pk
    assert response.json() == {
        "source_group_id": "field",
        "total": 2,
        "total_is_estimate": False,
        "complete": True,
        "order": "snr",
        "fields": ["id", "name", "ra", "dec", "extra"],
        "sources": [
            [row_id + 1, "s1_0", 1.0, 0.0, {"snr": 40}],
            [row_id, "s1_-1", 1.0, -1.0, {"snr": 30}],
        ],
    }


@pytest.mark.parametrize(
    "edges",
    [{"left": 0.5, "right": 358.5}, {"left": 0.5, "right": -1.5}, {"left": 360.5, "right": 358.5}],
)
def test_a_box_across_ra_zero_holds_both_sides(grid, anonymous_client, edges):
    response = view(anonymous_client, top=0.5, bottom=-0.5, **edges)
    assert sorted(names(response)) == ["s0_0", "s359_0"]
    assert response.json()["total"] == 2


def test_a_box_a_full_turn_wide_holds_every_ra(grid, anonymous_client):
    response = view(anonymous_client, left=100, right=-260, top=1, bottom=1)
    assert sorted(names(response)) == ["s0_1", "s1_1", "s358_1", "s359_1"]


def test_dec_beyond_the_poles_is_clipped(grid, anonymous_client):
    response = view(anonymous_client, top=400, bottom=-400)
    assert response.json()["total"] == 12


def test_over_the_limit_the_brightest_come_first(grid, anonymous_client):
    response = view(anonymous_client, limit=3)
    body = response.json()
    assert (body["total"], body["complete"], body["order"]) == (12, False, "snr")
    assert names(response) == ["s359_1", "s359_0", "s359_-1"]


def test_the_brightness_column_can_be_named_and_missing_values_come_last(db, anonymous_client):
    sources = [
        {"name": "a", "ra": 10, "dec": 0, "extra": {"snr": 99, "flux_mjy": 1}},
        {"name": "b", "ra": 11, "dec": 0, "extra": {"snr": 1, "flux_mjy": 50}},
        {"name": "c", "ra": 12, "dec": 0, "extra": {"snr": 50}},
        {"name": "d", "ra": 13, "dec": 0, "extra": {"snr": 60, "flux_mjy": 20}},
    ]
    import_sources(sources, brightness_column="flux_mjy")
    response = view(anonymous_client, limit=3)
    assert response.json()["order"] == "flux_mjy"
    assert names(response) == ["b", "d", "a"]


def test_without_a_brightness_column_a_fixed_random_subsample(db, anonymous_client):
    sources = [{"name": f"n{i}", "ra": i % 360, "dec": 0} for i in range(500)]
    import_sources(sources)
    first = view(anonymous_client, limit=50)
    assert first.json()["order"] == "random"
    chosen = names(first)
    assert len(set(chosen)) == 50
    assert names(view(anonymous_client, limit=50)) == chosen
    # Spread over the catalogue, not its first rows.
    assert max(int(name[1:]) for name in chosen) > 250


def test_a_crowded_box_walked_by_rank_gives_the_same_answer_as_by_position(db, anonymous_client):
    # 2000 sources, 1 in 4 inside the box: limit 10 takes the rank walk,
    # limit 400 reads the box; both must be the brightest of the box.
    sources = [
        {"name": f"n{i}", "ra": i % 4, "dec": 0.001 * i, "extra": {"flux": (i * 7919) % 2000}}
        for i in range(2000)
    ]
    import_sources(sources)
    inside = sorted((s for s in sources if s["ra"] == 0), key=lambda s: -s["extra"]["flux"])
    for limit in (10, 400):
        response = view(anonymous_client, left=0.5, right=-0.5, limit=limit)
        assert response.json()["total"] == 500
        assert names(response) == [s["name"] for s in inside[:limit]]


def test_a_crowded_box_of_a_large_catalogue_has_an_estimated_total(
    db, anonymous_client, monkeypatch
):
    # Counting stops at the crossover (sqrt(limit * size), here 447): past
    # it the total comes from how far the rank walk went for ``limit``.
    monkeypatch.setattr(view_query, "EXACT_COUNT_MIN", 0)
    rng = np.random.default_rng(7)
    ra, dec = rng.uniform(0, 360, 2000), rng.uniform(-10, 10, 2000)
    import_sources([{"ra": r, "dec": d} for r, d in zip(ra, dec, strict=True)])
    crowded = view(anonymous_client, left=180, right=0, top=10, bottom=-10, limit=100).json()
    inside = int(np.count_nonzero(ra <= 180))
    assert (crowded["total_is_estimate"], crowded["complete"]) == (True, False)
    assert len(crowded["sources"]) == 100
    # About 1 / sqrt(limit) = 10% off: within three of that.
    assert abs(crowded["total"] - inside) < 0.3 * inside
    sparse = view(anonymous_client, left=20, right=0, top=10, bottom=-10, limit=100).json()
    assert sparse["total"] == int(np.count_nonzero(ra <= 20))
    assert sparse["total_is_estimate"] is False


def test_sources_at_the_poles_and_on_zone_edges_are_found(db, anonymous_client):
    decs = [-90.0, -89.5, -1.0, -1e-9, 0.0, 0.999999, 1.0, 89.999, 90.0]
    import_sources([{"name": str(d), "ra": 10, "dec": d} for d in decs])
    everything = view(anonymous_client, top=90, bottom=-90)
    assert sorted(float(name) for name in names(everything)) == decs
    band = view(anonymous_client, top=1.0, bottom=-1e-9)
    assert sorted(float(name) for name in names(band)) == [-1e-9, 0.0, 0.999999, 1.0]
    north = view(anonymous_client, top=90, bottom=89.999)
    assert sorted(names(north)) == ["89.999", "90.0"]


def test_a_source_added_in_the_admin_way_is_in_its_zone(grid, anonymous_client):
    added = Source.objects.create(source_group=grid, name="added", ra=50.0, dec=-45.25)
    assert added.zone == 44
    added.dec = 30.5
    added.save(update_fields=["dec"])
    added.refresh_from_db()
    assert added.zone == 120
    assert names(view(anonymous_client, left=51, right=49, top=31, bottom=30)) == ["added"]


def test_a_large_import_rebuilds_the_view_indexes(db, anonymous_client, monkeypatch):
    monkeypatch.setattr(importers, "REBUILD_INDEXES_ABOVE", 5)
    import_sources(GRID)
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Source._meta.db_table)
    assert constraints["source_zone_box"]["columns"] == [
        "source_group_id",
        "zone",
        "ra",
        "dec",
        "rank",
    ]
    assert constraints["source_rank_box"]["columns"] == ["source_group_id", "rank", "dec", "ra"]
    response = view(anonymous_client, left=1.5, right=0.5, top=0.5, bottom=-1)
    assert names(response) == ["s1_0", "s1_-1"]


def test_a_hidden_group_is_a_404_like_a_missing_one_for_every_caller(catalogue, caller):
    client, holds_grant = caller
    hidden = view(client, "secret-cat")
    missing = view(client, "no-such-cat")
    assert missing.status_code == 404
    if holds_grant:
        assert names(hidden) == ["hidden-src"]
    else:
        assert (hidden.status_code, hidden.json()) == (404, missing.json())


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"left": None}, "left: required (degrees)"),
        ({"top": "north"}, "top: expected a number of degrees, found 'north'"),
        ({"bottom": "nan"}, "bottom: expected a finite number of degrees"),
        ({"right": "inf"}, "right: expected a finite number of degrees"),
        ({"top": -10, "bottom": 10}, "top must not be below bottom"),
        ({"left": 0, "right": 400}, "left - right must be at least -360 degrees"),
        ({"limit": "many"}, "limit: expected a whole number, found 'many'"),
        ({"limit": 0}, "limit: must be between 1 and 20000"),
        ({"limit": 20001}, "limit: must be between 1 and 20000"),
    ],
)
def test_bad_parameters_are_a_json_400(grid, anonymous_client, params, detail):
    query = {"left": 360, "right": 0, "top": 90, "bottom": -90, **params}
    query = {key: value for key, value in query.items() if value is not None}
    response = anonymous_client.get("/sources/field/view", query)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_the_limit_maximum_is_a_setting(grid, anonymous_client, settings):
    settings.MAX_VIEW_SOURCES = 5
    assert view(anonymous_client).json()["complete"] is False
    assert len(names(view(anonymous_client))) == 5
    assert view(anonymous_client, limit=6).json() == {"detail": "limit: must be between 1 and 5"}


def test_a_configured_brightness_column_must_exist(db):
    from maps.importers import ConfigError

    with pytest.raises(ConfigError) as raised:
        import_sources(GRID, brightness_column="flux")
    assert "brightness_column: 'flux' is not a column of the sources: ['snr']" in str(raised.value)


def test_answer_is_valid_json_for_odd_names(db, anonymous_client):
    import_sources([{"name": 'quote " and \u00e9', "ra": 5, "dec": 5}])
    body = json.loads(view(anonymous_client).content)
    assert body["sources"][0][1:] == ['quote " and \u00e9', 5.0, 5.0, {}]
