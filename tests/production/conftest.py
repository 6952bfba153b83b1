"""The session's production stack (PostgreSQL, memcached, 2 daphne workers, nginx)."""

import pytest

from tests.production.stack import start_stack


@pytest.fixture(scope="session")
def stack():
    started = start_stack(workers=2)
    try:
        yield started
    finally:
        started.close()
