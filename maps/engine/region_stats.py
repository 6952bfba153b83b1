"""Statistics, profiles and bounding boxes of sky regions on CAR maps, exact on the sphere.

A region is a plain dict in ICRS degrees (``sky_regions`` builds it from a
DS9/CRTF region), ``kind`` one of ``SHAPES``:

- ``circle``: ``ra_deg``, ``dec_deg``, ``radius_deg``;
- ``annulus``: ``ra_deg``, ``dec_deg``, ``inner_radius_deg``, ``outer_radius_deg``;
- ``ellipse``: ``ra_deg``, ``dec_deg``, ``width_deg``, ``height_deg`` (full axes),
  ``angle_deg``;
- ``box``: ``ra_deg``, ``dec_deg``, ``width_deg``, ``height_deg``, ``angle_deg``;
- ``polygon``: ``vertices_deg`` (``[[ra, dec], ...]``);
- ``point``: ``ra_deg``, ``dec_deg``;
- ``line``: ``start_deg`` and ``end_deg`` (``[ra, dec]``).

A pixel belongs to a region when its centre does. Circles and annuli use the
great-circle angle to the centre (haversine), so they are exact at any size.
Ellipses, boxes and polygons are tested in the gnomonic (tangent-plane)
projection at the region's centre (a polygon's: the normalised mean of its
vertices' unit vectors): gnomonic maps great circles to straight lines, so a
polygon (and a box) whose edges are great-circle arcs is exactly a planar
polygon there, and containment is exact on the sphere. A box's and an
ellipse's half-axes of angle t are tan(t) in that plane, so their boundary
crosses each axis exactly at the stated angle; an ellipse is the ellipse of
the tangent plane (the shape a DS9 user draws on a TAN image). Angles follow DS9 and the
astropy ``regions`` package on a standard (east-left) image: counter-clockwise
from west through north, so at 0 the width lies along RA.

Every region lies inside an enclosing cap (centre, radius); the candidate
pixels are the cap's bounding rows and columns (as ``maps.engine.aperture``),
counted against ``max_pixels`` before anything is read.
"""

import math

import numpy as np

from maps.engine.aperture import CHUNK_PIXELS, _ra_half_width_deg
from maps.engine.cutout import check_dec, check_ra, columns_between, finite_degrees, rows_between
from maps.engine.downsample import ReadWindow, gather
from maps.engine.errors import NoDataError, OutOfRangeError
from maps.engine.geometry import PixelGrid

SHAPES = ("circle", "annulus", "ellipse", "box", "polygon", "point", "line")
AREA_SHAPES = ("circle", "annulus", "ellipse", "box", "polygon")
# Gnomonic projection diverges at 90 degrees from its centre; regions are
# kept well inside a hemisphere.
MAX_REGION_RADIUS_DEG = 80.0


def _unit(ra_deg, dec_deg) -> np.ndarray:
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    return np.stack([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)], axis=-1)


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    """Great-circle angle between unit vectors (atan2 form: accurate at every size)."""
    return math.degrees(math.atan2(np.linalg.norm(np.cross(a, b)), float(np.dot(a, b))))


def _check_size(name: str, value: float) -> float:
    value = finite_degrees(name, value)
    if value <= 0:
        raise OutOfRangeError(f"{name} must be positive, got {value:g} degrees")
    return value


def _radec_of(vector: np.ndarray) -> tuple[float, float]:
    x, y, z = vector / np.linalg.norm(vector)
    return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.asin(max(-1.0, min(1.0, z))))


def _polygon_centre(vertices_deg: np.ndarray) -> tuple[float, float]:
    total = _unit(vertices_deg[:, 0], vertices_deg[:, 1]).sum(axis=0)
    if np.linalg.norm(total) < 1e-9:
        raise OutOfRangeError("the polygon's vertices surround no centre (it spans the sphere)")
    return _radec_of(total)


