"""Derived layers over HTTP: values, grants (through the caches), refusals, polarisation.

Expected values are computed with numpy on the input files read with
astropy; tiles are decoded from the documented data tile layout.
"""

import numpy as np
import pytest
from astropy.io import fits
from django.core.cache import cache
from django.test import override_settings

from maps.models import Grant
from tests.maps.test_data_tiles import decode
from tests.support.fits import car_header, pixel_centres_deg
from tests.support.image_layers import (
    DEC_BOTTOM_DEG,
    NX,
    NY,
    PIXEL_SCALE_DEG,
    RA_LEFT_DEG,
    TILE_SIZE,
    make_layer,
)

pytestmark = pytest.mark.django_db
# Deepest-level tile x=2, y=0: its rows 0..179 are the file's rows 179..0 and
# its columns the file's columns 359..0 (tests/maps/test_data_tiles.py); the
# rest of the tile is off the map.
TILE = "1/0/2"
HALF = NY // 2


def tile_part(file_data: np.ndarray) -> np.ndarray:
    return file_data[:HALF, :360][::-1, ::-1]


def data_tile(client, url: str, **query) -> np.ndarray:
    response = client.get(url, query)
    assert response.status_code == 200, response.content
    got = decode(response.content, (TILE_SIZE, TILE_SIZE))
    assert np.isnan(got[HALF:]).all()
    return got[:HALF]


def write_plane(path, data: np.ndarray, **extra_header) -> str:
    header = car_header(
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
    )
    for key, value in extra_header.items():
        header[key] = value
    fits.PrimaryHDU(data=data.astype(np.float32), header=header).writeto(path, overwrite=True)
    return str(path)


def read(layer) -> np.ndarray:
    return fits.getdata(layer.provider["filename"]).astype(np.float32)


@pytest.fixture
def pair(image_layer, tmp_path):
    """Layer A (``img-layer``) and a layer B on the same grid, with zeros and NaNs."""
    rng = np.random.default_rng(3)
    values = rng.normal(10.0, 5.0, size=(NY, NX))
    values[20:40, 100:150] = 0.0
    values[50:60, :] = np.nan
    layer_b = make_layer("img-b", write_plane(tmp_path / "b.fits", values))
    return image_layer, layer_b


@pytest.mark.parametrize(
    ("op", "combine"),
    [
        ("difference", np.subtract),
        ("sum", np.add),
        ("ratio", np.divide),
    ],
)
@pytest.mark.parametrize(("scale_a", "scale_b"), [(1.0, 1.0), (2.5, -0.001)])
def test_derived_values_are_numpy_on_the_inputs(client, pair, op, combine, scale_a, scale_b):
    a, b = pair
    query = {} if scale_a == scale_b == 1.0 else {"scale_a": scale_a, "scale_b": scale_b}
    got = data_tile(client, f"/derived/{op}/img-layer/img-b/{TILE}/data.f32", **query)
    with np.errstate(all="ignore"):
        expected = combine(np.float32(scale_a) * read(a), np.float32(scale_b) * read(b))
    expected[~np.isfinite(expected)] = np.nan
    assert np.array_equal(got, tile_part(expected), equal_nan=True)
    if op == "ratio":
        # b == 0 is no data, never an error.
        assert np.isnan(tile_part(expected)[np.where(tile_part(read(b)) == 0)]).all()


def test_every_endpoint_serves_a_derived_layer(client, pair):
    prefix = "/derived/difference/img-layer/img-b"
    png = client.get(f"{prefix}/{TILE}/tile.png")
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    assert png["X-Derived-Op"] == "difference"
    assert png["Cache-Control"] == "public, no-cache"
    assert (
        client.get(f"{prefix}/{TILE}/tile.png", HTTP_IF_NONE_MATCH=png["ETag"]).status_code == 304
    )
    histogram = client.get(f"{prefix}/histogram")
    assert histogram.status_code == 200
    assert set(histogram.json()) == {"layer_id", "edges", "histogram", "vmin", "vmax"}
    limits = client.get(f"{prefix}/limits", {"method": "minmax"})
    assert limits.status_code == 200, limits.content
    expected = read(pair[0]) - read(pair[1])
    assert limits.json()["vmin"] == pytest.approx(float(np.nanmin(expected)), rel=1e-6)
    assert limits.json()["vmax"] == pytest.approx(float(np.nanmax(expected)), rel=1e-6)
    cut = client.get(f"{prefix}/submap/80/70/10/0/image.fits")
    assert cut.status_code == 200, cut.content
    described = client.get(prefix).json()
    assert described["op"] == "difference"
    assert described["inputs"] == ["img-layer", "img-b"]
    assert described["units"] == "uK"
    assert described["tile_size"] == TILE_SIZE


def test_scales_and_inputs_change_the_cache_entry(client, pair):
    url = f"/derived/difference/img-layer/img-b/{TILE}/data.f32"
    plain = client.get(url)
    scaled = client.get(url, {"scale_b": "2"})
    swapped = client.get(url.replace("img-layer/img-b", "img-b/img-layer"))
    assert len({plain["ETag"], scaled["ETag"], swapped["ETag"]}) == 3
    assert plain.content != scaled.content != swapped.content


