"""Points social-core's GitHub backend at tests/support/github_stub.py.

Mounted into the app containers by tests/docker (PYTHONPATH), never part of
the image: the image's code is what runs, only GitHub's addresses change.
"""

import os

stub_url = os.environ.get("TILEMAKER_TEST_GITHUB_STUB_URL")
if stub_url:
    from social_core.backends.github import GithubOAuth2

    GithubOAuth2.AUTHORIZATION_URL = f"{stub_url}/login/oauth/authorize"
    GithubOAuth2.ACCESS_TOKEN_URL = f"{stub_url}/login/oauth/access_token"
    GithubOAuth2.API_URL = f"{stub_url}/"
