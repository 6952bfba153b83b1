"""Fixtures for login tests: a local GitHub stand-in and a helper that logs in through it."""

import pytest
from social_core.backends.github import GithubOAuth2

from tests.support.github_stub import GithubStub
from tilemaker_site.accounts.github import parse_github_org_grants

ORG_GRANTS = "act:act-private,act/lensing:lens-team,simons:so-internal"


@pytest.fixture
def github(settings, monkeypatch):
    """GitHub login switched on and pointed at a stub on 127.0.0.1."""
    stub = GithubStub().start()
    settings.AUTH_TYPE = "github"
    settings.MOCK_GRANTS = frozenset()
    settings.SOCIAL_AUTH_GITHUB_KEY = stub.client_id
    settings.SOCIAL_AUTH_GITHUB_SECRET = stub.client_secret
    settings.GITHUB_ORG_GRANTS = parse_github_org_grants(ORG_GRANTS, variable="test")
    settings.SOCIAL_AUTH_GITHUB_SCOPE = ["read:org"]
    monkeypatch.setattr(GithubOAuth2, "AUTHORIZATION_URL", f"{stub.url}/login/oauth/authorize")
    monkeypatch.setattr(GithubOAuth2, "ACCESS_TOKEN_URL", f"{stub.url}/login/oauth/access_token")
    monkeypatch.setattr(GithubOAuth2, "API_URL", f"{stub.url}/")
    yield stub
    stub.stop()
