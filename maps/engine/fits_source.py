"""FITS access: header inspection, normalisation, and fast windowed pixel reads.

Headers are read lazily (astropy never touches the data when inspecting), so
inspecting a 5 GB map costs milliseconds. Uncompressed pixels are read
through one read-only ``mmap`` per file shared by every plane and thread;
a window is converted to native-endian float32 in a single numpy pass.
Tile-compressed HDUs decompress only the tiles under the requested window
(astropy's ``section``).

The header kept in ``PlaneInfo`` is a normalised 2-D copy describing the
float32 plane the reader returns: the file's own header object is never
modified.
"""

import math
import mmap
import os
import re
import stat
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from maps.engine.errors import FitsError, OutOfRangeError
from maps.engine.geometry import PixelGrid, TileGrid, tile_grid_for

FITS_BLOCK_BYTES = 2880
# No real sky map has an axis this long; larger values are header corruption.
MAX_AXIS_LENGTH = 10_000_000
DEGREE_UNITS = ("deg", "degree", "degrees")
BITPIX_DTYPES = {8: "u1", 16: "i2", 32: "i4", 64: "i8", -32: "f4", -64: "f8"}
# Keywords that describe axes beyond the two image axes, or the file's storage,
# and so do not apply to the float32 plane the reader hands out.
_NON_PLANE_KEY = re.compile(
    r"^(NAXIS[3-9]\d*|(CTYPE|CRPIX|CRVAL|CDELT|CUNIT|CROTA|CNAME|CRDER|CSYER)[3-9]\d*"
    r"|(PC|CD|PV|PS)\d+_\d+|BSCALE|BZERO|BLANK|CHECKSUM|DATASUM|LONPOLE|LATPOLE)$"
)
READER_CACHE_SIZE = 256

# astropy reports oddities in headers through warnings; the filter state is
# process-wide, so header parsing is serialised to keep it from leaking.
_HEADER_LOCK = threading.Lock()


@dataclass(frozen=True, kw_only=True)
class PlaneInfo:
    """What a layer needs to know about one image plane, from headers only.

    ``bounding_left < bounding_right`` are RA edges in the unflipped frame
    (RA -180..180 increasing to the right), ``bounding_top > bounding_bottom``
    Dec edges, all in degrees; a map that spans or crosses the RA 180 seam
    reports -180 and 180.
    """

    path: str
    hdu: int
    index: int | None
    shape: tuple[int, int]
    dtype: str
    header: fits.Header = field(compare=False, repr=False)
    bunit: str | None
    pixel_scale_ra_deg: float
    pixel_scale_dec_deg: float
    grid: TileGrid
    pixel_grid: PixelGrid
    bounding_left: float
    bounding_right: float
    bounding_top: float
    bounding_bottom: float
    n_planes: int
    extname: str | None
    compressed: bool


@dataclass(frozen=True, kw_only=True)
class _Storage:
    """Where and how a plane's pixels are stored in its file."""

    data_offset: int | None
    plane_offset: int
    storage_dtype: str
    scale: float
    zero: float
    blank: int | None
    leading_index: tuple[int, ...]
    mtime_ns: int
    size: int


def _fail(reason: str, path: str) -> FitsError:
    return FitsError(reason, path=path)


def _stat_regular_file(path: str) -> os.stat_result:
    """Refuse anything that is not a non-empty regular file before opening it.

    Opening a FIFO blocks until a writer appears and ``/dev/zero`` never ends,
    so the type is checked on the name first.
    """
    try:
        result = os.stat(path)
    except FileNotFoundError:
        raise _fail("no such file", path) from None
    except PermissionError:
        raise _fail("permission denied", path) from None
    except OSError as error:
        raise _fail(f"cannot access the file ({error.strerror})", path) from None
    if stat.S_ISDIR(result.st_mode):
        raise _fail("is a directory, not a FITS file", path)
    if not stat.S_ISREG(result.st_mode):
        raise _fail("not a regular file (a device, pipe or socket)", path)
    if result.st_size == 0:
        raise _fail("empty file", path)
    try:
        with open(path, "rb") as handle:
            start = handle.read(80)
    except OSError as error:
        raise _fail(f"cannot read the file ({error.strerror})", path) from None
    if not start.startswith(b"SIMPLE  ="):
        raise _fail("not a FITS file (it does not start with a SIMPLE card)", path)
    if result.st_size < FITS_BLOCK_BYTES:
        raise _fail("truncated: shorter than one FITS header block", path)
    return result


