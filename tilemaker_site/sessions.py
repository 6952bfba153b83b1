"""The database session store, refusing keys Django itself could never have issued.

Django looks a session cookie up as it came. A cookie may carry any byte,
NUL included (``sessionid="abcdefgh\\000ijkl"`` unquotes to one), and
PostgreSQL refuses NUL in a text query with an exception: every endpoint
answered 500 to such a cookie. Django's keys are 32 characters of
``VALID_KEY_CHARS`` (lower-case letters and digits); any other key is no
session, as a wrong or expired one is, and is never sent to the database.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

_KEY_CHARS = frozenset(VALID_KEY_CHARS)
# The session table's column width.
MAX_KEY_LENGTH = 40


class SessionStore(DatabaseSessionStore):
    def _validate_session_key(self, key):
        return (
            super()._validate_session_key(key)
            and len(key) <= MAX_KEY_LENGTH
            and _KEY_CHARS.issuperset(key)
        )
