"""Exact JSON shapes of every catalogue endpoint (SPEC section 6), errors included."""

import json

import pytest
from django.contrib.auth.models import User

from catalogs.models import Source
from maps.file_versions import provider_file_version
from maps.models import Layer
from tests.support.api_shapes import (
    BOX,
    GROUP_MENU,
    LAYER,
    SOURCE,
    summary,
)
from tests.support.catalogue import BOXES, SOURCE_GROUPS

pytestmark = pytest.mark.django_db


def assert_shape(value, spec, where="$"):
    """``value`` matches ``spec``: a dict of exact keys, ``[item spec]``, a type, or a predicate."""
    if isinstance(spec, dict):
        assert isinstance(value, dict), f"{where}: expected an object, got {value!r}"
        assert set(value) == set(spec), f"{where}: keys {sorted(value)} != {sorted(spec)}"
        for key, item_spec in spec.items():
            assert_shape(value[key], item_spec, f"{where}.{key}")
    elif isinstance(spec, list):
        assert isinstance(value, list), f"{where}: expected a list, got {value!r}"
        for index, item in enumerate(value):
            assert_shape(item, spec[0], f"{where}[{index}]")
    elif isinstance(spec, type | tuple):
        types = spec if isinstance(spec, tuple) else (spec,)
        # bool is an int to isinstance, never to a JSON client.
        assert type(value) in types, f"{where}: {value!r} is not {spec}"
    else:
        assert spec(value), f"{where}: {value!r} rejected by {spec.__name__}"


CONTRACTS = [
    ("/map-groups", [summary("map_group_id")]),
    ("/map-groups/act-dr6/maps", [summary("map_id")]),
    ("/maps/act-coadd/bands", [summary("band_id")]),
    ("/bands/coadd-f090/layers", [summary("layer_id")]),
    ("/layers/default", {"layer": LAYER, "default_layer_menu": [GROUP_MENU]}),
    ("/layers/coadd-f090-i", LAYER),
    ("/layers/coadd-f090-u", LAYER),
    ("/search?q=f0", {"filtered_layer_menu": [GROUP_MENU], "matched_ids": [str]}),
    ("/sources", [{"source_group_id": str, "name": str, "description": str}]),
    (
        "/sources/bright",
        {
            "source_group_id": str,
            "name": str,
            "description": str,
            "columns": [{"name": str, "unit": str, "description": str}],
            "sources": [SOURCE],
        },
    ),
    ("/highlights/boxes", [BOX]),
]


@pytest.mark.parametrize(("url", "spec"), CONTRACTS)
def test_answer_has_exact_keys_and_types(catalogue, anonymous_client, url, spec):
    response = anonymous_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body, "an empty answer would make the shape check vacuous"
    assert_shape(body, spec)


def test_layer_answer_equals_the_stored_layer(catalogue, anonymous_client):
    body = anonymous_client.get("/layers/coadd-f090-i").json()
    layer = Layer.objects.get(layer_id="coadd-f090-i")
    assert body == {
        "layer_id": "coadd-f090-i",
        "name": "I",
        "description": "About I",
        "grant": None,
        "quantity": "T (I)",
        "units": "uK",
        "vmin": -500.0,
        "vmax": 500.0,
        "cmap": "RdBu_r",
        "tile_size": layer.tile_size,
        "number_of_levels": layer.number_of_levels,
        "bounding_left": layer.bounding_left,
        "bounding_right": layer.bounding_right,
        "bounding_top": layer.bounding_top,
        "bounding_bottom": layer.bounding_bottom,
        "map_group_id": "act-dr6",
        "map_id": "act-coadd",
        "band_id": "coadd-f090",
        "pixel_scale_ra_deg": 0.5,
        "pixel_scale_dec_deg": 0.5,
        "pixel_offset_ra_deg": layer.pixel_offset_ra_deg,
        "pixel_offset_dec_deg": layer.pixel_offset_dec_deg,
        "stokes": "I",
        # Q is restricted: absent for an anonymous caller.
        "stokes_layers": {"I": "coadd-f090-i", "U": "coadd-f090-u"},
        "polarisation_convention": None,
        "file_version": provider_file_version(layer.provider),
    }
    # The fixture map is 0.5 deg/px: 720 x 360 over the sky, not multiples of
    # 256, so SPEC section 5 gives 360 px tiles and floor(log2(720 // 360)) levels.
    assert (body["tile_size"], body["number_of_levels"]) == (360, 1)


