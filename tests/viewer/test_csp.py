"""Under the site's Content-Security-Policy, Chromium reports no violation and every page works.

The header itself, page by page, is checked in ``tests/site/test_csp_header.py``.
"""

import math

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from social_core.backends.github import GithubOAuth2

from maps.models import Layer
from tests.support.github_stub import GithubStub
from tests.viewer.conftest import BOX, CATALOGUE_ID, FAINT, SOURCE_DEC_DEG, SOURCE_RA_DEG, VIEW
from tests.viewer.helpers import (
    RENDER_TIMEOUT_MS,
    TileLog,
    assert_colour,
    cmap_rgb,
    pixel,
    screen_xy,
    screenshot,
    settle,
    view_query,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

User = get_user_model()


def open_viewer_under_csp(page, live_server, query):
    """``helpers.open_viewer`` without ``wait_for_function``, which the policy forbids."""
    page.goto(f"{live_server.url}/?{query}")
    page.locator("body.ready").wait_for(state="attached", timeout=RENDER_TIMEOUT_MS)
    settle(page)


def assert_no_violation(page):
    assert page.evaluate("window.__cspViolations") == []
    assert page.csp_console == []
    assert page.console_errors == []


def log_in_as_staff(page, live_server):
    client = Client()
    client.force_login(User.objects.create_superuser("root", password="pw-not-used"))
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_viewer_shows_tiles_popups_and_aperture_without_violation(csp_page, live_server, sky):
    page = csp_page
    tiles = TileLog(page)
    open_viewer_under_csp(page, live_server, view_query(layer="sky-i", cat=CATALOGUE_ID, **VIEW))
    assert tiles.entries
    assert {entry["status"] for entry in tiles.entries} == {200}
    image = screenshot(page)
    source = screen_xy(page, VIEW, SOURCE_RA_DEG, SOURCE_DEC_DEG + 0.3)
    assert_colour(pixel(image, *source), cmap_rgb("viridis", 1e9, -300.0, 300.0))
    marker = screen_xy(page, VIEW, FAINT["ra"], FAINT["dec"])
    ring = [
        pixel(image, marker[0] + 6 * math.cos(a), marker[1] + 6 * math.sin(a))
        for a in np.linspace(0, 2 * math.pi, 48, endpoint=False)
    ]
    assert min(np.abs(colour - np.array([0xFF, 0xD1, 0x66])).max() for colour in ring) <= 30

    page.mouse.click(*marker)
    page.locator("#popup").wait_for(state="visible")
    assert "flux_mJy" in page.locator("#popup").inner_text()
    page.keyboard.press("Escape")
    page.locator(f"input[data-box='{BOX['name']}']").check()
    page.locator("#map").focus()
    page.keyboard.press("c")
    page.mouse.move(*source)
    page.mouse.down()
    page.mouse.move(source[0] + 24, source[1], steps=6)
    page.mouse.up()
    page.locator("#aperture-result td[data-stat='mean']").wait_for()
    assert_no_violation(page)


def test_admin_list_and_change_form_work_without_violation(csp_page, live_server, sky):
    page = csp_page
    log_in_as_staff(page, live_server)
    page.goto(f"{live_server.url}/admin/maps/layer/")
    page.locator("#action-toggle").check()
    assert page.locator("input.action-select:checked").count() == Layer.objects.count()
    assert_no_violation(page)

    layer = Layer.objects.get(layer_id="sky-i")
    page.goto(f"{live_server.url}/admin/maps/layer/{layer.pk}/change/")
    main = page.locator("#main")
    shifted = "shifted" in main.get_attribute("class")
    page.locator("#toggle-nav-sidebar").click()
    assert ("shifted" in main.get_attribute("class")) != shifted
    page.locator("#id_name").fill("Renamed in the admin")
    page.locator("input[name='_continue']").click()
    page.locator(".messagelist .success").wait_for()
    assert Layer.objects.get(pk=layer.pk).name == "Renamed in the admin"
    assert_no_violation(page)


def test_docs_list_the_operations_without_violation(csp_page, live_server):
    page = csp_page
    page.goto(f"{live_server.url}/docs")
    page.locator(".opblock").first.wait_for(timeout=RENDER_TIMEOUT_MS)
    assert page.locator(".opblock").count() >= 10
    page.locator(".opblock-summary").first.click()
    page.locator(".opblock-body").first.wait_for()
    assert_no_violation(page)


def test_github_login_form_reaches_github_and_returns_without_violation(
    csp_page, live_server, sky, settings, monkeypatch
):
    stub = GithubStub().start()
    try:
        stub.add_account("octo")
        stub.next_login = "octo"
        settings.AUTH_TYPE = "github"
        settings.MOCK_GRANTS = frozenset()
        settings.SOCIAL_AUTH_GITHUB_KEY = stub.client_id
        settings.SOCIAL_AUTH_GITHUB_SECRET = stub.client_secret
        settings.GITHUB_ORG_GRANTS = {}
        settings.SOCIAL_AUTH_GITHUB_SCOPE = []
        monkeypatch.setattr(GithubOAuth2, "AUTHORIZATION_URL", f"{stub.url}/login/oauth/authorize")
        monkeypatch.setattr(
            GithubOAuth2, "ACCESS_TOKEN_URL", f"{stub.url}/login/oauth/access_token"
        )
        monkeypatch.setattr(GithubOAuth2, "API_URL", f"{stub.url}/")

        page = csp_page
        page.goto(f"{live_server.url}/auth/login/github/?next=/")
        assert_no_violation(page)
        page.locator("button[type=submit]").click()
        page.locator("#auth .user").wait_for(timeout=RENDER_TIMEOUT_MS)
        assert page.locator("#auth .user").inner_text() == "octo"
        assert len(stub.authorize_queries) == 1
        assert_no_violation(page)
    finally:
        stub.stop()
