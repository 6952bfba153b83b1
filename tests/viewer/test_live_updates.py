"""The viewer updates itself from ws/events, without a reload (frontend live.js).

Real processes on 127.0.0.1: redis-server, a daphne worker serving
``tilemaker_site.asgi`` on a SQLite file, and headless Chromium. The test
process writes that same file through the ORM (as the admin would), and its
events reach the worker through Redis.
"""

import re
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import numpy as np
import pytest
from astropy.io import fits
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.db import connections
from django.test import override_settings
from matplotlib import colormaps

from catalogs.models import Source, SourceGroup
from maps import events
from maps.file_versions import provider_file_version
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from tests.support.ports import free_port
from tests.support.redis import Redis, start_redis
from tests.support.servers import command_env, run_command
from tests.support.ws_client import start_daphne_worker
from tests.viewer.conftest import VIEW, VIEWPORT
from tests.viewer.helpers import (
    open_viewer,
    pixel,
    screenshot,
    settle,
    settle_panels,
    view_query,
)

pytestmark = pytest.mark.services

# Guards against a hang, not timed assertions (2 cores shared by many test
# runs): an event shows within 1 s on an idle machine,
# a reconnect within the backoff's 30 s cap.
EVENT_TIMEOUT_MS = 20_000
RECONNECT_TIMEOUT_MS = 45_000
DOWN_NOTE = "Live updates unavailable: refreshing every 30 s"


