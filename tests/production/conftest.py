"""The session's production stack (PostgreSQL, memcached, 2 daphne workers, nginx)."""

import pytest

from tests.support.login_session import LOGIN_SESSION_CODE, session_key_from
from tests.support.stack import start_stack


@pytest.fixture(scope="session")
def stack():
    started = start_stack(workers=2)
    try:
        yield started
    finally:
        started.close()


@pytest.fixture(scope="session")
def session_key(stack):
    """The key of a real logged-in session in the stack's PostgreSQL."""
    result = stack.manage("shell", "-c", LOGIN_SESSION_CODE)
    assert result.returncode == 0, result.stderr
    return session_key_from(result.stdout)
