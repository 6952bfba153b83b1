"""HEALPix maps read as they are written in practice, and seen through a virtual CAR plane.

A HEALPix FITS file is a binary table (``PIXTYPE = 'HEALPIX'``) with
``NSIDE``, ``ORDERING`` (RING or NESTED), ``INDXSCHM`` IMPLICIT (full sky,
pixel ``p`` is element ``p`` of the flattened column, possibly many per row)
or EXPLICIT (partial sky: a ``PIXEL`` column, as ``healpy.write_map(...,
partial=True)`` writes it), one column per map (I, Q, U, hits...) and
``COORDSYS`` C/E/G. ``inspect_healpix`` reads the headers only;
``open_healpix`` gives a ``HealpixReader`` (cached per file version) that
duck-types ``fits_source.PlaneReader``: its ``info`` is a ``PlaneInfo`` of a
virtual full-sky CAR plane on the SPEC tile grid, and ``read``/``take`` give
the value of the HEALPix pixel containing each virtual pixel's centre, so
cut-outs, histograms, combinations and derived maps work unchanged.

Pixels are gathered from the file with ``fits_source._FileBytes`` (the same
SIGBUS-safe reads as CAR planes; nothing is copied per request beyond the
pixels asked for). A partial map keeps its sorted ``PIXEL`` column in memory
as the lookup (``searchsorted``).

Frames: the tile grid is equatorial (FK5 J2000 = ICRS to 20 mas, far below a
pixel). Galactic and ecliptic maps are looked up at each position rotated into
their frame; Q and U are rotated as spin-2 quantities with their partner
column (``U_STOKES`` for ``Q_STOKES``), in the map's ``POLCCONV`` (HEALPix and
Planck default: COSMO).
"""

import functools
import math
import os
import re
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from astropy.io import fits
from astropy_healpix import core as healpix_core

from maps.engine.errors import FileChangedError, FitsError
from maps.engine.file_identity import key_of
from maps.engine.fits_source import PlaneInfo, _FileBytes, _stat_regular_file, file_state
from maps.engine.geometry import PixelGrid, TileGrid, tile_grid_for

UNSEEN = -1.6375e30
FRAMES = {
    "C": "C",
    "Q": "C",
    "EQUATORIAL": "C",
    "CELESTIAL": "C",
    "ICRS": "C",
    "G": "G",
    "GALACTIC": "G",
    "E": "E",
    "ECLIPTIC": "E",
}
FRAME_NAMES = {"C": "equatorial", "G": "galactic", "E": "ecliptic"}
BASE_TILE_SIZE = 256
# Tile pixels per HEALPix pixel width at the deepest level: at least 2, so a
# native tile pixel is at most half a HEALPix pixel (the brief: "about the
# HEALPix pixel size or finer"); with the power-of-two grid it lies between
# a half and a quarter (NSIDE 2048: 1.72 arcmin pixels, 0.66 arcmin tile pixels).
MIN_SAMPLES_PER_PIXEL = 2
# Rows read at once by the pyramid pass and a partial map's PIXEL column: the
# pass holds some 7x this in indices and values (NSIDE 2048 galactic Q+U,
# measured with tracemalloc: 16 MB chunks peak at 117 MB, 64 MB ones at
# 373 MB) and is no slower in smaller chunks (3.7 s CPU against 4.3 s).
READ_CHUNK_BYTES = 16 * 1024 * 1024
# Pixels are gathered by reading whole blocks of table rows of about this size:
# the pixels of a tile lie in a few runs (rings, or NESTED sub-trees), so one
# system call copying ~100 blocks costs less than one 4-byte range per pixel
# (NSIDE 2048 tile, 65536 ranges: 9 ms; blocks: under 1 ms).
GATHER_BLOCK_BYTES = 16 * 1024
READER_CACHE_SIZE = 64
_TFORM_DTYPES = {"E": ">f4", "D": ">f8", "J": ">i4", "K": ">i8", "I": ">i2", "B": "u1"}


@dataclass(frozen=True, kw_only=True)
class HealpixInfo:
    """One column of a HEALPix table, from its headers.

    ``column`` is the column's name, ``field`` its 0-based position among the
    map columns (``PIXEL`` excluded, as healpy counts), ``partner`` the name of
    the other Stokes column for a Q or U column (None otherwise).
    """

    path: str
    hdu: int
    column: str
    field: int
    columns: tuple[str, ...]
    nside: int
    ordering: str
    explicit: bool
    frame: str
    unit: str | None
    n_rows: int
    row_bytes: int
    data_offset: int
    record_dtype: np.dtype
    bad_data: float
    stokes: str | None
    partner: str | None
    convention: str
    mtime_ns: int
    size: int
    scale: float = 1.0

    @property
    def served_unit(self) -> str | None:
        """The unit of the values served (``unit`` times ``scale``; see ``scaled_unit``)."""
        return scaled_unit(self.unit, self.scale)

    @property
    def resolution_deg(self) -> float:
        return math.degrees(math.sqrt(4 * math.pi / (12 * self.nside**2)))

    @property
    def polarisation_rotated(self) -> bool:
        """Whether Q/U values are rotated into the equatorial frame (False: not needed or
        no partner column to rotate with)."""
        return self.stokes is not None and self.frame != "C" and self.partner is not None


