"""Encoders: decode what they write and compare with the colour table and the input."""

import io

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from PIL import Image

from maps.engine.colormap import (
    N_COLOURS,
    TRANSPARENT_INDEX,
    UnknownColourMapError,
    lookup_table,
)
from maps.engine.encode import (
    COLOUR_BAR_HEIGHT,
    COLOUR_BAR_WIDTH,
    FITS_RENDERER,
    IMAGE_RENDERERS,
    JPEG_BACKGROUND,
    colour_bar_png,
)
from tests.support.fits import car_header


def block_image(*, blocks=(4, 6), size=16, nan_block=(1, 2)) -> np.ndarray:
    """Flat blocks of distinct colour indices (easy on lossy codecs), one block transparent."""
    rows, cols = blocks
    levels = np.linspace(0, N_COLOURS - 1, rows * cols).astype(np.uint8).reshape(rows, cols)
    levels[nan_block] = TRANSPARENT_INDEX
    return np.ascontiguousarray(np.kron(levels, np.ones((size, size), dtype=np.uint8)))


@pytest.mark.parametrize(
    ("extension", "media_type", "pillow_format"),
    [("png", "image/png", "PNG"), ("webp", "image/webp", "WEBP"), ("jpg", "image/jpeg", "JPEG")],
)
def test_media_types_match_content(extension, media_type, pillow_format):
    renderer = IMAGE_RENDERERS[extension]
    assert renderer.format == extension
    assert renderer.media_type == media_type
    data = renderer.render(block_image(), lookup_table("viridis"))
    image = Image.open(io.BytesIO(data))
    assert image.format == pillow_format
    assert image.size == (6 * 16, 4 * 16)


def test_png_is_a_lossless_palette_image_with_transparency():
    indices = block_image(blocks=(4, 16))
    indices[0, :N_COLOURS] = np.arange(N_COLOURS)
    lut = lookup_table("RdBu_r")
    image = Image.open(io.BytesIO(IMAGE_RENDERERS["png"].render(indices, lut)))
    assert image.mode == "P"
    assert image.info["transparency"] == TRANSPARENT_INDEX
    assert np.array_equal(np.array(image), indices)
    rgba = np.array(image.convert("RGBA"))
    assert np.array_equal(rgba, lut[indices])
    assert (rgba[indices == TRANSPARENT_INDEX, 3] == 0).all()
    assert (rgba[indices != TRANSPARENT_INDEX, 3] == 255).all()


@pytest.mark.parametrize("kind", ["noise", "smooth", "mostly_missing"])
def test_png_compresses_only_what_compresses(kind):
    rng = np.random.default_rng(5)
    if kind == "noise":
        indices = rng.integers(0, N_COLOURS, (300, 300), dtype=np.uint8)
    else:
        indices = np.repeat(np.arange(300, dtype=np.uint8)[:, None] % N_COLOURS, 300, axis=1)
        if kind == "mostly_missing":
            indices[:250] = TRANSPARENT_INDEX
    data = IMAGE_RENDERERS["png"].render(indices, lookup_table("viridis"))
    assert np.array_equal(np.array(Image.open(io.BytesIO(data))), indices)
    if kind == "noise":
        assert len(data) > indices.size
    else:
        assert len(data) < indices.size / 20


def test_webp_keeps_transparency_and_approximate_colours():
    indices = block_image()
    lut = lookup_table("viridis")
    rgba = np.array(Image.open(io.BytesIO(IMAGE_RENDERERS["webp"].render(indices, lut))))
    assert rgba.shape == (*indices.shape, 4)
    transparent = indices == TRANSPARENT_INDEX
    assert (rgba[transparent, 3] == 0).all()
    assert (rgba[~transparent, 3] == 255).all()
    # Lossy: compare block interiors, away from the codec's block edges.
    interior = np.zeros_like(transparent)
    for r in range(4):
        for c in range(6):
            interior[r * 16 + 4 : r * 16 + 12, c * 16 + 4 : c * 16 + 12] = True
    opaque = interior & ~transparent
    error = np.abs(rgba[opaque, :3].astype(int) - lut[indices[opaque], :3].astype(int))
    assert np.median(error) <= 4