@pytest.fixture
def secret_b(pair):
    layer_b = pair[1]
    layer_b.grant = Grant.objects.create(name="img-secret")
    layer_b.save()
    return layer_b


PATHS = [
    "",
    f"/{TILE}/tile.png",
    f"/{TILE}/data.f32",
    "/histogram",
    "/limits",
    "/submap/80/70/10/0/image.fits",
]


@pytest.mark.parametrize("suffix", PATHS)
def test_a_hidden_input_answers_exactly_like_a_missing_one_even_when_cached(
    client, secret_b, suffix
):
    hidden_urls = [
        f"/derived/difference/img-layer/img-b{suffix}",
        f"/derived/sum/img-b/img-layer{suffix}",
    ]
    etags = {}
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        for url in hidden_urls:
            allowed = client.get(url)
            assert allowed.status_code == 200, allowed.content
            if "tile" in suffix or "data" in suffix:
                assert allowed["Cache-Control"] == "private, no-cache"
                etags[url] = allowed["ETag"]
    missing = client.get(f"/derived/difference/img-layer/no-such-layer{suffix}")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "No layer with that id."}
    for url in hidden_urls:
        hidden = client.get(url)
        assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)
        assert hidden["Content-Type"] == missing["Content-Type"]
        if url in etags:
            revalidated = client.get(url, HTTP_IF_NONE_MATCH=etags[url])
            assert (revalidated.status_code, revalidated.content) == (404, missing.content)


def test_a_hidden_input_is_404_before_any_other_check(client, secret_b):
    missing = client.get("/derived/nonsense/img-layer/no-such-layer/1/0/2/tile.png?scale_a=inf")
    hidden = client.get("/derived/nonsense/img-layer/img-b/1/0/2/tile.png?scale_a=inf")
    assert (hidden.status_code, hidden.content) == (missing.status_code, missing.content)
    assert missing.status_code == 404


def test_different_grids_are_refused_naming_both_layers(client, image_layer, make_car_map):
    small = make_car_map(
        "small.fits", nx=20, ny=10, pixel_scale_deg=1.0, ra_left_deg=10.0, dec_bottom_deg=-5.0
    )
    make_layer("img-small", small)
    for suffix in PATHS:
        response = client.get(f"/derived/ratio/img-layer/img-small{suffix}")
        assert response.status_code == 400, suffix
        detail = response.json()["detail"]
        assert detail.startswith("layers img-layer and img-small are not on one pixel grid")
        assert "(they differ in size)" in detail


@pytest.mark.parametrize(
    ("path", "query", "detail"),
    [
        (
            "/derived/product/img-layer/img-b",
            {},
            "op must be one of difference, ratio, sum, p, angle, got 'product'",
        ),
        ("/derived/sum/img-layer/img-b", {"scale_a": "inf"}, "scale_a must be a finite number"),
        ("/derived/sum/img-layer/img-b", {"scale_b": "nan"}, "scale_b must be a finite number"),
        ("/derived/sum/img-layer/img-b", {"scale_b": "1e999"}, "scale_b must be a finite number"),
        ("/derived/sum/img-layer/img-b", {"scale_a": "x"}, "scale_a must be"),
        ("/derived/sum/img-layer/img-b", {"debias": "mas"}, "debias and sigma apply to op p only"),
        ("/derived/p/img-layer/img-b", {"debias": "mas"}, "debias needs sigma"),
        ("/derived/p/img-layer/img-b", {"debias": "x", "sigma": "1"}, "debias must be one of"),
        ("/derived/p/img-layer/img-b", {"sigma": "-1"}, "sigma must be >= 0"),
    ],
)
def test_bad_requests_are_400(client, pair, path, query, detail):
    for suffix in ("", f"/{TILE}/tile.png", "/histogram"):
        response = client.get(path + suffix, query)
        assert response.status_code == 400, (suffix, response.content)
        assert response.json()["detail"].startswith(detail)


# --- Polarisation --------------------------------------------------------------


def e_mode_ring(convention: str):
    """Q and U on the image grid: radial polarisation around (RA 45, Dec -22.5)."""
    header = car_header(
        nx=NX,
        ny=NY,
        pixel_scale_deg=PIXEL_SCALE_DEG,
        ra_left_deg=RA_LEFT_DEG,
        dec_bottom_deg=DEC_BOTTOM_DEG,
    )
    ra, dec = pixel_centres_deg(header)
    ra_deg, dec_deg = np.meshgrid(ra, dec)
    east = (ra_deg - 45.0) * np.cos(np.radians(-22.5))
    north = dec_deg - -22.5
    position_angle_deg = np.degrees(np.arctan2(east, north))
    amplitude = 5.0 * np.exp(-(east**2 + north**2) / 200.0)
    q = amplitude * np.cos(np.radians(2 * position_angle_deg))
    u = amplitude * np.sin(np.radians(2 * position_angle_deg))
    return q, (-u if convention == "COSMO" else u), position_angle_deg


