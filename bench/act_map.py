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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.support.fits import car_header

BENCH_DIR = Path("/tmp/tilemaker-bench")
ACT_MAP = BENCH_DIR / "act_f090_v2.fits"
NX, NY, N_PLANES = 43200, 10320, 3
PIXEL_SCALE_DEG = 0.5 / 60
DEC_BOTTOM_DEG = -63.0
NOISE_UK = (30.0, 8.0, 8.0)
CMB_UK = (100.0, 3.0, 3.0)


def act_header() -> fits.Header:
    """The primary header: RA 0 at the middle column, as pixell writes ACT maps."""
    header = fits.Header([("SIMPLE", True), ("BITPIX", -32)])
    header.extend(
        car_header(
            nx=NX,
            ny=NY,
            pixel_scale_deg=PIXEL_SCALE_DEG,
            ra_left_deg=NX / 2 * PIXEL_SCALE_DEG,
            dec_bottom_deg=DEC_BOTTOM_DEG,
            n_planes=N_PLANES,
        ),
        strip=False,
    )
    return header


def _smooth_field(
    coarse: np.ndarray, *, y0: int, rows: int, amplitude: float, step: int
) -> np.ndarray:
    """Large-scale structure: a coarse random grid, bilinearly interpolated to full resolution."""
    x_coarse = np.arange(coarse.shape[1]) * step
    y = (np.arange(y0, y0 + rows) / step).astype(np.float32)
    below = np.floor(y).astype(int)
    weight = (y - below).astype(np.float32)[:, None]
    x = np.arange(NX, dtype=np.float32)
    needed = np.arange(below.min(), below.max() + 2)
    along_x = {i: np.interp(x, x_coarse, coarse[i]).astype(np.float32) for i in needed}
    lower = np.stack([along_x[i] for i in below])
    upper = np.stack([along_x[i + 1] for i in below])
    return np.float32(amplitude) * ((1 - weight) * lower + weight * upper)


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
    step = 30  # coarse grid spacing in pixels: 15 arcmin, about a CMB degree-scale blob
    for plane in range(N_PLANES):
        coarse = rng.standard_normal((NY // step + 2, NX // step + 2)).astype(np.float32)
        for y0 in range(0, NY, chunk_rows):
            rows = min(chunk_rows, NY - y0)
            block = _smooth_field(coarse, y0=y0, rows=rows, amplitude=CMB_UK[plane], step=step)
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