def _number(header: fits.Header, key: str, path: str, *, default: float | None = None) -> float:
    value = header.get(key, default)
    if value is None:
        raise _fail(f"missing WCS keyword {key}", path)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"{key} = {value!r} is not a number", path)
    value = float(value)
    if not math.isfinite(value):
        raise _fail(f"{key} = {value} is not finite", path)
    return value


def _axis_scales(header: fits.Header, path: str) -> tuple[float, float]:
    """CDELT1/CDELT2 with any diagonal CD or PC matrix folded in; rotations are refused."""
    if any(f"CD{i}_{j}" in header for i in (1, 2) for j in (1, 2)):
        if _number(header, "CD1_2", path, default=0.0) or _number(
            header, "CD2_1", path, default=0.0
        ):
            raise _fail("rotated pixel grid (CD1_2/CD2_1 non-zero) is not plate carree", path)
        scales = (_number(header, "CD1_1", path), _number(header, "CD2_2", path))
    else:
        if _number(header, "PC1_2", path, default=0.0) or _number(
            header, "PC2_1", path, default=0.0
        ):
            raise _fail("rotated pixel grid (PC1_2/PC2_1 non-zero) is not plate carree", path)
        if _number(header, "CROTA2", path, default=0.0):
            raise _fail("rotated pixel grid (CROTA2 non-zero) is not plate carree", path)
        scales = (
            _number(header, "CDELT1", path) * _number(header, "PC1_1", path, default=1.0),
            _number(header, "CDELT2", path) * _number(header, "PC2_2", path, default=1.0),
        )
    for axis, scale in zip((1, 2), scales, strict=True):
        if scale == 0:
            raise _fail(f"CDELT{axis} is 0", path)
    if abs(scales[0]) > 360 or abs(scales[1]) > 180:
        raise _fail(f"pixel scale {scales} deg is larger than the sky", path)
    return scales


def _check_projection(header: fits.Header, path: str) -> None:
    for axis, expected in ((1, "RA---CAR"), (2, "DEC--CAR")):
        ctype = header.get(f"CTYPE{axis}")
        if ctype is None:
            raise _fail(f"missing WCS keyword CTYPE{axis}", path)
        ctype = str(ctype).strip().upper()
        if ctype != expected:
            raise _fail(
                f"CTYPE{axis} = {ctype!r}: only plate carree maps "
                "(CTYPE1 = RA---CAR, CTYPE2 = DEC--CAR) are supported",
                path,
            )
        unit = str(header.get(f"CUNIT{axis}", "deg")).strip().lower()
        if unit and unit not in DEGREE_UNITS:
            raise _fail(f"CUNIT{axis} = {unit!r}: only degrees are supported", path)


def _pixel_grid(header: fits.Header, nx: int, ny: int, path: str) -> PixelGrid:
    """The linear CAR grid, with the reference moved next to the array.

    Some writers put CRPIX1 many multiples of 360 degrees away from the
    array; shifting it by whole turns keeps the same sky and keeps RA
    arithmetic small. CRVAL2 is moved to 0 so that the grid is the plain
    plate carree that map makers intend (RA and Dec linear in pixels).
    """
    cdelt1, cdelt2 = _axis_scales(header, path)
    crpix1 = _number(header, "CRPIX1", path)
    crpix2 = _number(header, "CRPIX2", path)
    crval1 = _number(header, "CRVAL1", path, default=0.0)
    crval2 = _number(header, "CRVAL2", path, default=0.0)
    if crval2 != 0:
        crpix2 -= crval2 / cdelt2
        crval2 = 0.0
    if not 0.5 <= crpix1 <= nx + 0.5:
        period = 360.0 / abs(cdelt1)
        crpix1 += round(((nx + 1) / 2 - crpix1) / period) * period
    return PixelGrid(
        nx=nx,
        ny=ny,
        crpix1=crpix1,
        crval1=crval1,
        cdelt1=cdelt1,
        crpix2=crpix2,
        crval2=crval2,
        cdelt2=cdelt2,
    )