def checked_region(region: dict, *, max_vertices: int) -> dict:
    """``region`` with its numbers checked; ``OutOfRangeError`` names the first bad one.

    Parameters
    ----------
    region : dict
        A region as in the module docstring.
    max_vertices : int
        The most vertices a polygon may have.
    """
    kind = region.get("kind")
    if kind not in SHAPES:
        raise OutOfRangeError(f"kind must be one of {', '.join(SHAPES)}, got {kind!r}")
    out = {"kind": kind}
    if kind == "polygon":
        vertices = region.get("vertices_deg")
        if not isinstance(vertices, list | tuple) or not 3 <= len(vertices) <= max_vertices:
            raise OutOfRangeError(f"a polygon needs 3 to {max_vertices} vertices")
        checked = []
        for vertex in vertices:
            if not isinstance(vertex, list | tuple) or len(vertex) != 2:
                raise OutOfRangeError("each polygon vertex must be [ra_deg, dec_deg]")
            checked.append([check_ra("vertex RA", vertex[0]), check_dec("vertex Dec", vertex[1])])
        out["vertices_deg"] = checked
        return out
    if kind == "line":
        for key in ("start_deg", "end_deg"):
            end = region.get(key)
            if not isinstance(end, list | tuple) or len(end) != 2:
                raise OutOfRangeError(f"{key} must be [ra_deg, dec_deg]")
            out[key] = [check_ra(f"{key} RA", end[0]), check_dec(f"{key} Dec", end[1])]
        return out
    out["ra_deg"] = check_ra("ra_deg", region.get("ra_deg"))
    out["dec_deg"] = check_dec("dec_deg", region.get("dec_deg"))
    if kind == "circle":
        out["radius_deg"] = _check_size("radius_deg", region.get("radius_deg"))
    elif kind == "annulus":
        inner = _check_size("inner_radius_deg", region.get("inner_radius_deg"))
        outer = _check_size("outer_radius_deg", region.get("outer_radius_deg"))
        if inner >= outer:
            raise OutOfRangeError("an annulus's inner radius must be below its outer radius")
        out["inner_radius_deg"], out["outer_radius_deg"] = inner, outer
    elif kind in ("ellipse", "box"):
        out["width_deg"] = _check_size("width_deg", region.get("width_deg"))
        out["height_deg"] = _check_size("height_deg", region.get("height_deg"))
        out["angle_deg"] = finite_degrees("angle_deg", region.get("angle_deg", 0.0))
    return out


def enclosing_cap(region: dict) -> tuple[float, float, float]:
    """``(ra_deg, dec_deg, radius_deg)`` of a cap holding every point of a checked region.

    Raises
    ------
    OutOfRangeError
        When the cap is wider than ``MAX_REGION_RADIUS_DEG``.
    """
    kind = region["kind"]
    if kind == "polygon":
        vertices = np.array(region["vertices_deg"], dtype=np.float64)
        ra, dec = _polygon_centre(vertices)
        centre = _unit(ra, dec)
        # A gnomonic polygon lies in its vertices' convex hull, and the angle
        # from the tangent point grows with planar distance.
        radius = max(_angle_deg(centre, _unit(*vertex)) for vertex in vertices)
    elif kind == "line":
        start, end = _unit(*region["start_deg"]), _unit(*region["end_deg"])
        middle = start + end
        if np.linalg.norm(middle) < 1e-12:
            raise OutOfRangeError("a line between antipodes has no single great circle")
        ra, dec = _radec_of(middle)
        radius = _angle_deg(start, end) / 2
    else:
        ra, dec = region["ra_deg"], region["dec_deg"]
        if kind == "circle":
            radius = region["radius_deg"]
        elif kind == "annulus":
            radius = region["outer_radius_deg"]
        elif kind == "ellipse":
            radius = max(region["width_deg"], region["height_deg"]) / 2
        elif kind == "box":
            half_diagonal = math.hypot(
                math.tan(math.radians(region["width_deg"] / 2)),
                math.tan(math.radians(region["height_deg"] / 2)),
            )
            radius = math.degrees(math.atan(half_diagonal))
        else:
            radius = 0.0
    if radius >= MAX_REGION_RADIUS_DEG:
        raise OutOfRangeError(
            f"the region spans {radius:.4g} degrees from its centre, more than the "
            f"limit of {MAX_REGION_RADIUS_DEG:g}"
        )
    return ra, dec, radius


