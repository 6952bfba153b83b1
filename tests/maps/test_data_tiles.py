"""The data tile endpoint: float32 values of a tile, byte-shuffled and deflated.

Bodies are decoded here from the documented layout (zlib stream, four
byte planes, little-endian float32), without the engine's decoder, and
compared bit for bit with the engine's float tile of the same index.
"""

import zlib

import numpy as np
import pytest
from django.conf import settings
from django.test import override_settings

from maps.engine import resolve_tile, source_from_provider
from maps.tiles import layer_grid
from tests.support.image_layers import LEVELS, TILE_SIZE, make_layer

pytestmark = pytest.mark.django_db
DEEPEST = LEVELS - 1


def decode(body: bytes, shape: tuple[int, int]) -> np.ndarray:
    planes = np.frombuffer(zlib.decompress(body), dtype=np.uint8).reshape(4, -1)
    return np.ascontiguousarray(planes.T).view("<f4").reshape(shape)


def flipped_x(x: int, level: int) -> int:
    """SPEC section 5's flip remapping of a tile column (its own inverse)."""
    half = 2**level
    return half - 1 - x if x < half else 3 * half - 1 - x


def engine_tile(layer, *, level, y, x, flip=False, method="mean") -> np.ndarray:
    source = source_from_provider(layer.provider)
    index = resolve_tile(grid=layer_grid(layer), level=level, x=x, y=y, flip=flip)
    return source.tile(index=index, flip=flip, method=method)


