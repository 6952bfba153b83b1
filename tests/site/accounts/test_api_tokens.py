"""Personal API tokens: who a token caller is, what refuses it, and that it never reaches a log.

The grant matrix itself runs with token callers through the shared
``caller`` fixture (``tests/support/catalogue.py``); here are the callers
whose token must be refused, the read-only rule, the owner's endpoints and
the admin.
"""

import json
import logging
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from tests.support.catalogue import walk
from tilemaker_site.accounts.models import ApiToken, token_hash

pytestmark = pytest.mark.django_db

User = get_user_model()

REFUSED = {"detail": "Invalid, expired or revoked token."}
# A public listing, a restricted layer, a tile of it and a catalogue: every kind of view.
URLS = [
    "/map-groups",
    "/layers/{}",
    "/layers/{}/0/0/0/tile.png",
    "/layers/{}/submap/5/-5/5/-5/image.fits",
    "/sources",
]


def bearer(secret: str) -> Client:
    return Client(headers={"Authorization": f"Bearer {secret}"})


@pytest.fixture
def holder(grant):
    user = User.objects.create_user("holder")
    grant.users.add(user)
    return user


@pytest.fixture
def restricted_layer(catalogue):
    """The id of a restricted layer of the shared catalogue."""
    return next(node.public_id for depth, node, hidden, _ in walk() if depth == 3 and hidden)


def _never_issued(secret: str) -> str:
    prefix = secret.split("_")[1]
    return secret.replace(prefix, "0" * len(prefix)) if prefix != "0" * 8 else secret[:-1] + "x"


def _refusals(holder):
    """``name -> token`` for every token that must be refused."""
    _row, expired = ApiToken.issue(holder, "expired")
    ApiToken.objects.filter(pk=_row.pk).update(expires=timezone.now() - timedelta(seconds=1))
    row, revoked = ApiToken.issue(holder, "revoked")
    row.revoked = timezone.now()
    row.save()
    other = User.objects.create_user("leaver")
    _row, deactivated = ApiToken.issue(other, "deactivated")
    other.is_active = False
    other.save()
    _row, valid = ApiToken.issue(holder, "valid")
    return {
        "expired": expired,
        "revoked": revoked,
        "deactivated": deactivated,
        "never issued": _never_issued(valid),
        "wrong secret": valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB"),
        "malformed": "not-a-token",
        "empty": "",
    }


def test_a_valid_token_sees_what_its_user_sees(restricted_layer, holder):
    _row, secret = ApiToken.issue(holder, "notebook")
    response = bearer(secret).get(f"/layers/{restricted_layer}")
    assert response.status_code == 200
    assert response.json()["layer_id"] == restricted_layer
    tile = bearer(secret).get(f"/layers/{restricted_layer}/0/0/0/tile.png")
    assert tile.status_code == 200
    assert tile["Content-Type"] == "image/png"


@pytest.mark.parametrize(
    "kind",
    ["expired", "revoked", "deactivated", "never issued", "wrong secret", "malformed", "empty"],
)
def test_refused_tokens_answer_401_alike_everywhere(restricted_layer, holder, kind):
    secret = _refusals(holder)[kind]
    for url in (u.format(restricted_layer) for u in URLS):
        response = bearer(secret).get(url)
        assert (response.status_code, response.json()) == (401, REFUSED), (kind, url)
        assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_deactivating_a_user_stops_their_token_at_once(restricted_layer, holder):
    _row, secret = ApiToken.issue(holder, "notebook")
    client = bearer(secret)
    assert client.get(f"/layers/{restricted_layer}").status_code == 200
    holder.is_active = False
    holder.save()
    assert client.get(f"/layers/{restricted_layer}").status_code == 401


def test_revoking_stops_a_token_at_once(restricted_layer, holder):
    row, secret = ApiToken.issue(holder, "notebook")
    client = bearer(secret)
    assert client.get(f"/layers/{restricted_layer}").status_code == 200
    row.revoked = timezone.now()
    row.save()
    assert client.get(f"/layers/{restricted_layer}").json() == REFUSED