def _tangent_plane(ra0_deg, dec0_deg, ra_deg, dec_deg):
    """Gnomonic (xi east, eta north, in tan units) of points; NaN on the far hemisphere."""
    ra0, dec0 = math.radians(ra0_deg), math.radians(dec0_deg)
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    dra = ra - ra0
    cos_c = math.sin(dec0) * np.sin(dec) + math.cos(dec0) * np.cos(dec) * np.cos(dra)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = np.where(cos_c > 0, np.cos(dec) * np.sin(dra) / cos_c, np.nan)
        eta = np.where(
            cos_c > 0,
            (math.cos(dec0) * np.sin(dec) - math.sin(dec0) * np.cos(dec) * np.cos(dra)) / cos_c,
            np.nan,
        )
    return xi, eta


def _rotated(region: dict, xi, eta):
    """Coordinates along the width and height axes (angle from west through north)."""
    angle = math.radians(region["angle_deg"])
    along_width = -xi * math.cos(angle) + eta * math.sin(angle)
    along_height = xi * math.sin(angle) + eta * math.cos(angle)
    return along_width, along_height


def _inside_polygon(x, y, vx: np.ndarray, vy: np.ndarray) -> np.ndarray:
    """Even-odd rule, vectorised over points, looping over edges."""
    inside = np.zeros(np.broadcast(x, y).shape, dtype=bool)
    for i in range(len(vx)):
        x1, y1, x2, y2 = vx[i - 1], vy[i - 1], vx[i], vy[i]
        crosses = (y1 > y) != (y2 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
        inside ^= crosses & (x < x_cross)
    return inside


def contains(region: dict, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
    """Whether points (broadcast arrays, degrees) lie in a checked area region.

    Parameters
    ----------
    region : dict
        A checked region whose kind is in ``AREA_SHAPES``.
    ra_deg, dec_deg : numpy.ndarray
        Positions, broadcast against each other.

    Returns
    -------
    numpy.ndarray
        Booleans of the broadcast shape (see the module docstring for the rule).
    """
    kind = region["kind"]
    if kind in ("circle", "annulus"):
        dec0 = math.radians(region["dec_deg"])
        dec = np.radians(dec_deg)
        half_dra = np.radians(np.asarray(ra_deg) - region["ra_deg"]) / 2
        haversine = (
            np.sin((dec - dec0) / 2) ** 2 + math.cos(dec0) * np.cos(dec) * np.sin(half_dra) ** 2
        )
        outer = region["radius_deg"] if kind == "circle" else region["outer_radius_deg"]
        inside = haversine <= math.sin(math.radians(outer) / 2) ** 2
        if kind == "annulus":
            inside &= haversine > math.sin(math.radians(region["inner_radius_deg"]) / 2) ** 2
        return inside
    if kind == "polygon":
        vertices = np.array(region["vertices_deg"], dtype=np.float64)
        ra0, dec0 = _polygon_centre(vertices)
        vx, vy = _tangent_plane(ra0, dec0, vertices[:, 0], vertices[:, 1])
        x, y = _tangent_plane(ra0, dec0, ra_deg, dec_deg)
        return _inside_polygon(x, y, vx, vy) & np.isfinite(x)
    x, y = _tangent_plane(region["ra_deg"], region["dec_deg"], ra_deg, dec_deg)
    along_width, along_height = _rotated(region, x, y)
    # A half-axis of angle t is tan(t) in the plane: the boundary crosses
    # each axis exactly at the stated angle from the centre.
    a = math.tan(math.radians(region["width_deg"] / 2))
    b = math.tan(math.radians(region["height_deg"] / 2))
    with np.errstate(invalid="ignore"):
        if kind == "ellipse":
            return (along_width / a) ** 2 + (along_height / b) ** 2 <= 1.0
        return (np.abs(along_width) <= a) & (np.abs(along_height) <= b)


def _candidates(pixel_grid: PixelGrid, ra_deg: float, dec_deg: float, radius_deg: float):
    """Rows and unwrapped columns of the cap's bounding box on the map."""
    rows = rows_between(
        pixel_grid, low_dec_deg=dec_deg - radius_deg, high_dec_deg=dec_deg + radius_deg
    )
    half_width = _ra_half_width_deg(dec_deg, radius_deg)
    columns = columns_between(pixel_grid, low_ra_deg=ra_deg - half_width, width_deg=2 * half_width)
    return rows, columns


def _pixel_scale_deg(pixel_grid: PixelGrid) -> float:
    return min(abs(pixel_grid.cdelt1), abs(pixel_grid.cdelt2))


def _summary(values: np.ndarray) -> dict:
    if values.size == 0:
        raise NoDataError("no finite pixel centre lies in the region")
    return {
        "n_pixels": int(values.size),
        "sum": float(values.sum()),
        "mean": float(values.mean()),
        "median": float(np.median(values)),
        "std": float(values.std()),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def region_values(
    *, read: ReadWindow, pixel_grid: PixelGrid, region: dict, max_pixels: int
) -> np.ndarray:
    """Finite float64 values of the pixels whose centres lie in a checked region.

    A point region holds the one pixel whose centre is nearest to it.

    Raises
    ------
    OutOfRangeError
        When the candidate box holds more than ``max_pixels`` pixels (checked
        before reading) or the region is too wide (``enclosing_cap``).
    NoDataError
        When the region misses the map.
    """
    if region["kind"] == "point":
        row = pixel_grid.nearest_rows(region["dec_deg"])
        column = pixel_grid.nearest_columns(region["ra_deg"])
        if row < 0 or column < 0:
            raise NoDataError("the point is off the map")
        value = gather(read, np.array([row]), np.array([column])).ravel()
        return value[np.isfinite(value)].astype(np.float64)
    ra_deg, dec_deg, radius_deg = enclosing_cap(region)
    rows, columns = _candidates(pixel_grid, ra_deg, dec_deg, radius_deg)
    count = len(rows) * len(columns)
    if count > max_pixels:
        raise OutOfRangeError(
            f"the region's bounding box holds {count} pixels, more than the limit of {max_pixels}"
        )
    ra_of_columns = pixel_grid.ra_of_column(columns)
    wrapped = pixel_grid.wrap_columns(columns)
    selected = []
    step = max(1, CHUNK_PIXELS // len(columns))
    for start in range(0, len(rows), step):
        chunk_rows = rows[start : start + step]
        dec = pixel_grid.dec_of_row(chunk_rows)[:, None]
        inside = contains(region, ra_of_columns[None, :], dec)
        if not inside.any():
            continue
        values = gather(read, chunk_rows, wrapped)
        selected.append(values[inside & np.isfinite(values)].astype(np.float64))
    return np.concatenate(selected) if selected else np.empty(0)


def region_stats(
    *,
    read: ReadWindow,
    pixel_grid: PixelGrid,
    region: dict,
    max_pixels: int,
    background: dict | None = None,
) -> dict:
    """Pixel count, sum, mean, median, std (``ddof=0``), min and max inside a region.

    Parameters
    ----------
    read : ReadWindow
        The plane's window reader.
    pixel_grid : PixelGrid
        The plane's grid.
    region : dict
        A checked area or point region (see ``checked_region``).
    max_pixels : int
        Cap on the candidate pixels of the region and of the background.
    background : dict, optional
        For a circle: ``inner_radius_deg`` and ``outer_radius_deg`` of an
        annulus around the same centre. Adds ``background`` (its statistics,
        per pixel), and ``background_subtracted_sum`` = sum - n_pixels x the
        background's median (median: robust to a source in the annulus, as
        in photutils' usual practice; the mean is in ``background`` too).

    Raises
    ------
    OutOfRangeError
        A line region (use ``line_profile``), a background for a non-circle,
        or more than ``max_pixels`` candidates.
    NoDataError
        No finite pixel in the region (or in the background annulus).
    """
    if region["kind"] == "line":
        raise OutOfRangeError("a line has no area: ask for its profile")
    stats = _summary(
        region_values(read=read, pixel_grid=pixel_grid, region=region, max_pixels=max_pixels)
    )
    if background is not None:
        if region["kind"] != "circle":
            raise OutOfRangeError("a background annulus goes with a circle region only")
        annulus = checked_region(
            {
                "kind": "annulus",
                "ra_deg": region["ra_deg"],
                "dec_deg": region["dec_deg"],
                "inner_radius_deg": background.get("inner_radius_deg"),
                "outer_radius_deg": background.get("outer_radius_deg"),
            },
            max_vertices=0,
        )
        values = region_values(
            read=read, pixel_grid=pixel_grid, region=annulus, max_pixels=max_pixels
        )
        if values.size == 0:
            raise NoDataError("no finite pixel centre lies in the background annulus")
        stats["background"] = _summary(values)
        stats["background_subtracted_sum"] = stats["sum"] - stats["n_pixels"] * float(
            np.median(values)
        )
    return stats


def line_profile(
    *, read: ReadWindow, pixel_grid: PixelGrid, region: dict, max_samples: int
) -> dict:
    """Values along a line region's great circle, one sample per pixel scale.

    Samples are spaced evenly along the shorter great-circle arc from start to
    end, at most the map's pixel scale apart, each taking the value of the
    pixel whose centre is nearest (NaN, reported as None by callers, off the
    map or where the pixel has no data).

    Returns
    -------
    dict
        ``offset_deg``, ``ra_deg``, ``dec_deg`` and ``value`` lists of equal length.

    Raises
    ------
    OutOfRangeError
        More than ``max_samples`` samples.
    """
    start, end = _unit(*region["start_deg"]), _unit(*region["end_deg"])
    length_deg = _angle_deg(start, end)
    count = max(2, math.ceil(length_deg / _pixel_scale_deg(pixel_grid)) + 1)
    if count > max_samples:
        raise OutOfRangeError(
            f"the line needs {count} samples at the pixel scale, "
            f"more than the limit of {max_samples}"
        )
    fraction = np.linspace(0.0, 1.0, count)
    omega = math.radians(length_deg)
    if omega < 1e-12:
        points = np.repeat(start[None, :], count, axis=0)
    else:
        points = (
            np.sin((1 - fraction) * omega)[:, None] * start
            + np.sin(fraction * omega)[:, None] * end
        ) / math.sin(omega)
    ra = np.degrees(np.arctan2(points[:, 1], points[:, 0])) % 360.0
    dec = np.degrees(np.arcsin(np.clip(points[:, 2], -1.0, 1.0)))
    values = np.full(count, np.nan)
    row = pixel_grid.nearest_rows(dec)
    column = pixel_grid.nearest_columns(ra)
    on_map = (row >= 0) & (column >= 0)
    for index in np.flatnonzero(on_map):
        values[index] = gather(read, row[index : index + 1], column[index : index + 1])[0, 0]
    return {
        "offset_deg": (fraction * length_deg).tolist(),
        "ra_deg": ra.tolist(),
        "dec_deg": dec.tolist(),
        "value": values.tolist(),
    }


def cutout_bounds(region: dict) -> dict:
    """``make_cutout`` bounds (degrees) of the box around a checked region's enclosing cap."""
    ra_deg, dec_deg, radius_deg = enclosing_cap(region)
    radius_deg = max(radius_deg, 1e-6)
    half_width = _ra_half_width_deg(dec_deg, radius_deg)
    return {
        "left_ra_deg": ra_deg - half_width,
        "right_ra_deg": ra_deg + half_width,
        "top_dec_deg": min(dec_deg + radius_deg, 90.0),
        "bottom_dec_deg": max(dec_deg - radius_deg, -90.0),
    }
