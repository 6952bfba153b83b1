"""Issue 19: the OpenAPI document offers the API token exactly where a token is accepted.

A generated client sends the credentials an operation lists; listing the
token on a write it is refused on (403, read-only) would break the client's
session call, and leaving it off a read would leave restricted maps
unreachable from generated clients.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.catalogue import walk
from tilemaker_site.accounts.models import ApiToken

pytestmark = pytest.mark.django_db

# POSTs that only compute (a region is too long for a URL): a token may call them.
COMPUTING_POSTS = {("/regions/stats", "post"), ("/regions/cutout", "post")}
CIRCLE = {"kind": "circle", "ra_deg": 10.0, "dec_deg": 0.0, "radius_deg": 1.0}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        response = Client().get("/openapi.json")
    assert response.status_code == 200
    return json.loads(response.content)


def _operations(schema):
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            yield path, method, operation


def test_the_bearer_scheme_is_declared(schema):
    scheme = schema["components"]["securitySchemes"]["apiToken"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "tmk_" in scheme["description"]


def test_every_read_offers_the_token_the_session_or_nothing(schema):
    reads = [(path, op) for path, method, op in _operations(schema) if method == "get"]
    assert len(reads) > 20
    for path, operation in reads:
        assert operation["security"] == [{"apiToken": []}, {"cookieAuth": []}, {}], path


def test_the_token_is_offered_on_computing_posts_only(schema):
    writes = {(path, method): op["security"] for path, method, op in _operations(schema)}
    writes = {key: security for key, security in writes.items() if key[1] != "get"}
    assert set(writes) >= COMPUTING_POSTS
    for key, security in writes.items():
        assert ({"apiToken": []} in security) == (key in COMPUTING_POSTS), key


def test_a_token_computes_region_statistics_and_cutouts_of_a_restricted_layer(catalogue, grant):
    layer_id = next(node.public_id for depth, node, hidden, _ in walk() if depth == 3 and hidden)
    user = get_user_model().objects.create_user("notebook")
    grant.users.add(user)
    _row, secret = ApiToken.issue(user, "notebook")
    token = Client(headers={"Authorization": f"Bearer {secret}"})
    body = {"layer_id": layer_id, "region": CIRCLE}
    for url in ("/regions/stats", "/regions/cutout"):
        assert token.post(url, body, content_type="application/json").status_code == 200
        hidden = Client().post(url, body, content_type="application/json")
        assert hidden.status_code == 404
    # Saving a region is still a write, refused to every token.
    saved = token.post("/regions", {"name": "r", "region": CIRCLE}, content_type="application/json")
    assert saved.status_code == 403
