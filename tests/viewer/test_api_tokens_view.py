"""API tokens in the viewer's account menu: created, used by a script, revoked.

The secret is shown once, right after creation, and never again.
"""

from datetime import timedelta

import pytest
import requests

from maps.models import Grant, MapGroup
from tests.viewer.helpers import logged_in_page, open_viewer, view_query, wait_ready
from tilemaker_site.accounts.models import ApiToken

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

VIEW = view_query(layer="sky-i", ra=70, dec=0, zoom=1, flip=1)
REFUSED = {"detail": "Invalid, expired or revoked token."}


def test_visitors_see_no_token_entry(page, live_server, sky, settings):
    settings.AUTH_TYPE = "github"
    open_viewer(page, live_server, VIEW)
    assert page.locator("#auth a", has_text="Log in").is_visible()
    assert page.locator("#auth button", has_text="API tokens").count() == 0
    assert page.locator("#token-panel").is_hidden()


def _rows(page):
    return [
        (row.get_attribute("data-state"), row.locator("td").first.inner_text())
        for row in page.locator("#token-list tr").all()
    ]


def test_token_created_used_and_revoked_in_the_viewer(page, live_server, sky, settings):
    settings.API_TOKEN_DEFAULT_DAYS = 30
    settings.API_TOKEN_MAX_DAYS = 60
    secret_maps = Grant.objects.create(name="secret")
    MapGroup.objects.update(grant=secret_maps)
    user = logged_in_page(page, live_server, settings)
    secret_maps.users.add(user)
    layer_url = f"{live_server.url}/layers/sky-i"
    assert requests.get(layer_url, timeout=10).status_code == 404

    open_viewer(page, live_server, VIEW)
    page.locator("#auth button", has_text="API tokens").click()
    panel = page.locator("#token-panel")
    assert panel.is_visible()
    assert page.locator("#token-days-hint").inner_text() == (
        "Expiry: 1 to 60 days; 30 if left empty."
    )
    # Shown once the (empty) list has been read.
    page.locator("#token-empty").wait_for(state="visible")

    # The server's 4xx detail is shown in the panel, and nothing is created.
    page.fill("#token-name", "notebook")
    page.fill("#token-days", "61")
    page.locator("#token-create").click()
    error = page.locator("#token-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "days must be a whole number from 1 to 60"
    assert ApiToken.objects.count() == 0

    page.fill("#token-days", "")
    page.locator("#token-create").click()
    page.locator("#token-new").wait_for(state="visible")
    assert error.inner_text() == ""
    secret = page.locator("#token-secret").inner_text()
    assert secret.startswith("tmk_")
    assert "you will not see it again" in page.locator("#token-new").inner_text()
    assert page.locator("#token-curl").inner_text() == (
        f'curl -H "Authorization: Bearer {secret}" {live_server.url}/map-groups'
    )
    row = ApiToken.objects.get()
    assert (row.user, row.name, row.expires - row.created) == (user, "notebook", timedelta(days=30))
    page.locator("#token-list tr").first.wait_for()
    assert _rows(page) == [("active", "notebook")]

    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.locator("#token-copy").click()
    # The label changes once the clipboard write has finished.
    page.wait_for_function("document.querySelector('#token-copy').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # A script with the token sees the restricted layer.
    bearer = {"Authorization": f"Bearer {secret}"}
    response = requests.get(layer_url, headers=bearer, timeout=10)
    assert response.status_code == 200
    assert response.json()["layer_id"] == "sky-i"

    # Never shown again: not after a reload, not in the list.
    page.reload()
    wait_ready(page)
    assert page.locator("#token-panel").is_hidden()
    page.locator("#auth button", has_text="API tokens").click()
    page.locator("#token-list tr").first.wait_for()
    assert page.locator("#token-new").is_hidden()
    assert secret not in page.content()
    assert secret.split("_", 2)[-1] not in page.content()
    cells = page.locator("#token-list tr").first.locator("td")
    assert cells.nth(3).inner_text().endswith(" UTC")

    # Dismissing the confirmation keeps the token; accepting revokes it.
    revoke = page.locator("#token-list tr").first.locator("button", has_text="Revoke")
    page.once("dialog", lambda dialog: dialog.dismiss())
    revoke.click()
    assert requests.get(layer_url, headers=bearer, timeout=10).status_code == 200
    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    revoke.click()
    page.locator("#token-list tr[data-state=revoked]").wait_for()
    assert messages == [
        "Revoke the token \u201cnotebook\u201d? Scripts using it stop working at once."
    ]
    assert _rows(page) == [("revoked", "notebook")]
    response = requests.get(layer_url, headers=bearer, timeout=10)
    assert response.status_code == 401
    assert response.json() == REFUSED
    assert page.console_errors == []
