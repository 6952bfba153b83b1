"""An ACT-scale CAR map for benchmarks, generated once and reused.

43200 x 10320 pixels at 0.5 arcmin, Dec -63..+23 like ACT DR6, 3 planes
(I, Q, U), float32, CDELT1 < 0: about 5.3 GB. The content is a smooth
CMB-like field (large-scale random modes) plus white noise and a grid of
point sources, so tiles compress like real maps rather than like constants.

Run ``python3 bench/act_map.py`` to create it; benchmarks import
``ensure_act_map()``.
"""

import sys
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

BENCH_DIR = Path("/tmp/tilemaker-bench")
ACT_MAP = BENCH_DIR / "act_f090.fits"
NX, NY, N_PLANES = 43200, 10320, 3
PIXEL_SCALE_DEG = 0.5 / 60
DEC_BOTTOM_DEG = -63.0
NOISE_UK = (30.0, 8.0, 8.0)
CMB_UK = (100.0, 3.0, 3.0)


def act_header() -> fits.Header:
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 3
    header["NAXIS1"] = NX
    header["NAXIS2"] = NY
    header["NAXIS3"] = N_PLANES
    header["CTYPE1"] = "RA---CAR"
    header["CTYPE2"] = "DEC--CAR"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    header["CDELT1"] = -PIXEL_SCALE_DEG
    header["CDELT2"] = PIXEL_SCALE_DEG
    header["CRVAL1"] = 0.0
    header["CRVAL2"] = 0.0
    header["CRPIX1"] = NX / 2 + 0.5
    header["CRPIX2"] = 0.5 - DEC_BOTTOM_DEG / PIXEL_SCALE_DEG
    header["BUNIT"] = "uK"
    return header


def _smooth_field(rng: np.random.Generator, rows: int, amplitude: float) -> np.ndarray:
    """Large-scale structure: a coarse random grid upsampled to full resolution."""
    factor = 60
    coarse = rng.standard_normal((rows // factor + 2, NX // factor + 2)).astype(np.float32)
    fine_rows = np.repeat(coarse, factor, axis=0)[:rows]
    return amplitude * np.repeat(fine_rows, factor, axis=1)[:, :NX]


def write_act_map(path: Path = ACT_MAP) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    header = act_header()
    header_bytes = header.tostring().encode("ascii")
    data_bytes = NX * NY * N_PLANES * 4
    padded = -(-data_bytes // 2880) * 2880
    with open(partial, "wb") as handle:
        handle.write(header_bytes)
        handle.truncate(len(header_bytes) + padded)
    data = np.memmap(
        partial, dtype=">f4", mode="r+", offset=len(header_bytes), shape=(N_PLANES, NY, NX)
    )
    rng = np.random.default_rng(2026)
    chunk_rows = 1200
    for plane in range(N_PLANES):
        for y0 in range(0, NY, chunk_rows):
            rows = min(chunk_rows, NY - y0)
            block = _smooth_field(rng, rows, CMB_UK[plane])
            block += NOISE_UK[plane] * rng.standard_normal((rows, NX), dtype=np.float32)
            if plane == 0:
                # A point source every 2 degrees so zooming shows structure.
                block[(np.arange(rows) + y0) % 240 == 120, ::240] += 5000.0
            data[plane, y0 : y0 + rows] = block
    data.flush()
    del data
    partial.rename(path)
    return path


def ensure_act_map() -> Path:
    """The benchmark map's path, writing it first if it is not there yet."""
    if not ACT_MAP.exists():
        started = time.perf_counter()
        print(f"writing {ACT_MAP} (5.3 GB) ...", file=sys.stderr, flush=True)
        write_act_map()
        print(f"  done in {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return ACT_MAP


if __name__ == "__main__":
    print(ensure_act_map())
