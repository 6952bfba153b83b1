"""``dev``: the sample map, catalogue and box over HTTP, from a temporary folder."""

import io
import signal

import numpy as np
import pytest
from matplotlib import colormaps
from PIL import Image

from tests.support.ports import free_port
from tests.support.servers import ServerProcess, tree
from tilemaker_site import demo as demo_data


def tile_values(rgb: np.ndarray, *, cmap: str, vmin: float, vmax: float) -> np.ndarray:
    """Invert a colour-mapped tile: each pixel's value from its nearest colour map entry."""
    lut = (colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).astype(int)
    distances = ((rgb[:, :, None, :] - lut[None, None, :, :]) ** 2).sum(axis=-1)
    return vmin + distances.argmin(axis=-1) / 255 * (vmax - vmin)


def test_dev_serves_sample_layer_catalogue_and_box(workspace):
    cwd_before = tree(workspace.cwd)
    args = ["dev", "--port", str(free_port())]
    with ServerProcess(args, cwd=workspace.cwd, env=workspace.env()) as server:
        server.wait_ready()

        default = server.get("layers/default").json()
        layer = default["layer"]
        menu = default["default_layer_menu"]
        layers = [
            entry
            for group in menu
            for map_entry in group["maps"]
            for band in map_entry["bands"]
            for entry in band["layers"]
        ]
        assert len(layers) == 3
        assert (layer["tile_size"], layer["number_of_levels"]) == (360, 3)
        assert (layer["bounding_top"], layer["bounding_bottom"]) == (20.0, -60.0)

        # Level 0, x = 1 covers RA 0 .. 180 (left to right) and Dec 90 .. -90
        # (top to bottom) at 0.5 deg per tile pixel. The top bar of the "T"
        # (400 uK above the sky) must be much redder than the gap after it.
        tile = server.get(f"layers/{layer['layer_id']}/0/0/1/tile.png", vmin=-500, vmax=500)
        assert tile.status_code == 200, tile.text
        rgba = np.asarray(Image.open(io.BytesIO(tile.content)).convert("RGBA")).astype(int)
        assert rgba[:, :, 3][:135].max() == 0, "north of Dec 22.5 is empty"
        assert rgba[:, :, 3][145:295].min() == 255, "Dec 17.5 .. -57.5 is all data"
        values = tile_values(rgba[:, :, :3], cmap=layer["cmap"], vmin=-500, vmax=500)
        cell = demo_data.LETTER_CELL_DEG
        left_ra = demo_data.LETTERS_CENTRE_RA_DEG + 5.5 * cell
        top_dec = demo_data.LETTERS_CENTRE_DEC_DEG + 3.5 * cell

        def at(column_cell, row_cell):
            ra = left_ra - (column_cell + 0.5) * cell
            dec = top_dec - (row_cell + 0.5) * cell
            return values[int((90 - dec) / 0.5), int(ra / 0.5)]

        lit = np.median([at(c, 0) for c in range(5)])
        gap = np.median([at(5, r) for r in range(7)])
        assert lit - gap == pytest.approx(demo_data.LETTER_UK[0], abs=120)

        groups = server.get("sources").json()
        assert [group["name"] for group in groups] == ["Demo point sources"]
        sources = server.get(f"sources/{groups[0]['source_group_id']}").json()["sources"]
        assert [(s["name"], s["ra"], s["dec"]) for s in sources] == [
            (s["name"], s["ra"], s["dec"]) for s in demo_data.demo_catalog()
        ]

        boxes = server.get("highlights/boxes").json()
        (expected,) = demo_data.demo_boxes()
        assert [{key: box[key] for key in expected} for box in boxes] == [expected]

        assert server.stop(signal.SIGINT) == 0
    assert tree(workspace.cwd) == cwd_before
    assert list(workspace.tmpdir.iterdir()) == []
    assert list(workspace.home.iterdir()) == []
