"""Live events across the production stack: a curator's admin edit on one daphne
worker reaches sockets on the other worker, directly and through nginx.

The stack (tests/support/stack.py) runs two workers with the container's
command line, a real redis-server as their channel layer and nginx with
docker/nginx.conf. The admin change form is fetched and posted straight to
worker A; one socket is opened straight to worker B, one through nginx over
TLS (HTTP/1.1 upgrade, as browsers open websockets), which may land on either.
"""

import ssl

import pytest
import requests

from tests.support.admin_form import change_form_fields
from tests.support.login_session import session_key_from
from tests.support.stack import LAYER_IDS, SERVER_NAME
from tests.support.ws_client import open_events_socket, read_text_frame

pytestmark = pytest.mark.services

MAKE_CURATOR = """
from importlib import import_module
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
user, _ = get_user_model().objects.get_or_create(
    username="curator", defaults={"is_staff": True, "is_superuser": True}
)
store = import_module(settings.SESSION_ENGINE).SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print("SESSION", store.session_key)
print("LAYER", __import__("maps.models").models.Layer.objects.get(layer_id=LAYER_ID).pk)
"""
LAYER_ID = LAYER_IDS[0]


class Curator:
    """A staff session speaking to one worker as nginx would forward it (HTTPS)."""

    def __init__(self, stack, worker):
        made = stack.manage("shell", "-c", f"LAYER_ID = {LAYER_ID!r}\n" + MAKE_CURATOR)
        assert made.returncode == 0, made.stderr
        self.session_key = session_key_from(made.stdout)
        self.layer_pk = made.stdout.split("LAYER ")[1].split()[0]
        self.worker = worker
        self.csrf = None

    def _cookies(self) -> str:
        # By hand: the cookies are Secure, and requests keeps those off plain HTTP.
        cookies = [f"sessionid={self.session_key}"]
        if self.csrf:
            cookies.append(f"csrftoken={self.csrf}")
        return "; ".join(cookies)

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        headers = {
            "Host": SERVER_NAME,
            "X-Forwarded-Proto": "https",
            "Cookie": self._cookies(),
            "Referer": f"https://{SERVER_NAME}{path}",
            "Origin": f"https://{SERVER_NAME}",
        }
        answer = requests.request(
            method,
            self.worker.url + path,
            headers=headers,
            allow_redirects=False,
            timeout=60,
            **kwargs,
        )
        self.csrf = answer.cookies.get("csrftoken", self.csrf)
        return answer

    def rename_layer(self, name: str) -> None:
        path = f"/admin/maps/layer/{self.layer_pk}/change/"
        form = self.request("GET", path)
        assert form.status_code == 200, form.text[:2000]
        fields = change_form_fields(form.text, "layer")
        assert fields["layer_id"] == LAYER_ID
        fields["name"] = name
        fields["_save"] = "Save"
        saved = self.request("POST", path, data=fields)
        assert saved.status_code == 302, saved.text[:3000]


def test_an_admin_edit_on_one_worker_reaches_sockets_on_the_other_and_through_nginx(stack):
    worker_a, worker_b = stack.workers
    curator = Curator(stack, worker_a)
    tls = ssl.create_default_context(cafile=stack.ca_file)
    direct = open_events_socket(worker_b.port)
    proxied = open_events_socket(stack.nginx.https_port, tls=tls, host=SERVER_NAME)
    try:
        curator.rename_layer("I (edited in the admin)")
        expected = {"event": "changed", "kind": "layer", "id": LAYER_ID}
        assert read_text_frame(direct) == expected
        assert read_text_frame(proxied) == expected
    finally:
        direct.close()
        proxied.close()
    layer = stack.session().get(f"{stack.base_url}/layers/{LAYER_ID}", timeout=30)
    assert layer.json()["name"] == "I (edited in the admin)"