# Kelvin spellings (TUNITn of Planck, WMAP and healpy files), to an optional power.
_KELVIN = re.compile(
    r"^(?P<inverse>1/)?(?P<prefix>u|mu|\u00b5|\u03bc|micro|m|milli)?(?:k|kelvin)(?P<kind>_?(?:cmb|rj))?"
    r"(?:\^|\*\*)?(?P<power>[+-]?\d)?$"
)
_KELVIN_PER_PREFIX = {"": 1.0, "m": 1e-3, "milli": 1e-3}
_PREFIX_LABELS = {1.0: "K", 1e-3: "mK", 1e-6: "uK"}


def scaled_unit(unit: str | None, scale: float) -> str | None:
    """The unit of values in ``unit`` multiplied by ``scale`` (None: not expressible).

    ``unit`` itself for a scale of 1; a kelvin unit whose scale is a change of
    prefix gets the new prefix (``K_CMB`` x 1e6 -> ``uK``, ``K_CMB^2`` x 1e12 ->
    ``uK^2``; "_CMB" is dropped as every temperature this server shows is
    thermodynamic, "_RJ" is kept); anything else None, so no wrong unit is written.

    Parameters
    ----------
    unit : str or None
        The file's unit (``TUNITn`` or ``BUNIT``).
    scale : float
        The factor applied to every value.
    """
    if scale == 1.0:
        return unit
    match = _KELVIN.match((unit or "").strip().lower().replace(" ", ""))
    if match is None:
        return None
    prefix = match["prefix"] or ""
    power = int(match["power"]) if match["power"] else 1
    if match["inverse"]:
        power = -power
    if power == 0:
        return None
    kelvin = _KELVIN_PER_PREFIX.get(prefix, 1e-6) / scale ** (1.0 / power) if scale > 0 else 0
    label = next((text for k, text in _PREFIX_LABELS.items() if math.isclose(kelvin, k)), None)
    if label is None:
        return None
    if (match["kind"] or "").endswith("rj"):
        label += "_RJ"
    return label if power == 1 else f"{label}^{power}"


def _fail(reason: str, path: str, key: str | None = None) -> FitsError:
    return FitsError(reason, path=path, key=key)


def _keyword(header: fits.Header, key: str):
    value = header.get(key)
    return value.strip().upper() if isinstance(value, str) else value


def _record_dtype(columns: fits.ColDefs, path: str) -> np.dtype:
    fields = []
    for column in columns:
        code = column.format.strip().lstrip("0123456789")
        repeat_text = column.format.strip()[: len(column.format.strip()) - len(code)]
        repeat = int(repeat_text) if repeat_text else 1
        if code not in _TFORM_DTYPES:
            raise _fail(f"column {column.name} has TFORM {column.format!r}: not a number", path)
        base = np.dtype(_TFORM_DTYPES[code])
        fields.append((column.name, base, (repeat,)) if repeat > 1 else (column.name, base))
    return np.dtype(fields)


def _stokes(name: str) -> str | None:
    head = name.upper().replace("-", "_").split("_")[0]
    return head if head in ("Q", "U") else None


def _partner(name: str, stokes: str | None, names: tuple[str, ...]) -> str | None:
    if stokes is None:
        return None
    other = "U" if stokes == "Q" else "Q"
    wanted = other + name[1:].upper()
    return next((n for n in names if n.upper() == wanted), None)