def test_a_wrong_scheme_is_anonymous(restricted_layer, holder):
    _row, secret = ApiToken.issue(holder, "notebook")
    for scheme in ("Token", "Basic", "bearerx"):
        client = Client(headers={"Authorization": f"{scheme} {secret}"})
        hidden = client.get(f"/layers/{restricted_layer}")
        missing = client.get("/layers/never-existed")
        assert hidden.status_code == 404
        echoed = missing.content.replace(b"never-existed", restricted_layer.encode())
        assert hidden.content == echoed
        assert client.get("/map-groups").json() == Client().get("/map-groups").json()


def test_tokens_are_read_only(holder):
    _row, secret = ApiToken.issue(holder, "notebook")
    for secret_sent in (secret, "not-a-token"):
        response = bearer(secret_sent).post(
            "/regions", {"region": "circle"}, content_type="application/json"
        )
        assert response.status_code == 403
        assert "read-only" in response.json()["detail"]


def test_tokens_never_reach_account_management_or_the_admin(holder):
    holder.is_staff = holder.is_superuser = True
    holder.save()
    _row, secret = ApiToken.issue(holder, "notebook")
    client = bearer(secret)
    assert client.get("/auth/tokens").status_code == 403
    created = client.post("/auth/tokens", {"name": "x"}, content_type="application/json")
    assert created.status_code == 403
    assert ApiToken.objects.count() == 1
    assert client.get("/auth/me").json()["authenticated"] is False
    admin = client.get("/admin/")
    assert admin.status_code == 302
    assert "/admin/login/" in admin["Location"]


def test_last_used_is_recorded(holder):
    row, secret = ApiToken.issue(holder, "notebook")
    assert row.last_used is None
    bearer(secret).get("/map-groups")
    row.refresh_from_db()
    assert row.last_used is not None
    assert timezone.now() - row.last_used < timedelta(minutes=1)


def test_only_the_hash_is_stored(holder):
    row, secret = ApiToken.issue(holder, "notebook")
    assert row.secret_hash == token_hash(secret)
    stored = ApiToken.objects.values_list(
        "name", "prefix", "secret_hash", "created", "expires", "last_used", "revoked"
    ).get()
    assert not any(secret in str(value) for value in stored)
    assert secret.split("_")[1] == row.prefix


def test_expiry_defaults_and_maximum_come_from_settings(settings, holder):
    settings.API_TOKEN_DEFAULT_DAYS = 30
    settings.API_TOKEN_MAX_DAYS = 60
    row, _secret = ApiToken.issue(holder, "default")
    assert abs((row.expires - row.created) - timedelta(days=30)) < timedelta(seconds=1)
    with pytest.raises(ValueError, match="between 1 and 60"):
        ApiToken.issue(holder, "too long", days=61)


# --- The owner's endpoints (session + CSRF) ---------------------------------


def _owner_client(user, *, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_create_list_and_revoke_own_tokens(settings, restricted_layer, holder):
    settings.API_TOKEN_MAX_DAYS = 365
    client = _owner_client(holder)
    created = client.post(
        "/auth/tokens", {"name": " notebook ", "days": 7}, content_type="application/json"
    )
    assert created.status_code == 201
    body = created.json()
    secret = body.pop("token")
    row = ApiToken.objects.get()
    assert body == {
        "id": row.pk,
        "name": "notebook",
        "prefix": f"tmk_{row.prefix}",
        "created": row.created.isoformat(),
        "expires": row.expires.isoformat(),
        "last_used": None,
        "state": "active",
    }
    assert row.expires - row.created == timedelta(days=7)
    assert bearer(secret).get(f"/layers/{restricted_layer}").status_code == 200
    listed = client.get("/auth/tokens")
    assert listed.status_code == 200
    assert [t["id"] for t in listed.json()] == [row.pk]
    assert secret not in listed.content.decode()
    assert "token" not in listed.json()[0]
    assert client.delete(f"/auth/tokens/{row.pk}").status_code == 204
    assert client.get("/auth/tokens").json()[0]["state"] == "revoked"
    assert bearer(secret).get(f"/layers/{restricted_layer}").json() == REFUSED


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": 5},
        {"name": "a", "days": 0},
        {"name": "a", "days": 366},
        {"name": "a", "days": "7"},
        {"name": "a", "days": True},
        [],
    ],
)
def test_malformed_creation_is_400(settings, holder, payload):
    settings.API_TOKEN_MAX_DAYS = 365
    response = _owner_client(holder).post("/auth/tokens", payload, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()) == {"detail"}
    assert not ApiToken.objects.exists()


