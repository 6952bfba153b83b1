"""Helpers for driving the viewer: waiting for it, where the sky is on screen, colours."""

import io
from urllib.parse import parse_qs, urlencode, urlsplit

import numpy as np
from django.contrib.auth.models import User
from django.test import Client
from matplotlib import colormaps
from PIL import Image

from tests.viewer.conftest import ARTIFACTS, TILE_SIZE

RENDER_TIMEOUT_MS = 20_000


def view_query(*, ra, dec, zoom, flip, **more):
    params = {"ra": ra, "dec": dec, "zoom": zoom, "flip": "1" if flip else "0", **more}
    return urlencode(params, doseq=True)


def open_viewer(page, live_server, query=""):
    page.goto(f"{live_server.url}/?{query}")
    wait_ready(page)


def logged_in_page(page, live_server, settings, username="ada"):
    """As tests/viewer/test_login.py: a session cookie for a real user."""
    settings.AUTH_TYPE = "github"
    user = User.objects.create_user(username, password="unused-in-this-test")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    return user


def wait_ready(page):
    page.wait_for_function("document.body.classList.contains('ready')", timeout=RENDER_TIMEOUT_MS)
    settle(page)


def settle(page):
    """Wait until the map has drawn every tile it wants (OpenLayers' rendercomplete)."""
    page.wait_for_timeout(50)
    page.evaluate(
        """(timeout) => new Promise((resolve, reject) => {
            const map = window.tilemakerViewer.sky.map;
            const fail = () => reject(new Error('map never finished rendering'));
            const timer = setTimeout(fail, timeout);
            map.once('rendercomplete', () => { clearTimeout(timer); resolve(true); });
            map.render();
        })""",
        RENDER_TIMEOUT_MS,
    )


def settle_panels(page):
    """As ``settle``, for every panel's map (the main map is panel 1)."""
    page.wait_for_timeout(50)
    page.evaluate(
        """(timeout) => Promise.all(window.tilemakerViewer.panels.panels.map((panel) =>
            new Promise((resolve, reject) => {
                const map = panel.sky.map;
                const fail = () => reject(new Error('a panel never rendered'));
                const timer = setTimeout(fail, timeout);
                map.once('rendercomplete', () => { clearTimeout(timer); resolve(true); });
                map.render();
            })))""",
        RENDER_TIMEOUT_MS,
    )


def screen_xy(page, view, ra_deg, dec_deg):
    """Where (ra, dec) must be on screen, from the view alone (not from the viewer's code).

    URL zoom z shows tile level z at one screen pixel per tile pixel; with
    flip, RA increases to the left.
    """
    box = page.locator("#map").bounding_box()
    resolution_deg = 180.0 / 2 ** view["zoom"] / TILE_SIZE
    sign = -1.0 if view["flip"] else 1.0
    d_ra = (ra_deg - view["ra"] + 180.0) % 360.0 - 180.0
    x = box["x"] + box["width"] / 2 + sign * d_ra / resolution_deg
    y = box["y"] + box["height"] / 2 - (dec_deg - view["dec"]) / resolution_deg
    return x, y


def sky_at_screen(page, view, x, y):
    """The inverse of ``screen_xy``."""
    box = page.locator("#map").bounding_box()
    resolution_deg = 180.0 / 2 ** view["zoom"] / TILE_SIZE
    sign = -1.0 if view["flip"] else 1.0
    ra = view["ra"] + sign * (x - box["x"] - box["width"] / 2) * resolution_deg
    dec = view["dec"] - (y - box["y"] - box["height"] / 2) * resolution_deg
    return ra % 360.0, dec


def screenshot(page, name=None):
    png = page.screenshot()
    if name:
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"{name}.png").write_bytes(png)
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)


def pixel(image, x, y):
    return image[int(y), int(x)]


def cmap_rgb(name, value, vmin, vmax):
    t = float(np.clip((value - vmin) / (vmax - vmin), 0.0, 1.0))
    return np.array(colormaps[name](t)[:3]) * 255.0


def assert_colour(actual, expected, tolerance=8.0):
    difference = np.abs(np.asarray(actual, dtype=float) - np.asarray(expected, dtype=float))
    assert difference.max() <= tolerance, f"colour {list(actual)} is not {list(np.round(expected))}"


class TileLog:
    """Every tile the page was answered (PNG or data tile): URL, status, layer id, z/y/x and
    query parameters; and the query of every tile it asked for, in the order it asked."""

    def __init__(self, page):
        self.entries = []
        self.asked = []
        page.on("request", self._record_request)
        page.on("response", self._record)

    @staticmethod
    def _is_tile(url):
        return "/tile.png" in url or "/data.f32" in url

    @staticmethod
    def _query(url):
        return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}

    def _record_request(self, request):
        if self._is_tile(request.url):
            self.asked.append(self._query(request.url))

    def _record(self, response):
        url = response.url
        if not self._is_tile(url):
            return
        layer = urlsplit(url).path.strip("/").split("/")[-5]
        query = self._query(url)
        self.entries.append({"url": url, "status": response.status, "layer": layer, "query": query})

    def clear(self):
        self.entries.clear()
        self.asked.clear()

    def layers(self):
        return {entry["layer"] for entry in self.entries}

    def last_query(self):
        """The query of the last tile asked for: a slow change (a dragged handle, colour.js
        DRAG_UPDATE_MS) also asks for tiles of the settings on the way, whose answers may
        land after the final ones, so the last answered need not be the last asked."""
        assert self.asked, "no tile was requested"
        return self.asked[-1]


def url_params(page):
    return {key: values for key, values in parse_qs(urlsplit(page.url).query).items()}


def wait_for_url(page, **expected):
    """Wait until the page URL carries these single-valued parameters."""
    page.wait_for_function(
        """(expected) => {
            const params = new URLSearchParams(window.location.search);
            return Object.entries(expected).every(([k, v]) => params.get(k) === v);
        }""",
        arg={key: str(value) for key, value in expected.items()},
        timeout=RENDER_TIMEOUT_MS,
    )


def wait_for_saved_url(page):
    """Wait until the page URL is the view shown: the viewer rewrites it a moment
    (main.js URL_DELAY_MS) after each change, so a URL read before may be the last one.
    Not while presenting or following: the URL then also carries follow=."""
    page.wait_for_function(
        "window.tilemakerViewer.viewQuery() === window.location.search.slice(1)",
        timeout=RENDER_TIMEOUT_MS,
    )


def save_stokes_band(path, layer_ids, *, prefix, name, **display):
    """One group > map > band ``{prefix}-f090`` whose layers are the planes of the
    FITS cube ``path``, ``layer_ids`` ({"I": id, ...}) in plane order, with ``stokes`` set."""
    from maps.layer_geometry import refresh_layer_geometry
    from maps.models import Band, Layer, Map, MapGroup

    group = MapGroup.objects.create(map_group_id=f"{prefix}-group", name=f"{name} sky", position=0)
    sky_map = Map.objects.create(map_id=f"{prefix}-map", name=name, map_group=group)
    band = Band.objects.create(band_id=f"{prefix}-f090", name="f090", map=sky_map)
    for plane, (stokes, layer_id) in enumerate(layer_ids.items()):
        layer = Layer(
            layer_id=layer_id,
            name=f"{stokes} map",
            band=band,
            position=plane,
            stokes=stokes,
            units="uK",
            provider={"provider_type": "fits", "filename": str(path), "index": plane},
            **display,
        )
        refresh_layer_geometry(layer)
        layer.save()
