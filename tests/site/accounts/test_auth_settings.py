"""Auth settings derived from the environment, read in a fresh interpreter."""

import json
import subprocess

import pytest

from tests.support.settings_probe import run_probe

PRODUCTION = {
    "TILEMAKER_DEBUG": "no",
    "TILEMAKER_SECRET_KEY": "s" * 50,
    "TILEMAKER_ALLOWED_HOSTS": "maps.example.org",
}
GITHUB = {
    "TILEMAKER_AUTH_TYPE": "github",
    "TILEMAKER_GITHUB_KEY": "k",
    "TILEMAKER_GITHUB_SECRET": "s",
}
NAMES = (
    "AUTH_TYPE",
    "SOCIAL_AUTH_GITHUB_SCOPE",
    "SESSION_COOKIE_AGE",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE",
    "SOCIAL_AUTH_REDIRECT_IS_HTTPS",
    "SOCIAL_AUTH_SANITIZE_REDIRECTS",
    "CSRF_TRUSTED_ORIGINS",
)


def load(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    code = (
        "import json; from django.conf import settings as s; "
        f"d = {{n: getattr(s, n) for n in {NAMES!r}}}; "
        "d['rules'] = [[r.org, r.team, r.grant] for r in s.GITHUB_ORG_GRANTS]; "
        "print(json.dumps(d))"
    )
    return run_probe(code, extra_env)


def loaded(extra_env: dict[str, str]) -> dict:
    result = load(extra_env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_embedded_defaults_are_mock_with_half_day_sessions():
    values = loaded({})
    assert values["AUTH_TYPE"] == "mock"
    assert values["rules"] == []
    assert values["SOCIAL_AUTH_GITHUB_SCOPE"] == []
    assert values["SESSION_COOKIE_AGE"] == 12 * 3600
    assert values["SESSION_COOKIE_SECURE"] is False


def test_org_mapping_asks_github_for_read_org():
    values = loaded({**GITHUB, "TILEMAKER_GITHUB_ORG_GRANTS": "act:act-private,act/lens:lens"})
    assert values["rules"] == [["act", None, "act-private"], ["act", "lens", "lens"]]
    assert values["SOCIAL_AUTH_GITHUB_SCOPE"] == ["read:org"]


def test_production_cookies_are_secure_and_http_only():
    values = loaded({**PRODUCTION, **GITHUB})
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert values["SOCIAL_AUTH_REDIRECT_IS_HTTPS"] is True
    assert values["SOCIAL_AUTH_SANITIZE_REDIRECTS"] is True
    assert values["SESSION_COOKIE_AGE"] <= 24 * 3600


def test_cookies_and_callback_follow_https_not_debug():
    # Behind a proxy that speaks plain HTTP to browsers, Secure cookies would
    # never come back and nobody could log in: the README says the same.
    values = loaded({**PRODUCTION, **GITHUB, "TILEMAKER_HTTPS": "no"})
    assert values["SESSION_COOKIE_SECURE"] is False
    assert values["CSRF_COOKIE_SECURE"] is False
    assert values["SOCIAL_AUTH_REDIRECT_IS_HTTPS"] is False
    debug_https = loaded({"TILEMAKER_HTTPS": "yes"})
    assert debug_https["SESSION_COOKIE_SECURE"] is True
    assert debug_https["CSRF_COOKIE_SECURE"] is True
    assert debug_https["SOCIAL_AUTH_REDIRECT_IS_HTTPS"] is True


@pytest.mark.parametrize(
    ("origins", "trusted"),
    [
        (
            "https://viewer.example.org,http://localhost:5173",
            ["https://viewer.example.org", "http://localhost:5173"],
        ),
        ("*", []),
    ],
)
def test_csrf_trusts_the_cors_origins(origins, trusted):
    assert loaded({"TILEMAKER_ORIGINS": origins})["CSRF_TRUSTED_ORIGINS"] == trusted
    assert (
        loaded({"TILEMAKER_ORIGINS": origins, "TILEMAKER_ADD_CORS": "no"})["CSRF_TRUSTED_ORIGINS"]
        == []
    )


@pytest.mark.parametrize(
    ("extra_env", "message"),
    [
        ({"TILEMAKER_AUTH_TYPE": "github"}, "needs TILEMAKER_GITHUB_KEY and TILEMAKER_GITHUB_"),
        ({**GITHUB, "TILEMAKER_SESSION_HOURS": "48"}, "TILEMAKER_SESSION_HOURS=48: at most 24"),
        ({"TILEMAKER_SESSION_HOURS": "0"}, "TILEMAKER_SESSION_HOURS=0: must be at least 1"),
        ({"TILEMAKER_GITHUB_ORG_GRANTS": "act"}, "TILEMAKER_GITHUB_ORG_GRANTS: 'act' should be"),
        ({"TILEMAKER_GITHUB_ORG_GRANTS": "a/b/c:g"}, "invalid team slug 'b/c'"),
    ],
)
def test_bad_auth_environment_is_refused(extra_env, message):
    result = load(extra_env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_mock_mode_may_keep_sessions_longer():
    assert loaded({"TILEMAKER_SESSION_HOURS": "72"})["SESSION_COOKIE_AGE"] == 72 * 3600
