"""The generated API documentation: /openapi.json (OpenAPI 3) and /docs (Swagger UI, offline)."""

import io
import json
import re

import pytest
from django.core.management import call_command

from tests.support.api_shapes import BOX, LAYER, SOURCE, summary

pytestmark = pytest.mark.django_db

# Every public path of SPEC section 6 and the error statuses it must document.
DOCUMENTED = {
    "/map-groups": {"200"},
    "/map-groups/{map_group_id}/maps": {"200", "404"},
    "/maps/{map_id}/bands": {"200", "404"},
    "/bands/{band_id}/layers": {"200", "404"},
    "/layers/default": {"200"},
    "/layers/{layer_id}": {"200", "404"},
    "/search": {"200", "400"},
    "/sources": {"200"},
    "/sources/{source_group_id}": {"200", "404"},
    "/highlights/boxes": {"200"},
    "/layers/{layer_id}/{level}/{y}/{x}/tile.{ext}": {"200", "400", "404"},
    "/layers/{layer_id}/submap/{left}/{right}/{top}/{bottom}/image.{ext}": {"200", "400", "404"},
    "/histograms/data/{layer_id}": {"200", "404"},
    "/histograms/{cmap}.png": {"200", "404"},
    "/analysis/aperture/{layer_id}": {"200", "400", "404"},
}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def test_schema_is_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "TileMaker API"


@pytest.mark.parametrize(("path", "statuses"), sorted(DOCUMENTED.items()))
def test_every_endpoint_is_documented_with_its_errors(schema, path, statuses):
    operation = schema["paths"][path]["get"]
    assert statuses <= set(operation["responses"])
    for status in statuses - {"200"}:
        error = operation["responses"][status]["content"]["application/json"]["schema"]
        assert error["required"] == ["detail"]
    declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
    assert declared == set(re.findall(r"{(\w+)}", path))


def test_only_get_is_offered(schema):
    # Issue 16 saves regions on the server: only the /regions paths write.
    methods = {
        method for path, ops in schema["paths"].items() if not path.startswith("/regions")
        for method in ops
    }  # fmt: skip
    assert methods == {"get"}


def component(schema, name):
    return schema["components"]["schemas"][name]


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        ("Layer", LAYER),
        ("MapGroupSummary", summary("map_group_id")),
        ("MapSummary", summary("map_id")),
        ("BandSummary", summary("band_id")),
        ("LayerSummary", summary("layer_id")),
        ("Source", SOURCE),
        ("Box", BOX),
    ],
)
def test_documented_shapes_are_the_served_shapes(schema, name, shape):
    documented = component(schema, name)
    assert set(documented["properties"]) == set(shape)
    assert set(documented["required"]) == set(shape)


def test_colour_limits_are_documented_as_number_or_auto(schema):
    vmin = component(schema, "Layer")["properties"]["vmin"]
    assert vmin["oneOf"] == [{"type": "number"}, {"type": "string", "enum": ["auto"]}]


def test_search_query_is_required(schema):
    (q,) = schema["paths"]["/search"]["get"]["parameters"]
    assert (q["name"], q["in"], q["required"]) == ("q", "query", True)
    assert (q["schema"]["minLength"], q["schema"]["maxLength"]) == (1, 200)


def test_schema_generates_without_warnings_and_validates():
    out = io.StringIO()
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out
    )
    assert json.loads(out.getvalue())["paths"]


def test_docs_page_loads_everything_from_this_server(client):
    response = client.get("/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/openapi.json" in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page must reference Swagger UI's files"
    assert not re.search(r"https?://", html), "the docs must work without the internet"
    for asset in assets:
        served = client.get(asset)
        served.close()  # a file response holds its file open until closed
        assert served.status_code == 200, asset