def _bounds(grid: PixelGrid) -> tuple[float, float, float, float]:
    """(left, right, top, bottom) edges in degrees, RA in the unflipped -180..180 frame."""
    span_deg = grid.nx * abs(grid.cdelt1)
    edges = grid.ra_of_column(np.array([-0.5, grid.nx - 0.5]))
    left = float(np.mod(edges.min() + 180.0, 360.0) - 180.0)
    right = left + span_deg
    if span_deg >= 360.0 - 1e-9 or right > 180.0 + 1e-9:
        left, right = -180.0, 180.0
    decs = grid.dec_of_row(np.array([-0.5, grid.ny - 0.5]))
    top = min(float(decs.max()), 90.0)
    bottom = max(float(decs.min()), -90.0)
    return tuple(round(v, 10) + 0.0 for v in (left, right, top, bottom))


def _normalised_header(header: fits.Header, grid: PixelGrid) -> fits.Header:
    """A 2-D float32 header with the normalised linear WCS, on a copy."""
    result = header.copy()
    for key in list(result.keys()):
        if _NON_PLANE_KEY.match(key) or key == "CROTA2":
            result.remove(key, ignore_missing=True, remove_all=True)
    result["BITPIX"] = -32
    result["NAXIS"] = 2
    result["NAXIS1"] = grid.nx
    result["NAXIS2"] = grid.ny
    result["CTYPE1"] = "RA---CAR"
    result["CTYPE2"] = "DEC--CAR"
    result["CUNIT1"] = "deg"
    result["CUNIT2"] = "deg"
    for key in ("CRPIX1", "CRVAL1", "CDELT1", "CRPIX2", "CRVAL2", "CDELT2"):
        result[key] = getattr(grid, key.lower())
    return result


def _axis_lengths(header: fits.Header, hdu_number: int, path: str) -> list[int]:
    naxis = header.get("NAXIS", 0)
    if not isinstance(naxis, int) or naxis < 0 or naxis > 999:
        raise _fail(f"HDU {hdu_number}: NAXIS = {naxis!r} is not valid", path)
    axes = []
    for axis in range(1, naxis + 1):
        length = header.get(f"NAXIS{axis}")
        if not isinstance(length, int) or isinstance(length, bool) or length < 0:
            raise _fail(f"HDU {hdu_number}: NAXIS{axis} = {length!r} is not valid", path)
        if length > MAX_AXIS_LENGTH:
            raise _fail(f"HDU {hdu_number}: NAXIS{axis} = {length} is implausibly large", path)
        axes.append(length)
    return axes


def _image_axes(header: fits.Header, hdu_number: int, path: str) -> list[int]:
    axes = _axis_lengths(header, hdu_number, path)
    naxis = len(axes)
    if naxis == 0 or 0 in axes:
        raise _fail(f"HDU {hdu_number} has no image data", path)
    if naxis == 1:
        raise _fail(f"HDU {hdu_number} holds a 1-D array, not an image", path)
    if sum(1 for length in axes[2:] if length > 1) > 1:
        shape = " x ".join(str(length) for length in axes)
        raise _fail(
            f"HDU {hdu_number} has more than 3 non-trivial axes ({shape}); "
            "expected a 2-D image or a stack of planes",
            path,
        )
    return axes


def _is_image(hdu) -> bool:
    return isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU)


