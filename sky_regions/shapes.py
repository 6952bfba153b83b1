"""DS9/CRTF regions (the astropy ``regions`` package) <-> the engine's region dicts.

Everything stored and computed is ICRS degrees (``maps.engine.region_stats``
describes the dicts); a file's FK5 or Galactic coordinates are converted on
import. Pixel-coordinate regions have no place on the sky and are refused.
"""

import warnings

import astropy.units as u
import regions
from astropy.coordinates import SkyCoord

from maps.engine.region_stats import checked_region

FORMATS = ("ds9", "crtf")


class RegionError(ValueError):
    """A region or region file that cannot be used; its message is the 4xx detail."""


def _icrs(coord: SkyCoord) -> tuple[float, float]:
    icrs = coord.icrs
    return float(icrs.ra.deg), float(icrs.dec.deg)


def _north_turn_deg(center: SkyCoord) -> float:
    """How far the frame's north at ``center`` is turned from ICRS north (east of north).

    A shape's angle is measured from its frame's axes; a Galactic ellipse
    keeps its orientation on the sky only if this is added (up to about 60
    degrees near the Galactic plane).
    """
    north = center.directional_offset_by(0 * u.deg, 1 * u.arcsec)
    return float(center.icrs.position_angle(north.icrs).to_value(u.deg))


def to_dict(region, *, max_vertices: int) -> dict:
    """The checked engine dict of one ``regions`` sky region."""
    if isinstance(region, regions.PixelRegion):
        raise RegionError(
            "pixel-coordinate regions cannot be placed on the sky: use fk5/icrs/galactic"
        )
    match region:
        case regions.CircleSkyRegion():
            ra, dec = _icrs(region.center)
            shape = {"kind": "circle", "radius_deg": region.radius.to_value(u.deg)}
        case regions.CircleAnnulusSkyRegion():
            ra, dec = _icrs(region.center)
            shape = {
                "kind": "annulus",
                "inner_radius_deg": region.inner_radius.to_value(u.deg),
                "outer_radius_deg": region.outer_radius.to_value(u.deg),
            }
        case regions.EllipseSkyRegion() | regions.RectangleSkyRegion():
            ra, dec = _icrs(region.center)
            shape = {
                "kind": "ellipse" if isinstance(region, regions.EllipseSkyRegion) else "box",
                "width_deg": region.width.to_value(u.deg),
                "height_deg": region.height.to_value(u.deg),
                "angle_deg": (region.angle.to_value(u.deg) + _north_turn_deg(region.center))
                % 360.0,
            }
        case regions.PolygonSkyRegion():
            icrs = region.vertices.icrs
            if len(icrs) > max_vertices:
                raise RegionError(f"a polygon may have at most {max_vertices} vertices")
            vertices = [
                [float(a), float(d)] for a, d in zip(icrs.ra.deg, icrs.dec.deg, strict=True)
            ]
            return checked_region(
                {"kind": "polygon", "vertices_deg": vertices}, max_vertices=max_vertices
            )
        case regions.PointSkyRegion():
            ra, dec = _icrs(region.center)
            shape = {"kind": "point"}
        case regions.LineSkyRegion():
            shape = {
                "kind": "line",
                "start_deg": list(_icrs(region.start)),
                "end_deg": list(_icrs(region.end)),
            }
            return checked_region(shape, max_vertices=max_vertices)
        case _:
            raise RegionError(f"unsupported region shape {type(region).__name__}")
    return checked_region({**shape, "ra_deg": ra, "dec_deg": dec}, max_vertices=max_vertices)


def to_region(shape: dict):
    """The ``regions`` sky region (ICRS) of a checked engine dict."""
    kind = shape["kind"]
    if kind == "polygon":
        ra, dec = (list(axis) for axis in zip(*shape["vertices_deg"], strict=True))
        return regions.PolygonSkyRegion(vertices=SkyCoord(ra, dec, unit="deg", frame="icrs"))
    if kind == "line":
        return regions.LineSkyRegion(
            start=SkyCoord(*shape["start_deg"], unit="deg", frame="icrs"),
            end=SkyCoord(*shape["end_deg"], unit="deg", frame="icrs"),
        )
    center = SkyCoord(shape["ra_deg"], shape["dec_deg"], unit="deg", frame="icrs")
    if kind == "circle":
        return regions.CircleSkyRegion(center=center, radius=shape["radius_deg"] * u.deg)
    if kind == "annulus":
        return regions.CircleAnnulusSkyRegion(
            center=center,
            inner_radius=shape["inner_radius_deg"] * u.deg,
            outer_radius=shape["outer_radius_deg"] * u.deg,
        )
    if kind == "point":
        return regions.PointSkyRegion(center=center)
    cls = regions.EllipseSkyRegion if kind == "ellipse" else regions.RectangleSkyRegion
    return cls(
        center=center,
        width=shape["width_deg"] * u.deg,
        height=shape["height_deg"] * u.deg,
        angle=shape["angle_deg"] * u.deg,
    )


def guess_format(text: str) -> str:
    """``crtf`` for a file that starts with its ``#CRTF`` header, else ``ds9``."""
    return "crtf" if text.lstrip().upper().startswith("#CRTF") else "ds9"


def parse(text: str, *, file_format: str, max_regions: int, max_vertices: int) -> list[dict]:
    """Every region of a DS9 or CRTF text as checked engine dicts.

    Raises
    ------
    RegionError
        A format not in ``FORMATS``, text the parser refuses, no region, more
        than ``max_regions``, or any region that is not usable on the sky.
    """
    if file_format not in FORMATS:
        raise RegionError(f"format must be one of {', '.join(FORMATS)}, got {file_format!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = regions.Regions.parse(text, format=file_format)
        # The parser is third-party code fed hostile text: any exception it
        # raises means the file is malformed, never a server error.
        except Exception as error:
            raise RegionError(f"not a valid {file_format.upper()} region file: {error}") from None
    if caught:
        # The parser warns and skips what it cannot read: saying nothing would
        # silently drop a user's regions.
        raise RegionError(f"{file_format.upper()} file not fully understood: {caught[0].message}")
    if len(parsed) == 0:
        raise RegionError("the file holds no region")
    if len(parsed) > max_regions:
        raise RegionError(
            f"the file holds {len(parsed)} regions, more than the limit of {max_regions}"
        )
    shapes = []
    for number, region in enumerate(parsed, start=1):
        try:
            shapes.append(to_dict(region, max_vertices=max_vertices))
        except ValueError as error:
            raise RegionError(f"region {number}: {error}") from None
    return shapes


def serialize(shapes: list[dict], *, file_format: str) -> str:
    """DS9 or CRTF text of checked engine dicts, in ICRS."""
    if file_format not in FORMATS:
        raise RegionError(f"format must be one of {', '.join(FORMATS)}, got {file_format!r}")
    return regions.Regions([to_region(shape) for shape in shapes]).serialize(format=file_format)
