"""Independent references for engine tests: astropy's WCS and full in-memory arrays.

Nothing here uses the engine's own pixel mapping or readers: positions go
through astropy's CAR projection and pixels come from ``fits.getdata``.
"""

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS


def plane_values(path, *, hdu=0, index=None) -> np.ndarray:
    """The whole plane as float64, scaled, BLANK as NaN (astropy's reading)."""
    with fits.open(path) as hdus:
        data = np.asarray(hdus[hdu].data, dtype=np.float64)
    if data.ndim == 3:
        data = data[index or 0]
    return data


def plane_wcs(path, *, hdu=0) -> WCS:
    with fits.open(path) as hdus:
        return WCS(hdus[hdu].header).celestial


def _wrap_into_array(x: np.ndarray, nx: int, period: float) -> np.ndarray:
    """astropy answers within 180 degrees of CRVAL1; move to the alias nearest the array."""
    return x - period * np.round((x - (nx - 1) / 2) / period)


def map_columns(wcs: WCS, nx: int, ra_deg: np.ndarray) -> np.ndarray:
    """Nearest array column of each RA (-1 off the map), via astropy."""
    dec_ref = np.zeros_like(ra_deg, dtype=np.float64)
    x, _ = wcs.world_to_pixel_values(ra_deg, dec_ref)
    period = 360.0 / abs(wcs.wcs.cdelt[0] * wcs.wcs.get_pc()[0, 0])
    columns = np.floor(_wrap_into_array(x, nx, period) + 0.5).astype(np.int64)
    return np.where((columns >= 0) & (columns < nx), columns, -1)


def map_rows(wcs: WCS, ny: int, dec_deg: np.ndarray) -> np.ndarray:
    ra_ref = np.full_like(dec_deg, wcs.wcs.crval[0], dtype=np.float64)
    _, y = wcs.world_to_pixel_values(ra_ref, dec_deg)
    rows = np.floor(y + 0.5).astype(np.int64)
    return np.where((rows >= 0) & (rows < ny), rows, -1)


def expected_tile(values, wcs, grid, *, level, x, y, method="mean") -> np.ndarray:
    """A tile (north up, unflipped) computed pixel block by pixel block.

    Every deepest-level pixel centre of the tile is sent through astropy's
    WCS to its nearest map pixel; a tile pixel is the mean of the finite
    values of its block (``method="mean"``) or the block's middle pixel.
    """
    size = grid.tile_size
    deepest = grid.number_of_levels - 1
    factor = 2 ** (deepest - level)
    scale = 180.0 / (size * 2**deepest)
    global_cols = x * size * factor + np.arange(size * factor)
    global_rows = y * size * factor + np.arange(size * factor)
    ny, nx = values.shape
    cols = map_columns(wcs, nx, -180.0 + (global_cols + 0.5) * scale)
    rows = map_rows(wcs, ny, -90.0 + (global_rows + 0.5) * scale)
    if method == "stride":
        cols, rows = cols[factor // 2 :: factor], rows[factor // 2 :: factor]
        factor = 1
    block_cols = np.arange(len(cols)) // factor
    block_rows = np.arange(len(rows)) // factor
    valid_cols, valid_rows = np.flatnonzero(cols >= 0), np.flatnonzero(rows >= 0)
    sub = values[np.ix_(rows[valid_rows], cols[valid_cols])]
    finite = np.isfinite(sub)
    flat = (block_rows[valid_rows][:, None] * size + block_cols[valid_cols][None, :]).ravel()
    sums = np.bincount(flat, weights=np.where(finite, sub, 0).ravel(), minlength=size * size)
    counts = np.bincount(flat, weights=finite.ravel(), minlength=size * size)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (sums / counts).reshape(size, size)
    mean[counts.reshape(size, size) == 0] = np.nan
    return mean[::-1]


def tiles_touching_map(info, level):
    """Every (x, y) of a level whose area overlaps the map's bounding box."""
    size_deg = 180.0 / 2**level
    for x in range(2 ** (level + 1)):
        ra_min = -180.0 + x * size_deg
        if ra_min >= info.bounding_right or ra_min + size_deg <= info.bounding_left:
            continue
        for y in range(2**level):
            dec_min = -90.0 + y * size_deg
            if dec_min >= info.bounding_top or dec_min + size_deg <= info.bounding_bottom:
                continue
            yield x, y
