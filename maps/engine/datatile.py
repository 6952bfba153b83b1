"""Float tiles for the browser: the tile's float32 values, byte-shuffled and deflated.

Layout of a body (``DATA_TILE_ENCODING`` = ``"float32-shuffle-deflate"``):
the tile's ``rows x cols`` values (row 0 north, C order) as little-endian
IEEE float32, then *byte-shuffled*: all first bytes (least significant),
then all second bytes, third, fourth, each plane ``rows * cols`` bytes
long; then compressed as a zlib stream (RFC 1950), which is what the
Compression Streams API calls ``"deflate"``, so a browser decodes it with
``new DecompressionStream("deflate")`` and no library. Values are the
engine's float32 bit for bit: NaN stays NaN, native values are the file's.

Why shuffled float32 deflate (measured on the ACT-scale bench map, 675 x
675 tiles, ``bench/bench_data_tiles.py``): shuffling puts the sign and
exponent bytes, which repeat between neighbouring pixels, in one plane that
deflate shrinks 2.7x, while the three lower planes are noise and stay at
about 455 kB each: 1.51-1.57 MB a tile against 1.69 MB deflated unshuffled
(deflate looks for repeated byte strings, and neighbouring floats share
none) and 458 kB for the palette PNG. float16 would be 0.74-0.79 MB but
keeps 11 significant bits, not the file's values, which the readout must
show exactly.
"""

import zlib

import numpy as np

DATA_TILE_ENCODING = "float32-shuffle-deflate"
DATA_TILE_DTYPE = "float32"
# zlib level 6 saves 1-2 % of the bytes of level 1 on the bench map's tiles
# (the noisy low bytes do not compress at any level) for twice the time:
# 54-105 ms instead of 27-48 ms per tile.
DATA_TILE_ZLIB_LEVEL = 1
_LITTLE_FLOAT32 = np.dtype("<f4")


def shuffle_bytes(data: np.ndarray) -> bytes:
    """The byte-shuffled little-endian float32 bytes of ``data`` (C order), not compressed.

    Parameters
    ----------
    data : ndarray
        Any float array; converted to float32.

    Returns
    -------
    bytes
        ``4 * data.size`` bytes: byte 0 of every value, then byte 1, 2, 3.
    """
    values = np.ascontiguousarray(data, dtype=_LITTLE_FLOAT32).reshape(-1)
    return values.view(np.uint8).reshape(-1, 4).T.tobytes()


def unshuffle_bytes(shuffled: bytes, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of ``shuffle_bytes``: a float32 array of ``shape``.

    Raises
    ------
    ValueError
        When the length is not ``4 * prod(shape)``.
    """
    count = int(np.prod(shape))
    planes = np.frombuffer(shuffled, dtype=np.uint8)
    if planes.size != 4 * count:
        raise ValueError(f"expected {4 * count} bytes for shape {shape}, got {planes.size}")
    return planes.reshape(4, count).T.copy().view(_LITTLE_FLOAT32).reshape(shape)


def encode_data_tile(data: np.ndarray, *, level: int = DATA_TILE_ZLIB_LEVEL) -> bytes:
    """A data tile body: ``shuffle_bytes(data)`` compressed as a zlib stream.

    Parameters
    ----------
    data : ndarray
        The tile, row 0 north (mirror it first for a flipped view).
    level : int
        zlib compression level, 0..9.

    Returns
    -------
    bytes
        The body described in the module docstring.
    """
    return zlib.compress(shuffle_bytes(data), level)


def decode_data_tile(body: bytes, shape: tuple[int, int]) -> np.ndarray:
    """Inverse of ``encode_data_tile`` (for benchmarks and tools; the browser decodes in JS).

    Raises
    ------
    ValueError
        When the body is not a zlib stream of the right length.
    """
    try:
        shuffled = zlib.decompress(body)
    except zlib.error as error:
        raise ValueError(f"not a zlib stream: {error}") from None
    return unshuffle_bytes(shuffled, shape)
