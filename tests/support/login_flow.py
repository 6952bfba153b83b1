"""Logging in through the GitHub stub, as a browser would."""

from urllib.parse import urlsplit

import requests
from django.test import Client

from tests.support.github_stub import GithubStub


def start_login(client: Client, stub: GithubStub, login: str, *, next_url: str | None = None):
    """POST the login form and let the stub approve; the callback URL GitHub would send back."""
    stub.add_account(login)
    stub.next_login = login
    data = {"csrfmiddlewaretoken": me(client)["csrf_token"]}
    if next_url is not None:
        data["next"] = next_url
    started = client.post("/auth/login/github/", data)
    assert started.status_code == 302, started.content
    assert started["Location"].startswith(f"{stub.url}/login/oauth/authorize?")
    approved = requests.get(started["Location"], allow_redirects=False, timeout=5)
    assert approved.status_code == 302
    return approved.headers["Location"]


def finish_login(client: Client, callback_url: str):
    parts = urlsplit(callback_url)
    assert parts.netloc == "testserver"
    return client.get(f"{parts.path}?{parts.query}")


def github_login(client: Client, stub: GithubStub, login: str, *, next_url: str | None = None):
    """The whole round trip; the final response of our callback view."""
    return finish_login(client, start_login(client, stub, login, next_url=next_url))


def me(client: Client) -> dict:
    response = client.get("/auth/me")
    assert response.status_code == 200
    return response.json()
