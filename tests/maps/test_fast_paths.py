"""The fast paths of a tile request: lookups by id remembered per process, and the
async tile view.

A remembered lookup must never decide differently from the database: every
test here changes something and checks the very next answer.
"""

import asyncio
import platform
import threading
import time

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.http import Http404
from django.test import AsyncClient, Client, override_settings
from django.utils.module_loading import import_string
from rest_framework.permissions import IsAuthenticated

from maps import image_views, remembered, tile_store
from maps.engine.sources import PixelSource
from maps.grants import get_visible_or_404
from maps.models import Band, Layer, Map, MapGroup, VisibilityGeneration
from maps.per_process import PerProcess
from tests.support.catalogue import SECRET, walk
from tests.support.settings_probe import run_probe
from tilemaker_site import process

MODELS_BY_DEPTH = (
    (MapGroup, "map_group_id"),
    (Map, "map_id"),
    (Band, "band_id"),
    (Layer, "layer_id"),
)
PUBLIC_LAYER = "pr3-f353-i"
# Its ancestors, from the layer up: (model, id field, public id).
PUBLIC_CHAIN = [
    (Layer, "layer_id", "pr3-f353-i"),
    (Band, "band_id", "pr3-f353"),
    (Map, "map_id", "planck-pr3"),
    (MapGroup, "map_group_id", "planck"),
]


def sees(model, public_id, granted=frozenset(), field=None):
    """Whether a caller holding ``granted`` gets the object (a fresh user per call,
    as every request has)."""
    field = field or dict(MODELS_BY_DEPTH)[model]
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset(granted)):
        try:
            found = get_visible_or_404(model, AnonymousUser(), **{field: public_id})
        except Http404:
            return False
    assert getattr(found, field) == public_id
    return True


def get_through_asgi(url, query=None, headers=None):
    """A request through Django's ASGI handler, as daphne makes it."""

    async def fetch():
        return await AsyncClient().get(url, query, headers=headers)

    return async_to_sync(fetch)()


@pytest.fixture
def fetches(monkeypatch):
    """Counts the lookups that went to the database."""
    calls = []
    original = remembered.fetch_row

    def counting(model, lookup):
        calls.append(lookup)
        return original(model, lookup)

    monkeypatch.setattr(remembered, "fetch_row", counting)
    return calls


# --- Remembered lookups ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("granted", [frozenset(), frozenset({SECRET}), frozenset({"other"})])
def test_remembered_lookups_agree_with_the_tree(catalogue, granted):
    for depth, node, hidden, _path in walk():
        model, _field = MODELS_BY_DEPTH[depth]
        expected = not hidden or SECRET in granted
        # Twice: once read, once remembered.
        assert sees(model, node.public_id, granted) is expected, node.public_id
        assert sees(model, node.public_id, granted) is expected, node.public_id
    assert not sees(Layer, "no-such-layer", granted)


@pytest.mark.django_db
@pytest.mark.parametrize("restricted", range(len(PUBLIC_CHAIN)))
@pytest.mark.parametrize("write", ["save", "update"])
def test_a_grant_given_or_taken_is_seen_by_the_next_lookup(catalogue, grant, restricted, write):
    model, field, public_id = PUBLIC_CHAIN[restricted]

    def set_grant(value):
        if write == "save":
            obj = model.objects.get(**{field: public_id})
            obj.grant = value
            obj.save()
        else:
            model.objects.filter(**{field: public_id}).update(grant=value)

    assert sees(Layer, PUBLIC_LAYER)
    assert sees(Layer, PUBLIC_LAYER)
    set_grant(grant)
    assert not sees(Layer, PUBLIC_LAYER)
    assert sees(Layer, PUBLIC_LAYER, {SECRET})
    set_grant(None)
    assert sees(Layer, PUBLIC_LAYER)


@pytest.mark.django_db
def test_a_renamed_grant_is_seen_by_the_next_lookup(catalogue, grant):
    assert sees(Layer, "coadd-f090-q", {SECRET})
    grant.name = "renamed"
    grant.save()
    assert not sees(Layer, "coadd-f090-q", {SECRET})
    assert sees(Layer, "coadd-f090-q", {"renamed"})


