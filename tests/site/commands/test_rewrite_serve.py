"""``serve`` while a served FITS file is copied over every 50 ms (issue 11, point 1).

The old reader touched a long-lived mapping of the file: the first access to
a truncated page killed the server with SIGBUS (exit 135). Requests that meet
a rewrite must fail alone, as JSON 404 or 503, the server must live on, and
once the rewrites stop the answers must come from the new file.
"""

import io
import json
import shutil
import threading
import time

import numpy as np
import requests
from astropy.io import fits
from PIL import Image

from maps.engine import inspect_plane
from tests.support.fits import bump_mtime, write_constant_map
from tests.support.ports import free_port
from tests.support.servers import HTTP_TIMEOUT_SECONDS, ServerProcess, run_command

REWRITE_PERIOD_SECONDS = 0.05
REWRITE_SECONDS = 4.0
LAYER = "layers/rewritten"


def served_config(path) -> dict:
    layer = {
        "layer_id": "rewritten",
        "name": "Rewritten",
        "vmin": 0,
        "vmax": 3,
        "provider": {"provider_type": "fits", "filename": str(path)},
    }
    band = {"band_id": "b", "name": "f090", "description": "", "layers": [layer]}
    one_map = {"map_id": "m", "name": "M", "description": "", "bands": [band]}
    group = {"map_group_id": "g", "name": "G", "description": "", "maps": [one_map]}
    return {"map_groups": [group]}


def native_tile_path(path) -> str:
    """The native-level tile over RA 10, Dec 2, inside the map."""
    level = inspect_plane(path).grid.number_of_levels - 1
    size_deg = 180.0 / 2**level
    x, y = int((10.0 + 180.0) // size_deg), int((2.0 + 90.0) // size_deg)
    return f"{LAYER}/{level}/{y}/{x}/tile.png"


def requests_to_make(tile: str) -> list[tuple[str, dict]]:
    return [
        (tile, {}),
        (f"{LAYER}/submap/15/5/2/-2/image.fits", {}),
        (f"{LAYER}/submap/15/5/2/-2/image.png", {}),
        ("analysis/aperture/rewritten", {"ra": 12, "dec": 0, "radius": 30}),
    ]


def tile_colour(response) -> tuple:
    return Image.open(io.BytesIO(response.content)).convert("RGBA").getpixel((300, 300))


def test_rewriting_the_served_file_every_50_ms_never_kills_the_server(workspace):
    served = workspace.maps / "served.fits"
    ones = write_constant_map(workspace.maps / "ones.fits", 1.0)
    twos = write_constant_map(workspace.maps / "twos.fits", 2.0)
    shutil.copyfile(ones, served)
    config = workspace.maps / "config.json"
    config.write_text(json.dumps(served_config(served)))
    env = workspace.env(
        TILEMAKER_DATABASE_URL=f"sqlite:///{workspace.home / 'tilemaker.sqlite3'}",
        TILEMAKER_PRECACHE="no",
    )
    imported = run_command(["import_config", str(config)], cwd=workspace.cwd, env=env)
    assert imported.returncode == 0, imported.stderr
    tile = native_tile_path(served)
    urls = requests_to_make(tile)
    with ServerProcess(["serve", "--port", str(free_port())], cwd=workspace.cwd, env=env) as server:
        server.wait_ready()
        before = server.get(tile)
        assert before.status_code == 200, before.text
        assert server.get(urls[3][0], **urls[3][1]).json()["mean"] == 1.0

        stop = threading.Event()
        answers: list[tuple[str, int, str, str | None]] = []
        failures: list[str] = []

        def hammer():
            with requests.Session() as http:
                http.trust_env = False
                while not stop.is_set():
                    for url, query in urls:
                        try:
                            response = http.get(
                                server.url + url, params=query, timeout=HTTP_TIMEOUT_SECONDS
                            )
                        except requests.RequestException as error:
                            failures.append(f"{url}: {error}")
                            return
                        answers.append(
                            (
                                url,
                                response.status_code,
                                response.headers.get("Content-Type", ""),
                                response.headers.get("Retry-After"),
                            )
                        )
                        if response.status_code != 200:
                            assert "detail" in response.json()

        clients = [threading.Thread(target=hammer) for _ in range(2)]
        for client in clients:
            client.start()
        deadline = time.monotonic() + REWRITE_SECONDS
        number = 0
        while time.monotonic() < deadline and not failures:
            # cp's way: truncate, then write the new content into the same inode.
            shutil.copyfile(twos if number % 2 == 0 else ones, served)
            number += 1
            time.sleep(REWRITE_PERIOD_SECONDS)
        shutil.copyfile(twos, served)
        bump_mtime(served)
        stop.set()
        for client in clients:
            client.join(timeout=2 * HTTP_TIMEOUT_SECONDS)

        assert not failures, failures
        assert server.process.poll() is None, server.output[-3000:]
        statuses = {status for _, status, _, _ in answers}
        assert statuses <= {200, 404, 503}, statuses
        for url, status, content_type, retry_after in answers:
            if status != 200:
                assert content_type.startswith("application/json"), (url, status)
            if status == 503:
                assert retry_after == "2", url
        assert len(answers) > len(urls)

        aperture = server.get(urls[3][0], **urls[3][1])
        assert aperture.status_code == 200, aperture.text
        assert (aperture.json()["mean"], aperture.json()["min"]) == (2.0, 2.0)
        cutout = server.get(urls[1][0])
        assert cutout.status_code == 200, cutout.text
        with fits.open(io.BytesIO(cutout.content)) as hdus:
            assert np.unique(hdus[0].data).tolist() == [2.0]
        after = server.get(tile)
        assert after.status_code == 200, after.text
        assert tile_colour(after) != tile_colour(before)
        assert server.stop() == 0
