"""The images, built once per session, and docker/compose.yaml running them."""

import shutil

import pytest

from tests.support.compose import build_images, start_compose_stack
from tests.support.github_stub import GithubStub

# The GitHub organisation whose members hold the grant that hides the second map.
GITHUB_ORG = "act-collab"
GRANT = "act"


@pytest.fixture(scope="session")
def images():
    return build_images()


@pytest.fixture(scope="session")
def github():
    stub = GithubStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def compose_stack(images, github):
    stack = start_compose_stack(
        workers=2,
        github_stub_url=github.url,
        grants=f"{GITHUB_ORG}:{GRANT}",
        second_map_grant=GRANT,
    )
    try:
        yield stack
    finally:
        stack.down()
        shutil.rmtree(stack.folder, ignore_errors=True)