@pytest.mark.django_db
def test_each_lookup_returns_an_object_of_its_own(catalogue):
    first = get_visible_or_404(Layer, AnonymousUser(), layer_id=PUBLIC_LAYER)
    first.provider["filename"] = "/elsewhere.fits"
    first.name = "changed, not saved"
    again = get_visible_or_404(Layer, AnonymousUser(), layer_id=PUBLIC_LAYER)
    assert again.provider["filename"].endswith("act_like.fits")
    assert again.name == "I353"
    assert again == Layer.objects.get(layer_id=PUBLIC_LAYER)


@pytest.mark.django_db
def test_other_lookups_use_the_database_filter(catalogue, fetches):
    found = get_visible_or_404(Layer, AnonymousUser(), name="I353")
    assert found.layer_id == PUBLIC_LAYER
    with pytest.raises(Http404):
        get_visible_or_404(Layer, AnonymousUser(), name="Q secret")
    assert fetches == []


@pytest.mark.django_db
def test_lookups_are_remembered_until_a_write(catalogue, fetches):
    for _ in range(3):
        assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 1
    Layer.objects.filter(layer_id="coadd-f090-i").update(name="another layer renamed")
    assert sees(Layer, PUBLIC_LAYER)
    assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 2


@pytest.mark.django_db
def test_lookups_are_read_again_when_the_generation_changes(catalogue, fetches):
    assert sees(Layer, PUBLIC_LAYER)
    # Nothing is validated through the cache: losing it loses nothing.
    cache.clear()
    assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 1
    # A write no Django signal or cachalot hears of: the triggers do.
    with connection.cursor() as cursor:
        cursor.execute("UPDATE maps_grant SET description = 'changed behind the ORM'")
    assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 2


@pytest.mark.django_db
def test_nothing_is_remembered_without_a_generation(catalogue, fetches):
    # A test flush deletes the row; the next write brings it back.
    VisibilityGeneration.objects.all().delete()
    assert sees(Layer, PUBLIC_LAYER)
    assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 2
    MapGroup.objects.filter(map_group_id="planck").update(description="written")
    assert VisibilityGeneration.objects.count() == 1
    assert sees(Layer, PUBLIC_LAYER)
    assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 3


@pytest.mark.django_db
def test_unknown_ids_are_remembered_apart_from_real_ones(catalogue, fetches, monkeypatch):
    monkeypatch.setattr(remembered, "MAX_MISSES", 3)
    assert sees(Layer, PUBLIC_LAYER)
    for number in range(10):
        assert not sees(Layer, f"made-up-{number}")
    assert len(fetches) == 11
    # The last unknown ids answer from memory, and made-up ids pushed out
    # only other made-up ids.
    assert not sees(Layer, "made-up-9")
    assert sees(Layer, PUBLIC_LAYER)
    assert len(fetches) == 11


def test_cache_control_of_restricted_layers_is_private(caller, catalogue):
    client, holds = caller
    public = client.get(f"/layers/{PUBLIC_LAYER}/0/0/0/tile.png")
    assert public.status_code == 200
    assert public["Cache-Control"] == "public, no-cache"
    # Visible itself, hidden by its band: restricted all the same.
    restricted = client.get("/layers/coadd-f150-i/0/0/0/tile.png")
    if holds:
        assert restricted["Cache-Control"] == "private, no-cache"
    else:
        assert restricted.status_code == 404


# --- The async tile view -----------------------------------------------------------


def test_every_middleware_is_async_capable():
    # One sync-only middleware moves every request, and each middleware
    # outside it, onto a thread of its own, and the async tile view with it.
    sync_only = [
        path
        for path in settings.MIDDLEWARE
        if not getattr(import_string(path), "async_capable", False)
    ]
    assert sync_only == []


TILE = "/layers/img-layer/1/0/1/tile.png"
HIDDEN_TILE = "/layers/img-secret-layer/1/0/1/tile.png"
COMPARED_HEADERS = ("Content-Type", "Content-Length", "ETag", "Cache-Control", "Allow")


