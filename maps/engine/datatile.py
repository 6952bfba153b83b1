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

Quantised tiles (``QUANTISED_ENCODING``, ``data.f32?max_error=E``) trade the
exact values for a stated maximum absolute error E, like LERC: every finite
value becomes the unsigned integer ``q = round((v - base) / step)`` with
``base`` the tile's smallest finite value and ``step`` just under ``2 E``
(by twice the float32 spacing of the tile's largest value),
stored in the narrowest of uint8/uint16/uint32 that holds the tile's range
plus one reserved code, the type's largest, for NaN; then byte-shuffled and
deflated like the float tiles. The decoder computes
``float32(base + q * step)`` in float64 (the same IEEE operations in Python
and JavaScript, so the same float32), and the encoder checks that every
decoded value is within E of the original before answering; a tile it
cannot quantise within E (infinite values, a range over uint32's, or an E
not above the float32 spacing of its values) is sent exact instead, and
says so.
On the ACT-scale bench map at E = 1/10 of the noise the native I tile is
323 kB against 1.53 MB exact and 458 kB for the palette PNG. Storing the
difference to the left neighbour instead of q was measured and not taken:
on noise-dominated native tiles it deflates 25 % worse (406 kB, the
difference of two noisy values is noisier), on smooth coarse tiles 10 %
better; the native tiles are the ones whose values the readout shows.
"""

import math
import zlib
from dataclasses import dataclass

import numpy as np

DATA_TILE_ENCODING = "float32-shuffle-deflate"
DATA_TILE_DTYPE = "float32"
# zlib level 6 saves 1-2 % of the bytes of level 1 on the bench map's tiles
# (the noisy low bytes do not compress at any level) for twice the time:
# 54-105 ms instead of 27-48 ms per tile.
DATA_TILE_ZLIB_LEVEL = 1
_LITTLE_FLOAT32 = np.dtype("<f4")
QUANTISED_ENCODING = "quantised-shuffle-deflate"
_CODE_DTYPES = (np.dtype("<u1"), np.dtype("<u2"), np.dtype("<u4"))


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


def shuffle_code_bytes(codes: np.ndarray) -> bytes:
    """The byte-shuffled little-endian bytes of an unsigned integer array (C order)."""
    width = codes.dtype.itemsize
    return np.ascontiguousarray(codes).reshape(-1).view(np.uint8).reshape(-1, width).T.tobytes()


@dataclass(frozen=True)
class EncodedDataTile:
    """A data tile body and what a client needs to read it.

    ``encoding`` is ``DATA_TILE_ENCODING`` (exact float32; ``max_error``
    0, ``base``/``step`` None) or ``QUANTISED_ENCODING``; ``dtype`` the
    stored values' type (float32, uint8, uint16 or uint32); ``fallback``
    why a quantised tile was asked for and an exact one is sent, else None.
    """

    body: bytes
    encoding: str
    dtype: str
    max_error: float
    base: float | None
    step: float | None
    fallback: str | None = None


def encode_quantised_tile(
    data: np.ndarray, max_error: float, *, level: int = DATA_TILE_ZLIB_LEVEL
) -> EncodedDataTile:
    """A data tile whose every value is within ``max_error`` of ``data``'s, or exact.

    Parameters
    ----------
    data : ndarray
        The tile, row 0 north (mirror it first for a flipped view).
    max_error : float
        E, in the data's units: finite and > 0.
    level : int
        zlib compression level, 0..9.

    Returns
    -------
    EncodedDataTile
        Quantised as the module docstring says; exact float32
        (``encode_data_tile``) with ``fallback`` saying why when the tile
        holds infinities, its range needs more than 2**32 - 1 codes, or
        float32 rounding would exceed E. NaN decodes as NaN.

    Raises
    ------
    ValueError
        When ``max_error`` is not finite and positive.
    """
    if not (math.isfinite(max_error) and max_error > 0):
        raise ValueError(f"max_error must be finite and > 0, got {max_error!r}")
    values = np.asarray(data, dtype=np.float32).astype(np.float64)
    finite = np.isfinite(values)
    fallback = None
    if np.isinf(values).any():
        fallback = "infinite values"
    else:
        # step = 2 (E - u), u the float32 spacing at the tile's largest
        # magnitude: rounding to the nearest code leaves at most E - u, and
        # rounding the decoded value to float32 at most u / 2 more.
        largest = np.abs(values[finite]).max(initial=0.0)
        spacing = float(np.spacing(np.float32(largest)))
        step = 2 * (max_error - spacing)
        base = float(values[finite].min()) if finite.any() else 0.0
        top = float(np.rint((values[finite].max(initial=base) - base) / step)) if step > 0 else 0.0
        dtype = next((d for d in _CODE_DTYPES if top < np.iinfo(d).max), None)
        if step <= 0:
            fallback = "max_error below the values' float32 resolution"
        elif not math.isfinite(top) or dtype is None:
            fallback = "range needs more than 2**32 - 1 codes"
        else:
            nan_code = np.iinfo(dtype).max
            codes = np.where(finite, np.rint((values - base) / step), nan_code).astype(dtype)
            decoded = decode_codes(codes, base=base, step=step)[finite].astype(np.float64)
            # The bound above holds by construction; checked, not assumed.
            if np.abs(decoded - values[finite]).max(initial=0) > max_error:
                fallback = "max_error below the values' float32 resolution"
            else:
                return EncodedDataTile(
                    body=zlib.compress(shuffle_code_bytes(codes), level),
                    encoding=QUANTISED_ENCODING,
                    dtype=dtype.name,
                    max_error=float(max_error),
                    base=base,
                    step=step,
                )
    return EncodedDataTile(
        body=encode_data_tile(data, level=level),
        encoding=DATA_TILE_ENCODING,
        dtype=DATA_TILE_DTYPE,
        max_error=0.0,
        base=None,
        step=None,
        fallback=fallback,
    )


def decode_codes(codes: np.ndarray, *, base: float, step: float) -> np.ndarray:
    """Quantised codes back to float32: ``float32(base + q * step)``, the largest code NaN."""
    decoded = (base + codes.astype(np.float64) * step).astype(np.float32)
    decoded[codes == np.iinfo(codes.dtype).max] = np.nan
    return decoded


def decode_quantised_tile(
    body: bytes, shape: tuple[int, int], *, dtype: str, base: float, step: float
) -> np.ndarray:
    """Inverse of ``encode_quantised_tile`` for a quantised body (benchmarks, tests).

    Raises
    ------
    ValueError
        When the body is not a zlib stream of ``prod(shape)`` values of ``dtype``.
    """
    code_dtype = np.dtype(dtype).newbyteorder("<")
    if code_dtype not in _CODE_DTYPES:
        raise ValueError(f"unknown code dtype {dtype!r}")
    try:
        shuffled = zlib.decompress(body)
    except zlib.error as error:
        raise ValueError(f"not a zlib stream: {error}") from None
    width, count = code_dtype.itemsize, int(np.prod(shape))
    planes = np.frombuffer(shuffled, dtype=np.uint8)
    if planes.size != width * count:
        raise ValueError(f"expected {width * count} bytes for shape {shape}, got {planes.size}")
    codes = planes.reshape(width, count).T.copy().view(code_dtype).reshape(shape)
    return decode_codes(codes, base=base, step=step)


def pixel_noise(left: np.ndarray, right: np.ndarray) -> float:
    """Robust white-noise level of a map from pairs of horizontally neighbouring pixels.

    The MAD of the neighbours' differences, scaled to a Gaussian's standard
    deviation (x 1.4826) and divided by sqrt(2) (a difference of two
    independent noisy pixels has sqrt(2) times their noise). Structure on
    scales much larger than a pixel cancels in the differences, so this is
    the pixel noise, not the sky's variance. NaN pairs are ignored; 0.0
    without any pair.
    """
    differences = np.asarray(right, np.float64) - np.asarray(left, np.float64)
    differences = differences[np.isfinite(differences)]
    if differences.size == 0:
        return 0.0
    mad = np.median(np.abs(differences - np.median(differences)))
    return float(1.4826 * mad / math.sqrt(2))


# The viewer's default E: 1/10 of the pixel noise adds 0.2 % to the noise
# variance (step^2 / 12 = (0.2 sigma)^2 / 12) and shows the readout to a
# tenth of the noise; 1/5 would save another 15 % of the bytes (270 against
# 323 kB on the bench's native I tile). Noise-free maps: 1/1000 of the range.
DEFAULT_ERROR_PER_NOISE = 0.1
DEFAULT_ERROR_PER_RANGE = 1e-3


def default_max_error(*, noise: float, vmin: float, vmax: float) -> float:
    """The default E of a layer: ``noise / 10``, else ``(vmax - vmin) / 1000``, else 2**-20 of |v|.

    Parameters
    ----------
    noise : float
        ``pixel_noise`` of the layer (0 for a noise-free map).
    vmin, vmax : float
        The layer's value range (for a noise-free map).
    """
    if noise > 0 and math.isfinite(noise):
        return noise * DEFAULT_ERROR_PER_NOISE
    span = vmax - vmin
    if span > 0 and math.isfinite(span):
        return span * DEFAULT_ERROR_PER_RANGE
    return max(abs(vmin), abs(vmax), 1.0) * 2.0**-20
