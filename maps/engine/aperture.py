"""Statistics over a circular aperture: pixels whose centres lie within a true angle."""

import math

import numpy as np

from maps.engine.cutout import (
    check_dec,
    check_ra,
    columns_between,
    finite_degrees,
    rows_between,
)
from maps.engine.downsample import ReadWindow, gather
from maps.engine.errors import NoDataError, OutOfRangeError
from maps.engine.geometry import PixelGrid

# Rows of candidate pixels handled at once, to bound memory near the poles
# where the candidate box spans every RA.
CHUNK_PIXELS = 2_000_000


def _ra_half_width_deg(dec_deg: float, radius_deg: float) -> float:
    """Largest RA offset of a point of the spherical cap; 180 when the cap holds a pole."""
    if abs(dec_deg) + radius_deg >= 90.0:
        return 180.0
    ratio = math.sin(math.radians(radius_deg)) / math.cos(math.radians(dec_deg))
    return math.degrees(math.asin(min(1.0, ratio)))


def aperture_stats(
    *,
    read: ReadWindow,
    pixel_grid: PixelGrid,
    ra_deg: float,
    dec_deg: float,
    radius_arcmin: float,
    max_radius_arcmin: float,
) -> dict:
    """Mean, standard deviation, min and max of finite pixels within ``radius_arcmin``.

    A pixel belongs to the aperture when the great-circle angle between its
    centre and (``ra_deg``, ``dec_deg``) is at most the radius (haversine
    formula, accurate for tiny radii). The standard deviation is the
    population one (``ddof=0``).

    Returns
    -------
    dict
        ``mean``, ``std``, ``min``, ``max`` (floats) and ``n_pixels`` (int).

    Raises
    ------
    OutOfRangeError
        Non-finite position, RA beyond +-MAX_ABS_RA_DEG (see
        ``maps.engine.cutout``), Dec outside -90..90, radius not in
        ``(0, max_radius_arcmin]``.
    NoDataError
        No finite pixel centre within the radius.
    """
    ra_deg = check_ra("ra", ra_deg)
    dec_deg = check_dec("dec", dec_deg)
    radius_arcmin = finite_degrees("radius", radius_arcmin)
    if radius_arcmin <= 0:
        raise OutOfRangeError(f"radius must be positive, got {radius_arcmin} arcmin")
    if radius_arcmin > max_radius_arcmin:
        raise OutOfRangeError(
            f"radius {radius_arcmin} arcmin is larger than the limit of {max_radius_arcmin} arcmin"
        )
    radius_deg = radius_arcmin / 60.0
    rows = rows_between(
        pixel_grid, low_dec_deg=dec_deg - radius_deg, high_dec_deg=dec_deg + radius_deg
    )
    half_width = _ra_half_width_deg(dec_deg, radius_deg)
    columns = columns_between(pixel_grid, low_ra_deg=ra_deg - half_width, width_deg=2 * half_width)
    limit = math.sin(math.radians(radius_deg) / 2) ** 2
    dec0 = math.radians(dec_deg)
    half_dra = np.radians(pixel_grid.ra_of_column(columns) - ra_deg) / 2
    sin2_half_dra = np.sin(half_dra) ** 2
    wrapped = pixel_grid.wrap_columns(columns)
    selected = []
    step = max(1, CHUNK_PIXELS // len(columns))
    for start in range(0, len(rows), step):
        chunk_rows = rows[start : start + step]
        dec = np.radians(pixel_grid.dec_of_row(chunk_rows))[:, None]
        haversine = np.sin((dec - dec0) / 2) ** 2 + math.cos(dec0) * np.cos(dec) * sin2_half_dra
        values = gather(read, chunk_rows, wrapped)
        inside = (haversine <= limit) & np.isfinite(values)
        selected.append(values[inside].astype(np.float64))
    values = np.concatenate(selected)
    if values.size == 0:
        raise NoDataError("no finite pixel centre lies within the aperture")
    return {
        "mean": float(values.mean()),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
        "n_pixels": int(values.size),
    }