def fold_deg(angle_deg):
    folded = np.mod(angle_deg + 90.0, 180.0) - 90.0
    return np.where(folded <= -90.0, folded + 180.0, folded)


@pytest.mark.parametrize(
    ("header_convention", "layer_convention", "used", "source"),
    [
        ("IAU", "", "IAU", "POLCCONV"),
        ("COSMO", "IAU", "COSMO", "POLCCONV"),
        (None, "COSMO", "COSMO", "layer"),
        (None, "", "IAU", "default"),
    ],
)
def test_angle_of_an_e_mode_ring_in_either_convention(
    client, db, tmp_path, header_convention, layer_convention, used, source
):
    cache.clear()
    q, u, position_angle_deg = e_mode_ring(used)
    extra = {"POLCCONV": header_convention} if header_convention else {}
    make_layer(
        "pol-q",
        write_plane(tmp_path / "q.fits", q, **extra),
        stokes="Q",
        polarisation_convention=layer_convention,
    )
    make_layer("pol-u", write_plane(tmp_path / "u.fits", u, **extra), stokes="U")
    response = client.get(f"/derived/angle/pol-q/pol-u/{TILE}/data.f32")
    assert response["X-Polarisation-Convention"] == used
    got = data_tile(client, f"/derived/angle/pol-q/pol-u/{TILE}/data.f32")
    expected = tile_part(position_angle_deg)
    away = tile_part(np.hypot(*np.meshgrid(np.arange(NX) - 180.0, np.arange(NY) - 90.0))) > 2
    difference = fold_deg(got.astype(np.float64) - expected)
    assert np.abs(difference[away]).max() < 1e-3
    assert ((got > -90) & (got <= 90)).all()
    described = client.get("/derived/angle/pol-q/pol-u").json()
    assert described["polarisation_convention"] == used
    assert described["polarisation_convention_from"] == source
    assert described["units"] == "deg"
    p = data_tile(client, f"/derived/p/pol-q/pol-u/{TILE}/data.f32")
    expected_p = np.hypot(tile_part(q).astype(np.float32), tile_part(u).astype(np.float32))
    np.testing.assert_allclose(p, expected_p, rtol=1e-6, atol=1e-6)


def test_debiased_p_and_stokes_order(client, db, tmp_path):
    q, u, _ = e_mode_ring("IAU")
    make_layer("pol-q", write_plane(tmp_path / "q.fits", q), stokes="Q")
    make_layer("pol-u", write_plane(tmp_path / "u.fits", u), stokes="U")
    got = data_tile(client, f"/derived/p/pol-q/pol-u/{TILE}/data.f32", debias="mas", sigma="0.5")
    p = np.hypot(tile_part(q).astype(np.float32), tile_part(u).astype(np.float32)).astype(
        np.float64
    )
    with np.errstate(all="ignore"):
        mas = p - 0.25 * (1 - np.exp(-(p**2) / 0.25)) / (2 * p)
    np.testing.assert_allclose(got, np.where(p == 0, 0.0, mas), rtol=1e-5, atol=1e-6)
    swapped = client.get("/derived/angle/pol-u/pol-q")
    assert swapped.status_code == 400
    assert swapped.json() == {
        "detail": "angle takes the Q and U layers in that order; pol-u is Stokes U"
    }


def test_openapi_documents_the_derived_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    prefix = "/derived/{op}/{a}/{b}"
    for suffix in ("", "/{level}/{y}/{x}/tile.{ext}", "/{level}/{y}/{x}/data.{ext}", "/histogram"):
        operation = paths[prefix + suffix]["get"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"op", "a", "b", "scale_a", "scale_b"} <= names


def test_memcached_entries_of_a_derived_map_stay_behind_the_grant(
    client, secret_b, memcached_server, monkeypatch
):
    """Warmed in a shared memcached by a grant holder, then asked for by an anonymous caller."""
    from maps import tile_store
    from maps.engine import PixelSource

    url = f"/derived/ratio/img-layer/img-b/{TILE}/tile.png?vmin=-1&vmax=1"
    holder = override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"}))
    with override_settings(CACHES=memcached_server.caches_setting()):
        with holder:
            warmed = client.get(url)
        assert warmed.status_code == 200

        def refuse(*args, **kwargs):
            raise AssertionError("the engine was asked although the answer was cached")

        # From here on every answer comes from the caches, memcached only.
        monkeypatch.setattr(PixelSource, "tile", refuse)
        monkeypatch.setattr(PixelSource, "read_window", refuse)
        tile_store.recent_images.set(None)
        with holder:
            again = client.get(url)
        assert (again.status_code, again.content) == (200, warmed.content)
        hidden = client.get(url)
        missing = client.get(url.replace("img-b", "no-such-layer"))
        assert (hidden.status_code, hidden.content) == (404, missing.content)
        assert missing.json() == {"detail": "No layer with that id."}
        cache.close()
