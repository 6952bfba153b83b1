"""Native-resolution cut-outs between RA/Dec bounds, with a CAR WCS.

RA bounds: a box is the shorter arc between its two RA values, whichever
is called left, so a box from RA 170 to -170 is 20 degrees wide across the
180/-180 seam (and so is one from -170 to 170). Two RA values a full turn
apart (-180 and 180) mean the whole circle. A pixel is in the box when its
centre is (edges included); the box is trimmed to the map.

RA values must lie within +-MAX_ABS_RA_DEG: every convention in use (0..360,
-180..180, or a box continuing past 360 across the seam) stays within two
turns, while a value like 1e308 overflows the degree -> pixel arithmetic
(``OverflowError`` in ``round``) and, long before that, float spacing makes
the position meaningless (1e17 degrees has a spacing of 16 degrees).
"""

import math
from dataclasses import dataclass

import numpy as np
from astropy.io import fits

from maps.engine.downsample import ReadWindow, gather
from maps.engine.errors import NoDataError, OutOfRangeError
from maps.engine.fits_source import PlaneInfo
from maps.engine.geometry import PixelGrid

# Pixel centres this close to a box edge count as inside it (float noise in
# degree -> pixel conversions of edges that sit exactly on centres).
EDGE_TOLERANCE_PIXELS = 1e-6
_COPIED_KEYS = ("RADESYS", "EQUINOX", "BUNIT")
OFF_THE_MAP = "the region does not overlap the map"
NO_PIXEL_CENTRE = "no pixel centre lies in the region"
MAX_ABS_RA_DEG = 720.0


@dataclass(frozen=True)
class Cutout:
    """Pixels in FITS order (row 0 the south edge) and their CAR header."""

    data: np.ndarray
    header: fits.Header

    @property
    def image(self) -> np.ndarray:
        """The pixels with row 0 the north edge, as an image is drawn."""
        return self.data[::-1]


