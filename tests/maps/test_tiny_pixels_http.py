"""A layer with 1e-6 degree pixels over HTTP, and warm-up past a failing layer (issue 11.6)."""

import tracemalloc

import pytest

from maps import tiles
from maps.engine.sources import PixelSource
from tests.support import badfits
from tests.support.fits import write_big_map
from tests.support.image_layers import make_layer

TINY = badfits.TINY_PIXEL
RA_DEG = TINY["ra_left_deg"] - TINY["nx"] / 2 * TINY["pixel_scale_deg"]
DEC_DEG = TINY["dec_bottom_deg"] + TINY["ny"] / 2 * TINY["pixel_scale_deg"]
# A cold level-0 request (lookup, tile, colouring, PNG) of a 687-pixel tile; the
# old code asked for 1.3 GB and more, then answered 500.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


def _tile_url(level: int) -> str:
    size_deg = 180.0 / 2**level
    x, y = int((RA_DEG + 180) // size_deg), int((DEC_DEG + 90) // size_deg)
    return f"/layers/tiny/{level}/{y}/{x}/tile.png"


@pytest.fixture
def tiny_layer(db, tmp_path):
    layer = make_layer("tiny", badfits.tiny_pixel(tmp_path / "tiny.fits"))
    assert (layer.tile_size, layer.number_of_levels) == (687, 19)
    return layer


def test_every_level_of_a_tiny_pixel_layer_answers_with_little_memory(client, tiny_layer):
    tracemalloc.start()
    try:
        response = client.get(_tile_url(0))
        peak_bytes = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert peak_bytes < MAX_REQUEST_BYTES
    for level in range(1, 19):
        response = client.get(_tile_url(level))
        assert response.status_code == 200, (level, response.content[:200])
    for url in ("/layers/tiny/0/0/0/tile.png", "/layers/tiny/18/0/0/tile.png"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json() == {"detail": "the tile is outside the map"}
    assert client.get("/layers/tiny/19/0/0/tile.png").status_code == 404


def test_warm_up_goes_on_past_a_layer_that_fails_unexpectedly(db, tmp_path, monkeypatch):
    make_layer("first", write_big_map(tmp_path / "first.fits"))
    broken = make_layer("broken", write_big_map(tmp_path / "broken.fits"))
    make_layer("tiny", badfits.tiny_pixel(tmp_path / "tiny.fits"))
    make_layer("last", write_big_map(tmp_path / "last.fits"))
    build = PixelSource.build_overview

    def fail_for_broken(source):
        if source.info.path == broken.provider["filename"]:
            raise MemoryError("Unable to allocate 43.0 GiB")
        build(source)

    monkeypatch.setattr(PixelSource, "build_overview", fail_for_broken)
    lines = []
    tiles.precache_all(log=lines.append, force=True)
    assert "precache: broken: skipped (MemoryError: Unable to allocate 43.0 GiB)" in lines
    for layer_id in ("first", "tiny", "last"):
        assert any(line.startswith(f"precache: {layer_id} in ") for line in lines), lines
    # first and last: both level-0 tiles; tiny: the one holding the map.
    assert lines[-1].startswith("precache: done, 4 layer(s), 5 tile(s) in ")
