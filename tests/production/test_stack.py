"""The production topology answers correctly: TLS + HTTP/2 nginx, 2 daphne workers,
PostgreSQL, memcached shared by the workers, django-cachalot across processes."""

import io
import json
import os
import subprocess
import sys
import uuid

import numpy as np
import pytest
import requests
from astropy.io import fits
from astropy.wcs import WCS

from maps.engine.file_identity import file_version
from tests.support.fits import value_at
from tests.support.stack import (
    LAYER_IDS,
    MAP_GROUP_ID,
    REPO,
    SECOND_LAYER_ID,
    SERVER_NAME,
    SOURCE_GROUP_ID,
)

pytestmark = pytest.mark.services


def get(stack, path: str, **kwargs) -> requests.Response:
    with stack.session() as session:
        return session.get(stack.base_url + path, timeout=30, **kwargs)


def test_health_through_nginx(stack):
    response = get(stack, "/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "cache": "ok"}
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_collected_static_files_are_served(stack):
    # DEBUG=no with TILEMAKER_STATIC_ROOT: served from the collectstatic folder.
    response = get(stack, "/static/frontend/js/main.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    assert b"import " in response.content
    assert get(stack, "/static/frontend/js/no-such-file.js").status_code == 404


def test_nginx_speaks_http2_over_tls(stack):
    assert stack.nginx.negotiated_protocol() == "h2"


def test_requests_over_http2_get_the_same_answers(stack):
    # curl (nghttp2) speaks HTTP/2 the way browsers do: TLS with ALPN "h2".
    result = subprocess.run(
        [
            "curl",
            "--http2",
            "--silent",
            "--show-error",
            "--cacert",
            stack.ca_file,
            "--write-out",
            "\n%{http_version} %{response_code}",
            f"{stack.base_url}/layers/synth-q",
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    body, status_line = result.stdout.rsplit("\n", 1)
    assert status_line == "2 200"
    assert json.loads(body) == expected_layer(stack, "synth-q")


def test_plain_http_is_redirected_to_https(stack):
    response = requests.get(
        f"http://127.0.0.1:{stack.nginx.http_port}/map-groups?x=1",
        headers={"Host": SERVER_NAME},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"{stack.base_url}/map-groups?x=1"


def test_worker_redirects_requests_that_did_not_come_over_https(stack):
    worker = stack.workers[0]
    response = requests.get(
        f"{worker.url}/map-groups", headers={"Host": SERVER_NAME}, allow_redirects=False
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"https://{SERVER_NAME}/map-groups"


def test_unknown_host_is_refused(stack):
    response = get(stack, "/map-groups", headers={"Host": "evil.example.org"})
    assert response.status_code == 400


def test_deploy_check_is_clean_on_the_running_stack(stack):
    result = stack.manage("check", "--deploy", "--fail-level", "WARNING", "--database", "default")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- the API contract, over HTTPS through nginx, on PostgreSQL -----------------

LAYER_EXPECTED = {
    "synth-q": {
        "layer_id": "synth-q",
        "name": "Q",
        "description": "Stokes Q",
        "grant": None,
        "quantity": "T (Q)",
        "units": "uK",
        "vmin": -300.0,
        "vmax": 300.0,
        "cmap": "RdBu_r",
        "map_group_id": MAP_GROUP_ID,
        "map_id": "synth",
        "band_id": "synth-f090",
        # 360 / 0.125 = 2880 by 1440 native pixels over the sky: 360 px tiles, 3 levels.
        "tile_size": 360,
        "number_of_levels": 3,
        "bounding_left": -180.0,
        "bounding_right": 180.0,
        "bounding_top": 30.0,
        "bounding_bottom": -60.0,
        # Pixel edges on the grid's edges: tiles need no shift.
        "pixel_scale_ra_deg": 0.125,
        "pixel_scale_dec_deg": 0.125,
        "pixel_offset_ra_deg": 0.0,
        "pixel_offset_dec_deg": 0.0,
        "stokes": "Q",
        "stokes_layers": {"I": "synth-i", "Q": "synth-q", "U": "synth-u"},
        # No POLCCONV in the file and none configured.
        "polarisation_convention": None,
    },
}


def expected_layer(stack, layer_id: str) -> dict:
    # The version the server gives its map file, computed here from the file.
    path = stack.config_path.parent / "synth_iqu.fits"
    return {**LAYER_EXPECTED[layer_id], "file_version": file_version(str(path))}


@pytest.mark.parametrize(
    ("path", "expected_ids", "id_key"),
    [
        ("/map-groups", [MAP_GROUP_ID], "map_group_id"),
        (f"/map-groups/{MAP_GROUP_ID}/maps", ["synth", "synth2"], "map_id"),
        ("/maps/synth/bands", ["synth-f090"], "band_id"),
        ("/bands/synth-f090/layers", list(LAYER_IDS), "layer_id"),
        ("/bands/synth2-f150/layers", [SECOND_LAYER_ID], "layer_id"),
        ("/sources", [SOURCE_GROUP_ID], "source_group_id"),
    ],
)
def test_catalogue_lists(stack, path, expected_ids, id_key):
    response = get(stack, path)
    assert response.status_code == 200
    assert [item[id_key] for item in response.json()] == expected_ids


def test_layer_detail(stack):
    response = get(stack, "/layers/synth-q")
    assert response.status_code == 200
    assert response.json() == expected_layer(stack, "synth-q")


def test_sources_and_boxes(stack):
    sources = get(stack, f"/sources/{SOURCE_GROUP_ID}").json()
    assert [(s["name"], s["ra"], s["dec"]) for s in sources["sources"]] == [
        (f"src{i}", 10.0 * i, -30.0 + (i % 5) * 10.0) for i in range(36)
    ]
    boxes = get(stack, "/highlights/boxes").json()
    assert [(b["name"], b["top_left_ra"], b["bottom_right_dec"]) for b in boxes] == [
        ("deep field", 40.0, -10.0)
    ]


@pytest.mark.parametrize(
    "path",
    [
        "/layers/no-such-layer",
        "/layers/no-such-layer/0/0/0/tile.png",
        "/histograms/data/no-such-layer",
        "/sources/no-such-group",
    ],
)
def test_unknown_ids_answer_json_404(stack, path):
    response = get(stack, path)
    assert response.status_code == 404
    assert set(response.json()) == {"detail"}


@pytest.mark.parametrize(("layer_id", "plane"), [("synth-i", 0), ("synth-u", 2)])
def test_fits_cutout_holds_the_sky_values(stack, layer_id, plane):
    left, right, top, bottom = 12.0, 8.0, -20.0, -24.0
    response = get(stack, f"/layers/{layer_id}/submap/{left}/{right}/{top}/{bottom}/image.fits")
    assert response.status_code == 200
    with fits.open(io.BytesIO(response.content)) as hdus:
        data = hdus[0].data.astype(np.float64)
        wcs = WCS(hdus[0].header)
    rows, cols = np.indices(data.shape)
    ra_deg, dec_deg = wcs.wcs_pix2world(cols, rows, 0)
    np.testing.assert_allclose(data, value_at(ra_deg, dec_deg, plane), rtol=1e-5, atol=1e-3)
    # 4 x 4 degrees at 0.125 degree pixels.
    assert data.shape == (32, 32)


def test_json_is_gzipped_and_tiles_are_not(stack):
    sources = get(stack, f"/sources/{SOURCE_GROUP_ID}", headers={"Accept-Encoding": "gzip"})
    assert sources.headers["Content-Encoding"] == "gzip"
    tile = get(stack, "/layers/synth-i/1/1/1/tile.png", headers={"Accept-Encoding": "gzip"})
    assert tile.status_code == 200
    assert tile.headers["Content-Type"] == "image/png"
    assert "Content-Encoding" not in tile.headers
    # requests undid the gzip: what arrived is the JSON the worker sent.
    direct = stack.workers[0].get(f"/sources/{SOURCE_GROUP_ID}")
    assert "Content-Encoding" not in direct.headers
    assert direct.json() == sources.json()


# --- several workers, one memcached ---------------------------------------------


def test_tile_rendered_by_one_worker_is_served_from_memcached_by_the_other(stack):
    first, second = stack.workers
    tile_bytes = 360 * 360 * 4
    path = "/layers/synth-q/2/2/5/tile.png?cmap=viridis"
    # Earlier tests may have cached this tile: start from an empty cache.
    stack.memcached.flush()

    before = stack.memcached.counters()
    rendered = first.get(path)
    assert rendered.status_code == 200
    after_first = stack.memcached.counters()
    # The first worker stored the float tile (and the image).
    assert after_first["bytes_read"] - before["bytes_read"] >= tile_bytes

    same = second.get(path)
    after_same = stack.memcached.counters()
    assert same.status_code == 200
    assert same.content == rendered.content
    assert same.headers["ETag"] == rendered.headers["ETag"]
    assert after_same["get_hits"] > after_first["get_hits"]
    # Served from the cache: nothing large stored again.
    assert after_same["bytes_read"] - after_first["bytes_read"] < tile_bytes

    # Another colour map needs the float data only: read from memcached, not disk.
    recoloured = second.get(path.replace("viridis", "magma"))
    after_recolour = stack.memcached.counters()
    assert recoloured.status_code == 200
    assert recoloured.content != rendered.content
    assert after_recolour["bytes_written"] - after_same["bytes_written"] >= tile_bytes
    assert after_recolour["bytes_read"] - after_same["bytes_read"] < tile_bytes


def test_cachalot_invalidation_reaches_every_worker(stack):
    # Warm on both workers; a third process (an admin's shell) writes.
    assert stack.map_group_names() == ["Production test"] * 2
    stack.rename_map_group("Renamed by another process")
    try:
        assert stack.map_group_names() == ["Renamed by another process"] * 2
    finally:
        stack.rename_map_group("Production test")
    assert stack.map_group_names() == ["Production test"] * 2


# --- the project's API tests, on PostgreSQL ------------------------------------

API_TEST_MODULES = [
    "tests/catalogs/test_catalogue_contract.py",
    "tests/catalogs/test_catalogue_walk.py",
    "tests/catalogs/test_catalogue_search.py",
    "tests/catalogs/test_catalogue_cache.py",
    "tests/site/test_openapi.py",
]


def test_api_test_modules_pass_on_postgresql(stack):
    # pytest-django creates (and drops) test_tilemaker next to the stack's database.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TILEMAKER_")}
    env["TILEMAKER_DATABASE_URL"] = stack.postgres.url
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-m",
            "not services and not browser",
            *API_TEST_MODULES,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-2000:]
    assert " passed" in result.stdout


# --- logs -------------------------------------------------------------------------


def test_logs_hold_one_line_per_request_and_no_secrets(stack):
    marker = "/layers/synth-i"
    probe = uuid.uuid4().hex
    response = get(
        stack,
        marker,
        params={
            "probe": probe,
            "code": "OAUTH-CODE-X1",
            "state": "STATE-X2",
            "access_token": "TOKEN-X3",
        },
    )
    assert response.status_code == 200
    logs = stack.logs()
    for secret in (
        "OAUTH-CODE-X1",
        "STATE-X2",
        "TOKEN-X3",
        stack.postgres.password,
        stack.env["TILEMAKER_SECRET_KEY"],
        stack.env["TILEMAKER_GITHUB_SECRET"],
    ):
        assert secret not in logs
    worker_lines = [
        json.loads(line.split(": ", 1)[1])
        for worker in stack.workers
        for line in worker.log.read_text().splitlines()
        if "tilemaker.requests:" in line
    ]
    mine = [line for line in worker_lines if probe in line["query"]]
    assert len(mine) == 1
    assert mine[0]["path"] == marker
    assert mine[0]["status"] == 200
    assert mine[0]["query"] == f"probe={probe}"
    assert mine[0]["duration_ms"] > 0
    # nginx logs the path only, never the query string.
    assert f'"path":"{marker}"' in stack.nginx.access_log.read_text(errors="replace")
    assert probe not in stack.nginx.access_log.read_text(errors="replace")
