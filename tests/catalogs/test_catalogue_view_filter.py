"""``/sources/{id}/view?filter=``: the brightest matching sources of a box, the matching
total, the same 400s as ``/sources/{id}?filter=``, and the cap on the rows one request tests."""

import numpy as np
import pytest

from catalogs import view_query
from tests.catalogs.test_catalogue_view import GRID, import_sources, names, view
from tests.catalogs.test_filterexpr import SHARED, filter_text


@pytest.fixture
def grid(db):
    return import_sources(GRID)


def test_a_filtered_box_answers_exactly_the_matching_sources_brightest_first(
    grid, anonymous_client
):
    # Inside RA 358..1.5, Dec -1..0.5: s0_-1 (snr 0), s0_0 (10), s1_-1 (30),
    # s1_0 (40), s358_-1 (60), s358_0 (70), s359_-1 (90), s359_0 (100).
    response = view(anonymous_client, left=1.5, right=357.5, top=0.5, bottom=-1, filter="snr > 25")
    assert response.status_code == 200
    body = response.json()
    assert names(response) == ["s359_0", "s359_-1", "s358_0", "s358_-1", "s1_0", "s1_-1"]
    head = {key: body[key] for key in ("total", "total_is_estimate", "complete", "truncated")}
    assert head == {"total": 6, "total_is_estimate": False, "complete": True, "truncated": False}
    assert body["sources"][0][4] == {"snr": 100}


def test_over_the_limit_the_brightest_matching_come_first_and_the_rest_is_counted(
    grid, anonymous_client
):
    response = view(anonymous_client, filter='name ~ "_0"', limit=2)
    body = response.json()
    assert names(response) == ["s359_0", "s358_0"]
    # The seven rows past the walk are fewer than the sample: all tested.
    assert (body["total"], body["total_is_estimate"], body["complete"]) == (4, False, False)
    assert body["truncated"] is False


@pytest.mark.parametrize("exact_count_min", [0, 50_000])
def test_a_filter_on_brightness_has_its_total_estimated_from_a_spread_sample(
    db, anonymous_client, monkeypatch, exact_count_min
):
    # The brightest 5% match: the walk finds its 10 in the first 10 rows,
    # where their match rate (100%) would say 2000.
    monkeypatch.setattr(view_query, "EXACT_COUNT_MIN", exact_count_min)
    monkeypatch.setattr(view_query, "FILTER_SAMPLE_ROWS", 200)
    flux = np.random.default_rng(4).permutation(2000)
    import_sources(
        [
            {"name": f"n{i}", "ra": i % 360, "dec": 0, "extra": {"flux": int(f)}}
            for i, f in enumerate(flux)
        ]
    )
    body = view(anonymous_client, filter="flux >= 1900", limit=10).json()
    assert [item[4]["flux"] for item in body["sources"]] == list(range(1999, 1989, -1))
    assert body["total_is_estimate"] is True
    assert abs(body["total"] - 100) <= 15


@pytest.mark.parametrize(
    "case", [case for case in SHARED["cases"] if "matches" in case], ids=filter_text
)
def test_the_shared_filter_cases_give_the_same_sources_in_a_view(db, anonymous_client, case):
    group = import_sources(SHARED["rows"])
    group.columns = [{"name": name, "unit": "", "description": ""} for name in SHARED["columns"]]
    group.save()
    response = view(anonymous_client, filter=filter_text(case))
    assert response.status_code == 200
    assert sorted(names(response)) == sorted(case["matches"])
    assert response.json()["total"] == len(case["matches"])


@pytest.mark.parametrize(
    "case", [case for case in SHARED["cases"] if "error" in case], ids=filter_text
)
def test_a_bad_filter_is_the_same_json_400_as_for_the_whole_catalogue(db, client, case):
    group = import_sources(SHARED["rows"])
    group.columns = [{"name": name, "unit": "", "description": ""} for name in SHARED["columns"]]
    group.save()
    text = filter_text(case)
    if not text.strip():  # an empty filter is no filter, as for /sources/{id}
        return
    response = view(client, filter=text)
    whole = client.get("/sources/field", {"filter": text})
    assert response.status_code == 400
    assert response.json() == whole.json() == {"detail": f"filter: {case['error']}"}


def test_a_hidden_group_is_a_404_like_a_missing_one_whatever_the_filter(catalogue, caller):
    client, holds_grant = caller
    hidden = view(client, "secret-cat", filter="snr >")
    missing = view(client, "no-such-cat", filter="snr >")
    assert missing.status_code == 404
    if not holds_grant:
        assert (hidden.status_code, hidden.json()) == (404, missing.json())


def test_a_sparse_filter_stops_at_the_row_cap_and_says_so(grid, anonymous_client, settings):
    settings.MAX_VIEW_SCAN_ROWS = 5
    response = view(anonymous_client, filter="snr < 15")
    body = response.json()
    # The five brightest rows hold no match: nothing found, the walk cut short.
    assert names(response) == []
    assert (body["truncated"], body["total_is_estimate"], body["complete"]) == (True, True, False)
    settings.MAX_VIEW_SCAN_ROWS = 12
    body = view(anonymous_client, filter="snr < 15").json()
    assert sorted(item[1] for item in body["sources"]) == ["s0_-1", "s0_0"]
    assert (body["truncated"], body["total"], body["total_is_estimate"]) == (False, 2, False)


@pytest.mark.parametrize("exact_count_min", [0, 50_000])
def test_both_plans_find_the_brightest_matching_sources_of_a_box(
    db, anonymous_client, monkeypatch, exact_count_min
):
    # 3000 sources, a quarter in the box, a tenth of those matching: a
    # crowded box (rank walk) and a counted one (zone index) answer alike.
    monkeypatch.setattr(view_query, "EXACT_COUNT_MIN", exact_count_min)
    monkeypatch.setattr(view_query, "FILTER_BATCH_ROWS", 7)
    rng = np.random.default_rng(3)
    flux = rng.permutation(3000)
    sources = [
        {"name": f"n{i}", "ra": i % 4, "dec": 0.001 * i, "extra": {"flux": int(f), "k": i % 10}}
        for i, f in enumerate(flux)
    ]
    import_sources(sources)
    inside = sorted(
        (s for s in sources if s["ra"] == 0 and s["extra"]["k"] == 0),
        key=lambda s: -s["extra"]["flux"],
    )
    for limit in (5, 200):
        response = view(anonymous_client, left=0.5, right=-0.5, limit=limit, filter="k = 0")
        body = response.json()
        assert names(response) == [s["name"] for s in inside[:limit]]
        assert body["truncated"] is False
    assert (body["total"], body["total_is_estimate"]) == (len(inside), False)