def test_stokes_planes_of_a_band_are_those_the_caller_may_see(catalogue, client, grant):
    user = User.objects.create_user("member")
    grant.users.add(user)
    client.force_login(user)
    everything = {"I": "coadd-f090-i", "Q": "coadd-f090-q", "U": "coadd-f090-u"}
    for layer_id, stokes in (("coadd-f090-q", "Q"), ("coadd-f090-u", "U")):
        body = client.get(f"/layers/{layer_id}").json()
        assert (body["stokes"], body["stokes_layers"]) == (stokes, everything)
    body = client.get("/layers/coadd-f150-i").json()
    assert (body["stokes"], body["stokes_layers"]) == (None, {})


def test_auto_limits_are_the_string_auto(catalogue, anonymous_client):
    body = anonymous_client.get("/layers/coadd-f090-u").json()
    assert (body["vmin"], body["vmax"], body["cmap"]) == ("auto", "auto", "viridis")


def test_grant_field_is_the_grant_name(catalogue, client, grant):
    user = User.objects.create_user("holder")
    grant.users.add(user)
    client.force_login(user)
    assert client.get("/layers/coadd-f090-q").json()["grant"] == "act-internal"
    assert client.get("/layers/coadd-f090-i").json()["grant"] is None
    groups = {g["map_group_id"]: g["grant"] for g in client.get("/map-groups").json()}
    assert groups == {"act-dr6": None, "so-private": "act-internal", "planck": None}


@pytest.mark.parametrize("url", [url for url, _spec in CONTRACTS])
def test_no_answer_contains_a_server_path(catalogue, anonymous_client, url, tmp_path):
    text = anonymous_client.get(url).content.decode()
    assert str(tmp_path) not in text
    assert ".fits" not in text
    assert "provider" not in text


def test_source_group_lists_every_source_with_its_extras(catalogue, anonymous_client):
    body = anonymous_client.get("/sources/bright").json()
    assert body["source_group_id"] == "bright"
    expected = [
        {"name": name, "ra": ra, "dec": dec, "extra": extra}
        for name, ra, dec, extra in SOURCE_GROUPS["bright"]["sources"]
    ]
    assert body["sources"] == expected


def test_non_finite_source_coordinates_become_null_not_invalid_json(catalogue, anonymous_client):
    # SQLite stores NaN as NULL (refused by the column), PostgreSQL keeps it;
    # infinities survive both.
    Source.objects.filter(name="src-b").update(ra=float("inf"), dec=float("-inf"))
    body = json.loads(anonymous_client.get("/sources/bright").content)  # strict parser
    by_name = {source["name"]: source for source in body["sources"]}
    assert (by_name["src-b"]["ra"], by_name["src-b"]["dec"]) == (None, None)


def test_boxes_answer_their_corners(catalogue, anonymous_client):
    body = anonymous_client.get("/highlights/boxes").json()
    restricted, corners = BOXES["Cluster box"]
    assert not restricted
    assert body == [
        {
            "name": "Cluster box",
            "description": "Cluster box description",
            "top_left_ra": corners[0],
            "top_left_dec": corners[1],
            "bottom_right_ra": corners[2],
            "bottom_right_dec": corners[3],
            "grant": None,
        }
    ]


def test_lists_keep_the_curated_order(catalogue, anonymous_client):
    Layer.objects.filter(layer_id="coadd-f090-u").update(position=0)
    Layer.objects.filter(layer_id="coadd-f090-i").update(position=99)
    ids = [x["layer_id"] for x in anonymous_client.get("/bands/coadd-f090/layers").json()]
    assert ids == ["coadd-f090-u", "coadd-f090-i"]


def test_empty_catalogue_answers_empty_lists_and_a_null_default(db, anonymous_client):
    assert anonymous_client.get("/map-groups").json() == []
    assert anonymous_client.get("/sources").json() == []
    assert anonymous_client.get("/highlights/boxes").json() == []
    assert anonymous_client.get("/layers/default").json() == {
        "layer": None,
        "default_layer_menu": [],
    }
    assert anonymous_client.get("/search?q=x").json() == {
        "filtered_layer_menu": [],
        "matched_ids": [],
    }