def test_jpeg_draws_missing_pixels_in_the_background_colour():
    indices = block_image(size=32)
    lut = lookup_table("gray")
    rgb = np.array(Image.open(io.BytesIO(IMAGE_RENDERERS["jpg"].render(indices, lut))))
    assert rgb.shape == (*indices.shape, 3)
    centre_of_nan_block = rgb[32 + 8 : 32 + 24, 64 + 8 : 64 + 24]
    assert np.abs(centre_of_nan_block.astype(int) - JPEG_BACKGROUND).max() <= 4
    centre_of_last_block = rgb[3 * 32 + 8 : 3 * 32 + 24, 5 * 32 + 8 : 5 * 32 + 24]
    assert np.abs(centre_of_last_block.astype(int) - lut[N_COLOURS - 1, :3]).max() <= 4


@pytest.mark.parametrize(
    "bad",
    [np.zeros((4, 4), dtype=np.float32), np.zeros(16, dtype=np.uint8), np.zeros((2, 2, 2), "u1")],
)
@pytest.mark.parametrize("extension", ["png", "webp", "jpg"])
def test_renderers_reject_non_index_arrays(extension, bad):
    with pytest.raises(ValueError, match="2-D uint8"):
        IMAGE_RENDERERS[extension].render(bad, lookup_table("viridis"))


def test_renderers_accept_non_contiguous_views():
    indices = block_image()
    lut = lookup_table("viridis")
    mirrored = indices[:, ::-1]
    image = Image.open(io.BytesIO(IMAGE_RENDERERS["png"].render(mirrored, lut)))
    assert np.array_equal(np.array(image), mirrored)


def test_colour_bar_runs_low_to_high():
    image = Image.open(io.BytesIO(colour_bar_png("RdBu_r")))
    assert image.format == "PNG"
    assert image.size == (COLOUR_BAR_WIDTH, COLOUR_BAR_HEIGHT)
    rgba = np.array(image.convert("RGBA"))
    lut = lookup_table("RdBu_r")
    assert (rgba == rgba[0]).all()
    assert rgba[0, 0].tolist() == lut[0].tolist()
    assert rgba[0, -1].tolist() == lut[N_COLOURS - 1].tolist()
    assert (rgba[..., 3] == 255).all()


def test_colour_bar_unknown_map():
    with pytest.raises(UnknownColourMapError):
        colour_bar_png("no_such_map")


@pytest.mark.parametrize("layer_id", ["act-f090-i", "y" * 40, "x" * 120])
def test_fits_cutout_round_trip(layer_id):
    header = car_header(nx=30, ny=20, pixel_scale_deg=0.5, ra_left_deg=10.0, dec_bottom_deg=-5.0)
    header["NAXIS"] = 2
    header["NAXIS1"] = 30
    header["NAXIS2"] = 20
    before = header.copy()
    data = np.arange(600, dtype=np.float64).reshape(20, 30)
    data[2, 3] = np.nan
    encoded = FITS_RENDERER.render(data, header=header, layer_id=layer_id, bunit="mK")
    assert FITS_RENDERER.media_type == "application/fits"
    assert header == before
    with fits.open(io.BytesIO(encoded)) as hdus:
        assert len(hdus) == 1
        out = hdus[0]
        assert out.data.dtype == np.dtype(">f4")
        assert np.array_equal(out.data, data.astype(np.float32), equal_nan=True)
        assert out.header["BUNIT"] == "mK"
        assert out.header["TM_LAYER"] == layer_id
        assert layer_id.startswith(out.header["EXTNAME"])
        source, written = WCS(header), WCS(out.header)
        pixels = np.array([[0, 0], [29, 19], [12.3, 7.7]])
        assert np.allclose(source.wcs_pix2world(pixels, 0), written.wcs_pix2world(pixels, 0))


def test_fits_keeps_the_header_units_when_none_given():
    header = car_header(nx=4, ny=3, pixel_scale_deg=1.0, ra_left_deg=2.0, dec_bottom_deg=0.0)
    encoded = FITS_RENDERER.render(np.zeros((3, 4)), header=header, layer_id="l")
    assert fits.getheader(io.BytesIO(encoded))["BUNIT"] == "uK"