@pytest.fixture
def anonymous_path_calls(monkeypatch):
    """The tile requests answered without asking the session store (one view answers
    all callers: these are those whose authentication read no session)."""
    calls = []
    store = import_string(settings.SESSION_ENGINE + ".SessionStore")
    original_load = store.load
    original_initial = image_views.TileView.initial

    def loading(self):
        self.loaded_from_store = True
        return original_load(self)

    def counting(self, request, *args, **kwargs):
        try:
            return original_initial(self, request, *args, **kwargs)
        finally:
            if not getattr(request.session, "loaded_from_store", False):
                calls.append(kwargs)

    monkeypatch.setattr(store, "load", loading)
    monkeypatch.setattr(image_views.TileView, "initial", counting)
    return calls


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "query", "status"),
    [
        (TILE, {}, 200),
        (TILE, {"vmin": "-20", "vmax": "40", "cmap": "gray", "log_norm": "false"}, 200),
        # With flip, x=3 shows the data of x=2 mirrored.
        (TILE.replace("/1/0/1/", "/1/0/3/"), {"flip": "true", "abs": "true"}, 200),
        (TILE.replace("/1/0/1/", "/1/0/0/"), {}, 404),
        (TILE.replace(".png", ".webp"), {}, 200),
        (TILE, {"if_none_match": True}, 304),
        (TILE.replace(".png", ".gif"), {}, 400),
        (TILE.replace("/1/0/1/", "/1/0/x/"), {}, 400),
        (TILE, {"vmin": "5", "vmax": "1"}, 400),
        (TILE, {"cmap": "no-such-map"}, 400),
        (TILE, {"method": "median"}, 400),
        (TILE.replace("/1/0/1/", "/1/9/1/"), {}, 404),
        (TILE.replace("/1/0/1/", "/1000000000/0/1/"), {}, 404),
        ("/layers/no-such-layer/1/0/1/tile.png", {}, 404),
        (HIDDEN_TILE, {}, 404),
    ],
)
def test_anonymous_answers_equal_the_drf_view(
    image_layer, restricted_layer, anonymous_path_calls, url, query, status
):
    """Without a session the async path answers; with one, DRF's view: the same bytes."""
    query = dict(query)
    headers = {}
    if query.pop("if_none_match", False):
        headers["If-None-Match"] = Client().get(url)["ETag"]
    anonymous_path_calls.clear()
    fast = Client().get(url, query, headers=headers)
    through_asgi = get_through_asgi(url, query, headers)
    assert len(anonymous_path_calls) == 2
    with_session = Client()
    # An unknown session: still anonymous, but the request goes through DRF.
    with_session.cookies[settings.SESSION_COOKIE_NAME] = "nosuchsession" + "0" * 19
    drf = with_session.get(url, query, headers=headers)
    assert len(anonymous_path_calls) == 2
    assert fast.status_code == through_asgi.status_code == drf.status_code == status
    assert fast.content == through_asgi.content == drf.content
    for name in COMPARED_HEADERS:
        assert fast.get(name) == through_asgi.get(name) == drf.get(name), name
    assert "Cookie" in fast["Vary"]
    assert "Cookie" in through_asgi["Vary"]
    if status >= 400:
        assert fast["Content-Type"] == "application/json"
        assert set(fast.json()) == {"detail"}


@pytest.mark.django_db
def test_a_permission_on_the_tile_view_applies_to_every_caller(image_layer, monkeypatch):
    """Anonymous callers without a session were once answered beside DRF's view."""
    monkeypatch.setattr(image_views.TileView, "permission_classes", [IsAuthenticated])
    for answer in (Client().get(TILE), get_through_asgi(TILE)):
        assert answer.status_code == 403
        assert answer.json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.django_db
