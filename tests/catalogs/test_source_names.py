"""/source-names (go-to by name from the catalogues) and /resolve-name (the stubbed Sesame)."""

import pytest
from django.test import Client

from catalogs.models import Source, SourceGroup
from catalogs.names import prefix_upper_bound
from tests.support.ports import free_port
from tests.support.sesame_stub import SesameStub

pytestmark = pytest.mark.django_db

# Sesame's jradeg/jdedeg for M31 (SIMBAD, 2026).
M31_DEG = (10.684708333333333, 41.268750000000004)


@pytest.fixture
def names(db):
    """Two public catalogues whose names sort and fold in telling ways."""
    act = SourceGroup.objects.create(source_group_id="act-ps", name="ACT point sources")
    clusters = SourceGroup.objects.create(source_group_id="clusters", name="Clusters")
    for group, name, ra, dec in [
        (act, "ACT-CL J0102-4915", 15.72, -49.25),
        (act, "act-cl J0001-0002", 0.25, -0.5),
        (act, "ACTPS 12", 12.0, 1.0),
        (act, "Abell 2163", 243.9, -6.15),
        (clusters, "ACT-CL J0102-4915", 15.73, -49.26),
        (clusters, "PSZ2 G006.49+50.56", 227.73, 5.74),
        (clusters, "act%literal", 1.0, 1.0),
        (clusters, "act_literal", 2.0, 2.0),
    ]:
        Source.objects.create(source_group=group, name=name, ra=ra, dec=dec)


def get_names(client, **query):
    response = client.get("/source-names", query)
    return response.status_code, response.json()


def test_prefix_any_case_sorted_by_name_with_catalogue_and_position(names):
    status, body = get_names(Client(), q="act-CL")
    assert status == 200
    assert body == [
        {"name": "act-cl J0001-0002", "ra": 0.25, "dec": -0.5, "source_group_id": "act-ps"},
        {"name": "ACT-CL J0102-4915", "ra": 15.72, "dec": -49.25, "source_group_id": "act-ps"},
        {
            "name": "ACT-CL J0102-4915",
            "ra": 15.73,
            "dec": -49.26,
            "source_group_id": "clusters",
        },
    ]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # Code point order of the lower-cased names: "%" < "-" < "_" < letters.
        ("a", ["Abell 2163", "act%literal", "act-cl J0001-0002", "ACT-CL J0102-4915"]),
        ("ACT_", ["act_literal"]),
        # Wildcards of LIKE are plain characters here.
        ("act%", ["act%literal"]),
        ("act_", ["act_literal"]),
        ("%", []),
        ("_", []),
        # Spaces around the query are dropped, those inside kept.
        ("  psz2 g006 ", ["PSZ2 G006.49+50.56"]),
        ("psz2  g006", []),
        ("Abell 2163", ["Abell 2163"]),
        ("Abell 21634", []),
        ("J0102", []),
        ("zzz", []),
        ("", []),
        ("   ", []),
    ],
)
def test_prefix_cases(names, query, expected):
    status, body = get_names(Client(), q=query, limit=4)
    assert status == 200
    assert [row["name"] for row in body] == expected


def test_limit_defaults_to_20_and_stops_at_it(names):
    group = SourceGroup.objects.get(source_group_id="clusters")
    Source.objects.bulk_create(
        Source(source_group=group, name=f"Many {i:03d}", ra=1.0, dec=1.0) for i in range(120)
    )
    assert [r["name"] for r in get_names(Client(), q="many")[1]] == [
        f"Many {i:03d}" for i in range(20)
    ]
    assert len(get_names(Client(), q="many", limit=100)[1]) == 100
    assert [r["name"] for r in get_names(Client(), q="many 11", limit=3)[1]] == [
        "Many 110",
        "Many 111",
        "Many 112",
    ]


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"q": "a", "limit": "0"}, "limit must be between 1 and 100, got 0"),
        ({"q": "a", "limit": "101"}, "limit must be between 1 and 100, got 101"),
        ({"q": "a", "limit": "ten"}, "limit must be an integer, got 'ten'"),
        ({"q": "a" * 301}, "q is longer than 300 characters"),
        ({"q": "a\x00"}, None),
    ],
)
def test_malformed_queries_are_400(names, query, detail):
    response = Client().get("/source-names", query)
    assert response.status_code == 400
    if detail is not None:
        assert response.json() == {"detail": detail}
    else:
        assert set(response.json()) == {"detail"}


def test_hidden_catalogues_names_never_appear(caller):
    client, holds = caller
    for prefix in ("hidden", "H", "h"):
        status, body = get_names(client, q=prefix)
        assert status == 200
        expected = (
            [{"name": "hidden-src", "ra": 1.0, "dec": 2.0, "source_group_id": "secret-cat"}]
            if holds
            else []
        )
        assert body == expected
    status, body = get_names(client, q="src")
    assert [row["source_group_id"] for row in body] == ["bright", "bright"]


@pytest.mark.parametrize(
    ("prefix", "bound"),
    [("act", "acu"), ("a", "b"), ("z\ud7ff", "z\ue000"), ("\U0010ffff", "\U0010ffff\U0010ffff")],
)
def test_prefix_upper_bound_is_above_every_extension_and_encodable(prefix, bound):
    assert prefix_upper_bound(prefix) == bound
    assert prefix < prefix + "\U0010ffff" * 3 < bound or prefix[-1] == "\U0010ffff"
    bound.encode()


def test_names_ending_before_the_surrogates_are_found(names):
    group = SourceGroup.objects.get(source_group_id="clusters")
    Source.objects.create(source_group=group, name="x\ud7ffy", ra=3.0, dec=3.0)
    assert [row["name"] for row in get_names(Client(), q="x\ud7ff")[1]] == ["x\ud7ffy"]


# --- the name resolver --------------------------------------------------------


@pytest.fixture
def sesame(settings):
    stub = SesameStub(positions={"M31": M31_DEG, "NGC 224": M31_DEG}).start()
    settings.NAME_RESOLVER_URL = stub.url
    yield stub
    stub.stop()


def resolve(name):
    response = Client().get("/resolve-name", {"name": name})
    return response.status_code, response.json()


def test_resolver_gives_the_position(sesame):
    assert resolve("M31") == (
        200,
        {"name": "M31", "ra": M31_DEG[0], "dec": M31_DEG[1], "resolver": "Simbad (via url)"},
    )
    assert resolve(" NGC 224 ")[1]["ra"] == M31_DEG[0]
    assert sesame.asked == ["M31", "NGC 224"]


def test_unknown_name_is_404(sesame):
    assert resolve("no such thing") == (
        404,
        {"detail": "the name resolver does not know 'no such thing'"},
    )


def test_unreachable_or_garbled_resolver_is_502_with_the_message(settings, sesame):
    unreachable = (502, {"detail": "name resolver unreachable: enter coordinates"})
    sesame.garbage = True
    assert resolve("M31") == unreachable
    settings.NAME_RESOLVER_URL = f"http://127.0.0.1:{free_port()}/sesame"
    assert resolve("M31") == unreachable


def test_resolver_is_off_by_default_and_sends_nothing(settings):
    assert settings.NAME_RESOLVER_URL == ""
    assert resolve("M31") == (404, {"detail": "no name resolver on this server: enter coordinates"})


def test_resolver_needs_a_name(sesame):
    assert resolve("  ") == (400, {"detail": "the query parameter name is required"})
    assert Client().get("/resolve-name").status_code == 400
    assert sesame.asked == []