def write(change):
    """Run ORM work in another thread, on the site's database file: Playwright's
    sync API keeps an event loop in the test thread, where Django hands out the
    connection of the test database (live_server tests earlier in the session
    leave it shared), not the fixture's file."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(change).result()


class LiveSite:
    def __init__(self, url, redis, band, sky_file):
        self.url = url
        self.redis = redis
        self.band = band
        self.sky_file = sky_file

    def add_layer(self, layer_id, name, position, **fields):
        layer = Layer(
            layer_id=layer_id,
            name=name,
            band=self.band,
            position=position,
            units="uK",
            vmin=-300.0,
            vmax=300.0,
            cmap="viridis",
            provider={"provider_type": "fits", "filename": str(self.sky_file), "index": 0},
            **fields,
        )
        refresh_layer_geometry(layer)
        write(layer.save)
        return layer


@pytest.fixture
def live_site(tmp_path, sky_file, django_db_blocker, allow_orm_beside_playwright):
    """A daphne worker and this process sharing one SQLite file and one redis-server."""
    database = tmp_path / "live.sqlite3"
    env = command_env(
        tmpdir=tmp_path, home=tmp_path, extra={"TILEMAKER_DATABASE_URL": f"sqlite:///{database}"}
    )
    migrated = run_command(["migrate", "-v0"], cwd=tmp_path, env=env, launcher="manage.py")
    assert migrated.returncode == 0, migrated.stderr
    redis = start_redis()
    env["TILEMAKER_REDIS_URL"] = redis.url
    layers = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis.url]},
        }
    }
    connection = connections["default"]
    saved = dict(connection.settings_dict)
    port = free_port()
    site = None
    try:
        with django_db_blocker.unblock(), override_settings(CHANNEL_LAYERS=layers):
            connection.close()
            connection.settings_dict["NAME"] = str(database)
            group = write(
                lambda: MapGroup.objects.create(map_group_id="live-group", name="Live sky")
            )
            sky_map = write(
                lambda: Map.objects.create(map_id="live-map", name="Live map", map_group=group)
            )
            band = write(lambda: Band.objects.create(band_id="live-f090", name="f090", map=sky_map))
            site = LiveSite(f"http://127.0.0.1:{port}", redis, band, sky_file)
            site.add_layer("live-i", "LIVE-I", 0)
            site.add_layer("live-q", "LIVE-Q", 1)
            with start_daphne_worker(port, cwd=tmp_path, env=env):
                yield site
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)
        redis.stop()
        # A test may have restarted Redis: that process is the site's now.
        if site is not None:
            site.redis.stop()


def open_live(page, site, layer_id="live-i", **more):
    open_viewer(page, site, view_query(layer=layer_id, **VIEW, **more))
    # Set once: still there after an update means the page was not reloaded.
    page.evaluate("window.__notReloaded = true")
    page.wait_for_function(
        "window.tilemakerViewer.live.socket.socket?.readyState === WebSocket.OPEN",
        timeout=EVENT_TIMEOUT_MS,
    )


def menu_names(page):
    return page.locator("#layer-tree .layer-entry").all_inner_texts()


def wait_for_menu(page, names):
    page.wait_for_function(
        "(names) => JSON.stringify([...document.querySelectorAll('#layer-tree .layer-entry')]"
        ".map((e) => e.textContent)) === JSON.stringify(names)",
        arg=names,
        timeout=EVENT_TIMEOUT_MS,
    )


def not_reloaded(page):
    return page.evaluate("window.__notReloaded === true")


def count_applied_batches(page):
    """From now on, ``window.__appliedEvents`` lists the events of every batch the
    page has finished applying (live.js LiveViewer.apply): what a page that shows
    no change did with an event."""
    page.evaluate(
        """() => {
            const live = window.tilemakerViewer.live;
            const apply = live.apply.bind(live);
            window.__appliedEvents = [];
            live.apply = async (events) => {
                await apply(events);
                window.__appliedEvents.push(...events.filter(Boolean));
            };
        }"""
    )


def wait_for_applied_event(page, kind, object_id):
    page.wait_for_function(
        "([kind, id]) => window.__appliedEvents.some((e) => e.kind === kind && e.id === id)",
        arg=[kind, object_id],
        timeout=EVENT_TIMEOUT_MS,
    )


def test_a_new_layer_appears_and_a_renamed_one_changes_name_without_reload(page, live_site):
    open_live(page, live_site)
    assert menu_names(page) == ["LIVE-I", "LIVE-Q"]
    live_site.add_layer("live-new", "Night 2026-12-01", 2)
    wait_for_menu(page, ["LIVE-I", "LIVE-Q", "Night 2026-12-01"])
    layer = write(lambda: Layer.objects.get(layer_id="live-i"))
    layer.name = "I (re-run)"
    write(layer.save)
    wait_for_menu(page, ["I (re-run)", "LIVE-Q", "Night 2026-12-01"])
    # The shown layer's title follows its new name.
    page.wait_for_function(
        "document.querySelector('#layer-title').textContent.endsWith('I (re-run)')",
        timeout=EVENT_TIMEOUT_MS,
    )
    assert (
        page.locator("#layer-title").inner_text()
        == "Live sky \u203a Live map \u203a f090 \u203a I (re-run)"
    )
    assert not_reloaded(page)
    assert page.console_errors == []


def test_the_shown_layer_deleted_says_so_and_shows_another(page, live_site):
    open_live(page, live_site)
    write(Layer.objects.get(layer_id="live-i").delete)
    message = (
        "Layer \u201cLIVE-I\u201d was removed or is no longer available to you: "
        "showing \u201cLIVE-Q\u201d."
    )
    page.get_by_text(message).wait_for(timeout=EVENT_TIMEOUT_MS)
    page.wait_for_function(
        "window.tilemakerViewer.layer && window.tilemakerViewer.layer.layer_id === 'live-q'",
        timeout=EVENT_TIMEOUT_MS,
    )
    wait_for_menu(page, ["LIVE-Q"])
    assert page.locator("#layer-tree .layer-entry.active").inner_text() == "LIVE-Q"
    assert not_reloaded(page)


def session_cookie(site, user):
    store = import_module(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    write(store.create)
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": site.url}


def test_a_layer_restricted_by_a_grant_disappears_only_for_users_without_it(
    page, browser, live_site
):
    holder = write(lambda: User.objects.create_user("holder", password="pw-not-used"))
    grant = write(lambda: Grant.objects.create(name="collaboration"))
    write(lambda: grant.users.add(holder))
    holder_context = browser.new_context(viewport=VIEWPORT, bypass_csp=True)
    try:
        holder_context.add_cookies([session_cookie(live_site, holder)])
        holder_page = holder_context.new_page()
        open_live(holder_page, live_site, "live-q")
        open_live(page, live_site, "live-q")
        count_applied_batches(holder_page)
        layer = write(lambda: Layer.objects.get(layer_id="live-q"))
        layer.grant = grant
        write(layer.save)
        message = (
            "Layer \u201cLIVE-Q\u201d was removed or is no longer available to you: "
            "showing \u201cLIVE-I\u201d."
        )
        page.get_by_text(message).wait_for(timeout=EVENT_TIMEOUT_MS)
        wait_for_menu(page, ["LIVE-I"])
        # The holder heard "changed": same menu, same layer, no message (read once
        # the holder has applied that event, else they would hold before it came).
        wait_for_applied_event(holder_page, "layer", "live-q")
        assert menu_names(holder_page) == ["LIVE-I", "LIVE-Q"]
        assert holder_page.evaluate("window.tilemakerViewer.layer.layer_id") == "live-q"
        assert holder_page.get_by_text("no longer available").count() == 0
        assert not_reloaded(page)
        assert not_reloaded(holder_page)
    finally:
        holder_context.close()


def test_redis_down_shows_the_note_and_a_restart_reconnects(page, live_site):
    open_live(page, live_site)
    note = page.locator("#live-status")
    assert note.is_hidden()
    port = live_site.redis.port
    live_site.redis.stop()
    note.wait_for(state="visible", timeout=EVENT_TIMEOUT_MS)
    assert note.inner_text() == DOWN_NOTE
    # Saves still work while Redis is down; this one's event is lost.
    live_site.add_layer("live-missed", "Missed while down", 2)
    live_site.redis = Redis(port=port).start()
    note.wait_for(state="hidden", timeout=RECONNECT_TIMEOUT_MS)
    # The reconnect's full refresh brings what was missed.
    wait_for_menu(page, ["LIVE-I", "LIVE-Q", "Missed while down"])
    # And events flow again.
    live_site.add_layer("live-after", "After the restart", 3)
    wait_for_menu(page, ["LIVE-I", "LIVE-Q", "Missed while down", "After the restart"])
    assert not_reloaded(page)


def screen_centre_colour(page, selector="#map", at=(0.5, 0.5)):
    box = page.locator(selector).bounding_box()
    image = screenshot(page)
    return pixel(image, box["x"] + box["width"] * at[0], box["y"] + box["height"] * at[1])


def test_a_rewritten_file_shows_its_new_values_in_the_same_view_without_reload(page, live_site):
    open_live(page, live_site)
    before_centre = page.evaluate("window.tilemakerViewer.sky.view.getCenter()")
    top = np.round(np.array(colormaps["viridis"](1.0)[:3]) * 255)
    assert np.abs(screen_centre_colour(page) - top).max() > 10
    # Every pixel far above vmax: the top colour of viridis everywhere.
    with fits.open(live_site.sky_file, mode="update") as hdus:
        hdus[0].data[:] = 10_000.0
    write(lambda: events.file_rewritten(str(live_site.sky_file)))
    page.wait_for_function(
        "(version) => window.tilemakerViewer.layer.file_version === version",
        arg=provider_file_version(write(lambda: Layer.objects.get(layer_id="live-i")).provider),
        timeout=EVENT_TIMEOUT_MS,
    )
    settle(page)
    assert np.abs(screen_centre_colour(page) - top).max() <= 1
    assert page.evaluate("window.tilemakerViewer.sky.view.getCenter()") == before_centre
    assert not_reloaded(page)


# --- the other places a layer or catalogue is shown -------------------------


PANEL_SPOT = (0.3, 0.37)


def panel_layer_id(page, number):
    return page.evaluate(
        "(k) => window.tilemakerViewer.panels.panels[k]?.layer?.layer_id ?? null", number - 1
    )


def test_a_panels_deleted_layer_says_so_and_the_panel_shows_another(page, live_site):
    open_live(page, live_site, panels=2, p2="live-q")
    assert panel_layer_id(page, 2) == "live-q"
    write(Layer.objects.get(layer_id="live-q").delete)
    message = (
        "Panel 2: Layer \u201cLIVE-Q\u201d was removed or is no longer available to you: "
        "showing \u201cLIVE-I\u201d."
    )
    page.get_by_text(message).wait_for(timeout=EVENT_TIMEOUT_MS)
    page.wait_for_function(
        "window.tilemakerViewer.panels.panels[1].layer?.layer_id === 'live-i'",
        timeout=EVENT_TIMEOUT_MS,
    )
    assert page.locator('[data-panel="1"] .panel-label').inner_text() == "2 \u00b7 LIVE-I"
    # The main panel's layer was not touched.
    assert page.evaluate("window.tilemakerViewer.layer.layer_id") == "live-i"
    assert not_reloaded(page)


def test_a_panels_rewritten_file_shows_its_new_values_without_reload(page, live_site):
    open_live(page, live_site, panels=2, p2="live-q")
    # open_live settles the main map only: panel 2 has a map of its own.
    settle_panels(page)
    top = np.round(np.array(colormaps["viridis"](1.0)[:3]) * 255)
    assert np.abs(screen_centre_colour(page, '[data-panel="1"]', PANEL_SPOT) - top).max() > 10
    with fits.open(live_site.sky_file, mode="update") as hdus:
        hdus[0].data[:] = 10_000.0
    write(lambda: events.file_rewritten(str(live_site.sky_file)))
    version = provider_file_version(write(lambda: Layer.objects.get(layer_id="live-q")).provider)
    page.wait_for_function(
        "(version) => window.tilemakerViewer.panels.panels[1].layer.file_version === version",
        arg=version,
        timeout=EVENT_TIMEOUT_MS,
    )
    settle_panels(page)
    # Off the panel's centre, where a graticule line crosses.
    assert np.abs(screen_centre_colour(page, '[data-panel="1"]', PANEL_SPOT) - top).max() <= 1
    tiles = page.evaluate(
        "performance.getEntriesByType('resource').map((e) => e.name)"
        ".filter((n) => n.includes('/layers/live-q/'))"
    )
    assert any(f"v={version}" in name for name in tiles)
    assert not_reloaded(page)


def compared_ids(page):
    return page.evaluate("[...window.tilemakerViewer.compare.entries.keys()]")


def test_a_compared_layer_deleted_leaves_the_blink_set_with_a_message(page, live_site):
    live_site.add_layer("live-u", "LIVE-U", 2)
    open_live(page, live_site, cmp="blink", cmpl=["live-q", "live-u"])
    page.wait_for_function(
        "window.tilemakerViewer.compare.entries.size === 2", timeout=EVENT_TIMEOUT_MS
    )
    write(Layer.objects.get(layer_id="live-q").delete)
    message = (
        "Layer \u201cLIVE-Q\u201d was removed or is no longer available to you: no longer compared."
    )
    page.get_by_text(message).wait_for(timeout=EVENT_TIMEOUT_MS)
    page.wait_for_function(
        "window.tilemakerViewer.compare.entries.size === 1", timeout=EVENT_TIMEOUT_MS
    )
    assert compared_ids(page) == ["live-u"]
    assert page.evaluate("window.tilemakerViewer.compare.getState().layers") == ["live-u"]
    assert page.evaluate("window.tilemakerViewer.compare.mode") == "blink"
    # The URL is rewritten just after the compare set changed.
    page.wait_for_function(
        "!window.location.search.includes('cmpl=live-q')", timeout=EVENT_TIMEOUT_MS
    )
    assert page.evaluate("window.tilemakerViewer.layer.layer_id") == "live-i"
    assert not_reloaded(page)


def test_a_compared_layers_rewritten_file_is_loaded_again_with_its_version(page, live_site):
    open_live(page, live_site, cmp="swipe", cmpl="live-q")
    page.wait_for_function(
        "window.tilemakerViewer.compare.entries.size === 1", timeout=EVENT_TIMEOUT_MS
    )
    with fits.open(live_site.sky_file, mode="update") as hdus:
        hdus[0].data[:] = 10_000.0
    write(lambda: events.file_rewritten(str(live_site.sky_file)))
    version = provider_file_version(write(lambda: Layer.objects.get(layer_id="live-q")).provider)
    page.wait_for_function(
        "(version) => window.tilemakerViewer.compare.entries.get('live-q')"
        "?.layer.file_version === version",
        arg=version,
        timeout=EVENT_TIMEOUT_MS,
    )
    settle(page)
    # Swipe: the compared layer is drawn right of the split.
    top = np.round(np.array(colormaps["viridis"](1.0)[:3]) * 255)
    assert np.abs(screen_centre_colour(page, "#map", (0.8, 0.37)) - top).max() <= 1
    assert not_reloaded(page)


TABLE_ID = "live-table"


def test_the_tables_catalogue_deleted_closes_the_table_with_a_message(page, live_site):
    group = write(
        lambda: SourceGroup.objects.create(source_group_id=TABLE_ID, name="Live candidates")
    )
    write(lambda: Source.objects.create(source_group=group, name="cand-1", ra=70.0, dec=0.0))
    open_live(page, live_site, tcat=TABLE_ID)
    page.locator("#table-count").wait_for(state="visible", timeout=EVENT_TIMEOUT_MS)
    assert page.evaluate("window.tilemakerViewer.catalogueTable.groupId") == TABLE_ID
    write(SourceGroup.objects.get(source_group_id=TABLE_ID).delete)
    message = (
        "Catalogue \u201cLive candidates\u201d was removed or is no longer available to you: "
        "its table is closed."
    )
    page.get_by_text(message).wait_for(timeout=EVENT_TIMEOUT_MS)
    assert page.evaluate("window.tilemakerViewer.catalogueTable.groupId") is None
    assert page.locator("#table-catalogue").input_value() == ""
    assert page.evaluate(
        "[...document.querySelectorAll('#table-catalogue option')].map((o) => o.textContent)"
    ) == ["(none)"]
    assert page.locator("#table-body tr[data-index]").count() == 0
    # The link no longer names the table (the URL is saved after a short debounce).
    page.wait_for_function("!location.search.includes('tcat=')", timeout=EVENT_TIMEOUT_MS)
    assert not_reloaded(page)


def test_a_derived_maps_deleted_input_closes_it_and_shows_the_other_input(page, live_site):
    open_live(page, live_site, derived="difference", da="live-i", db="live-q")
    page.wait_for_function(
        "window.tilemakerViewer.layer?.derived?.op === 'difference'", timeout=EVENT_TIMEOUT_MS
    )
    write(Layer.objects.get(layer_id="live-q").delete)
    page.get_by_text(
        re.compile(
            "^Derived map \u201c.+\u201d closed: layer \u201clive-q\u201d was removed or is no "
            "longer available to you\\.$"
        )
    ).wait_for(timeout=EVENT_TIMEOUT_MS)
    page.wait_for_function(
        "window.tilemakerViewer.layer?.layer_id === 'live-i'"
        " && !window.tilemakerViewer.layer.derived",
        timeout=EVENT_TIMEOUT_MS,
    )
    page.wait_for_function("!location.search.includes('derived=')", timeout=EVENT_TIMEOUT_MS)
    assert not_reloaded(page)
