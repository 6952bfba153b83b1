"""A real logged-in session, made in the server's own database by ``manage.py shell``."""

LOGIN_SESSION_CODE = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
user, _ = get_user_model().objects.get_or_create(username="fuzz-user")
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print("SESSION", store.session_key)
"""


def session_key_from(output: str) -> str:
    for line in output.splitlines():
        if line.startswith("SESSION "):
            return line.split()[1]
    raise AssertionError(f"no session key in: {output}")
