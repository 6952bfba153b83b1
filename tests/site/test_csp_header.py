"""Every page carries a Content-Security-Policy without inline script, and no page needs one.

The browser side (no violation reported while the pages work) is in
``tests/viewer/test_csp.py``.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from social_core.backends.github import GithubOAuth2

from catalogs.models import Source, SourceGroup
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box

pytestmark = [
    pytest.mark.django_db,
]

User = get_user_model()

EXPECTED_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:", "blob:"],
    "connect-src": ["'self'"],
    "worker-src": ["'self'", "blob:"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "frame-ancestors": ["'none'"],
    "form-action": ["'self'"],
}


def policy_of(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy on {response.request['PATH_INFO']}"
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def inline_code(html: str) -> list[str]:
    """Inline scripts (JSON data blocks aside), style elements and attributes, handlers."""
    found = [
        tag
        for tag in re.findall(r"<script\b[^>]*>", html)
        if "src=" not in tag and 'type="application/json"' not in tag
    ]
    found += re.findall(r"<style\b", html)
    found += re.findall(r"""<[^>]*\sstyle=["'][^>]*>""", html)
    found += re.findall(r"""<[^>]*\son[a-z]+=["'][^>]*>""", html)
    found += re.findall(r"""(?:href|src|action)=["']\s*javascript:""", html)
    return found


@pytest.fixture
def catalogue(make_car_map):
    grant = Grant.objects.create(name="act-private")
    group = MapGroup.objects.create(map_group_id="g", name="Group", grant=grant)
    band = Band.objects.create(
        band_id="b", name="f090", map=Map.objects.create(map_id="m", name="Map", map_group=group)
    )
    layer = Layer(
        layer_id="l",
        name="Layer",
        band=band,
        units="uK",
        provider={"provider_type": "fits", "filename": str(make_car_map())},
    )
    refresh_layer_geometry(layer)
    layer.save()
    sources = SourceGroup.objects.create(source_group_id="c", name="Sources")
    source = Source.objects.create(source_group=sources, name="s", ra=1.0, dec=2.0, extra={})
    box = Box.objects.create(
        name="box", top_left_ra=10, top_left_dec=5, bottom_right_ra=5, bottom_right_dec=0
    )
    return {"grant": grant, "layer": layer, "sources": sources, "source": source, "box": box}


def staff_client() -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-not-used"))
    return client


PAGES = [
    "/",
    "/docs",
    "/admin/login/",
    "/no-such-page",
    "/layers/no-such-layer",
    "/static/frontend/js/main.js",
    "/openapi.json",
]
STAFF_PAGES = [
    "/admin/",
    "/admin/maps/layer/",
    "/admin/maps/layer/{layer}/change/",
    "/admin/maps/grant/{grant}/change/",
    "/admin/catalogs/sourcegroup/{sources}/change/",
    "/admin/catalogs/source/{source}/change/",
    "/admin/regions/box/{box}/change/",
    "/admin/regions/box/add/",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_carries_the_policy_and_needs_no_inline_code(path):
    response = Client().get(path)
    response.close()  # a static file's response holds its file open until closed
    assert response.status_code in (200, 404)
    assert policy_of(response) == EXPECTED_POLICY
    if response["Content-Type"].startswith("text/html"):
        assert inline_code(response.content.decode()) == []


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_admin_pages_carry_the_policy_and_need_no_inline_code(path, catalogue):
    url = path.format(**{name: obj.pk for name, obj in catalogue.items()})
    response = staff_client().get(url)
    assert response.status_code == 200
    assert policy_of(response) == EXPECTED_POLICY
    assert inline_code(response.content.decode()) == []


def test_swagger_ui_script_is_served_from_this_site_with_the_schema_url():
    client = Client()
    page = client.get("/docs").content.decode()
    script_url = re.search(r'<script src="([^"]*script=[^"]*)"', page).group(1)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert '"/openapi.json"' in script.content.decode()


@pytest.mark.parametrize("path", ["/auth/login/github/", "/auth/logout/"])
def test_login_pages_let_the_form_go_to_github_only(settings, path):
    settings.AUTH_TYPE = "github"
    client = Client()
    client.force_login(User.objects.create_user("ada"))
    response = client.get(path)
    assert response.status_code == 200
    policy = policy_of(response)
    assert policy["form-action"] == ["'self'", "https://github.com"]
    assert {**policy, "form-action": ["'self'"]} == EXPECTED_POLICY
    assert inline_code(response.content.decode()) == []


def test_form_action_follows_the_github_authorisation_url(settings, monkeypatch):
    settings.AUTH_TYPE = "github"
    monkeypatch.setattr(
        GithubOAuth2, "AUTHORIZATION_URL", "http://127.0.0.1:9/login/oauth/authorize"
    )
    assert policy_of(Client().get("/"))["form-action"] == ["'self'", "http://127.0.0.1:9"]


def test_no_policy_allows_inline_script_or_eval(settings):
    for auth_type in ("mock", "github"):
        settings.AUTH_TYPE = auth_type
        header = Client().get("/").headers["Content-Security-Policy"]
        assert "unsafe" not in header
