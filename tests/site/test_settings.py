"""Settings read the environment once, with typed helpers, and refuse unsafe production set-ups."""

import subprocess

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.support.settings_probe import run_probe
from tilemaker_site import env

GOOD_KEY = "k" * 40


def load_settings(extra_env: dict[str, str]) -> subprocess.CompletedProcess:
    """Import the settings module in a fresh interpreter with only ``extra_env`` set."""
    code = (
        "from django.conf import settings; "
        "print(settings.DEBUG, settings.CACHES['default']['BACKEND'], "
        "settings.DATABASES['default']['ENGINE'], settings.API_ENDPOINT)"
    )
    return run_probe(code, extra_env)


def test_embedded_defaults_need_no_server():
    result = load_settings({})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.db.backends.sqlite3",
        "/",
    ]


def test_environment_switches_to_postgres_and_memcached():
    result = load_settings(
        {
            "TILEMAKER_DATABASE_URL": "postgres://u:p@127.0.0.1:5432/tm",
            "TILEMAKER_CACHE_TYPE": "memcached",
            "TILEMAKER_API_ENDPOINT": "/api/",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "True",
        "tilemaker_site.cache.SharedPyMemcacheCache",
        "django.db.backends.postgresql",
        "/api",
    ]


@pytest.mark.parametrize(
    ("extra_env", "message"),
    [
        ({"TILEMAKER_DEBUG": "no", "TILEMAKER_ALLOWED_HOSTS": "maps.example.org"}, "SECRET_KEY"),
        (
            {
                "TILEMAKER_DEBUG": "no",
                "TILEMAKER_SECRET_KEY": "short",
                "TILEMAKER_ALLOWED_HOSTS": "maps.example.org",
            },
            "SECRET_KEY",
        ),
        ({"TILEMAKER_DEBUG": "no", "TILEMAKER_SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"TILEMAKER_CACHE_TYPE": "redis"}, "TILEMAKER_CACHE_TYPE='redis'"),
        ({"TILEMAKER_PRECACHE": "maybe"}, "TILEMAKER_PRECACHE='maybe'"),
        ({"TILEMAKER_MEMCACHED_PORT": "eleven"}, "TILEMAKER_MEMCACHED_PORT='eleven'"),
    ],
)
def test_unsafe_or_malformed_environment_is_refused(extra_env, message):
    result = load_settings(extra_env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr


def test_production_starts_with_key_and_hosts():
    result = load_settings(
        {
            "TILEMAKER_DEBUG": "no",
            "TILEMAKER_SECRET_KEY": GOOD_KEY,
            "TILEMAKER_ALLOWED_HOSTS": "maps.example.org",
        }
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "False"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("yes", True), ("TRUE", True), ("1", True), ("on", True), ("no", False), ("0", False)],
)
def test_env_bool_accepts_common_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("TILEMAKER_FLAG", raw)
    assert env.env_bool("FLAG", not expected) is expected


@pytest.mark.parametrize(
    ("reader", "raw"),
    [
        (lambda: env.env_bool("X", True), "perhaps"),
        (lambda: env.env_int("X", 1), "1.5"),
        (lambda: env.env_int("X", 1, minimum=1), "0"),
        (lambda: env.env_float("X", 1.0), "nan"),
        (lambda: env.env_float("X", 1.0), "ten"),
        (lambda: env.env_choice("X", "a", ("a", "b")), "c"),
    ],
)
def test_env_readers_name_the_variable_on_bad_values(monkeypatch, reader, raw):
    monkeypatch.setenv("TILEMAKER_X", raw)
    with pytest.raises(ImproperlyConfigured, match="TILEMAKER_X"):
        reader()


def test_env_list_and_blank_values(monkeypatch):
    monkeypatch.setenv("TILEMAKER_X", " a, b,,c ")
    assert env.env_list("X", []) == ["a", "b", "c"]
    monkeypatch.setenv("TILEMAKER_X", "  ")
    assert env.env_list("X", ["d"]) == ["d"]
    assert env.env_str("X", "default") == "default"


def test_redis_url_switches_the_channel_layer_to_redis():
    code = "from django.conf import settings; print(settings.CHANNEL_LAYERS)"
    embedded = run_probe(code, {})
    assert embedded.returncode == 0, embedded.stderr
    assert embedded.stdout.strip() == str(
        {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    )
    redis = run_probe(code, {"TILEMAKER_REDIS_URL": "redis://127.0.0.1:6390/0"})
    assert redis.returncode == 0, redis.stderr
    assert redis.stdout.strip() == str(
        {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [
                        {
                            "address": "redis://127.0.0.1:6390/0",
                            "socket_timeout": 10,
                            "socket_connect_timeout": 2,
                        }
                    ]
                },
            }
        }
    )
