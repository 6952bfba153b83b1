"""The viewer page itself, without a browser: what it injects for its scripts."""

import json
import re

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = [
    pytest.mark.django_db,
]


def injected_config(response):
    match = re.search(
        r'<script id="viewer-config" type="application/json">(.*?)</script>', response.text, re.S
    )
    assert match, "no viewer-config in the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize(
    ("endpoint", "api_base"), [("/", ""), ("/api", "/api"), ("/api/v1", "/api/v1")]
)
def test_page_injects_the_api_prefix(settings, endpoint, api_base):
    settings.API_ENDPOINT = endpoint
    response = Client().get("/")
    assert response.status_code == 200
    assert injected_config(response)["api_base"] == api_base


@pytest.mark.parametrize(
    ("auth_type", "logged_in", "expected"),
    [
        ("mock", False, {"type": "mock", "login_url": None, "logout_url": None, "username": None}),
        (
            "github",
            False,
            {
                "type": "github",
                "login_url": "/auth/login/github/",
                "logout_url": "/auth/logout/",
                "username": None,
            },
        ),
        (
            "github",
            True,
            {
                "type": "github",
                "login_url": "/auth/login/github/",
                "logout_url": "/auth/logout/",
                "username": "ada",
            },
        ),
    ],
)
def test_page_injects_who_is_logged_in(settings, auth_type, logged_in, expected):
    settings.AUTH_TYPE = auth_type
    client = Client()
    if logged_in:
        client.force_login(User.objects.create_user("ada"))
    response = client.get("/")
    assert injected_config(response)["auth"] == expected
    assert "csrftoken" in response.cookies


def test_page_loads_pinned_openlayers_and_the_viewer_module():
    text = Client().get("/").text
    assert "frontend/vendor/ol/ol.js" in text
    assert '<script type="module" src="/static/frontend/js/main.js">' in text


def test_vendored_openlayers_is_the_pinned_version():
    from pathlib import Path

    vendor = Path(__file__).resolve().parents[2] / "frontend/static/frontend/vendor/ol"
    version = (vendor / "VERSION").read_text().strip()
    script = (vendor.parent.parent.parent.parent / "vendor.sh").read_text()
    assert f'version="${{1:-{version}}}"' in script
    assert (vendor / "ol.js").stat().st_size < 1_048_576
    assert (vendor / "ol.css").exists()
    assert (vendor / "LICENSE.md").exists()
