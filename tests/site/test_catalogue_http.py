"""HTTP surroundings of the API: CORS from TILEMAKER_ADD_CORS/ORIGINS, and the API prefix."""

import importlib
import json

import pytest
from django.test import override_settings
from django.urls import clear_url_caches

from tests.support.settings_probe import start_probe

VIEWER = "https://viewer.example.org"
STRANGER = "https://evil.example.com"

# Runs in a fresh interpreter so settings.py derives the CORS settings from
# the environment itself; the requests need no database.
PROBE = f"""
import json, django
django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client()
answers = []
for origin in ({VIEWER!r}, {STRANGER!r}):
    for method, url, extra in (
        ("get", "/search", {{}}),
        ("get", "/openapi.json", {{}}),
        ("options", "/map-groups", {{"HTTP_ACCESS_CONTROL_REQUEST_METHOD": "GET"}}),
    ):
        response = getattr(client, method)(url, HTTP_ORIGIN=origin, **extra)
        answers.append({{
            "origin": origin, "url": url, "method": method, "status": response.status_code,
            "allow_origin": response.headers.get("Access-Control-Allow-Origin"),
            "allow_credentials": response.headers.get("Access-Control-Allow-Credentials"),
        }})
print(json.dumps(answers))
"""


CORS_ENVIRONMENTS = {
    "default": {},
    "origin-list": {"TILEMAKER_ORIGINS": f"{VIEWER},https://other.example.org"},
    "off": {"TILEMAKER_ADD_CORS": "no"},
}


@pytest.fixture(scope="module")
def cors_probes() -> dict[str, list[dict]]:
    """The probe's answers under each of ``CORS_ENVIRONMENTS``, run side by side."""
    running = {name: start_probe(PROBE, env) for name, env in CORS_ENVIRONMENTS.items()}
    answers = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        answers[name] = json.loads(stdout.strip().splitlines()[-1])
    return answers


def test_default_cors_allows_every_origin_without_credentials(cors_probes):
    answers = cors_probes["default"]
    assert {a["allow_origin"] for a in answers} == {"*"}
    assert {a["allow_credentials"] for a in answers} == {None}
    assert {a["status"] for a in answers if a["url"] == "/search"} == {400}


def test_explicit_origins_get_credentials_and_strangers_get_nothing(cors_probes):
    for answer in cors_probes["origin-list"]:
        if answer["origin"] == VIEWER:
            assert answer["allow_origin"] == VIEWER, answer
            assert answer["allow_credentials"] == "true", answer
        else:
            assert answer["allow_origin"] is None, answer
            assert answer["allow_credentials"] is None, answer


def test_cors_can_be_switched_off(cors_probes):
    assert {a["allow_origin"] for a in cors_probes["off"]} == {None}


ALLOW_ALL = {"CORS_ALLOW_ALL_ORIGINS": True, "CORS_ALLOW_CREDENTIALS": False}
ALLOW_LIST = {
    "CORS_ALLOW_ALL_ORIGINS": False,
    "CORS_ALLOWED_ORIGINS": [VIEWER],
    "CORS_ALLOW_CREDENTIALS": True,
}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/map-groups", "/layers/coadd-f090-i", "/layers/nope", "/nope"])
@pytest.mark.parametrize(
    ("cors", "origin", "allow_origin", "credentials"),
    [
        (ALLOW_ALL, STRANGER, "*", None),
        (ALLOW_LIST, VIEWER, VIEWER, "true"),
        (ALLOW_LIST, STRANGER, None, None),
    ],
    ids=["all-origins", "listed-origin", "unlisted-origin"],
)
def test_answers_and_json_errors_carry_cors_headers(
    catalogue, anonymous_client, url, cors, origin, allow_origin, credentials
):
    with override_settings(**cors):
        response = anonymous_client.get(url, HTTP_ORIGIN=origin)
    assert response["Content-Type"] == "application/json"
    assert response.headers.get("Access-Control-Allow-Origin") == allow_origin
    assert response.headers.get("Access-Control-Allow-Credentials") == credentials


@pytest.fixture
def api_prefix(settings):
    """Mount the URLs again as if TILEMAKER_API_ENDPOINT were ``/api``; restore afterwards."""
    import tilemaker_site.urls

    settings.API_ENDPOINT = "/api"
    importlib.reload(tilemaker_site.urls)
    clear_url_caches()
    yield "/api"
    settings.API_ENDPOINT = "/"
    importlib.reload(tilemaker_site.urls)
    clear_url_caches()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/map-groups", "/layers/default", "/layers/coadd-f090-i", "/search?q=f", "/sources"],
)
def test_api_mounts_under_the_prefix(catalogue, anonymous_client, api_prefix, path):
    assert anonymous_client.get(api_prefix + path).status_code == 200
    # Outside the prefix is the viewer's ground, not the API's.
    assert anonymous_client.get(path).status_code == 404


@pytest.mark.django_db
def test_docs_and_errors_under_the_prefix(anonymous_client, api_prefix):
    schema = json.loads(anonymous_client.get(f"{api_prefix}/openapi.json").content)
    assert "/api/map-groups" in schema["paths"]
    assert anonymous_client.get(f"{api_prefix}/docs").status_code == 200
    response = anonymous_client.get(f"{api_prefix}/no-such-endpoint")
    assert (response.status_code, response.json()) == (404, {"detail": "Not found."})