def finite_degrees(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise OutOfRangeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise OutOfRangeError(f"{name} must be finite, got {value}")
    return value


def check_ra(name: str, value: float) -> float:
    """A finite RA within +-MAX_ABS_RA_DEG (see the module docstring), else ``OutOfRangeError``."""
    value = finite_degrees(name, value)
    if not -MAX_ABS_RA_DEG <= value <= MAX_ABS_RA_DEG:
        raise OutOfRangeError(
            f"{name} {value:g} is outside -{MAX_ABS_RA_DEG:g}..{MAX_ABS_RA_DEG:g} degrees"
        )
    return value


def check_dec(name: str, value: float) -> float:
    value = finite_degrees(name, value)
    if not -90.0 <= value <= 90.0:
        raise OutOfRangeError(f"{name} {value} is outside -90..90 degrees")
    return value


def ra_interval(left_ra_deg: float, right_ra_deg: float) -> tuple[float, float]:
    """``(low_ra_deg, width_deg)`` of the shorter arc between two RA values."""
    if abs(right_ra_deg - left_ra_deg) >= 360.0:
        return min(left_ra_deg, right_ra_deg), 360.0
    eastward = (right_ra_deg - left_ra_deg) % 360.0
    if eastward == 0.0:
        raise OutOfRangeError("the left and right RA are equal: the box has no width")
    if eastward <= 180.0:
        return left_ra_deg, eastward
    return right_ra_deg, 360.0 - eastward


def columns_between(grid: PixelGrid, *, low_ra_deg: float, width_deg: float) -> np.ndarray:
    """Unwrapped columns (in the map's own column order) whose centres lie in the RA arc.

    Use ``grid.wrap_columns`` for the array columns. Columns off the map at
    either end are trimmed.

    Raises
    ------
    NoDataError
        When no column of the map lies in the arc.
    """
    centre_deg = low_ra_deg + width_deg / 2
    # Pick the 360-degree alias of the arc that lands on the array.
    turns = round(((grid.nx - 1) / 2 - grid.column_coordinate(centre_deg)) * grid.cdelt1 / 360.0)
    ends = grid.column_coordinate(np.array([low_ra_deg, low_ra_deg + width_deg]) + 360.0 * turns)
    first = math.ceil(ends.min() - EDGE_TOLERANCE_PIXELS)
    last = math.floor(ends.max() + EDGE_TOLERANCE_PIXELS)
    period = grid.whole_period
    if width_deg >= 360.0 and period is not None:
        last = min(last, first + period - 1)
    if grid.nx < grid.period_columns and (ends.max() < -0.5 or ends.min() > grid.nx - 0.5):
        raise NoDataError(OFF_THE_MAP)
    if first > last:
        raise NoDataError(NO_PIXEL_CENTRE)
    columns = np.arange(first, last + 1, dtype=np.int64)
    on_map = np.flatnonzero(grid.wrap_columns(columns) >= 0)
    if len(on_map) == 0:
        raise NoDataError(OFF_THE_MAP)
    return columns[on_map[0] : on_map[-1] + 1]


def rows_between(grid: PixelGrid, *, low_dec_deg: float, high_dec_deg: float) -> np.ndarray:
    """Rows whose centres lie between two Dec values, ordered south to north.

    Raises
    ------
    NoDataError
        When no row of the map lies in the band.
    """
    ends = grid.row_coordinate(np.array([max(low_dec_deg, -90.0), min(high_dec_deg, 90.0)]))
    if ends.max() < -0.5 or ends.min() > grid.ny - 0.5:
        raise NoDataError(OFF_THE_MAP)
    first = max(math.ceil(ends.min() - EDGE_TOLERANCE_PIXELS), 0)
    last = min(math.floor(ends.max() + EDGE_TOLERANCE_PIXELS), grid.ny - 1)
    if first > last:
        raise NoDataError(NO_PIXEL_CENTRE)
    rows = np.arange(first, last + 1, dtype=np.int64)
    return rows if grid.cdelt2 > 0 else rows[::-1]


def cutout_header(info: PlaneInfo, *, columns: np.ndarray, rows: np.ndarray) -> fits.Header:
    """CAR WCS of the pixels at unwrapped ``columns`` x ``rows`` of the source.

    The reference pixel is the cut-out's middle column so that tools which
    reduce RA to within 180 degrees of CRVAL1 find every pixel.
    """
    grid = info.pixel_grid
    middle = len(columns) // 2
    header = fits.Header()
    header["WCSAXES"] = 2
    header["CTYPE1"] = "RA---CAR"
    header["CTYPE2"] = "DEC--CAR"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    header["CDELT1"] = grid.cdelt1
    header["CDELT2"] = abs(grid.cdelt2)
    header["CRPIX1"] = middle + 1.0
    header["CRVAL1"] = float(np.mod(grid.ra_of_column(columns[middle]), 360.0))
    # The source row of cut-out row r is rows[0] + r (or rows[0] - r for a
    # source stored north first); CRVAL2 is 0 in the normalised grid.
    if grid.cdelt2 > 0:
        header["CRPIX2"] = grid.crpix2 - rows[0]
    else:
        header["CRPIX2"] = rows[0] + 2 - grid.crpix2
    header["CRVAL2"] = 0.0
    for key in _COPIED_KEYS:
        if key in info.header:
            header[key] = info.header[key]
    return header


def _cutout_window(
    *,
    info: PlaneInfo,
    left_ra_deg: float,
    right_ra_deg: float,
    top_dec_deg: float,
    bottom_dec_deg: float,
    max_pixels: int,
) -> tuple[np.ndarray, np.ndarray]:
    """The checked (rows, columns) of a cut-out; ``OutOfRangeError`` as ``make_cutout``."""
    left = check_ra("left RA", left_ra_deg)
    right = check_ra("right RA", right_ra_deg)
    top = check_dec("top Dec", top_dec_deg)
    bottom = check_dec("bottom Dec", bottom_dec_deg)
    if top == bottom:
        raise OutOfRangeError("the top and bottom Dec are equal: the box has no height")
    grid = info.pixel_grid
    low_ra, width = ra_interval(left, right)
    rows = rows_between(grid, low_dec_deg=min(top, bottom), high_dec_deg=max(top, bottom))
    columns = columns_between(grid, low_ra_deg=low_ra, width_deg=width)
    pixels = len(rows) * len(columns)
    if pixels > max_pixels:
        raise OutOfRangeError(
            f"the cut-out would be {len(columns)} x {len(rows)} = {pixels} pixels, "
            f"more than the limit of {max_pixels}"
        )
    return rows, columns


def cutout_pixels(*, info: PlaneInfo, max_pixels: int, **bounds_deg: float) -> int:
    """The pixel count of the cut-out ``make_cutout`` would return, without reading any.

    Parameters
    ----------
    info : PlaneInfo
        The plane's grid.
    max_pixels : int
        As ``make_cutout``: over it raises ``OutOfRangeError``.
    **bounds_deg : float
        ``left_ra_deg``, ``right_ra_deg``, ``top_dec_deg``, ``bottom_dec_deg``.
    """
    rows, columns = _cutout_window(info=info, max_pixels=max_pixels, **bounds_deg)
    return len(rows) * len(columns)


def make_cutout(
    *,
    read: ReadWindow,
    info: PlaneInfo,
    left_ra_deg: float,
    right_ra_deg: float,
    top_dec_deg: float,
    bottom_dec_deg: float,
    max_pixels: int,
) -> Cutout:
    """Cut the box out of a plane at native resolution (see the module docstring).

    Raises
    ------
    OutOfRangeError
        Non-finite or out-of-range bounds (RA beyond +-MAX_ABS_RA_DEG, Dec
        outside -90..90), a box of zero width or height, or
        more than ``max_pixels`` pixels (checked before reading anything).
    NoDataError
        When the box misses the map or holds no finite pixel.
    """
    rows, columns = _cutout_window(
        info=info,
        left_ra_deg=left_ra_deg,
        right_ra_deg=right_ra_deg,
        top_dec_deg=top_dec_deg,
        bottom_dec_deg=bottom_dec_deg,
        max_pixels=max_pixels,
    )
    data = gather(read, rows, info.pixel_grid.wrap_columns(columns))
    if not np.isfinite(data).any():
        raise NoDataError("no data in the region")
    return Cutout(data=data, header=cutout_header(info, columns=columns, rows=rows))
