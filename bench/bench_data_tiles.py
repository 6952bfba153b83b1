"""Data tiles (``/layers/{id}/{z}/{y}/{x}/data.f32``) on the ACT-scale map, at engine level.

Prints, for 675-pixel tiles of ``bench/act_map.py``'s map (I plane, whose
native tiles are noise-dominated, 30 uK white noise over a 100 uK CMB-like
field; and Q, noise over a 3 uK field), at several levels (coarser levels
are block means, so smoother; one tile at the map's edge, mostly no data):

- bytes per tile: the palette PNG the tile endpoint sends (RdBu_r, the
  bench's range) against candidate float encodings: float32 deflated as
  is, byte-shuffled float32 deflated (the one served), byte-shuffled
  float16 deflated (lossy, for comparison only), at zlib levels 1 and 6;
  and the quantised tiles of ``max_error=E`` at the viewer's default E
  (``max_error=auto``: a tenth of the plane's pixel noise, estimated like
  the server does from neighbouring pixels on a grid) and at 2E, with
  their ratio to the PNG;
- server time per data tile: cold (float tile read from the file and
  block-averaged by the engine, then encoded), re-encoded (float tile
  already in the cache, only the encoding) and warm (the encoded body from
  the process's memory, as ``tile_store.RecentImages`` answers it);
- decode time in Python (``zlib.decompress`` + un-shuffle), a proxy for the
  browser's ``DecompressionStream`` + typed-array un-shuffle; the same for
  the quantised tile at the default E (encode includes the bound check).

Timings are engine-level (no HTTP, no Django): the HTTP overhead is the
same as for PNG tiles, measured by ``bench/bench_tiles.py``. Each time is
the median of ``REPEATS`` runs; numbers depend on the machine and its load.

Usage: ``python3 bench/bench_data_tiles.py``
"""

import math
import statistics
import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

from act_map import ensure_act_map  # noqa: E402

from maps.engine import TileIndex, source_from_provider  # noqa: E402
from maps.engine.colormap import Normalisation, colour_indices, lookup_table  # noqa: E402
from maps.engine.datatile import (  # noqa: E402
    decode_data_tile,
    decode_quantised_tile,
    default_max_error,
    encode_data_tile,
    encode_quantised_tile,
    pixel_noise,
    shuffle_bytes,
)
from maps.engine.encode import IMAGE_RENDERERS  # noqa: E402
from maps.tile_store import RecentImages  # noqa: E402

REPEATS = 5
CMAP = "RdBu_r"
PLANES = {"I": (0, -300.0, 300.0), "Q": (1, -30.0, 30.0)}
# (level, x, y) near RA 0; level 5 is native. The first four lie inside the
# map's Dec -63..+23 (noise-dominated at every level: 30 uK of white noise
# stays above float32's resolution even in 8 x 8 means); the last straddles
# its southern edge (Dec -67.5..-61.9, about 80 % no data), as tiles at a
# map's border do.
TILES = [(5, 32, 10), (4, 16, 5), (3, 8, 2), (2, 4, 1), (5, 32, 4)]


def _median_ms(function) -> tuple[float, object]:
    times, result = [], None
    for _ in range(REPEATS):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, result


