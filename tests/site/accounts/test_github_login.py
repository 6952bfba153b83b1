"""GitHub login end to end against the local stub: state, redirects, sessions, logout."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests.support.login_flow import finish_login, github_login, me, start_login

pytestmark = [
    pytest.mark.django_db,
]


def test_login_round_trip_logs_the_user_in(github):
    client = Client()
    assert me(client)["authenticated"] is False

    finished = github_login(client, github, "alice")

    assert finished.status_code == 302
    assert finished["Location"] == "/"
    answer = me(client)
    assert answer["authenticated"] is True
    assert answer["username"] == "alice"
    assert answer["auth_type"] == "github"
    assert answer["login_url"] == "/auth/login/github/"
    assert answer["logout_url"] == "/auth/logout/"
    user = get_user_model().objects.get(username="alice")
    assert user.social_auth.get().uid == str(github.accounts["alice"])


def test_authorize_request_carries_state_callback_and_read_org_scope(github):
    start_login(Client(), github, "alice")
    (query,) = github.authorize_queries
    assert query["redirect_uri"] == "http://testserver/auth/complete/github/"
    assert query["scope"] == "read:org"
    assert len(query["state"]) >= 16


def _tamper(callback_url: str, **changes) -> str:
    parts = urlsplit(callback_url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = value
    return f"http://testserver{parts.path}?{urlencode(query)}"


@pytest.mark.parametrize(
    "changes",
    [
        {"state": "forged-state-value-0123456789"},
        {"state": None},
        {"state": ""},
    ],
    ids=["wrong-state", "no-state", "empty-state"],
)
def test_bad_state_is_rejected_without_login(github, changes):
    client = Client()
    callback = start_login(client, github, "mallory")

    answer = finish_login(client, _tamper(callback, **changes))

    assert answer.status_code == 400
    assert "detail" in answer.json()
    assert me(client)["authenticated"] is False
    assert ("POST", "/login/oauth/access_token") not in github.requests
    assert not get_user_model().objects.filter(username="mallory").exists()


def test_callback_into_a_session_that_never_started_login_is_rejected(github):
    callback = start_login(Client(), github, "mallory")
    victim = Client()

    answer = finish_login(victim, callback)

    assert answer.status_code == 400
    assert me(victim)["authenticated"] is False


def test_replayed_callback_does_not_log_in_again(github):
    client = Client()
    callback = start_login(client, github, "alice")
    assert finish_login(client, callback).status_code == 302
    client.post("/auth/logout/")

    assert finish_login(client, callback).status_code == 400
    assert me(client)["authenticated"] is False
    stranger = Client()
    assert finish_login(stranger, callback).status_code == 400
    assert me(stranger)["authenticated"] is False


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/", "/"),
        ("/?layer=3&zoom=2", "/?layer=3&zoom=2"),
        ("https://evil.example/steal", "/"),
        ("//evil.example/steal", "/"),
        ("http://testserver.evil.example/", "/"),
        ("https:/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http://testserver/?layer=1", "http://testserver/?layer=1"),
    ],
)
def test_next_is_kept_only_on_this_site(github, next_url, expected):
    client = Client()

    finished = github_login(client, github, "alice", next_url=next_url)

    assert finished.status_code == 302
    location = finished["Location"]
    assert location == expected
    assert urlsplit(location).netloc in ("", "testserver")
    assert me(client)["authenticated"] is True


def test_login_start_needs_post_with_csrf_token(github):
    client = Client(enforce_csrf_checks=True)

    page = client.get("/auth/login/github/?next=/%3Flayer%3D2")
    assert page.status_code == 200
    assert b'method="post"' in page.content
    assert b'name="csrfmiddlewaretoken"' in page.content
    assert b'value="/?layer=2"' in page.content

    forged = client.post("/auth/login/github/", {"next": "/"})
    assert forged.status_code == 403
    assert github.authorize_queries == []

    token = client.cookies["csrftoken"].value
    started = client.post("/auth/login/github/", {"csrfmiddlewaretoken": token})
    assert started.status_code == 302
    assert started["Location"].startswith(github.url)


def test_confirm_page_drops_an_external_next(github):
    page = Client().get("/auth/login/github/?next=https://evil.example/")
    assert page.status_code == 200
    assert b"evil.example" not in page.content


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("get", "/auth/login/gitlab/", 404),
        ("put", "/auth/login/github/", 405),
        ("post", "/auth/complete/github/", 405),
        ("post", "/auth/me", 405),
        ("delete", "/auth/logout/", 405),
    ],
)
def test_wrong_backend_or_method_answers_json_4xx(github, method, path, status):
    answer = getattr(Client(), method)(path)
    assert answer.status_code == status
    assert answer.json()["detail"]


def test_github_outage_at_token_exchange_is_a_clean_error(github):
    github.failing_paths.add("/login/oauth/access_token")
    client = Client()

    answer = github_login(client, github, "alice")

    assert answer.status_code == 502
    assert "GitHub" in answer.json()["detail"]
    assert me(client)["authenticated"] is False


def test_session_lasts_at_most_a_day(github, settings):
    client = Client()
    github_login(client, github, "alice")
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE
    assert settings.SESSION_COOKIE_AGE <= 24 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["httponly"]
    assert client.cookies[settings.SESSION_COOKIE_NAME]["samesite"] == "Lax"


def test_logout_needs_post_with_csrf_and_kills_the_session(github):
    client = Client(enforce_csrf_checks=True)
    github_login(client, github, "alice")
    stolen = Client()
    stolen.cookies = client.cookies.__class__(client.cookies)
    assert me(stolen)["authenticated"] is True

    confirm = client.get("/auth/logout/")
    assert confirm.status_code == 200
    assert b"alice" in confirm.content
    assert client.post("/auth/logout/").status_code == 403
    assert me(client)["authenticated"] is True

    token = client.cookies["csrftoken"].value
    out = client.post(
        "/auth/logout/", {"csrfmiddlewaretoken": token, "next": "https://evil.example/"}
    )
    assert out.status_code == 303
    assert out["Location"] == "/"
    assert me(client)["authenticated"] is False
    # The old cookie is dead on the server too, not merely dropped by the browser.
    assert me(stolen)["authenticated"] is False


def test_logout_from_script_answers_json(github):
    client = Client(enforce_csrf_checks=True)
    github_login(client, github, "alice")
    token = me(client)["csrf_token"]

    out = client.post("/auth/logout/", headers={"X-CSRFToken": token, "Accept": "application/json"})

    assert out.status_code == 200
    assert out.json()["authenticated"] is False


@pytest.mark.parametrize(
    ("origin", "status"),
    [("https://viewer.example.org", 200), ("https://evil.example", 403)],
)
def test_a_page_on_an_allowed_origin_can_post(github, settings, origin, status):
    # The trusted list as settings derive it from TILEMAKER_ORIGINS
    # (tests/site/accounts/test_auth_settings.py pins the derivation).
    settings.CSRF_TRUSTED_ORIGINS = ["https://viewer.example.org"]
    client = Client(enforce_csrf_checks=True)
    github_login(client, github, "alice")
    token = me(client)["csrf_token"]

    out = client.post(
        "/auth/logout/",
        headers={"X-CSRFToken": token, "Accept": "application/json", "Origin": origin},
    )

    assert out.status_code == status
    assert me(client)["authenticated"] is (status != 200)


def test_mock_mode_has_no_github_login(settings):
    settings.AUTH_TYPE = "mock"
    settings.MOCK_GRANTS = frozenset({"dev-b", "dev-a"})
    client = Client()

    assert client.post("/auth/login/github/").status_code == 404
    assert client.get("/auth/complete/github/?code=x&state=y").status_code == 404
    answer = me(client)
    assert {k: v for k, v in answer.items() if k != "csrf_token"} == {
        "authenticated": False,
        "username": None,
        "grants": ["dev-a", "dev-b"],
        "auth_type": "mock",
        "login_url": None,
        "logout_url": "/auth/logout/",
    }
