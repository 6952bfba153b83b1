"""Stretch parameters and the planck colour maps on the PNG tile, cut-out and colour bar endpoints.

The expected colours come from the tile's own float values (the data tile
endpoint, exact) stretched by astropy.visualization's classes.
"""

import io
import zlib

import numpy as np
import pytest
from astropy.visualization import AsinhStretch, LinearStretch, PowerStretch, SqrtStretch
from PIL import Image

from maps.engine.colormap import N_COLOURS, TRANSPARENT_INDEX, lookup_table
from tests.support.image_layers import CMAP, LEVELS, TILE_SIZE, VMAX, VMIN

pytestmark = pytest.mark.django_db
DEEPEST = LEVELS - 1
TILE = f"/layers/img-layer/{DEEPEST}/0/2/tile.png"
SUBMAP = "/layers/img-layer/submap/0/10/5/-5/image.png"


def rgba(response) -> np.ndarray:
    assert response.status_code == 200, response.content
    return np.array(Image.open(io.BytesIO(response.content)).convert("RGBA"))


def tile_values(client, url: str) -> np.ndarray:
    body = client.get(url.replace("tile.png", "data.f32")).content
    planes = np.frombuffer(zlib.decompress(body), dtype=np.uint8).reshape(4, -1)
    return np.ascontiguousarray(planes.T).view("<f4").reshape(TILE_SIZE, TILE_SIZE)


def expected_indices(values, stretch, *, vmin=VMIN, vmax=VMAX) -> np.ndarray:
    t = stretch((values.astype(np.float64) - vmin) / (vmax - vmin), clip=True)
    return indices_of(t)


def indices_of(t: np.ndarray) -> np.ndarray:
    """LUT entries of stretched values ``t`` (NaN: the transparent entry)."""
    missing = np.isnan(t)
    indices = np.clip(np.floor(np.where(missing, 0.0, t) * N_COLOURS), 0, N_COLOURS - 1)
    indices = indices.astype(int)
    indices[missing] = TRANSPARENT_INDEX
    return indices


def colour_steps(image: np.ndarray, indices: np.ndarray, cmap: str) -> np.ndarray:
    """How many LUT entries away each pixel's colour is from the expected one."""
    lut = lookup_table(cmap)
    found = np.full(indices.shape, -1)
    for entry, colour in enumerate(lut):
        found[(image == colour).all(axis=-1) & (found < 0)] = entry
    assert (found >= 0).all()
    return np.abs(found - indices)


@pytest.mark.parametrize(
    ("query", "reference"),
    [
        ({}, LinearStretch()),
        ({"stretch": "linear"}, LinearStretch()),
        ({"stretch": "sqrt"}, SqrtStretch()),
        ({"stretch": "asinh"}, AsinhStretch(a=0.1)),
        ({"stretch": "asinh", "asinh_a": "0.02"}, AsinhStretch(a=0.02)),
        ({"stretch": "power", "gamma": "2.2"}, PowerStretch(a=2.2)),
        ({"stretch": "power"}, PowerStretch(a=1.0)),
    ],
)
def test_tile_colours_follow_the_stretch(client, image_layer, query, reference):
    values = tile_values(client, TILE)
    image = rgba(client.get(TILE, query))
    steps = colour_steps(image, expected_indices(values, reference), CMAP)
    # float32 arithmetic may cross a colour boundary: one step at most, rarely.
    assert steps.max() <= 1
    assert (steps > 0).mean() < 0.01
    assert (image[np.isnan(values)][:, 3] == 0).all()


def test_log_stretch_is_not_log_norm(client, image_layer):
    query = {"vmin": "1", "vmax": "150"}
    stretched = rgba(client.get(TILE, {**query, "stretch": "log"}))
    log_norm = rgba(client.get(TILE, {**query, "log_norm": "true"}))
    assert not np.array_equal(stretched, log_norm)
    # The log stretch colours values <= vmin (the lowest colour), log_norm does not.
    values = tile_values(client, TILE)
    below = values <= 0
    assert below.any()
    assert (stretched[below][:, 3] == 255).all()
    assert (log_norm[below][:, 3] == 0).all()


def test_histogram_equalisation_is_the_layer_histograms_cdf(client, image_layer):
    values = tile_values(client, TILE).astype(np.float64)
    histogram = client.get("/histograms/data/img-layer").json()
    edges = np.array(histogram["edges"])
    below = np.concatenate([[0.0], np.cumsum(histogram["histogram"])])
    # The fraction of the layer's values within vmin..vmax that lie below
    # each value, counts spread evenly within their bins.
    low, high = np.interp([VMIN, VMAX], edges, below)
    t = (np.interp(np.clip(values, VMIN, VMAX), edges, below) - low) / (high - low)
    t[np.isnan(values)] = np.nan
    image = rgba(client.get(TILE, {"stretch": "histeq"}))
    steps = colour_steps(image, indices_of(t), CMAP)
    assert steps.max() <= 1
    assert (steps > 0).mean() < 0.01
    assert not np.array_equal(image, rgba(client.get(TILE)))


