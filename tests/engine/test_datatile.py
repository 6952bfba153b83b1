"""The data tile encoding: byte-shuffled little-endian float32 in a zlib stream."""

import zlib

import numpy as np
import pytest

from maps.engine.datatile import decode_data_tile, encode_data_tile, shuffle_bytes


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