def assert_same_floats(got: np.ndarray, expected: np.ndarray) -> None:
    assert got.dtype == np.float32
    assert got.shape == expected.shape
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    assert np.array_equal(got, expected, equal_nan=True)
    # Bit for bit, not only equal as numbers (-0.0 == 0.0).
    assert np.array_equal(got.view(np.uint32), expected.astype(np.float32).view(np.uint32))


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize(
    ("level", "y", "x", "method"),
    [(DEEPEST, 0, 2, "mean"), (DEEPEST, 1, 1, "mean"), (0, 0, 1, "mean"), (0, 0, 1, "stride")],
)
def test_body_is_the_engine_tile_exactly(client, image_layer, level, y, x, method, flip):
    # With flip, the requested column whose data is tile x's, mirrored.
    x = flipped_x(x, level) if flip else x
    response = client.get(
        f"/layers/img-layer/{level}/{y}/{x}/data.f32",
        {"flip": str(flip).lower(), "method": method},
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/octet-stream"
    assert "Content-Encoding" not in response
    assert response["X-Tile-Shape"] == f"{TILE_SIZE},{TILE_SIZE}"
    assert response["X-Tile-Dtype"] == "float32"
    assert response["X-Tile-Encoding"] == "float32-shuffle-deflate"
    assert response["X-Tile-Block-Size"] == str(2 ** (DEEPEST - level))
    got = decode(response.content, (TILE_SIZE, TILE_SIZE))
    expected = engine_tile(image_layer, level=level, y=y, x=x, flip=flip, method=method)
    assert_same_floats(got, expected)
    assert np.isfinite(got).any()


def test_native_values_are_the_files_and_nan_stays_nan(client, image_layer):
    from astropy.io import fits

    file_data = fits.getdata(image_layer.provider["filename"]).astype(np.float32)
    response = client.get(f"/layers/img-layer/{DEEPEST}/0/2/data.f32")
    got = decode(response.content, (TILE_SIZE, TILE_SIZE))
    # Tile x=2, y=0 at the deepest level covers RA 0..90 (increasing to the
    # right) and Dec 0..-90 (row 0 north). The map spans Dec -45..45 from its
    # row 0 up, and RA 90 at its left edge decreasing (CDELT1 < 0) to RA 0 at
    # column 360: tile rows 0..179 are its rows 179..0, tile columns 0..359
    # its columns 359..0; the tile's southern half is off the map.
    half = file_data.shape[0] // 2
    assert_same_floats(got[:half], file_data[:half, :360][::-1, ::-1])
    assert np.isnan(got[half:]).all()
    assert np.isnan(got).any()


def test_flip_mirrors_like_the_image_tile(client, image_layer):
    plain = client.get("/layers/img-layer/1/0/2/data.f32")
    flipped = client.get("/layers/img-layer/1/0/3/data.f32", {"flip": "true"})
    shape = (TILE_SIZE, TILE_SIZE)
    assert_same_floats(decode(flipped.content, shape), decode(plain.content, shape)[:, ::-1])
    assert plain["ETag"] != flipped["ETag"]


def test_etag_and_not_modified(client, image_layer):
    url = f"/layers/img-layer/{DEEPEST}/0/2/data.f32"
    first = client.get(url)
    etag = first["ETag"]
    assert etag.startswith('"')
    assert first["Cache-Control"] == "public, no-cache"
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    assert client.get(url, HTTP_IF_NONE_MATCH='"other"').content == first.content
    variants = {
        etag,
        client.get(url, {"method": "stride"})["ETag"],
        client.get(f"/layers/img-layer/{DEEPEST}/1/2/data.f32")["ETag"],
        client.get(url.replace("data.f32", "tile.png"))["ETag"],
    }
    assert len(variants) == 4
    # Colour parameters do not change the values, nor the ETag.
    assert client.get(url, {"cmap": "gray", "vmin": "-1"})["ETag"] == etag


def test_same_bytes_from_cache_and_from_disk(client, image_layer):
    from django.core.cache import cache

    from maps import tile_store

    url = "/layers/img-layer/0/0/1/data.f32"
    cold = client.get(url).content
    warm = client.get(url).content
    cache.clear()
    tile_store.recent_images.get()._entries.clear()
    assert client.get(url).content == cold == warm


def test_tiles_without_any_finite_pixel_are_404(client, make_car_map, db):
    path = make_car_map("east.fits", nx=360, ny=360, pixel_scale_deg=0.25, ra_left_deg=90.0)
    make_layer("east", path)
    assert client.get("/layers/east/1/0/2/data.f32").status_code == 200
    for url in ("/layers/east/1/0/0/data.f32", "/layers/east/1/1/3/data.f32"):
        response = client.get(url)
        assert response.status_code == 404
        assert response["Content-Type"] == "application/json"
        assert response.json()["detail"] in ("the tile is outside the map", "no data in this tile")
        assert response.json() == client.get(url.replace("data.f32", "tile.png")).json()


@pytest.mark.parametrize(
    ("url", "query", "status", "detail"),
    [
        ("/layers/nope/1/0/2/data.f32", {}, 404, "No layer with that id."),
        ("/layers/nope/1/0/2/data.f32", {"max_error": "-1"}, 404, "No layer with that id."),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": "0"}, 400, "max_error must be 'auto'"),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": "-0.5"}, 400, "a number > 0"),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": "nan"}, 400, "finite number"),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": "inf"}, 400, "finite number"),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": "1e999"}, 400, "finite number"),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": ""}, 400, "finite number"),
        ("/layers/img-layer/1/0/2/data.f32", {"max_error": "AUTO"}, 400, "finite number"),
        ("/layers/img-layer/2/0/2/data.f32", {}, 404, "level 2 is outside 0..1"),
        ("/layers/img-layer/-1/0/0/data.f32", {}, 404, "level -1 is outside"),
        ("/layers/img-layer/1/0/4/data.f32", {}, 404, "x 4 is outside 0..3"),
        ("/layers/img-layer/1/2/0/data.f32", {}, 404, "y 2 is outside 0..1"),
        ("/layers/img-layer/1/0/2/data.f32", {"flip": "true"}, 404, "outside the map"),
        ("/layers/img-layer/a/0/0/data.f32", {}, 400, "level must be an integer"),
        ("/layers/img-layer/1/0/1e1/data.f32", {}, 400, "x must be an integer"),
        ("/layers/img-layer/1/x/1/data.f32", {}, 400, "y must be an integer"),
        ("/layers/img-layer/1/0/" + "9" * 40 + "/data.f32", {}, 400, "x must be an integer"),
        ("/layers/img-layer/1/0/2/data.png", {}, 400, "unknown data tile format 'png'"),
        ("/layers/img-layer/1/0/2/data.F32", {}, 400, "unknown data tile format"),
        ("/layers/img-layer/1/0/2/data.f32.gz", {}, 400, "unknown data tile format"),
        ("/layers/img-layer/1/0/2/data.f32", {"flip": "maybe"}, 400, "flip must be true or false"),
        ("/layers/img-layer/1/0/2/data.f32", {"method": "median"}, 400, "method must be one of"),
    ],
)
def test_bad_input(client, image_layer, url, query, status, detail):
    response = client.get(url, query)
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail"}
    assert detail in body["detail"]