def default_error(source, vmin: float, vmax: float) -> float:
    """The viewer's default E, as ``maps.tiles.layer_default_max_error`` samples it."""
    ny, nx = source.info.shape
    step = max(2, math.ceil(math.sqrt(ny * (nx - 1) / 20_000)))
    rows, cols = np.arange(step // 2, ny, step), np.arange(step // 2, nx - 1, step)
    pairs = source.take(rows=rows, cols=np.stack([cols, cols + 1], axis=1).ravel())
    noise = pixel_noise(pairs[:, 0::2], pairs[:, 1::2])
    return default_max_error(noise=noise, vmin=vmin, vmax=vmax)


def _kb(size: int) -> str:
    return f"{size / 1000:7.0f}"


def encodings(data: np.ndarray) -> dict[str, bytes]:
    raw = np.ascontiguousarray(data, dtype="<f4").tobytes()
    half = np.ascontiguousarray(data, dtype="<f2").reshape(-1)
    half_shuffled = half.view(np.uint8).reshape(-1, 2).T.tobytes()
    shuffled = shuffle_bytes(data)
    return {
        "f32 L1": zlib.compress(raw, 1),
        "f32 L6": zlib.compress(raw, 6),
        "f32-shuf L1": zlib.compress(shuffled, 1),
        "f32-shuf L6": zlib.compress(shuffled, 6),
        "f16-shuf L1": zlib.compress(half_shuffled, 1),
        "f16-shuf L6": zlib.compress(half_shuffled, 6),
    }


def main() -> None:
    path = ensure_act_map()
    names = list(encodings(np.zeros((2, 2), np.float32)))
    print(f"bytes per 675 x 675 tile (kB); PNG = palette PNG of the tile endpoint ({CMAP})")
    header = "".join(f"{name:>13}" for name in names)
    print(f"{'plane z/y/x':<14}{'PNG':>8}{header}  served/PNG{'q(E)':>8}{'q(2E)':>8}  q(E)/PNG")
    timing_rows = []
    for plane_name, (plane, vmin, vmax) in PLANES.items():
        source = source_from_provider(
            {"provider_type": "fits", "filename": str(path), "index": plane}
        )
        max_error = default_error(source, vmin, vmax)
        print(f"{plane_name}: default E = {max_error:.4g} (a tenth of the pixel noise)")
        norm = Normalisation(vmin=vmin, vmax=vmax)
        for level, x, y in TILES:
            index = TileIndex(level=level, x=x, y=y)
            cold_read_ms, data = _median_ms(
                lambda index=index, source=source: source.tile(index=index)
            )
            png = IMAGE_RENDERERS["png"].render(colour_indices(data, norm), lookup_table(CMAP))
            sizes = {name: len(body) for name, body in encodings(data).items()}
            served = sizes["f32-shuf L1"]
            quantised = encode_quantised_tile(data, max_error)
            assert quantised.fallback is None, quantised.fallback
            coarser = len(encode_quantised_tile(data, 2 * max_error).body)
            print(
                f"{plane_name} {level}/{y}/{x:<8}{_kb(len(png)):>8}"
                + "".join(f"{_kb(sizes[name]):>13}" for name in names)
                + f"  {served / len(png):9.2f}x{_kb(len(quantised.body)):>8}{_kb(coarser):>8}"
                + f"  {len(quantised.body) / len(png):7.2f}x {quantised.dtype}"
            )
            encode_ms, body = _median_ms(lambda data=data: encode_data_tile(data))
            encode6_ms, _ = _median_ms(lambda data=data: encode_data_tile(data, level=6))
            png_ms, _ = _median_ms(
                lambda data=data, norm=norm: IMAGE_RENDERERS["png"].render(
                    colour_indices(data, norm), lookup_table(CMAP)
                )
            )
            memory = RecentImages(64 * 1024 * 1024)
            memory.put("k", body)
            warm_ms, _ = _median_ms(lambda memory=memory: memory.get("k"))
            decode_ms, decoded = _median_ms(
                lambda body=body, shape=data.shape: decode_data_tile(body, shape)
            )
            assert np.array_equal(decoded, data, equal_nan=True)
            encode_q_ms, quantised = _median_ms(
                lambda data=data, e=max_error: encode_quantised_tile(data, e)
            )
            decode_q_ms, decoded = _median_ms(
                lambda q=quantised, shape=data.shape: decode_quantised_tile(
                    q.body, shape, dtype=q.dtype, base=q.base, step=q.step
                )
            )
            finite = np.isfinite(data)
            assert np.abs(decoded[finite].astype(float) - data[finite]).max() <= max_error
            times_ms = (
                cold_read_ms,
                encode_ms,
                encode6_ms,
                png_ms,
                warm_ms,
                decode_ms,
                encode_q_ms,
                decode_q_ms,
            )
            timing_rows.append((f"{plane_name} {level}/{y}/{x}", times_ms))
    print()
    print("time per tile (ms, median of 5), engine level")
    print(
        f"{'plane z/y/x':<14}{'read+mean':>10}{'encode L1':>11}{'encode L6':>11}{'PNG':>8}"
        f"{'cold':>8}{'warm':>8}{'decode':>8}{'enc q(E)':>10}{'dec q(E)':>10}"
    )
    for name, times_ms in timing_rows:
        read_ms, encode_ms, encode6_ms, png_ms, warm_ms, decode_ms, encode_q_ms, decode_q_ms = (
            times_ms
        )
        print(
            f"{name:<14}{read_ms:10.1f}{encode_ms:11.1f}{encode6_ms:11.1f}"
            f"{png_ms:8.1f}{read_ms + encode_ms:8.1f}{warm_ms:8.3f}{decode_ms:8.1f}"
            f"{encode_q_ms:10.1f}{decode_q_ms:10.1f}"
        )
    print(
        "cold = read+mean (float tile from the file; coarse levels from the file, "
        "not the overview) + encode L1; re-encoding a cached float tile costs 'encode L1'; "
        "warm = the body from the process's memory."
    )


if __name__ == "__main__":
    main()
