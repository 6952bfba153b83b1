"""No restricted name, id or file path reaches a caller without the grant, whatever is cached.

Every restricted object below carries the word SENTINEL (and ``q7x``) in
its id, name, description and file path, as do its sources and its grant. Every endpoint is asked
by an anonymous caller, a logged-in user without the grant and one with
it, with the caches cold and warm, in both orders, on LocMem and on a real
memcached. For callers without the grant:

- no answer (body or header) contains the marker, nor the public layer's
  file path (no caller ever gets a server path);
- every URL naming a restricted id answers exactly, status and bytes, what
  the same URL with a never-existing id answers (GET, HEAD and OPTIONS);
- an ETag seen by the holder does not turn into a 304 for them.

The holder's answers are checked too, so the test fails if the restricted
objects are simply missing.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import Client, override_settings

from catalogs.models import Source, SourceGroup
from maps.layer_geometry import refresh_layer_geometry
from maps.models import Band, Grant, Layer, Map, MapGroup
from sky_regions.models import Box
from tests.support.fits import write_car_map
from tests.support.login_flow import github_login
from tests.support.memcached import start_memcached
from tilemaker_site.accounts.github import parse_github_org_grants
from tilemaker_site.cache import memcached_cache

pytestmark = [
    pytest.mark.django_db,
]

# Random tokens (CSRF, session) are letters and digits and, compared without
# case, hold a short marker like "q7x" now and then: match the long word.
MARKERS = (b"sentinel",)
PUBLIC_PATH_MARKER = b"pathmark-k3v"
GRANT = "SENTINEL-grant-q7x"
MISSING = "never-existed"

# Geometry as in tests/support/image_layers: tiles of 360 px, levels 0 and 1.
MAP_GEOMETRY = {
    "nx": 720,
    "ny": 360,
    "pixel_scale_deg": 0.25,
    "ra_left_deg": 90.0,
    "dec_bottom_deg": -45.0,
}

HIDDEN = {
    "map_group": ["sentinel-group-q7x"],
    "map": ["sentinel-map-deep-q7x", "sentinel-map-q7x"],
    "band": ["sentinel-band-deep-q7x", "sentinel-band-under-map-q7x", "sentinel-band-q7x"],
    "layer": [
        "sentinel-layer-deep-q7x",
        "sentinel-layer-under-map-q7x",
        "sentinel-layer-under-band-q7x",
        "sentinel-layer-q7x",
    ],
    "source_group": ["sentinel-cat-q7x"],
}

FIRST_OF_KIND = {ids[0] for ids in HIDDEN.values()}

URLS_BY_KIND = {
    "map_group": ["/map-groups/{}/maps"],
    "map": ["/maps/{}/bands"],
    "band": ["/bands/{}/layers"],
    "source_group": ["/sources/{}"],
    "layer": [
        "/layers/{}",
        "/layers/{}/0/0/0/tile.png",
        "/layers/{}/0/0/1/tile.webp",
        "/layers/{}/1/0/1/tile.jpg",
        "/layers/{}/1/1/2/tile.png?cmap=viridis&vmin=-1&vmax=1&flip=true",
        "/layers/{}/1/0/0/tile.png?log_norm=true&vmin=1&vmax=100&abs=true",
        "/layers/{}/7/0/0/tile.png",
        "/layers/{}/0/0/0/tile.gif",
        "/layers/{}/0/0/0/tile.png?vmin=abc",
        "/layers/{}/0/0/0/tile.png?vmin=5&vmax=1",
        "/layers/{}/0/0/0/tile.png?stretch=histeq",
        "/layers/{}/0/0/0/tile.png?stretch=bogus",
        "/layers/{}/0/0/0/data.f32",
        "/layers/{}/1/1/2/data.f32?flip=true",
        "/layers/{}/1/0/0/data.f32?method=stride",
        "/layers/{}/7/0/0/data.f32",
        "/layers/{}/0/0/0/data.png",
        "/layers/{}/0/0/0/data.f32?method=median",
        "/layers/{}/submap/5/-5/5/-5/image.fits",
        "/layers/{}/submap/5/-5/5/-5/image.png",
        "/layers/{}/submap/5/-5/5/-5/image.jpg",
        "/layers/{}/submap/nan/-5/5/-5/image.fits",
        "/layers/{}/submap/5/-5/5/-5/image.txt",
        "/histograms/data/{}",
        "/layers/{}/limits",
        "/layers/{}/limits?method=zscale",
        "/layers/{}/limits?method=bogus",
        "/layers/{}/limits?percent=0",
        "/analysis/aperture/{}?ra=0&dec=0&radius=30",
        "/analysis/aperture/{}?ra=0&dec=0&radius=1e9",
        "/analysis/aperture/{}?ra=x&dec=0&radius=30",
        "/analysis/aperture/{}",
    ],
}

# What the holder must get for restricted ids, so the matrix cannot pass vacuously.
HOLDER_OK = {
    "/layers/{}",
    "/layers/{}/0/0/0/tile.png",
    "/layers/{}/0/0/0/tile.png?stretch=histeq",
    "/layers/{}/0/0/0/data.f32",
    "/layers/{}/submap/5/-5/5/-5/image.fits",
    "/layers/{}/submap/5/-5/5/-5/image.png",
    "/histograms/data/{}",
    "/layers/{}/limits",
    "/layers/{}/limits?method=zscale",
    "/analysis/aperture/{}?ra=0&dec=0&radius=30",
    "/map-groups/{}/maps",
    "/maps/{}/bands",
    "/bands/{}/layers",
    "/sources/{}",
}

FIXED_URLS = [
    "/map-groups",
    "/map-groups/public-group/maps",
    "/maps/public-map/bands",
    "/bands/public-band/layers",
    "/layers/default",
    "/layers/public-layer",
    "/layers/public-layer/0/0/0/tile.png",
    "/layers/public-layer/0/0/0/data.f32",
    "/layers/public-layer/submap/5/-5/5/-5/image.fits",
    "/histograms/data/public-layer",
    "/layers/public-layer/limits?method=minmax",
    "/search?q=q7x",
    "/search?q=SENTINEL",
    "/search?q=e",
    "/search?q=",
    "/sources",
    "/sources/public-cat",
    "/source-names?q=sentinel",
    "/source-names?q=s",
    "/source-names?q=S&limit=100",
    "/highlights/boxes",
    "/histograms/viridis.png",
    "/auth/me",
    "/openapi.json",
    "/healthz",
    "/",
]


def _restricted(name: str) -> dict:
    return {"name": f"SENTINEL {name} q7x", "description": f"about SENTINEL {name} q7x"}


@pytest.fixture
def sky(db, tmp_path):
    """Public and restricted objects of every kind; restricted ones listed first everywhere."""
    for folder in ("pathmark-k3v", "SENTINEL-dir-q7x"):
        (tmp_path / folder).mkdir()
    public_file = write_car_map(tmp_path / "pathmark-k3v" / "public.fits", **MAP_GEOMETRY)
    secret_file = write_car_map(
        tmp_path / "SENTINEL-dir-q7x" / "SENTINEL-file-q7x.fits", n_planes=2, **MAP_GEOMETRY
    )
    grant = Grant.objects.create(name=GRANT, description="SENTINEL grant q7x")

    def layer(layer_id, band, *, restricted, position=0, plane=0, path=secret_file):
        fields = _restricted(layer_id) if restricted else {"name": layer_id.title()}
        created = Layer(
            layer_id=layer_id,
            band=band,
            grant=grant if restricted else None,
            position=position,
            quantity="SENTINEL quantity q7x" if restricted else "T",
            units="uK",
            vmin=-100.0,
            vmax=100.0,
            provider={"provider_type": "fits", "filename": str(path), "index": plane},
            **fields,
        )
        refresh_layer_geometry(created)
        created.save()
        return created

    secret_group = MapGroup.objects.create(
        map_group_id="sentinel-group-q7x", grant=grant, position=0, **_restricted("group")
    )
    deep_map = Map.objects.create(
        map_id="sentinel-map-deep-q7x", map_group=secret_group, **_restricted("deep map")
    )
    deep_band = Band.objects.create(
        band_id="sentinel-band-deep-q7x", map=deep_map, **_restricted("deep band")
    )
    layer("sentinel-layer-deep-q7x", deep_band, restricted=True)

    public_group = MapGroup.objects.create(map_group_id="public-group", name="Public", position=1)
    secret_map = Map.objects.create(
        map_id="sentinel-map-q7x",
        map_group=public_group,
        grant=grant,
        position=0,
        **_restricted("map"),
    )
    band_under_map = Band.objects.create(
        band_id="sentinel-band-under-map-q7x", map=secret_map, **_restricted("band under map")
    )
    layer("sentinel-layer-under-map-q7x", band_under_map, restricted=True)
    public_map = Map.objects.create(
        map_id="public-map", map_group=public_group, name="Public map", position=1
    )
    secret_band = Band.objects.create(
        band_id="sentinel-band-q7x", map=public_map, grant=grant, position=0, **_restricted("band")
    )
    layer("sentinel-layer-under-band-q7x", secret_band, restricted=True)
    public_band = Band.objects.create(
        band_id="public-band", map=public_map, name="Public band", position=1
    )
    layer("sentinel-layer-q7x", public_band, restricted=True, position=0, plane=1)
    layer("public-layer", public_band, restricted=False, position=1, path=public_file)

    secret_cat = SourceGroup.objects.create(
        source_group_id="sentinel-cat-q7x", grant=grant, position=0, **_restricted("catalogue")
    )
    Source.objects.create(
        source_group=secret_cat,
        name="SENTINEL-src-q7x",
        ra=1.0,
        dec=2.0,
        extra={"note": "SENTINEL-extra-q7x"},
    )
    public_cat = SourceGroup.objects.create(
        source_group_id="public-cat", name="Public catalogue", position=1
    )
    Source.objects.create(source_group=public_cat, name="src", ra=0.0, dec=0.0)
    Box.objects.create(
        grant=grant,
        position=0,
        top_left_ra=3,
        top_left_dec=3,
        bottom_right_ra=-3,
        bottom_right_dec=-3,
        **_restricted("box"),
    )
    Box.objects.create(
        name="Public box", top_left_ra=3, top_left_dec=3, bottom_right_ra=-3, bottom_right_dec=-3
    )
    return grant


def _client(username: str | None, grant: Grant | None = None) -> Client:
    client = Client()
    if username:
        user = get_user_model().objects.create_user(username)
        if grant:
            grant.users.add(user)
        client.force_login(user)
    return client


def hidden_urls():
    """``(url for a restricted id, the same url for a missing id, the id)`` for every kind."""
    for kind, ids in HIDDEN.items():
        for template in URLS_BY_KIND[kind]:
            for object_id in ids:
                yield template.format(object_id), template.format(MISSING), object_id, template


def _leaks(response) -> list[str]:
    found = []
    content = response.content.lower()
    for marker in (*MARKERS, PUBLIC_PATH_MARKER):
        at = content.find(marker)
        if at >= 0:
            found.append(f"body has {marker!r}: {response.content[max(0, at - 80) : at + 80]!r}")
    for header, value in response.items():
        if any(m.decode() in value.lower() for m in (*MARKERS, PUBLIC_PATH_MARKER)):
            found.append(f"header {header} has a marker")
    return found


def check_unauthorised(client: Client, etags: dict[str, str]) -> int:
    """Every URL, for a caller without the grant; the number of requests made."""
    requests_made = 0
    for url in FIXED_URLS:
        response = client.get(url)
        requests_made += 1
        assert response.status_code < 500, (url, response.content[:300])
        assert not _leaks(response), (url, _leaks(response))
    for url, missing_url, object_id, _template in hidden_urls():
        attempts = [("get", {})]
        if object_id in FIRST_OF_KIND:
            # Other methods go through the same lookup: one id of each kind will do.
            attempts += [("head", {}), ("options", {})]
        if url in etags:
            attempts.append(("get", {"If-None-Match": etags[url]}))
        for method, headers in attempts:
            hidden = getattr(client, method)(url, headers=headers)
            missing = getattr(client, method)(missing_url, headers=headers)
            requests_made += 2
            where = (method, url, headers)
            assert hidden.status_code == missing.status_code, (where, hidden.content[:300])
            assert hidden.status_code < 500, where
            if method != "options":
                assert hidden.status_code in (400, 404), where
            echoed = missing.content.replace(MISSING.encode(), object_id.encode())
            assert hidden.content == echoed, (where, hidden.content, missing.content)
            assert hidden.get("Content-Type") == missing.get("Content-Type"), where
            for header in ("ETag", "Cache-Control", "Content-Disposition", "Last-Modified"):
                assert header not in hidden or hidden[header] == missing.get(header), where
            assert not _leaks(hidden), (where, _leaks(hidden))
    return requests_made


def check_holder(client: Client) -> dict[str, str]:
    """The holder sees every restricted object; returns the ETags of the tiles it got."""
    etags = {}
    for url, _missing, object_id, template in hidden_urls():
        response = client.get(url)
        assert response.status_code < 500, (url, response.content[:300])
        if template in HOLDER_OK:
            assert response.status_code == 200, (url, response.content[:300])
        if "ETag" in response:
            etags[url] = response["ETag"]
        if template == "/layers/{}":
            assert response.json()["name"] == f"SENTINEL {object_id} q7x"
    assert etags, "no tile answered with an ETag"
    for url in FIXED_URLS:
        response = client.get(url)
        assert response.status_code < 500, url
        assert PUBLIC_PATH_MARKER not in response.content.lower(), url
    assert b"q7x" in client.get("/search?q=q7x").content
    assert b"q7x" in client.get("/source-names?q=sentinel").content
    assert client.get("/layers/default").json()["layer"]["layer_id"] == "sentinel-layer-deep-q7x"
    return etags


@pytest.fixture(scope="module")
def memcached_server():
    server = start_memcached(item_size_mb=16, memory_mb=256)
    yield server
    server.stop()


def _memcached_settings(server):
    return {
        "default": memcached_cache(
            server.location, timeout_seconds=2, pool_size=4, retry_seconds=5.0
        )
    }


@pytest.fixture(params=["locmem", pytest.param("memcached", marks=pytest.mark.services)])
def cache_backend(request):
    if request.param == "locmem":
        cache.clear()
        yield None
        cache.clear()
        return
    server = request.getfixturevalue("memcached_server")
    with override_settings(CACHES=_memcached_settings(server)):
        cache.clear()
        yield server
        cache.clear()


@pytest.mark.parametrize("order", ["holder-first", "others-first"])
def test_nothing_leaks_with_warm_caches(sky, cache_backend, order):
    holder = _client("holder", sky)
    others = {"anonymous": _client(None), "no-grant": _client("nogrant")}

    if order == "others-first":
        for client in others.values():
            check_unauthorised(client, {})
    etags = check_holder(client=holder)
    if cache_backend is not None:
        stats = cache_backend.stats()
        # The matrix must run against data held in memcached, not beside it.
        assert int(stats["curr_items"]) > 0
        assert int(stats["get_hits"]) + int(stats["cmd_set"]) > 0
    for client in others.values():
        assert check_unauthorised(client, etags) > 100
    # The holder still gets everything after the others warmed the caches.
    check_holder(client=holder)


def test_grant_through_a_group_shows_everything_and_leaving_hides_it(sky):
    cache.clear()
    group = Group.objects.create(name="SENTINEL-group-of-people-q7x")
    sky.groups.add(group)
    user = get_user_model().objects.create_user("member")
    user.groups.add(group)
    member = Client()
    member.force_login(user)

    etags = check_holder(member)
    user.groups.remove(group)

    assert check_unauthorised(member, etags) > 100
    cache.clear()


@pytest.mark.services
def test_restricted_tiles_stay_out_of_shared_caches(sky, memcached_server):
    with override_settings(CACHES=_memcached_settings(memcached_server)):
        cache.clear()
        holder = _client("holder", sky)
        url = "/layers/sentinel-layer-q7x/0/0/0/tile.png"
        first = holder.get(url)
        public = holder.get("/layers/public-layer/0/0/0/tile.png")
        stranger = _client(None).get(url, headers={"If-None-Match": first["ETag"]})
        again = holder.get(url, headers={"If-None-Match": first["ETag"]})
        cache.clear()
    assert first.status_code == 200
    assert first["Cache-Control"].startswith("private")
    assert public["Cache-Control"].startswith("public")
    assert "Cookie" in first["Vary"]
    assert stranger.status_code == 404
    assert again.status_code == 304


def test_logout_ends_access_and_revocation_hides_again(github, settings, sky):
    settings.GITHUB_ORG_GRANTS = parse_github_org_grants(f"act:{GRANT}", variable="test")
    github.org_members["act"] = {"alice": "active"}
    url = "/layers/sentinel-layer-q7x/0/0/0/tile.png"
    missing = Client().get(url.replace("sentinel-layer-q7x", MISSING))
    assert missing.status_code == 404

    client = Client(enforce_csrf_checks=True)
    github_login(client, github, "alice")
    assert client.get(url).status_code == 200
    kept = Client()
    kept.cookies = client.cookies.__class__(client.cookies)
    token = client.cookies["csrftoken"].value
    client.post("/auth/logout/", {"csrfmiddlewaretoken": token})

    for after in (client, kept):
        answer = after.get(url)
        assert (answer.status_code, answer.content) == (404, missing.content)

    again = Client()
    github_login(again, github, "alice")
    assert again.get(url).status_code == 200
    github.org_members["act"] = {}
    next_day = Client()
    github_login(next_day, github, "alice")
    answer = next_day.get(url)
    assert (answer.status_code, answer.content) == (404, missing.content)
    assert json.loads(next_day.get("/auth/me").content)["grants"] == []