@pytest.mark.parametrize(
    "template",
    [
        "/layers/{id}/1/0/2/data.f32",
        "/layers/{id}/0/0/1/data.f32?flip=true",
        "/layers/{id}/1/0/2/data.png",
        "/layers/{id}/99/0/2/data.f32",
    ],
)
def test_restricted_layer_cached_for_a_grant_holder_stays_hidden(
    client, restricted_layer, template
):
    url = template.format(id="img-secret-layer")
    etag = None
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        allowed = client.get(url)
        if "data.f32" in url and "/99/" not in url:
            assert allowed.status_code == 200
            assert allowed["Cache-Control"] == "private, no-cache"
            etag = allowed["ETag"]
    hidden = client.get(url)
    missing = client.get(template.format(id="no-such-layer"))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "No layer with that id."}
    if etag is not None:
        revalidated = client.get(url, HTTP_IF_NONE_MATCH=etag)
        assert revalidated.status_code == 404
        assert revalidated.json() == missing.json()


def test_decoding_headers_are_readable_cross_origin():
    assert {"X-Tile-Shape", "X-Tile-Dtype", "X-Tile-Encoding", "X-Tile-Block-Size"} <= set(
        settings.CORS_EXPOSE_HEADERS
    )
    quantised = {"X-Tile-Max-Error", "X-Tile-Base", "X-Tile-Step", "X-Tile-Exact-Because"}
    assert quantised <= set(settings.CORS_EXPOSE_HEADERS)


def test_openapi_documents_the_data_tile(client):
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/layers/{layer_id}/{level}/{y}/{x}/data.{ext}"]["get"]
    ok = operation["responses"]["200"]
    assert set(ok["content"]) == {"application/octet-stream"}
    assert {"X-Tile-Shape", "X-Tile-Dtype", "X-Tile-Encoding", "X-Tile-Block-Size", "ETag"} <= set(
        ok["headers"]
    )
    assert {"304", "400", "404"} <= set(operation["responses"])
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["ext"]["schema"]["enum"] == ["f32"]
    assert {"level", "x", "y", "flip", "method"} <= set(parameters)
    assert "byte-shuffled" in operation["description"]
    assert "max_error" in parameters
    assert "quantised-shuffle-deflate" in operation["description"]
    quantised = {"X-Tile-Max-Error", "X-Tile-Base", "X-Tile-Step", "X-Tile-Exact-Because"}
    assert quantised <= set(ok["headers"])


# --- Quantised tiles (max_error) -------------------------------------------------


def decode_quantised(response) -> np.ndarray:
    """The documented layout: float32(base + q * step), q of X-Tile-Dtype, the top code NaN."""
    dtype = np.dtype(response["X-Tile-Dtype"]).newbyteorder("<")
    raw = np.frombuffer(zlib.decompress(response.content), dtype=np.uint8)
    codes = np.ascontiguousarray(raw.reshape(dtype.itemsize, -1).T).view(dtype).ravel()
    base, step = float(response["X-Tile-Base"]), float(response["X-Tile-Step"])
    values = (base + codes.astype(np.float64) * step).astype(np.float32)
    values[codes == np.iinfo(dtype).max] = np.nan
    return values.reshape(TILE_SIZE, TILE_SIZE)


@pytest.mark.parametrize("flip", [False, True])
@pytest.mark.parametrize(
    ("level", "tile_x", "max_error"), [(DEEPEST, 2, 0.01), (DEEPEST, 2, 3.0), (0, 1, 0.5)]
)
def test_quantised_tile_is_within_the_bound(client, image_layer, level, tile_x, max_error, flip):
    x = flipped_x(tile_x, level) if flip else tile_x
    url = f"/layers/img-layer/{level}/0/{x}/data.f32"
    query = {"flip": str(flip).lower(), "max_error": str(max_error)}
    response = client.get(url, query)
    assert response.status_code == 200, response.content
    assert response["X-Tile-Encoding"] == "quantised-shuffle-deflate"
    assert response["X-Tile-Dtype"] in ("uint8", "uint16", "uint32")
    assert float(response["X-Tile-Max-Error"]) == max_error
    assert response["X-Tile-Shape"] == f"{TILE_SIZE},{TILE_SIZE}"
    assert response["X-Tile-Block-Size"] == str(2 ** (DEEPEST - level))
    assert "X-Tile-Exact-Because" not in response
    got = decode_quantised(response)
    expected = engine_tile(image_layer, level=level, y=0, x=x, flip=flip)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    finite = np.isfinite(expected)
    assert np.abs(got[finite].astype(np.float64) - expected[finite]).max() <= max_error


