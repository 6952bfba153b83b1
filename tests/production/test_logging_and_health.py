"""The request log line (no secrets, one per request) and /healthz (no details)."""

import json
import logging
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import Client

from tilemaker_site import middleware

SECRET_QUERIES = [
    ("code=abc123&state=xyz789", ""),
    ("cmap=viridis&access_token=T0K3N", "cmap=viridis"),
    ("ID_TOKEN=a&vmin=-5&vmax=5", "vmin=-5&vmax=5"),
    ("client_secret=s&password=p&passwd=q&api_key=k", ""),
    ("sessionid=1&sig=2&Authorization=3", ""),
    ("q=planck%20map&ra=10.5", "q=planck+map&ra=10.5"),
    ("flip=true&flip=false", "flip=true&flip=false"),
    ("", ""),
]


@pytest.mark.parametrize(("query", "expected"), SECRET_QUERIES)
def test_loggable_query_drops_credential_parameters(query, expected):
    assert middleware.loggable_query(query) == expected


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("code", True),
        ("state", True),
        ("refresh_token", True),
        ("X-Secret-Thing", True),
        ("new_password", True),
        ("cmap", False),
        ("vmin", False),
        ("radius", False),
        ("q", False),
    ],
)
def test_is_secret_parameter(name, secret):
    assert middleware.is_secret_parameter(name) is secret


@pytest.fixture
def server_log(caplog):
    """caplog, also for the "tilemaker" loggers (which do not propagate to the root)."""
    logger = logging.getLogger("tilemaker")
    logger.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger="tilemaker.requests")
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


def request_lines(caplog) -> list[dict]:
    return [
        json.loads(record.getMessage())
        for record in caplog.records
        if record.name == "tilemaker.requests"
    ]


@pytest.mark.django_db
def test_one_json_line_per_request_without_secrets(server_log):
    client = Client()
    client.get("/healthz", {"code": "CODE-SENTINEL", "state": "STATE-SENTINEL", "x": "1"})
    client.get("/no-such-page-at-all")
    lines = request_lines(server_log)
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("GET", "/healthz", 200),
        ("GET", "/no-such-page-at-all", 404),
    ]
    assert lines[0]["query"] == "x=1"
    assert set(lines[0]) == {"event", "method", "path", "query", "status", "duration_ms", "user"}
    assert all(line["duration_ms"] >= 0 and line["user"] is None for line in lines)
    text = server_log.text
    assert "CODE-SENTINEL" not in text
    assert "STATE-SENTINEL" not in text


@pytest.mark.django_db
def test_request_line_names_a_logged_in_user(server_log, django_user_model):
    user = django_user_model.objects.create_user("astro", password="pw-not-logged")
    client = Client()
    client.force_login(user)
    # The admin index reads request.user, so the id is known without a query of ours.
    client.get("/admin/")
    (line,) = request_lines(server_log)
    assert line["user"] == user.pk
    assert "pw-not-logged" not in server_log.text


@pytest.mark.django_db
def test_health_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok"}
    assert "no-store" in response["Cache-Control"]


LEAKY_MESSAGE = 'connection to "db.internal" port 5432 failed: password for user "tm" s3cret'


@pytest.mark.django_db
def test_health_reports_database_failure_without_details(server_log):
    with mock.patch(
        "tilemaker_site.health.connection.cursor", side_effect=OperationalError(LEAKY_MESSAGE)
    ):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"database": "error", "cache": "ok"}
    assert b"db.internal" not in response.content
    # The operator still learns why, from the server log.
    assert "db.internal" in server_log.text


@pytest.mark.django_db
def test_health_reports_cache_failure_but_stays_up():
    with mock.patch("tilemaker_site.health.cache.get", return_value=None):
        response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "error"}


@pytest.mark.parametrize("method", ["post", "put", "delete"])
@pytest.mark.django_db
def test_health_refuses_other_methods_with_json(method):
    response = getattr(Client(), method)("/healthz")
    assert response.status_code == 405
    assert response.json() == {"detail": f"method {method.upper()} not allowed"}
    assert response["Allow"] == "GET, HEAD"
