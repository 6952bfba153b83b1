"""The login control: hidden without login, "Log in" for visitors, name and "Log out" for users."""

import json

import pytest
from django.contrib.auth.models import User
from django.test import Client

from maps.models import Grant, MapGroup
from tests.viewer.helpers import open_viewer, view_query

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

VIEW = view_query(layer="sky-i", ra=70, dec=0, zoom=1, flip=1)


def test_no_login_control_without_github_login(page, live_server, sky, settings):
    settings.AUTH_TYPE = "mock"
    open_viewer(page, live_server, VIEW)
    assert page.locator("#auth").is_hidden()


def test_visitor_logs_in_and_user_logs_out(page, live_server, sky, settings):
    settings.AUTH_TYPE = "github"
    open_viewer(page, live_server, VIEW)
    login = page.locator("#auth a", has_text="Log in")
    assert login.is_visible()
    login.click()
    page.wait_for_url("**/auth/login/github/?next=*")
    assert "layer%3Dsky-i" in page.url

    User.objects.create_user("ada", password="unused-in-this-test")
    client = Client()
    client.force_login(User.objects.get(username="ada"))
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    open_viewer(page, live_server, VIEW)
    assert page.locator("#auth .user").inner_text() == "ada"
    page.locator("#auth button", has_text="Log out").click()
    page.wait_for_function("document.querySelector('#auth a') !== null", timeout=10_000)
    assert page.locator("#auth a", has_text="Log in").is_visible()
    me = json.loads(page.evaluate("fetch('/auth/me').then((r) => r.text())"))
    assert me["authenticated"] is False


def test_visitor_told_when_no_map_is_visible(page, live_server, sky, settings):
    settings.AUTH_TYPE = "github"
    secret = Grant.objects.create(name="secret")
    MapGroup.objects.update(grant=secret)
    page.goto(f"{live_server.url}/")
    page.wait_for_function("document.body.classList.contains('ready')")
    assert "Log in to see restricted maps" in page.locator("#messages").inner_text()
    assert page.locator("#layer-tree").inner_text().strip() == "No maps are available to you."
