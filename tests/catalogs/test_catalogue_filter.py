"""``/sources/{id}?filter=``: the viewer's filter language on the server (catalogs/filterexpr.py),
in one answer and streamed, and a 400 naming the place for a filter that does not parse."""

import json

import pytest
from django.test import Client

from catalogs.models import Source, SourceGroup
from catalogs.views import SOURCE_BATCH_ROWS
from tests.catalogs.test_catalogue_stream import body_of, make_group

pytestmark = pytest.mark.django_db

COLUMNS = [
    {"name": "snr", "unit": "", "description": "signal to noise"},
    {"name": "flux_mJy", "unit": "mJy", "description": "flux density"},
]
ROWS = [
    ("ACT-CL J0001", 5.0, -10.0, {"snr": 12.5, "flux_mJy": 50}),
    ("ACT-CL J0002", 15.0, -20.0, {"snr": 4.0, "flux_mJy": 150}),
    ("PS 3", 20.0, 3.0, {"snr": 6.0, "flux_mJy": 99.5}),
    ("PS 4", 30.0, 4.0, {}),
]


@pytest.fixture
def clusters():
    group = SourceGroup.objects.create(source_group_id="clusters", name="Clusters", columns=COLUMNS)
    Source.objects.bulk_create(
        Source(source_group=group, name=name, ra=ra, dec=dec, extra=extra)
        for name, ra, dec, extra in ROWS
    )
    return group


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("snr > 5 and flux_mJy < 100", ["ACT-CL J0001", "PS 3"]),
        ('name ~ "act-cl"', ["ACT-CL J0001", "ACT-CL J0002"]),
        ("not (snr >= 5)", ["ACT-CL J0002", "PS 4"]),
        ("ra between 10 and 20", ["ACT-CL J0002", "PS 3"]),
        ("dec < -100", []),
        ("   ", ["ACT-CL J0001", "ACT-CL J0002", "PS 3", "PS 4"]),
    ],
)
def test_filter_keeps_the_matching_sources(clusters, query, names):
    response = Client().get("/sources/clusters", {"filter": query})
    assert response.status_code == 200
    body = json.loads(response.content)
    assert [source["name"] for source in body["sources"]] == names
    assert body["columns"] == COLUMNS


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("snr > 5)", "filter: unexpected ')' at 7"),
        ("snr >", "filter: unexpected end of filter at 5"),
        ("bogus > 1", "filter: unknown column 'bogus' at 0"),
        ("__import__('os')", "filter: unknown column '__import__' at 0"),
        ("constructor = 1", "filter: unknown column 'constructor' at 0"),
        ("snr > 1; drop table catalogs_source", "filter: unexpected character ';' at 7"),
        ("(" * 100 + "snr > 1" + ")" * 100, "filter: filter nested deeper than 32 at 32"),
        ("snr > 1 or " * 100, "filter: filter longer than 1000 characters"),
    ],
)
def test_bad_filter_is_a_400_naming_the_place(clusters, query, detail):
    response = Client().get("/sources/clusters", {"filter": query})
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_a_hidden_catalogue_is_a_404_whatever_the_filter(clusters, grant):
    clusters.grant = grant
    clusters.save()
    response = Client().get("/sources/clusters", {"filter": "snr >"})
    assert response.status_code == 404
    assert response.json() == {"detail": "No source group with that id."}


def test_a_catalogue_without_its_column_list_filters_on_any_extra(clusters):
    SourceGroup.objects.filter(pk=clusters.pk).update(columns=[])
    response = Client().get("/sources/clusters", {"filter": "flux_mJy > 100 or nothing = 1"})
    assert [source["name"] for source in response.json()["sources"]] == ["ACT-CL J0002"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Matches only in the second and third batches: the list must not open with a comma.
        ("flux_mjy >= 1500", lambda i: i % 3 and i * 0.5 >= 1500),
        # Sparse: one match in a thousand, over every batch.
        ("name ~ 'odd' and dec < 0", lambda i: not i % 7 and ((i * 0.0071) % 180.0) - 90.0 < 0),
        ("flux_mjy < 0", lambda i: False),
    ],
)
def test_a_streamed_catalogue_is_filtered_batch_by_batch(query, expected):
    count = 2 * SOURCE_BATCH_ROWS + 1
    make_group(count)
    response = Client().get("/sources/big", {"filter": query})
    assert response.status_code == 200
    body = json.loads(body_of(response))
    wanted = [i for i in range(count) if expected(i)]
    names = [f"src-{i:07d} \u2606" if i % 7 else f'odd "name" {i}' for i in wanted]
    assert [source["name"] for source in body["sources"]] == names