def test_hidden_and_missing_layers_answer_alike_on_the_async_path(image_layer, restricted_layer):
    hidden = Client().get(HIDDEN_TILE)
    missing = Client().get(HIDDEN_TILE.replace("img-secret-layer", "img-missing-layer"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.content == missing.content == b'{"detail":"No layer with that id."}'
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        shown = Client().get(HIDDEN_TILE)
    assert shown.status_code == 200
    assert shown["Cache-Control"].startswith("private")


@pytest.mark.django_db
def test_async_renders_are_bounded(image_layer, monkeypatch):
    lock = threading.Lock()
    running = {"now": 0, "most": 0}
    original = PixelSource.tile

    def slow_tile(self, **kwargs):
        with lock:
            running["now"] += 1
            running["most"] = max(running["most"], running["now"])
        time.sleep(0.05)
        with lock:
            running["now"] -= 1
        return original(self, **kwargs)

    monkeypatch.setattr(PixelSource, "tile", slow_tile)
    # Every tile holding data, each a render of its own.
    urls = [
        (f"/layers/img-layer/{level}/{y}/{x}/tile.png", {"method": method})
        for level, columns, rows in ((1, (1, 2), (0, 1)), (0, (0, 1), (0,)))
        for x in columns
        for y in rows
        for method in ("mean", "stride")
    ]

    async def all_at_once():
        client = AsyncClient()
        return await asyncio.gather(*(client.get(url, query) for url, query in urls))

    answers = async_to_sync(all_at_once)()
    assert [answer.status_code for answer in answers] == [200] * len(urls)
    assert running["most"] == min(settings.MAX_CONCURRENT_RENDERS, len(urls))


# --- Encoded tiles kept in the process ------------------------------------------------


def test_recent_images_are_bounded_by_bytes():
    memory = tile_store.RecentImages(1000)
    for name in "abc":
        memory.put(name, name.encode() * 300)
    assert memory.get("a") == b"a" * 300
    memory.put("d", b"d" * 300)
    # "b" was the least recently used.
    assert [memory.get(name) is not None for name in "abcd"] == [True, False, True, True]
    assert memory.size_bytes == 900
    memory.put("too big", b"x" * 1001)
    assert memory.get("too big") is None
    memory.put("a", b"A" * 700)
    assert memory.get("a") == b"A" * 700
    assert memory.size_bytes <= 1000


@pytest.mark.django_db
def test_tiles_kept_in_process_still_need_the_grant(restricted_layer, monkeypatch):
    memory = tile_store.RecentImages(10_000_000)
    monkeypatch.setattr(tile_store, "recent_images", PerProcess(lambda: memory))
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        first = Client().get(HIDDEN_TILE)
    assert first.status_code == 200
    assert memory.size_bytes == len(first.content)

    def refuse(*args, **kwargs):
        raise AssertionError("the engine was asked although the tile was kept")

    monkeypatch.setattr(PixelSource, "tile", refuse)
    cache.clear()
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        again = Client().get(HIDDEN_TILE)
    assert again.content == first.content
    for hidden in (Client().get(HIDDEN_TILE), get_through_asgi(HIDDEN_TILE)):
        assert hidden.status_code == 404
        assert hidden.content == b'{"detail":"No layer with that id."}'


# --- The allocator -------------------------------------------------------------------


# Run in a fresh interpreter: glibc adapts its thresholds to what a process
# allocated before, so only a new process shows the setting itself.
MAPPED_BY_A_TILE_BUFFER = """
import ctypes

{imports}


class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
    )]


libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
before = libc.mallinfo2().hblkhd
float_tile = bytearray(675 * 675 * 4)
print(libc.mallinfo2().hblkhd - before)
"""


# What every daphne worker imports first.
SERVER_START = "import tilemaker_site.asgi"
IMPORT_ONLY = """
import threading

import django

django.setup()
from maps import image_views, render_limits, tile_store, tiles

PER_PROCESS_BUILT = [
    name
    for name, holder in (
        ("render gate", render_limits.render_gate),
        ("render threads", render_limits.render_threads),
        ("cut-out budget", render_limits.inflight_budget),
        ("recent images", tile_store.recent_images),
    )
    if holder._value is not None
]
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
@pytest.mark.parametrize(("tune", "mapped"), [("yes", False), ("no", True)])
def test_tile_sized_buffers_come_from_the_heap(tune, mapped):
    """Mapped afresh, each re-colour of a 675-pixel tile cost ~1,100 page faults."""
    result = run_probe(
        MAPPED_BY_A_TILE_BUFFER.format(imports=SERVER_START),
        {"TILEMAKER_TUNE_MALLOC": tune},
        check=True,
    )
    assert (int(result.stdout) >= 675 * 675 * 4) is mapped


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's allocator only")
def test_importing_the_tile_modules_changes_nothing_in_the_process():
    """Tuning is the server's job at start-up; the modules build their pools on use."""
    imports = IMPORT_ONLY + "\nprint(PER_PROCESS_BUILT, threading.active_count())"
    result = run_probe(
        MAPPED_BY_A_TILE_BUFFER.format(imports=imports),
        {"TILEMAKER_TUNE_MALLOC": "yes"},
        check=True,
    )
    built, threads, mapped_bytes = result.stdout.split()
    assert (built, threads) == ("[]", "1")
    assert int(mapped_bytes) >= 675 * 675 * 4


def test_tuning_the_allocator_can_be_turned_off():
    with override_settings(TUNE_MALLOC=False):
        assert not process.tune_malloc()