def test_each_bound_is_its_own_cached_tile_with_its_own_etag(client, image_layer):
    from django.core.cache import cache

    from maps import tile_store

    url = f"/layers/img-layer/{DEEPEST}/0/2/data.f32"
    exact = client.get(url)
    coarse = client.get(url, {"max_error": "3"})
    fine = client.get(url, {"max_error": "0.01"})
    assert len({exact["ETag"], coarse["ETag"], fine["ETag"]}) == 3
    assert len({exact.content, coarse.content, fine.content}) == 3
    # The exact tile is unchanged by quantised ones cached beside it.
    assert_same_floats(
        decode(exact.content, (TILE_SIZE, TILE_SIZE)),
        engine_tile(image_layer, level=DEEPEST, y=0, x=2),
    )
    # Warm (headers from the cached entry) and cold answers are the same.
    warm = client.get(url, {"max_error": "3"})
    cache.clear()
    tile_store.recent_images.get()._entries.clear()
    cold = client.get(url, {"max_error": "3"})
    headers = (
        "X-Tile-Encoding",
        "X-Tile-Dtype",
        "X-Tile-Base",
        "X-Tile-Step",
        "X-Tile-Max-Error",
    )
    for answer in (warm, cold):
        assert answer.content == coarse.content
        assert [answer[h] for h in (*headers, "ETag")] == [coarse[h] for h in (*headers, "ETag")]
    # 3 and 3.0 are the same bound.
    assert client.get(url, {"max_error": "3.0"})["ETag"] == coarse["ETag"]
    revalidated = client.get(url, {"max_error": "3"}, HTTP_IF_NONE_MATCH=coarse["ETag"])
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    # A 304's headers replace the client's stored ones: none that depend on the body.
    assert not set(headers) & set(revalidated.headers)


def test_a_bound_below_float32_resolution_answers_the_exact_tile_and_says_so(client, image_layer):
    url = f"/layers/img-layer/{DEEPEST}/0/2/data.f32"
    response = client.get(url, {"max_error": "1e-30"})
    assert response.status_code == 200
    assert response["X-Tile-Encoding"] == "float32-shuffle-deflate"
    assert response["X-Tile-Dtype"] == "float32"
    assert response["X-Tile-Max-Error"] == "0.0"
    assert response["X-Tile-Exact-Because"] == "max_error below the values' float32 resolution"
    assert "X-Tile-Base" not in response
    assert response.content == client.get(url).content


def test_auto_uses_the_layers_default_bound(client, image_layer):
    from astropy.io import fits

    from maps.engine.datatile import default_max_error, pixel_noise

    url = f"/layers/img-layer/{DEEPEST}/0/2/data.f32"
    auto = client.get(url, {"max_error": "auto"})
    assert auto.status_code == 200, auto.content
    bound = float(auto["X-Tile-Max-Error"])
    file_data = fits.getdata(image_layer.provider["filename"]).astype(np.float64)
    histogram = client.get("/histograms/data/img-layer").json()
    noise = pixel_noise(file_data[:, :-1], file_data[:, 1:])
    # The server samples neighbour pairs on a grid; the whole map agrees to a few %.
    expected = default_max_error(noise=noise, vmin=histogram["vmin"], vmax=histogram["vmax"])
    assert bound == pytest.approx(expected, rel=0.1)
    assert auto["ETag"] == client.get(url, {"max_error": repr(bound)})["ETag"]


def test_restricted_quantised_tile_stays_hidden(client, restricted_layer):
    url = "/layers/img-secret-layer/1/0/2/data.f32"
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        allowed = client.get(url, {"max_error": "auto"})
        assert allowed.status_code == 200
        assert allowed["Cache-Control"] == "private, no-cache"
    for query in ({"max_error": "auto"}, {"max_error": "1"}, {"max_error": "0"}):
        hidden = client.get(url, query)
        assert hidden.status_code == 404
        assert hidden.json() == {"detail": "No layer with that id."}