def inspect_healpix(path, *, hdu: int = 1, field: int | str = 0, scale: float = 1.0) -> HealpixInfo:
    """The HEALPix column ``field`` of table HDU ``hdu`` (headers only).

    Parameters
    ----------
    path : str or os.PathLike
        The FITS file.
    hdu : int
        The binary-table HDU (1 for every map healpy or Planck writes).
    field : int or str
        A column name (case-insensitive) or its 0-based position among the
        map's columns, ``PIXEL`` excluded (healpy's ``field``).
    scale : float
        The factor every value served is multiplied by (the provider's
        ``scale``: 1e6 shows a ``K_CMB`` map in uK).

    Raises
    ------
    FitsError
        One line, ``.key`` naming the provider field at fault (``"hdu"``
        for a table that is not a HEALPix map, ``"field"`` for an unknown
        column, None for the file itself).
    """
    path = os.path.realpath(os.fspath(path))
    file_stat = _stat_regular_file(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            hdus = fits.open(path, memmap=False, lazy_load_hdus=True)
            try:
                if hdu >= len(hdus):
                    raise _fail(f"HDU {hdu} does not exist (the file has {len(hdus)})", path, "hdu")
                table = hdus[hdu]
                header = table.header
                location = hdus.fileinfo(hdu)
                columns = table.columns if isinstance(table, fits.BinTableHDU) else None
            finally:
                hdus.close()
    except FitsError:
        raise
    except (OSError, ValueError, IndexError, TypeError) as error:
        raise _fail(f"cannot read the FITS file ({str(error).splitlines()[0]})", path) from None
    if columns is None or _keyword(header, "PIXTYPE") != "HEALPIX":
        raise _fail(
            f"HDU {hdu} is not a HEALPix map (no binary table with PIXTYPE = 'HEALPIX')",
            path,
            "hdu",
        )
    nside = header.get("NSIDE")
    if isinstance(nside, bool) or not isinstance(nside, int) or nside < 1 or nside & (nside - 1):
        raise _fail(f"NSIDE = {nside!r} is not a power of two", path, "hdu")
    ordering = _keyword(header, "ORDERING")
    if ordering is None:
        raise _fail("ORDERING is missing (RING or NESTED)", path, "hdu")
    if ordering not in ("RING", "NESTED"):
        raise _fail(f"ORDERING = {ordering!r} is not RING or NESTED", path, "hdu")
    names = tuple(column.name for column in columns)
    explicit = _keyword(header, "INDXSCHM") == "EXPLICIT"
    if explicit and "PIXEL" not in (n.upper() for n in names):
        raise _fail("INDXSCHM = 'EXPLICIT' without a PIXEL column", path, "hdu")
    map_columns = tuple(n for n in names if not (explicit and n.upper() == "PIXEL"))
    if isinstance(field, str):
        matches = [n for n in map_columns if n.upper() == field.strip().upper()]
        if not matches:
            raise _fail(f"no column {field!r} (columns: {', '.join(map_columns)})", path, "field")
        column, position = matches[0], map_columns.index(matches[0])
    else:
        if not 0 <= field < len(map_columns):
            raise _fail(
                f"field {field} is outside 0..{len(map_columns) - 1} "
                f"(columns: {', '.join(map_columns)})",
                path,
                "field",
            )
        column, position = map_columns[field], field
    record_dtype = _record_dtype(columns, path)
    n_rows, row_bytes = header.get("NAXIS2", 0), header.get("NAXIS1", 0)
    if record_dtype.itemsize != row_bytes:
        raise _fail(f"row length NAXIS1 = {row_bytes} does not match the columns", path, "hdu")
    repeat = int(np.prod(record_dtype.fields[column][0].shape or (1,)))
    if not explicit and n_rows * repeat != 12 * nside**2:
        raise _fail(
            f"{n_rows} rows x {repeat} pixels = {n_rows * repeat} pixels, but NSIDE = {nside} "
            f"needs 12 NSIDE^2 = {12 * nside**2}",
            path,
            "hdu",
        )
    if location["datLoc"] + n_rows * row_bytes > file_stat.st_size:
        raise _fail("truncated: the table is longer than the file", path)
    coordsys = _keyword(header, "COORDSYS")
    # No COORDSYS: equatorial, the frame of every other map this server shows.
    frame = FRAMES.get(coordsys) if coordsys is not None else "C"
    if frame is None:
        raise _fail(f"COORDSYS = {coordsys!r} is not C, G or E", path, "hdu")
    number = names.index(column) + 1
    unit = header.get(f"TUNIT{number}") or header.get("BUNIT") or None
    bad = header.get("BAD_DATA", UNSEEN)
    stokes = _stokes(column)
    convention = _keyword(header, "POLCCONV")
    return HealpixInfo(
        path=path,
        hdu=hdu,
        column=column,
        field=position,
        columns=map_columns,
        nside=nside,
        ordering=ordering,
        explicit=explicit,
        frame=frame,
        unit=unit.strip() if isinstance(unit, str) and unit.strip() else None,
        n_rows=n_rows,
        row_bytes=row_bytes,
        data_offset=location["datLoc"],
        record_dtype=record_dtype,
        bad_data=float(bad) if isinstance(bad, int | float) else UNSEEN,
        stokes=stokes,
        partner=_partner(column, stokes, map_columns),
        convention=convention if convention in ("IAU", "COSMO") else "COSMO",
        mtime_ns=file_stat.st_mtime_ns,
        size=file_stat.st_size,
        scale=float(scale),
    )


def tile_grid_for_nside(nside: int) -> TileGrid:
    """The tile grid of a HEALPix map: 256-pixel tiles, the fewest levels whose deepest
    pixels are at most ``1 / MIN_SAMPLES_PER_PIXEL`` of the HEALPix pixel size."""
    resolution_deg = math.degrees(math.sqrt(4 * math.pi / (12 * nside**2)))
    levels = 1
    while 180.0 / (BASE_TILE_SIZE * 2 ** (levels - 1)) > resolution_deg / MIN_SAMPLES_PER_PIXEL:
        levels += 1
    scale_deg = 180.0 / (BASE_TILE_SIZE * 2 ** (levels - 1))
    return tile_grid_for(pixel_scale_ra_deg=scale_deg, pixel_scale_dec_deg=scale_deg)


def virtual_plane(info: HealpixInfo) -> PlaneInfo:
    """The full-sky CAR plane a HEALPix column is served as (RA increasing to the left)."""
    grid = tile_grid_for_nside(info.nside)
    scale_deg = grid.deepest_pixel_scale_deg
    ny = grid.tile_size * 2**grid.deepest_level
    nx = 2 * ny
    pixel_grid = PixelGrid(
        nx=nx,
        ny=ny,
        crpix1=nx / 2 + 0.5,
        crval1=0.0,
        cdelt1=-scale_deg,
        crpix2=ny / 2 + 0.5,
        crval2=0.0,
        cdelt2=scale_deg,
    )
    header = fits.Header()
    header["NAXIS"] = 2
    header["NAXIS1"] = nx
    header["NAXIS2"] = ny
    header["CTYPE1"] = "RA---CAR"
    header["CTYPE2"] = "DEC--CAR"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    for key in ("CRPIX1", "CRVAL1", "CDELT1", "CRPIX2", "CRVAL2", "CDELT2"):
        header[key] = getattr(pixel_grid, key.lower())
    header["RADESYS"] = "ICRS"
    if info.served_unit:
        header["BUNIT"] = info.served_unit
    return PlaneInfo(
        path=info.path,
        hdu=info.hdu,
        index=info.field,
        shape=(ny, nx),
        dtype="float32",
        header=header,
        bunit=info.served_unit,
        pixel_scale_ra_deg=-scale_deg,
        pixel_scale_dec_deg=scale_deg,
        grid=grid,
        pixel_grid=pixel_grid,
        bounding_left=-180.0,
        bounding_right=180.0,
        bounding_top=90.0,
        bounding_bottom=-90.0,
        n_planes=len(info.columns),
        extname=info.column,
        compressed=False,
    )


# Bit ``b`` of a byte moved to bit ``2 b``: the interleaving of NESTED indices.
_SPREAD_BYTE = np.array(
    [sum(((value >> bit) & 1) << (2 * bit) for bit in range(8)) for value in range(256)],
    dtype=np.int64,
)
_TWO_THIRDS = 2.0 / 3.0
# healpy (healpix_cxx) uses the polar formula through sin(theta) within this of a pole.
_POLE_THETA_RAD = 0.01


def _spread_bits(values: np.ndarray) -> np.ndarray:
    return _SPREAD_BYTE[values & 0xFF] | (_SPREAD_BYTE[(values >> 8) & 0xFF] << 16)


def loc2pix(
    z: np.ndarray, phi_rad: np.ndarray, sin_theta: np.ndarray, nside: int, *, nested: bool
) -> np.ndarray:
    """The HEALPix pixel containing each position: healpix_cxx's ``loc2pix``, vectorised.

    The same arithmetic as healpy's ``ang2pix`` (so a position on a pixel edge
    falls on the same side), in numpy: 1 ms for a 256 x 256 tile where
    astropy-healpix's C loop takes 8 ms.

    Parameters
    ----------
    z : numpy.ndarray
        ``cos(theta)``, theta the colatitude.
    phi_rad : numpy.ndarray
        Longitude, any range.
    sin_theta : numpy.ndarray
        ``sin(theta)``, used near the poles where ``1 - |z|`` loses digits.
    nside : int
        A power of two, at most 8192.
    nested : bool
        NESTED (True) or RING (False) indices.

    Returns
    -------
    numpy.ndarray
        int64 pixel indices, of the broadcast shape of the inputs.
    """
    z, phi_rad, sin_theta = np.broadcast_arrays(z, phi_rad, sin_theta)
    tt = np.mod(phi_rad * (2 / np.pi), 4.0)
    tt[tt >= 4.0] = 0.0
    equatorial = np.abs(z) <= _TWO_THIRDS
    # A tile lies within one zone but near |z| = 2/3: each zone's arithmetic runs
    # over the whole tile only when it holds points of both.
    zones = (_nested_zones if nested else _ring_zones)(int(nside))
    if equatorial.all():
        return zones[0](z, tt)
    if not equatorial.any():
        return zones[1](z, tt, sin_theta)
    return np.where(equatorial, zones[0](z, tt), zones[1](z, tt, sin_theta))


def _cap_distance(n: int, z: np.ndarray, sin_theta: np.ndarray) -> np.ndarray:
    """``nside sqrt(3 (1 - |z|))``, through sin(theta) near a pole as healpy does."""
    za = np.abs(z)
    near_pole = za > math.cos(_POLE_THETA_RAD)
    return np.where(near_pole, n * sin_theta / np.sqrt((1.0 + za) / 3.0), n * np.sqrt(3 * (1 - za)))


def _ring_zones(n: int):
    nl4, ncap, npix = 4 * n, 2 * n * (n - 1), 12 * n * n

    def equatorial(z, tt):
        temp1, temp2 = n * (0.5 + tt), n * z * 0.75
        jp, jm = (temp1 - temp2).astype(np.int64), (temp1 + temp2).astype(np.int64)
        ir = n + 1 + jp - jm
        kshift = 1 - (ir & 1)
        ip = ((jp + jm - n + kshift + 1 + 2 * nl4) >> 1) % nl4
        return ncap + (ir - 1) * nl4 + ip

    def cap(z, tt, sin_theta):
        tmp = _cap_distance(n, z, sin_theta)
        tp = tt - tt.astype(np.int64)
        jp, jm = (tp * tmp).astype(np.int64), ((1.0 - tp) * tmp).astype(np.int64)
        ir = jp + jm + 1
        ip = (tt * ir).astype(np.int64)
        return np.where(z > 0, 2 * ir * (ir - 1) + ip, npix - 2 * ir * (ir + 1) + ip)

    return equatorial, cap


def _nested_zones(n: int):
    order = n.bit_length() - 1

    def xyf2nest(ix, iy, face):
        return face * (n * n) + _spread_bits(ix) + (_spread_bits(iy) << 1)

    def equatorial(z, tt):
        temp1, temp2 = n * (0.5 + tt), n * (z * 0.75)
        jp, jm = (temp1 - temp2).astype(np.int64), (temp1 + temp2).astype(np.int64)
        ifp, ifm = jp >> order, jm >> order
        face = np.where(ifp == ifm, ifp | 4, np.where(ifp < ifm, ifp, ifm + 8))
        return xyf2nest(jm & (n - 1), n - (jp & (n - 1)) - 1, face)

    def cap(z, tt, sin_theta):
        tmp = _cap_distance(n, z, sin_theta)
        ntt = np.minimum(3, tt.astype(np.int64))
        tp = tt - ntt
        jp = np.minimum((tp * tmp).astype(np.int64), n - 1)
        jm = np.minimum(((1.0 - tp) * tmp).astype(np.int64), n - 1)
        north = z >= 0
        return xyf2nest(
            np.where(north, n - jm - 1, jp), np.where(north, n - jp - 1, jm), ntt + 8 * ~north
        )

    return equatorial, cap


def sky_to_map(ra_deg: np.ndarray, dec_deg: np.ndarray, frame: str):
    """``(z, phi_rad, sin_theta, psi_rad)`` in the map's frame of equatorial positions.

    ``ra_deg`` and ``dec_deg`` broadcast (a tile passes a row of RA and a
    column of Dec, so the trigonometry of the equatorial side is done once
    per row and column). ``z``, ``phi_rad`` and ``sin_theta`` are
    ``loc2pix``'s inputs; ``psi_rad`` is the angle from the map frame's north
    to the equatorial north at each point, positive through the map frame's
    east (None for an equatorial map).
    """
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    matrix = equatorial_to(frame)
    if matrix is None:
        # healpy's lonlat conversion, so edges fall as in its ang2pix.
        theta = np.pi / 2 - dec
        z, sin_theta, ra = np.broadcast_arrays(np.cos(theta), np.sin(theta), ra)
        return z, ra, sin_theta, None
    cos_dec, sin_dec, cos_ra, sin_ra = np.cos(dec), np.sin(dec), np.cos(ra), np.sin(ra)
    along_ra, across_ra = cos_dec * cos_ra, cos_dec * sin_ra
    x, y, z = (m[0] * along_ra + m[1] * across_ra + m[2] * sin_dec for m in matrix)
    z = np.clip(z, -1.0, 1.0)
    cylinder = x * x + y * y
    # The equatorial pole in the map frame; its projections on the map frame's
    # east and north at each point give psi (scaled alike, so atan2 needs no norms).
    pole_x, pole_y, pole_z = matrix[:, 2]
    psi = np.arctan2(x * pole_y - y * pole_x, pole_z * cylinder - z * (x * pole_x + y * pole_y))
    return z, np.arctan2(y, x), np.sqrt(cylinder), psi


@functools.cache
def equatorial_to(frame: str) -> np.ndarray | None:
    """The 3x3 rotation taking equatorial (FK5 J2000) unit vectors to ``frame``'s; None for C."""
    if frame == "C":
        return None
    from astropy.coordinates import (
        FK5,
        BarycentricMeanEcliptic,
        CartesianRepresentation,
        Galactic,
        SkyCoord,
    )

    target = Galactic() if frame == "G" else BarycentricMeanEcliptic(equinox="J2000")
    basis = SkyCoord(CartesianRepresentation(np.eye(3)), frame=FK5(equinox="J2000"))
    # Column j is the image of basis vector j.
    return basis.transform_to(target).cartesian.xyz.value


def to_map_frame(
    ra_deg: np.ndarray, dec_deg: np.ndarray, frame: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """``(lon_rad, lat_rad, psi_rad)`` in the map's frame of equatorial positions.

    ``psi_rad`` is the angle from the map frame's north to the equatorial
    north at each point, positive through the map frame's east (None for an
    equatorial map).
    """
    ra, dec = np.radians(ra_deg), np.radians(dec_deg)
    matrix = equatorial_to(frame)
    if matrix is None:
        return ra, dec, None
    cos_dec, sin_dec, cos_ra, sin_ra = np.cos(dec), np.sin(dec), np.cos(ra), np.sin(ra)
    position = np.stack([cos_dec * cos_ra, cos_dec * sin_ra, sin_dec])
    north = np.stack([-sin_dec * cos_ra, -sin_dec * sin_ra, cos_dec])
    shape = ra.shape
    x, y, z = matrix @ position.reshape(3, -1)
    nx, ny, nz = matrix @ north.reshape(3, -1)
    lon = np.arctan2(y, x)
    lat = np.arcsin(np.clip(z, -1.0, 1.0))
    cos_lon, sin_lon, sin_lat = np.cos(lon), np.sin(lon), np.sin(lat)
    along_north = -sin_lat * cos_lon * nx - sin_lat * sin_lon * ny + np.cos(lat) * nz
    along_east = -sin_lon * nx + cos_lon * ny
    psi = np.arctan2(along_east, along_north)
    return lon.reshape(shape), lat.reshape(shape), psi.reshape(shape)


def rotate_stokes(
    q: np.ndarray, u: np.ndarray, psi_rad: np.ndarray, convention: str
) -> tuple[np.ndarray, np.ndarray]:
    """Q and U of the map's frame expressed in the equatorial frame (spin 2).

    A position angle measured from the map frame's north is ``psi`` larger
    than the same direction measured from equatorial north, so with IAU Q/U
    (angle through east) ``Q' + iU' = (Q + iU) e^{-2i psi}``; COSMO's U has
    the other sign, so the rotation has too.
    """
    sign = 1.0 if convention == "COSMO" else -1.0
    cos2, sin2 = np.cos(2 * psi_rad), sign * np.sin(2 * psi_rad)
    return q * cos2 - u * sin2, q * sin2 + u * cos2


class HealpixReader:
    """Values of one HEALPix column at sky positions; thread-safe, shared per file version.

    Duck-types ``fits_source.PlaneReader`` (``info``, ``version``, ``read``,
    ``take``) over ``virtual_plane``.
    """

    def __init__(self, healpix: HealpixInfo, *, file_version: str = ""):
        self.healpix = healpix
        self.file_version = file_version
        self.info = virtual_plane(healpix)
        self.path = healpix.path
        self._file = _FileBytes(healpix.path)
        self._lock = threading.Lock()
        self._pixel_lookup: np.ndarray | None = None
        dtype = healpix.record_dtype
        self._repeat = int(np.prod(dtype.fields[healpix.column][0].shape or (1,)))
        self._block_rows = max(1, GATHER_BLOCK_BYTES // max(1, healpix.row_bytes))

    @property
    def version(self) -> tuple:
        h = self.healpix
        scaled = "" if h.scale == 1.0 else f"*{h.scale!r}"
        return (h.path, self.file_version, h.hdu, f"healpix:{h.column}{scaled}")

    def opened_key(self) -> tuple[int, int, int, int] | None:
        """The ``stat_key`` of the file this reader reads (its descriptor's), None if gone."""
        try:
            return key_of(os.fstat(self._file.fd))
        except OSError:
            return None

    # -- raw access -------------------------------------------------------

    def _gather(self, names: tuple[str, ...], positions: np.ndarray) -> list[np.ndarray]:
        """float32 values of columns ``names`` at flattened element ``positions``; NaN bad.

        Reads the blocks of rows holding the positions (one system call for
        all of them, every column at once) and picks the elements from them.
        """
        h = self.healpix
        rows, within = np.divmod(positions.astype(np.int64, copy=False), self._repeat)
        blocks = rows // self._block_rows
        needed = np.zeros(-(-h.n_rows // self._block_rows), dtype=bool)
        needed[blocks] = True
        read = np.flatnonzero(needed)
        slots = np.cumsum(needed) - 1
        records = np.empty(len(read) * self._block_rows, dtype=h.record_dtype)
        buffer = records.view(np.uint8)
        block_bytes = self._block_rows * h.row_bytes
        starts = h.data_offset + read * block_bytes
        # The last block may hold fewer rows than the others: read on its own.
        full = len(read)
        if full and (read[-1] + 1) * self._block_rows > h.n_rows:
            full -= 1
        self._file.fill(buffer[: full * block_bytes], starts[:full], block_bytes)
        if full < len(read):
            tail_rows = h.n_rows - read[-1] * self._block_rows
            tail = buffer[full * block_bytes : full * block_bytes + tail_rows * h.row_bytes]
            self._file.fill(tail, starts[full:], len(tail))
        picked = slots[blocks] * self._block_rows + rows % self._block_rows
        out = []
        for name in names:
            column = records[name]
            out.append(self._clean(column[picked] if column.ndim == 1 else column[picked, within]))
        return out

    def _clean(self, raw: np.ndarray) -> np.ndarray:
        """float32 values served: NaN where bad, times the provider's scale (every path
        from the file passes here, so tiles, pyramid, cut-outs and apertures agree)."""
        values = raw.astype(np.float32)
        bad = (values == np.float32(UNSEEN)) | (values == np.float32(self.healpix.bad_data))
        values[bad | ~np.isfinite(values)] = np.nan
        if self.healpix.scale != 1.0:
            values *= np.float32(self.healpix.scale)
        return values

    def _rows(self, start: int, stop: int) -> np.ndarray:
        """Table rows ``start:stop`` as a structured array (one read)."""
        raw = np.empty(stop - start, dtype=self.healpix.record_dtype)
        offset = self.healpix.data_offset + start * self.healpix.row_bytes
        self._file.fill(raw.view(np.uint8), np.array([offset]), raw.nbytes)
        return raw

    def _row_chunks(self):
        step = max(1, READ_CHUNK_BYTES // max(1, self.healpix.row_bytes))
        for start in range(0, self.healpix.n_rows, step):
            yield self._rows(start, min(start + step, self.healpix.n_rows))

    def _lookup(self) -> np.ndarray:
        """The sorted PIXEL column of a partial map (read once) and each entry's row order."""
        with self._lock:
            if self._pixel_lookup is None:
                name = next(n for n in self.healpix.record_dtype.names if n.upper() == "PIXEL")
                pixels = np.concatenate(
                    [chunk[name].astype(np.int64).ravel() for chunk in self._row_chunks()]
                )
                order = None if np.all(pixels[1:] > pixels[:-1]) else np.argsort(pixels)
                self._pixel_lookup = (pixels if order is None else pixels[order], order)
            return self._pixel_lookup

    def pixel_values(self, pixels: np.ndarray, column: str | None = None) -> np.ndarray:
        """float32 values at HEALPix ``pixels`` in the file's ordering; NaN without data."""
        return self.columns_at(pixels, (column or self.healpix.column,))[0]

    def columns_at(self, pixels: np.ndarray, names: tuple[str, ...]) -> list[np.ndarray]:
        """float32 values of columns ``names`` at HEALPix ``pixels`` (file ordering)."""
        pixels = np.asarray(pixels, dtype=np.int64)
        if not self.healpix.explicit:
            return self._gather(names, pixels)
        sorted_pixels, order = self._lookup()
        where = np.searchsorted(sorted_pixels, pixels)
        where = np.minimum(where, len(sorted_pixels) - 1)
        found = (
            sorted_pixels[where] == pixels if len(sorted_pixels) else np.zeros(len(pixels), bool)
        )
        out = [np.full(len(pixels), np.nan, dtype=np.float32) for _ in names]
        if found.any():
            rows = where[found] if order is None else order[where[found]]
            for values, gathered in zip(out, self._gather(names, rows), strict=True):
                values[found] = gathered
        return out

    def stored(self, columns: tuple[str, ...]):
        """Every stored pixel, in chunks: ``(nested pixel ids, {column: float32 values})``."""
        position = 0
        pixel_name = next(
            (n for n in self.healpix.record_dtype.names if n.upper() == "PIXEL"), None
        )
        for chunk in self._row_chunks():
            values = {name: self._clean(chunk[name].ravel()) for name in columns}
            count = len(values[columns[0]])
            if self.healpix.explicit:
                pixels = chunk[pixel_name].astype(np.int64).ravel()
            else:
                pixels = np.arange(position, position + count, dtype=np.int64)
            position += count
            if self.healpix.ordering == "RING":
                pixels = healpix_core.ring_to_nested(pixels, self.healpix.nside)
            yield pixels, values

    # -- values at sky positions -----------------------------------------

    def values_at(self, ra_deg: np.ndarray, dec_deg: np.ndarray) -> np.ndarray:
        """float32 value of the HEALPix pixel containing each equatorial position (nearest).

        ``ra_deg`` and ``dec_deg`` broadcast: a grid is cheapest as a row of
        RA and a column of Dec.
        """
        h = self.healpix
        z, phi, sin_theta, psi = sky_to_map(ra_deg, dec_deg, h.frame)
        pixels = loc2pix(z, phi, sin_theta, h.nside, nested=h.ordering == "NESTED")
        names = (h.column, h.partner) if h.polarisation_rotated else (h.column,)
        columns = self.columns_at(pixels.ravel(), names)
        values = columns[0]
        if h.polarisation_rotated:
            values = self.rotated(values, columns[1], psi.ravel())
        return values.reshape(pixels.shape)

    def rotated(self, values: np.ndarray, other: np.ndarray, psi_rad: np.ndarray) -> np.ndarray:
        """This column's Stokes value in the equatorial frame, from it and its partner."""
        h = self.healpix
        q, u_values = (values, other) if h.stokes == "Q" else (other, values)
        q_eq, u_eq = rotate_stokes(q, u_values, psi_rad, h.convention)
        return (q_eq if h.stokes == "Q" else u_eq).astype(np.float32)

    def read(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Virtual-plane rows ``y0:y1``, columns ``x0:x1`` (float32, file order)."""
        return self.take(rows=np.arange(y0, y1), cols=np.arange(x0, x1))

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The virtual-plane pixels at ``rows`` x ``cols`` (float32)."""
        grid = self.info.pixel_grid
        ra_deg = grid.ra_of_column(np.asarray(cols))
        dec_deg = grid.dec_of_row(np.asarray(rows))
        return self.values_at(ra_deg[np.newaxis, :], dec_deg[:, np.newaxis])


_readers: OrderedDict[tuple, HealpixReader] = OrderedDict()
_readers_lock = threading.Lock()


def open_healpix(path, *, hdu: int = 1, field: int | str = 0, scale: float = 1.0) -> HealpixReader:
    """The process-wide reader of one HEALPix column (values times ``scale``), reopened
    when the file changes.

    Raises
    ------
    FitsError
        As ``inspect_healpix``.
    """
    path = os.path.realpath(os.fspath(path))
    for fresh in (False, True):
        state = file_state(path, fresh=fresh)
        key = (path, state.version, hdu, field, float(scale))
        with _readers_lock:
            reader = _readers.get(key)
            if reader is not None:
                _readers.move_to_end(key)
                return reader
        info = inspect_healpix(path, hdu=hdu, field=field, scale=scale)
        reader = HealpixReader(info, file_version=state.version)
        # As open_plane: not cached under a version older than the file opened.
        if reader.opened_key() == state.key:
            break
    else:
        raise FileChangedError("the file changed while it was opened (being rewritten?)", path=path)
    with _readers_lock:
        for old in [k for k in _readers if k[0] == path and k[1] != state.version]:
            del _readers[old]
        reader = _readers.setdefault(key, reader)
        _readers.move_to_end(key)
        while len(_readers) > READER_CACHE_SIZE:
            _readers.popitem(last=False)
    return reader


def healpix_plane(path, *, hdu: int = 1, field: int | str = 0, scale: float = 1.0) -> PlaneInfo:
    """The virtual CAR ``PlaneInfo`` of a HEALPix column (headers only; ``FitsError`` as
    ``inspect_healpix``): what a layer's tile grid and bounds are derived from."""
    return virtual_plane(inspect_healpix(path, hdu=hdu, field=field, scale=scale))
