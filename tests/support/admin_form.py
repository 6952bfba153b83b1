"""The Django admin driven over HTTP: a change form's fields, as a browser would
submit them, and a curator editing a layer on one worker of the production stack."""

from html.parser import HTMLParser

import requests

from tests.support.login_session import session_key_from
from tests.support.stack import SERVER_NAME


class _FormFields(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.inside = True
        if not self.inside or ("name" not in attrs and tag != "option"):
            return
        if tag == "input":
            kind = attrs.get("type", "text")
            if kind in ("submit", "button", "file", "image"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attrs:
                return
            default = "on" if kind == "checkbox" else ""
            self.fields.append((attrs["name"], attrs.get("value", default)))
        elif tag == "select":
            self._select = attrs["name"]
        elif tag == "option" and self._select is not None and "selected" in attrs:
            self.fields.append((self._select, attrs.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = attrs["name"], ""

    def handle_data(self, data):
        if self._textarea is not None:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            # A browser drops the one newline Django writes after <textarea>.
            self.fields.append((self._textarea, self._text.removeprefix("\n")))
            self._textarea = None


def change_form_fields(html: str, model_name: str) -> dict[str, str | list[str]]:
    """The fields of ``<form id="MODEL_form">`` with their current values (a name
    given several values, such as a multiple select, maps to the list of them)."""
    parser = _FormFields(f"{model_name}_form")
    parser.feed(html)
    fields: dict[str, str | list[str]] = {}
    for name, value in parser.fields:
        if name in fields:
            previous = fields[name]
            fields[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            fields[name] = value
    return fields


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


class Curator:
    """A staff session of the native production stack (tests/support/stack.py) speaking
    to one worker as nginx would forward it (HTTPS), editing one layer in the admin."""

    def __init__(self, stack, worker, layer_id: str):
        made = stack.manage("shell", "-c", f"LAYER_ID = {layer_id!r}\n" + MAKE_CURATOR)
        assert made.returncode == 0, made.stderr
        self.session_key = session_key_from(made.stdout)
        self.layer_pk = made.stdout.split("LAYER ")[1].split()[0]
        self.layer_id = layer_id
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

    def rename_layer(self, name: str, *, before_post=None) -> None:
        """Rename the layer through its change form (``before_post()`` is called
        between fetching the form and posting it)."""
        path = f"/admin/maps/layer/{self.layer_pk}/change/"
        form = self.request("GET", path)
        assert form.status_code == 200, form.text[:2000]
        fields = change_form_fields(form.text, "layer")
        assert fields["layer_id"] == self.layer_id
        fields["name"] = name
        fields["_save"] = "Save"
        if before_post is not None:
            before_post()
        saved = self.request("POST", path, data=fields)
        assert saved.status_code == 302, saved.text[:3000]
