"""GET /layers/{id}/limits (issue 13): exact answers, grants, caching and bad input."""

import numpy as np
import pytest
from astropy.io import fits
from astropy.visualization import ZScaleInterval
from django.test import override_settings

from maps.engine.sources import PixelSource
from tests.support.image_layers import make_layer

pytestmark = pytest.mark.django_db
URL = "/layers/img-layer/limits"


def finite_file_values(layer) -> np.ndarray:
    """Every finite pixel, read by astropy in file order: the map is under the sample cap."""
    data = fits.getdata(layer.provider["filename"]).astype(np.float32).ravel()
    return data[np.isfinite(data)]


def test_percentile_default_and_presets(client, image_layer):
    values = finite_file_values(image_layer).astype(np.float64)
    for query, percent in [({}, 99.5), ({"percent": "90"}, 90.0), ({"percent": "99.99"}, 99.99)]:
        response = client.get(URL, {"method": "percentile", **query})
        assert response.status_code == 200
        tail = (100 - percent) / 2
        low, high = np.nanpercentile(values, [tail, 100 - tail])
        assert response.json() == {
            "layer_id": "img-layer",
            "method": "percentile",
            "vmin": low,
            "vmax": high,
        }
    assert client.get(URL).json() == client.get(URL, {"percent": "99.5"}).json()


def test_any_percent_in_range(client, image_layer):
    values = finite_file_values(image_layer).astype(np.float64)
    body = client.get(URL, {"percent": "37.5"}).json()
    assert [body["vmin"], body["vmax"]] == np.percentile(values, [31.25, 68.75]).tolist()
    body = client.get(URL, {"percent": "100"}).json()
    assert [body["vmin"], body["vmax"]] == [float(values.min()), float(values.max())]


def test_minmax(client, image_layer):
    values = finite_file_values(image_layer)
    assert client.get(URL, {"method": "minmax"}).json() == {
        "layer_id": "img-layer",
        "method": "minmax",
        "vmin": float(values.min()),
        "vmax": float(values.max()),
    }


def test_zscale_matches_astropy_on_the_histogram_sample(client, image_layer):
    expected = ZScaleInterval().get_limits(finite_file_values(image_layer))
    body = client.get(URL, {"method": "zscale"}).json()
    assert set(body) == {"layer_id", "method", "vmin", "vmax"}
    assert (body["layer_id"], body["method"]) == ("img-layer", "zscale")
    assert body["vmin"] == pytest.approx(float(expected[0]), rel=1e-6)
    assert body["vmax"] == pytest.approx(float(expected[1]), rel=1e-6)
    assert body["vmin"] < body["vmax"]


def test_answers_are_cached_per_method_and_percent(client, image_layer, monkeypatch):
    first = {m: client.get(URL, {"method": m}).json() for m in ("minmax", "zscale", "percentile")}
    ninety = client.get(URL, {"percent": "90"}).json()

    def no_reading(*args, **kwargs):
        raise AssertionError("the sample was read again")

    monkeypatch.setattr(PixelSource, "histogram_sample", no_reading)
    for method, body in first.items():
        assert client.get(URL, {"method": method}).json() == body
    assert client.get(URL, {"percent": "90"}).json() == ninety
    assert ninety != first["percentile"]


def test_all_nan_layer_is_404(client, image_layer, make_car_map):
    path = make_car_map(
        "all_nan.fits", nx=40, ny=20, pixel_scale_deg=0.25, nan_box=(slice(None), slice(None))
    )
    make_layer("empty", path)
    for method in ("minmax", "percentile", "zscale"):
        response = client.get("/layers/empty/limits", {"method": method})
        assert response.status_code == 404
        assert response.json() == {"detail": "the layer has no finite pixel"}


def test_restricted_layer_answers_like_a_missing_one(client, restricted_layer, image_layer):
    url = "/layers/img-secret-layer/limits"
    with override_settings(AUTH_TYPE="mock", MOCK_GRANTS=frozenset({"img-secret"})):
        allowed = client.get(url, {"method": "zscale"})
        assert allowed.status_code == 200
        assert allowed.json()["layer_id"] == "img-secret-layer"
    for query in ({"method": "zscale"}, {"method": "bogus"}, {"percent": "0"}):
        hidden = client.get(url, query)
        missing = client.get("/layers/no-such-layer/limits", query)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json() == missing.json() == {"detail": "No layer with that id."}


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ({"method": "bogus"}, "method must be one of minmax, percentile, zscale, got 'bogus'"),
        ({"method": ""}, "method must be one of minmax, percentile, zscale, got ''"),
        ({"percent": "0"}, "percent must be within (0, 100], got 0"),
        ({"percent": "-5"}, "percent must be within (0, 100], got -5"),
        ({"percent": "100.5"}, "percent must be within (0, 100], got 100.5"),
        ({"percent": "abc"}, "percent must be a finite number, got 'abc'"),
        ({"percent": "nan"}, "percent must be a finite number, got 'nan'"),
        ({"percent": "1e400"}, "percent must be a finite number, got '1e400'"),
        ({"method": "zscale", "percent": "99"}, "percent applies to method=percentile only"),
        ({"method": "minmax", "percent": "99"}, "percent applies to method=percentile only"),
    ],
)
def test_bad_input_is_400(client, image_layer, query, detail):
    response = client.get(URL, query)
    assert response.status_code == 400
    assert response.json() == {"detail": detail}


def test_documented_in_openapi(client):
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/layers/{layer_id}/limits"]["get"]
    assert operation["operationId"] == "layer_limits"
    parameters = {p["name"]: p for p in operation["parameters"]}
    assert parameters["method"]["schema"]["enum"] == ["minmax", "percentile", "zscale"]
    assert set(operation["responses"]) == {"200", "400", "404"}