def _inspect_hdu(
    hdu, *, hdu_number: int, index: int | None, path: str, file_stat: os.stat_result
) -> tuple[PlaneInfo, _Storage]:
    if not _is_image(hdu):
        raise _fail(f"HDU {hdu_number} is a {type(hdu).__name__}, not an image", path)
    header = hdu.header
    axes = _image_axes(header, hdu_number, path)
    nx, ny = axes[0], axes[1]
    n_planes = math.prod(axes[2:])
    if n_planes == 1:
        if index not in (None, 0):
            raise _fail(f"index {index} given for a 2-D image (only 0 or null)", path)
        index = None
    elif index is None:
        raise _fail(
            f"HDU {hdu_number} holds {n_planes} planes: an index 0..{n_planes - 1} is needed", path
        )
    elif not 0 <= index < n_planes:
        raise _fail(f"index {index} is outside 0..{n_planes - 1}", path)
    bitpix = header.get("BITPIX")
    if bitpix not in BITPIX_DTYPES:
        raise _fail(f"BITPIX = {bitpix!r} is not valid", path)
    compressed = isinstance(hdu, fits.CompImageHDU)
    data_offset = None
    if not compressed:
        data_offset = hdu.fileinfo()["datLoc"]
        needed = data_offset + abs(bitpix) // 8 * nx * ny * n_planes
        if needed > file_stat.st_size:
            raise _fail(
                f"truncated: HDU {hdu_number} needs {needed} bytes, the file has "
                f"{file_stat.st_size}",
                path,
            )
    else:
        info = hdu.fileinfo()
        if info["datLoc"] + info["datSpan"] - FITS_BLOCK_BYTES >= file_stat.st_size:
            raise _fail(f"truncated: HDU {hdu_number} is cut short", path)
    _check_projection(header, path)
    grid = _pixel_grid(header, nx, ny, path)
    try:
        tile_grid = tile_grid_for(pixel_scale_ra_deg=grid.cdelt1, pixel_scale_dec_deg=grid.cdelt2)
    except OutOfRangeError as error:
        raise _fail(str(error), path) from None
    left, right, top, bottom = _bounds(grid)
    bunit = str(header.get("BUNIT", "")).strip() or None
    extname = str(header.get("EXTNAME", "")).strip() or None
    scale = _number(header, "BSCALE", path, default=1.0)
    zero = _number(header, "BZERO", path, default=0.0)
    blank = header.get("BLANK") if bitpix > 0 else None
    if not isinstance(blank, int) or isinstance(blank, bool):
        blank = None
    plane = index or 0
    leading = (
        tuple(int(i) for i in np.unravel_index(plane, tuple(reversed(axes[2:]))))
        if (axes[2:])
        else ()
    )
    info = PlaneInfo(
        path=path,
        hdu=hdu_number,
        index=index,
        shape=(ny, nx),
        dtype=np.dtype(BITPIX_DTYPES[bitpix]).name,
        header=_normalised_header(header, grid),
        bunit=bunit,
        pixel_scale_ra_deg=grid.cdelt1,
        pixel_scale_dec_deg=grid.cdelt2,
        grid=tile_grid,
        pixel_grid=grid,
        bounding_left=left,
        bounding_right=right,
        bounding_top=top,
        bounding_bottom=bottom,
        n_planes=n_planes,
        extname=extname,
        compressed=compressed,
    )
    storage = _Storage(
        data_offset=data_offset,
        plane_offset=plane * nx * ny * (abs(bitpix) // 8),
        storage_dtype=">" + BITPIX_DTYPES[bitpix],
        scale=scale,
        zero=zero,
        blank=blank,
        leading_index=leading,
        mtime_ns=file_stat.st_mtime_ns,
        size=file_stat.st_size,
    )
    return info, storage


def _open_hdus(path: str) -> fits.HDUList:
    # astropy seeks past the primary data while opening; absurd sizes there
    # would surface as an opaque OS error, so the primary axes are checked first.
    try:
        with open(path, "rb") as handle:
            primary = fits.Header.fromfile(handle)
    except Exception as error:
        raise _fail(f"not a readable FITS file ({_one_line(error)})", path) from None
    _axis_lengths(primary, 0, path)
    try:
        return fits.open(
            path, mode="readonly", memmap=False, lazy_load_hdus=True, do_not_scale_image_data=True
        )
    except Exception as error:
        raise _fail(f"not a readable FITS file ({_one_line(error)})", path) from None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text[:200] or type(error).__name__


def _resolved(path) -> str:
    return os.path.abspath(os.fspath(path))


def _hdu_count(hdus: fits.HDUList, path: str) -> int:
    try:
        return len(hdus)
    except Exception as error:
        raise _fail(f"unreadable FITS structure ({_one_line(error)})", path) from None


def _inspect(path, *, hdu: int, index: int | None) -> tuple[PlaneInfo, _Storage]:
    path = _resolved(path)
    if isinstance(hdu, bool) or not isinstance(hdu, int) or hdu < 0:
        raise _fail(f"hdu {hdu!r} must be a non-negative integer", path)
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise _fail(f"index {index!r} must be a non-negative integer or null", path)
    file_stat = _stat_regular_file(path)
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdus = _open_hdus(path)
        try:
            try:
                selected = hdus[hdu]
            except IndexError:
                count = _hdu_count(hdus, path)
                raise _fail(f"HDU {hdu} does not exist (the file has {count})", path) from None
            except Exception as error:
                raise _fail(f"unreadable FITS structure ({_one_line(error)})", path) from None
            try:
                return _inspect_hdu(
                    selected, hdu_number=hdu, index=index, path=path, file_stat=file_stat
                )
            except FitsError as error:
                if hdu == 0 and "no image data" in str(error):
                    others = [n for n, h in enumerate(hdus) if n > 0 and _has_pixels(h)]
                    if others:
                        raise _fail(
                            f"HDU 0 has no image data (images are in HDU {others[0]})", path
                        ) from None
                raise
        finally:
            hdus.close()


def _has_pixels(hdu) -> bool:
    return _is_image(hdu) and hdu.header.get("NAXIS", 0) >= 2


def inspect_plane(path, *, hdu: int = 0, index: int | None = None) -> PlaneInfo:
    """Read the headers of one image plane and describe it, without reading pixels.

    Parameters
    ----------
    path : str or os.PathLike
        The FITS file.
    hdu : int
        HDU number (0 = primary).
    index : int or None
        Plane of a 3-D array; ``None`` (or 0) for a 2-D image.

    Raises
    ------
    FitsError
        With a one-line reason when the file or plane cannot be a layer.
    """
    return _inspect(path, hdu=hdu, index=index)[0]


def scan_file(path) -> list[PlaneInfo]:
    """Every usable image plane in every HDU of a file (one per plane of a 3-D array).

    Raises
    ------
    FitsError
        When the file has no usable plane; the reason given is the first
        HDU's problem.
    """
    path = _resolved(path)
    file_stat = _stat_regular_file(path)
    planes: list[PlaneInfo] = []
    reasons: list[str] = []
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdus = _open_hdus(path)
        try:
            for number in range(_hdu_count(hdus, path)):
                try:
                    hdu = hdus[number]
                    if not _has_pixels(hdu):
                        continue
                    axes = _image_axes(hdu.header, number, path)
                    count = math.prod(axes[2:])
                    indexes = [None] if count == 1 else list(range(count))
                    for index in indexes:
                        planes.append(
                            _inspect_hdu(
                                hdu, hdu_number=number, index=index, path=path, file_stat=file_stat
                            )[0]
                        )
                except FitsError as error:
                    reasons.append(str(error))
        finally:
            hdus.close()
    if not planes:
        raise _fail(reasons[0] if reasons else "no image data in any HDU", path)
    return planes


class PlaneReader:
    """Windowed float32 reads of one plane; thread-safe, shared per process.

    Obtain one with ``open_plane``. ``read`` returns a new native-endian
    float32 array with BSCALE/BZERO applied and BLANK as NaN.
    """

    def __init__(self, info: PlaneInfo, storage: _Storage):
        self.info = info
        self._storage = storage
        self._lock = threading.Lock()
        self._hdus: fits.HDUList | None = None
        self._array: np.ndarray | None = None
        if not info.compressed:
            ny, nx = info.shape
            self._array = np.ndarray(
                shape=(ny, nx),
                dtype=storage.storage_dtype,
                buffer=_file_map(info.path, storage),
                offset=storage.data_offset + storage.plane_offset,
            )

    @property
    def version(self) -> tuple:
        """Identifies the plane and the file version it reads."""
        info, storage = self.info, self._storage
        return (info.path, storage.mtime_ns, storage.size, info.hdu, info.index)

    def read(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Rows ``y0:y1`` and columns ``x0:x1`` of the plane, in file order."""
        ny, nx = self.info.shape
        if not (0 <= y0 < y1 <= ny and 0 <= x0 < x1 <= nx):
            raise OutOfRangeError(f"window {y0}:{y1}, {x0}:{x1} is outside the {ny} x {nx} plane")
        if self._array is not None:
            raw = self._array[y0:y1, x0:x1]
        else:
            raw = self._read_compressed(y0, y1, x0, x1)
        return self._to_float32(raw)

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The grid of pixels at ``rows`` x ``cols`` (index arrays), as float32.

        For sparse samples (strided tiles, histograms): only the listed rows
        are touched, unlike a window read spanning them.
        """
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        ny, nx = self.info.shape
        if rows.size == 0 or cols.size == 0:
            return np.empty((rows.size, cols.size), dtype=np.float32)
        if rows.min() < 0 or rows.max() >= ny or cols.min() < 0 or cols.max() >= nx:
            raise OutOfRangeError(f"pixel indexes outside the {ny} x {nx} plane")
        if self._array is not None:
            return self._to_float32(self._array[np.ix_(rows, cols)])
        x0, x1 = int(cols.min()), int(cols.max()) + 1
        return np.stack(
            [self._to_float32(self._read_compressed(r, r + 1, x0, x1))[0, cols - x0] for r in rows]
        )

    def _to_float32(self, raw: np.ndarray) -> np.ndarray:
        storage = self._storage
        # float64 values beyond float32's range become inf (no data), silently.
        with np.errstate(over="ignore"):
            out = raw.astype(np.float32)
        if raw.dtype.kind in "iu" and self._array is not None:
            blank = raw == storage.blank if storage.blank is not None else None
            if storage.scale != 1.0:
                out *= np.float32(storage.scale)
            if storage.zero != 0.0:
                out += np.float32(storage.zero)
            if blank is not None:
                out[blank] = np.nan
        return out

    def _read_compressed(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        # astropy's section shares one file handle: reads must not interleave.
        with self._lock:
            try:
                if self._hdus is None:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        # memmap=True refuses scaled compressed data; sections read
                        # only the compressed tiles they need either way.
                        self._hdus = fits.open(self.info.path, memmap=False, lazy_load_hdus=True)
                section = self._hdus[self.info.hdu].section
                key = (*self._storage.leading_index, slice(y0, y1), slice(x0, x1))
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return np.asarray(section[key])
            except Exception as error:
                raise FitsError(
                    f"cannot decompress HDU {self.info.hdu} ({_one_line(error)})",
                    path=self.info.path,
                ) from None


_maps: OrderedDict[tuple, mmap.mmap] = OrderedDict()
_readers: OrderedDict[tuple, PlaneReader] = OrderedDict()
_cache_lock = threading.Lock()


def _file_map(path: str, storage: _Storage) -> mmap.mmap:
    """One read-only mapping per file version, shared by its planes."""
    key = (path, storage.mtime_ns, storage.size)
    with _cache_lock:
        mapping = _maps.get(key)
        if mapping is None:
            with open(path, "rb") as handle:
                mapping = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
            _maps[key] = mapping
            while len(_maps) > READER_CACHE_SIZE:
                _maps.popitem(last=False)
        else:
            _maps.move_to_end(key)
        return mapping


def _forget_other_versions(path: str, storage: _Storage) -> None:
    """Drop cached readers and mappings of older versions of a file.

    A mapping keeps a replaced file's blocks allocated on disk, and 5 GB
    maps get regenerated in place; callers hold the lock.
    """
    version = (storage.mtime_ns, storage.size)
    for cache in (_readers, _maps):
        for key in [k for k in cache if k[0] == path and (k[1], k[2]) != version]:
            del cache[key]


def open_plane(path, *, hdu: int = 0, index: int | None = None) -> PlaneReader:
    """The process-wide reader of one plane, reopened when the file changes.

    Raises
    ------
    FitsError
        As ``inspect_plane``.
    """
    path = _resolved(path)
    try:
        file_stat = os.stat(path)
    except OSError:
        file_stat = None
    if file_stat is None or not stat.S_ISREG(file_stat.st_mode):
        file_stat = _stat_regular_file(path)
    key = (path, file_stat.st_mtime_ns, file_stat.st_size, hdu, index)
    with _cache_lock:
        reader = _readers.get(key)
        if reader is not None:
            _readers.move_to_end(key)
            return reader
    info, storage = _inspect(path, hdu=hdu, index=index)
    reader = PlaneReader(info, storage)
    with _cache_lock:
        _forget_other_versions(path, storage)
        reader = _readers.setdefault(key, reader)
        _readers.move_to_end(key)
        while len(_readers) > READER_CACHE_SIZE:
            _readers.popitem(last=False)
    return reader