def test_stretch_parameters_are_in_the_etag(client, image_layer):
    queries = [
        {},
        {"stretch": "sqrt"},
        {"stretch": "log"},
        {"stretch": "asinh"},
        {"stretch": "asinh", "asinh_a": "0.5"},
        {"stretch": "power", "gamma": "2"},
        {"stretch": "power", "gamma": "3"},
        {"stretch": "histeq"},
        {"cmap": "planck"},
        {"cmap": "planck_r"},
    ]
    etags = {client.get(TILE, query)["ETag"] for query in queries}
    assert len(etags) == len(queries)
    assert (
        client.get(TILE, {"stretch": "sqrt"}).content
        == client.get(TILE, {"stretch": "sqrt"}).content
    )


def test_cutout_images_take_the_stretch(client, image_layer):
    plain = rgba(client.get(SUBMAP))
    stretched = rgba(client.get(SUBMAP, {"stretch": "sqrt", "cmap": "planck"}))
    assert plain.shape == stretched.shape
    assert not np.array_equal(plain, stretched)
    assert set(map(tuple, stretched.reshape(-1, 4).tolist())) <= set(
        map(tuple, lookup_table("planck").tolist())
    )


@pytest.mark.parametrize("cmap", ["planck", "planck_r", "viridis_r", "RdBu_r"])
def test_tiles_in_planck_and_reversed_maps(client, image_layer, cmap):
    values = tile_values(client, TILE)
    image = rgba(client.get(TILE, {"cmap": cmap}))
    steps = colour_steps(image, expected_indices(values, LinearStretch()), cmap)
    assert steps.max() <= 1


@pytest.mark.parametrize("cmap", ["planck", "planck_r"])
def test_colour_bar(client, cmap):
    response = client.get(f"/histograms/{cmap}.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    bar = rgba(response)
    lut = lookup_table(cmap)
    assert bar[0, 0].tolist() == lut[0].tolist()
    assert bar[0, -1].tolist() == lut[N_COLOURS - 1].tolist()
    first = [0, 0, 255, 255] if cmap == "planck" else [100, 0, 0, 255]
    assert bar[0, 0].tolist() == first


@pytest.mark.parametrize("url", [TILE, SUBMAP])
@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"stretch": "cubic"}, "stretch must be one of linear, log, sqrt, asinh, power, histeq"),
        ({"stretch": ""}, "stretch must be one of"),
        ({"stretch": "power", "gamma": "0"}, "gamma must be > 0, got 0"),
        ({"stretch": "power", "gamma": "-2"}, "gamma must be > 0, got -2"),
        ({"gamma": "abc"}, "gamma must be a finite number, got 'abc'"),
        ({"gamma": "inf"}, "gamma must be a finite number"),
        ({"stretch": "asinh", "asinh_a": "0"}, "asinh_a must be > 0, got 0"),
        ({"stretch": "asinh", "asinh_a": "-0.1"}, "asinh_a must be > 0"),
        ({"asinh_a": "nan"}, "asinh_a must be a finite number"),
        ({"cmap": "planck_rr"}, "unknown colour map 'planck_rr'"),
        ({"stretch": "histeq", "vmin": "5", "vmax": "1"}, "vmin 5 must be less than vmax 1"),
    ],
)
def test_bad_stretch_parameters(client, image_layer, url, query, detail):
    response = client.get(url, query)
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"detail"}
    assert detail in body["detail"]


def test_openapi_documents_the_stretch_parameters(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in (
        "/layers/{layer_id}/{level}/{y}/{x}/tile.{ext}",
        "/layers/{layer_id}/submap/{left}/{right}/{top}/{bottom}/image.{ext}",
    ):
        parameters = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert sorted(parameters["stretch"]["schema"]["enum"]) == [
            "asinh",
            "histeq",
            "linear",
            "log",
            "power",
            "sqrt",
        ]
        assert {"asinh_a", "gamma"} <= set(parameters)
        assert "planck" in parameters["cmap"]["description"]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("planck", None),
        ("planck_r", None),
        ("magma_r", None),
        ("planck_rr", "'planck_rr' is not a matplotlib colour map"),
    ],
)
def test_importer_and_admin_accept_planck(name, problem):
    from maps.models import colour_map_problem

    assert colour_map_problem(name) == problem