def test_another_users_token_cannot_be_revoked(holder):
    row, _secret = ApiToken.issue(holder, "mine")
    other = User.objects.create_user("other")
    response = _owner_client(other).delete(f"/auth/tokens/{row.pk}")
    missing = _owner_client(other).delete("/auth/tokens/999999")
    assert (response.status_code, response.json()) == (404, missing.json())
    row.refresh_from_db()
    assert row.revoked is None
    assert _owner_client(other).get("/auth/tokens").json() == []


def test_token_management_needs_a_session_and_csrf(holder):
    anonymous = Client()
    assert anonymous.get("/auth/tokens").status_code == 403
    created = anonymous.post("/auth/tokens", {"name": "x"}, content_type="application/json")
    assert created.status_code == 403
    forged = _owner_client(holder, csrf=True).post(
        "/auth/tokens", {"name": "x"}, content_type="application/json"
    )
    assert forged.status_code == 403
    assert "CSRF" in forged.json()["detail"]
    assert not ApiToken.objects.exists()


# --- The admin -----------------------------------------------------------------


def test_admin_lists_and_revokes_without_showing_secrets(holder):
    row, secret = ApiToken.issue(holder, "notebook")
    curator = User.objects.create_superuser("curator", password="pw-not-used")
    client = Client()
    client.force_login(curator)
    listing = client.get("/admin/tilemaker_site/apitoken/")
    assert listing.status_code == 200
    assert f"tmk_{row.prefix}".encode() in listing.content
    page = client.get(f"/admin/tilemaker_site/apitoken/{row.pk}/change/")
    assert page.status_code == 200
    for response in (listing, page):
        assert secret.encode() not in response.content
        assert row.secret_hash.encode() not in response.content
    assert client.get("/admin/tilemaker_site/apitoken/add/").status_code == 403
    revoked = client.post(
        "/admin/tilemaker_site/apitoken/",
        {"action": "revoke", "_selected_action": [row.pk]},
    )
    assert revoked.status_code == 302
    row.refresh_from_db()
    assert row.revoked is not None


# --- Logs --------------------------------------------------------------------


class _Everything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def every_log_line(settings):
    """Every record any logger emits, at every level, formatted as the console would."""
    handler = _Everything()
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    loggers = [logging.getLogger()] + [
        logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
    ]
    levels = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler.lines
    for lg, level in levels:
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_no_log_line_contains_a_token(restricted_layer, holder, every_log_line):
    tokens = _refusals(holder)
    _row, valid = ApiToken.issue(holder, "logged?")
    tokens["valid"] = valid
    for secret in tokens.values():
        client = bearer(secret)
        for url in (u.format(restricted_layer) for u in URLS):
            client.get(url)
            client.get(f"{url}?token={secret}&access_token={secret}")
        client.post("/regions", {}, content_type="application/json")
        client.get("/layers/never-existed/0/0/0/tile.png")
    assert any('"event":"request"' in line for line in every_log_line)
    # The random part is split off at the second "_" only: it may hold "_" itself,
    # and what follows its last one can be a single character.
    for secret in filter(None, tokens.values()):
        for line in every_log_line:
            assert secret not in line, line
            assert secret.split("_", 2)[-1] not in line, line


@pytest.fixture
def request_log():
    """The JSON request lines the request log middleware writes."""
    handler = _Everything()
    logger = logging.getLogger("tilemaker.requests")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_request_line_names_a_tokens_user_and_public_prefix(restricted_layer, holder, request_log):
    row, secret = ApiToken.issue(holder, "logged")
    client = bearer(secret)
    for url in (u.format(restricted_layer) for u in URLS[1:3]):
        assert client.get(url).status_code == 200
    bearer(secret[:-4] + ("AAAA" if not secret.endswith("AAAA") else "BBBB")).get(URLS[0])
    Client().get(URLS[0])
    lines = [json.loads(line) for line in request_log]
    assert [(line["status"], line["user"], line.get("token")) for line in lines] == [
        (200, holder.pk, f"tmk_{row.prefix}"),
        (200, holder.pk, f"tmk_{row.prefix}"),
        (401, None, None),
        (200, None, None),
    ]
    assert all(secret.split("_", 2)[-1] not in line for line in request_log)