UNKNOWN_IDS = [
    ("/map-groups/no-such-group/maps", "No map group with that id."),
    ("/maps/no-such-map/bands", "No map with that id."),
    ("/bands/no-such-band/layers", "No band with that id."),
    ("/layers/no-such-layer", "No layer with that id."),
    ("/sources/no-such-catalogue", "No source group with that id."),
    # Ids are looked up as given: no slug normalisation, no case folding.
    ("/layers/COADD-F090-I", "No layer with that id."),
    ("/layers/coadd-f090-i%20", "No layer with that id."),
    ("/layers/%E2%98%83", "No layer with that id."),
]


@pytest.mark.parametrize(("url", "detail"), UNKNOWN_IDS)
def test_unknown_id_is_a_json_404_never_200_null(catalogue, anonymous_client, url, detail):
    response = anonymous_client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


MALFORMED = [
    ("get", "/search", 400, "q: This field is required."),
    ("get", "/search?q=", 400, "q: This field may not be blank."),
    ("get", "/search?q=%20%20", 400, "q: This field may not be blank."),
    ("get", "/search?q=" + "x" * 201, 400, "q: Ensure this field has no more than 200 characters."),
    ("get", "/layers/coadd-f090-i%00", 400, "The URL contains a NUL character."),
    ("get", "/sources/%00", 400, "The URL contains a NUL character."),
    ("get", "/search?q=%00", 400, "The URL contains a NUL character."),
    ("get", "/layers/" + "x" * 5000, 404, "No layer with that id."),
    ("get", "/no-such-endpoint", 404, "Not found."),
    ("get", "/layers/coadd-f090-i/extra/segments", 404, "Not found."),
    ("get", "/map-groups/", 404, "Not found."),
    ("get", "/map-groups?format=xml", 404, "Not found."),
    ("post", "/map-groups", 405, 'Method "POST" not allowed.'),
    ("delete", "/layers/coadd-f090-i", 405, 'Method "DELETE" not allowed.'),
    ("put", "/sources/bright", 405, 'Method "PUT" not allowed.'),
    ("patch", "/highlights/boxes", 405, 'Method "PATCH" not allowed.'),
]


@pytest.mark.parametrize(("method", "url", "status", "detail"), MALFORMED)
def test_malformed_request_is_a_json_4xx(catalogue, anonymous_client, method, url, status, detail):
    response = getattr(anonymous_client, method)(url)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": detail}


def test_browser_accept_header_gets_json(catalogue, anonymous_client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = anonymous_client.get("/map-groups", HTTP_ACCEPT=browser)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"


@pytest.mark.parametrize("accept", ["image/png", "text/html"])
def test_unacceptable_accept_header_is_a_json_406(catalogue, anonymous_client, accept):
    response = anonymous_client.get("/map-groups", HTTP_ACCEPT=accept)
    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Could not satisfy the request Accept header."}


def test_unexpected_failure_is_a_json_500_not_an_html_page(
    catalogue, anonymous_client, monkeypatch
):
    from maps import api_views

    def explode(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(api_views, "layer_menu_tree", explode)
    anonymous_client.raise_request_exception = False
    response = anonymous_client.get("/search?q=x")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Internal server error."}


def test_admin_errors_stay_html(db, anonymous_client):
    response = anonymous_client.get("/admin/no-such-page/")
    assert not response["Content-Type"].startswith("application/json")


def test_groups_without_any_layer_give_a_null_default_and_a_closed_menu(db, anonymous_client):
    from maps.models import Map, MapGroup

    group = MapGroup.objects.create(map_group_id="empty", name="Empty", description="No data")
    Map.objects.create(map_id="bandless", name="Bandless", map_group=group)
    assert anonymous_client.get("/layers/default").json() == {
        "layer": None,
        "default_layer_menu": [
            {
                "map_group_id": "empty",
                "name": "Empty",
                "description": "No data",
                "grant": None,
                "maps": [],
            }
        ],
    }


def test_head_answers_like_get_without_a_body(catalogue, anonymous_client):
    response = anonymous_client.head("/layers/coadd-f090-i")
    assert response.status_code == 200
    assert response.content == b""
