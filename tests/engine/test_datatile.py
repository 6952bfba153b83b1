"""The data tile encoding: byte-shuffled little-endian float32 in a zlib stream."""

import zlib

import numpy as np
import pytest

from maps.engine.datatile import (
    DATA_TILE_ENCODING,
    QUANTISED_ENCODING,
    decode_data_tile,
    decode_quantised_tile,
    default_max_error,
    encode_data_tile,
    encode_quantised_tile,
    pixel_noise,
    shuffle_bytes,
)


def test_layout_of_a_known_tile():
    # 1.0 is 0x3F800000 and -2.0 0xC0000000, little-endian bytes 00 00 80 3F and 00 00 00 C0.
    data = np.array([[1.0, -2.0]], dtype=np.float32)
    assert shuffle_bytes(data) == bytes([0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x3F, 0xC0])
    assert zlib.decompress(encode_data_tile(data)) == shuffle_bytes(data)


@pytest.mark.parametrize("dtype", [">f4", "<f4", "f8"])
def test_round_trip_keeps_every_bit(dtype):
    rng = np.random.default_rng(1)
    data = rng.normal(0, 100, (37, 53)).astype(np.float32)
    data[3, :10] = np.nan
    data[4, 0], data[4, 1], data[4, 2] = -0.0, np.inf, -np.inf
    data[5, 0] = np.float32(1e-45)
    body = encode_data_tile(data.astype(dtype) if dtype != "f8" else data.astype(np.float64))
    got = decode_data_tile(body, data.shape)
    assert got.dtype == np.float32
    assert np.array_equal(got.view(np.uint32), data.view(np.uint32))


def test_a_mirrored_view_is_encoded_as_shown():
    data = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert np.array_equal(decode_data_tile(encode_data_tile(data[:, ::-1]), (3, 4)), data[:, ::-1])


@pytest.mark.parametrize(
    ("body", "message"),
    [(b"junk", "not a zlib stream"), (zlib.compress(b"abc"), "expected 48 bytes")],
)
def test_bad_bodies(body, message):
    with pytest.raises(ValueError, match=message):
        decode_data_tile(body, (3, 4))


# --- Quantised tiles -----------------------------------------------------------


def _decode(tile, shape):
    return decode_quantised_tile(tile.body, shape, dtype=tile.dtype, base=tile.base, step=tile.step)


@pytest.mark.parametrize(
    ("scale", "max_error", "dtype"),
    [(1.0, 0.5, "uint8"), (100.0, 0.1, "uint16"), (1e5, 0.1, "uint32"), (1e-30, 1e-33, "uint16")],
)
def test_quantised_values_are_within_the_bound_and_nan_stays_nan(scale, max_error, dtype):
    rng = np.random.default_rng(2)
    data = (rng.normal(0, scale, (41, 37))).astype(np.float32)
    data[np.abs(data) > 3 * scale] = 0
    data[5, :7] = np.nan
    tile = encode_quantised_tile(data, max_error)
    assert (tile.encoding, tile.dtype, tile.max_error, tile.fallback) == (
        QUANTISED_ENCODING,
        dtype,
        max_error,
        None,
    )
    assert tile.base == float(np.nanmin(data))
    got = _decode(tile, data.shape)
    assert got.dtype == np.float32
    assert np.array_equal(np.isnan(got), np.isnan(data))
    finite = np.isfinite(data)
    assert np.abs(got[finite].astype(np.float64) - data[finite]).max() <= max_error


def test_layout_of_a_known_quantised_tile():
    # base 1, step 2 (1 - 2**-21) (the float32 spacing at 5): codes 0, 1, 2 and NaN's 255.
    data = np.array([[1.0, 3.0], [np.nan, 5.0]], dtype=np.float32)
    tile = encode_quantised_tile(data, 1.0)
    assert (tile.dtype, tile.base, tile.step) == ("uint8", 1.0, 2 * (1 - 2**-21))
    assert zlib.decompress(tile.body) == bytes([0, 1, 255, 2])


def test_sixteen_bit_codes_are_shuffled_low_bytes_first():
    data = np.array([[0.0, 256.0, 1.0]], dtype=np.float32)
    tile = encode_quantised_tile(data, 0.5 + 2**-15)  # step 1 (256's float32 spacing is 2**-15)
    assert tile.dtype == "uint16"
    assert zlib.decompress(tile.body) == bytes([0, 0, 1, 0, 1, 0])


def test_constant_and_empty_tiles():
    constant = np.full((4, 5), 7.25, np.float32)
    tile = encode_quantised_tile(constant, 1e-6)
    assert (tile.encoding, tile.dtype) == (QUANTISED_ENCODING, "uint8")
    assert np.array_equal(_decode(tile, constant.shape), constant)
    empty = np.full((2, 3), np.nan, np.float32)
    assert np.isnan(_decode(encode_quantised_tile(empty, 1.0), empty.shape)).all()


@pytest.mark.parametrize(
    ("data", "max_error", "reason"),
    [
        (np.array([[1.0, np.inf]]), 1.0, "infinite values"),
        (np.array([[1.0, -np.inf]]), 1.0, "infinite values"),
        # E just above the float32 spacing at 1e6 (1/16) leaves a step of 2e-12.
        (np.array([[0.0, 1e6]]), 0.0625 + 1e-12, "range needs more than 2**32 - 1 codes"),
        (np.array([[-3e38, 3e38]]), 1e31, "max_error below the values' float32 resolution"),
        (np.array([[1e6, 1e6 + 0.0625]]), 0.0625, "max_error below the values' float32 resolution"),
    ],
)
def test_tiles_that_cannot_be_quantised_are_sent_exact_and_say_why(data, max_error, reason):
    data = data.astype(np.float32)
    tile = encode_quantised_tile(data, max_error)
    assert (tile.encoding, tile.dtype, tile.max_error, tile.fallback) == (
        DATA_TILE_ENCODING,
        "float32",
        0.0,
        reason,
    )
    assert np.array_equal(decode_data_tile(tile.body, data.shape), data)


@pytest.mark.parametrize("max_error", [0.0, -1.0, np.nan, np.inf])
def test_max_error_must_be_finite_and_positive(max_error):
    with pytest.raises(ValueError, match="finite and > 0"):
        encode_quantised_tile(np.zeros((2, 2), np.float32), max_error)


def test_pixel_noise_finds_white_noise_under_structure():
    rng = np.random.default_rng(3)
    sky = np.cumsum(rng.normal(0, 0.01, 20001))  # smooth on the pixel scale
    noisy = sky + rng.normal(0, 2.0, sky.size)
    noisy[::100] = np.nan
    assert pixel_noise(noisy[:-1:2], noisy[1::2]) == pytest.approx(2.0, rel=0.05)
    assert pixel_noise(np.array([np.nan]), np.array([1.0])) == 0.0


@pytest.mark.parametrize(
    ("noise", "vmin", "vmax", "expected"),
    [(30.0, -300.0, 300.0, 3.0), (0.0, -300.0, 300.0, 0.6), (0.0, 5.0, 5.0, 5 * 2.0**-20)],
)
def test_default_max_error(noise, vmin, vmax, expected):
    assert default_max_error(noise=noise, vmin=vmin, vmax=vmax) == pytest.approx(expected)
