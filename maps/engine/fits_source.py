"""FITS access: header inspection, normalisation, and fast windowed pixel reads.

Headers are read lazily (astropy never touches the data when inspecting), so
inspecting a 5 GB map costs milliseconds. Uncompressed pixels are read with
positional reads into numpy buffers (not a mapping: a file rewritten in place
under a mapping gives SIGBUS), byte-swapped in place to native float32.
Tile-compressed HDUs decompress only the tiles under the requested window
(astropy's ``section``).

The header kept in ``PlaneInfo`` is a normalised 2-D copy describing the
float32 plane the reader returns: the file's own header object is never
modified.
"""

import ctypes
import errno
import math
import mmap
import os
import re
import stat
import threading
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from astropy.io import fits

from maps.engine.errors import FileChangedError, FitsError, OutOfRangeError
from maps.engine.file_identity import (
    FileState,
    FileUnreadableError,
    current_version,
    key_of,
    tracker,
)
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
# A window whose rows leave at most this many bytes between them is read in
# one system call (the gaps copied and dropped) rather than one call per row.
CONTIGUOUS_GAP_BYTES = 32 * 1024
# Ranges per process_vm_readv call: the kernel's limit on one call's vectors.
IOV_MAX = 1024
# Bytes of row spans a sparse read (``take``) holds at once.
TAKE_BATCH_BYTES = 8 * 1024 * 1024

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


def _fail(reason: str, path: str, *, key: str | None = None) -> FitsError:
    return FitsError(reason, path=path, key=key)


def _file_changed(reason: str, *, path: str) -> FileChangedError:
    """The error for a read that found the file changed; the next open looks at the
    file again at once rather than after ``RECHECK_SECONDS`` (a rewrite in place is
    seen here first, by the descriptor's size and mtime)."""
    tracker.expire(path)
    return FileChangedError(reason, path=path)


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
            raise _fail(f"index {index} given for a 2-D image (only 0 or null)", path, key="index")
        index = None
    elif index is None:
        raise _fail(
            f"HDU {hdu_number} holds {n_planes} planes: an index 0..{n_planes - 1} is needed",
            path,
            key="index",
        )
    elif not 0 <= index < n_planes:
        raise _fail(f"index {index} is outside 0..{n_planes - 1}", path, key="index")
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
        raise _fail(f"hdu {hdu!r} must be a non-negative integer", path, key="hdu")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise _fail(f"index {index!r} must be a non-negative integer or null", path, key="index")
    file_stat = _stat_regular_file(path)
    with _HEADER_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hdus = _open_hdus(path)
        try:
            try:
                selected = hdus[hdu]
            except IndexError:
                count = _hdu_count(hdus, path)
                raise _fail(
                    f"HDU {hdu} does not exist (the file has {count})", path, key="hdu"
                ) from None
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


def _load_vm_readv():
    """libc's ``process_vm_readv``, or None where there is none (not Linux)."""
    try:
        function = ctypes.CDLL(None, use_errno=True).process_vm_readv
    except (OSError, AttributeError):
        return None
    function.restype = ctypes.c_ssize_t
    function.argtypes = [
        ctypes.c_int,
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_ulong,
    ]
    return function


# Cleared for the process when the kernel refuses the call (a seccomp policy).
_vm_readv = _load_vm_readv()


class _FileBytes:
    """Copies byte ranges of one open file into numpy buffers, never raising SIGBUS.

    The file is mapped once, but the mapping is never touched from Python:
    ``process_vm_readv`` on this process copies from it in the kernel, which
    answers a page past a truncated end with EFAULT where a plain access
    would kill the process with SIGBUS. One call gathers up to ``IOV_MAX``
    rows, so a 675 x 675 tile costs one system call, where ``os.preadv``
    needs one per row (1.1 ms against 0.8 ms per window, the mapping read
    directly 0.4 ms, on the ACT benchmark map). Where the kernel refuses the
    call, reads fall back to ``os.preadv``.
    """

    def __init__(self, path: str):
        try:
            self.fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError as error:
            raise _fail(f"cannot read the file ({error.strerror})", path) from None
        weakref.finalize(self, os.close, self.fd)
        self.path = path
        # Ranges are checked against this: the mapping's length once mapped.
        self.size = os.fstat(self.fd).st_size
        self._mapping = None
        self._address = 0
        if _vm_readv is not None:
            try:
                self._mapping = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)
            except (OSError, ValueError):
                self._mapping = None
            else:
                self._address = np.frombuffer(self._mapping, dtype=np.uint8).ctypes.data
                self.size = len(self._mapping)

    @property
    def gathers_cheaply(self) -> bool:
        """Whether many separate ranges cost one call (else one call per range)."""
        return self._mapping is not None and _vm_readv is not None

    def fill(self, out: np.ndarray, offsets: np.ndarray, length: int) -> None:
        """Copy ``length`` bytes from each of ``offsets``, in order, into ``out``.

        Raises
        ------
        FileChangedError
            A range lies past the file's end now (truncated or being rewritten).
        """
        offsets = np.asarray(offsets, dtype=np.uint64)
        if out.nbytes != len(offsets) * length or not out.flags.c_contiguous:
            raise ValueError("the buffer does not match the ranges")
        if len(offsets) and int(offsets.max()) + length > self.size:
            # Never sent to the kernel: beyond the mapping it would copy
            # whatever memory follows it.
            raise _file_changed("the file is shorter than when it was inspected", path=self.path)
        if self.gathers_cheaply and self._vm_fill(out, offsets, length):
            return
        view = memoryview(out).cast("B")
        for number, offset in enumerate(offsets.tolist()):
            self._pread(view[number * length : (number + 1) * length], offset)

    def _vm_fill(self, out: np.ndarray, offsets: np.ndarray, length: int) -> bool:
        global _vm_readv
        function = _vm_readv
        if function is None:
            return False
        remote = np.empty((len(offsets), 2), dtype=np.uint64)
        remote[:, 0] = offsets + np.uint64(self._address)
        remote[:, 1] = length
        local = np.empty(2, dtype=np.uint64)
        base, pid = out.ctypes.data, os.getpid()
        for first in range(0, len(offsets), IOV_MAX):
            count = min(IOV_MAX, len(offsets) - first)
            local[0], local[1] = base + first * length, count * length
            copied = function(pid, local.ctypes.data, 1, remote[first:].ctypes.data, count, 0)
            if copied == count * length:
                continue
            code = ctypes.get_errno() if copied < 0 else errno.EFAULT
            if code == errno.EFAULT:
                raise _file_changed(
                    "the file is shorter than when it was opened (being rewritten?)",
                    path=self.path,
                )
            if first == 0 and code in (errno.ENOSYS, errno.EPERM, errno.EACCES):
                _vm_readv = None
                return False
            raise _file_changed(f"cannot read the file ({os.strerror(code)})", path=self.path)
        return True

    def _pread(self, view: memoryview, offset: int) -> None:
        while view.nbytes:
            try:
                count = os.preadv(self.fd, [view], offset)
            except OSError as error:
                raise _file_changed(
                    f"cannot read the file ({error.strerror})", path=self.path
                ) from None
            if count == 0:
                raise _file_changed(
                    "the file is shorter than when it was opened (being rewritten?)",
                    path=self.path,
                )
            view, offset = view[count:], offset + count


class PlaneReader:
    """Windowed float32 reads of one plane; thread-safe, shared per process.

    Obtain one with ``open_plane``. ``read`` returns a new native-endian
    float32 array with BSCALE/BZERO applied and BLANK as NaN.

    Uncompressed pixels are copied by ``_FileBytes`` from a descriptor held
    for the reader's life, never read through a mapping from Python: a file
    truncated or rewritten in place under a mapping kills the process with
    SIGBUS on the next access, whereas here a read comes back short or the
    descriptor's size and mtime no longer match the version inspected, and
    the reader raises ``FileChangedError`` instead.
    """

    def __init__(self, info: PlaneInfo, storage: _Storage, *, file_version: str = ""):
        self.info = info
        self._storage = storage
        self.file_version = file_version
        self._lock = threading.Lock()
        self._hdus: fits.HDUList | None = None
        self._file: _FileBytes | None = None
        if not info.compressed:
            self._file = _FileBytes(info.path)
            self._dtype = np.dtype(storage.storage_dtype)
            self._row_bytes = info.shape[1] * self._dtype.itemsize
            self._plane_start = storage.data_offset + storage.plane_offset
            # Checked on the descriptor: the file inspected may have been
            # replaced between the inspection and this open.
            self._check_unchanged()

    @property
    def version(self) -> tuple:
        """Identifies the plane and the file version (``file_identity``) it reads."""
        info = self.info
        return (info.path, self.file_version, info.hdu, info.index)

    def opened_key(self) -> tuple[int, int, int, int] | None:
        """The ``stat_key`` of the file this reader reads (its descriptor's), None if gone."""
        try:
            if self._file is not None:
                return key_of(os.fstat(self._file.fd))
            return key_of(os.stat(self.info.path))
        except OSError:
            return None

    def read(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Rows ``y0:y1`` and columns ``x0:x1`` of the plane, in file order.

        Raises
        ------
        FileChangedError
            The file was truncated or rewritten since it was inspected.
        """
        ny, nx = self.info.shape
        if not (0 <= y0 < y1 <= ny and 0 <= x0 < x1 <= nx):
            raise OutOfRangeError(f"window {y0}:{y1}, {x0}:{x1} is outside the {ny} x {nx} plane")
        if self._file is None:
            return self._to_float32(self._read_compressed(y0, y1, x0, x1))
        return self._to_float32(self._read_rows(y0, y1, x0, x1), owned=True)

    def read_oriented(
        self, *, y0: int, y1: int, x0: int, x1: int, reverse_rows: bool, reverse_cols: bool
    ) -> np.ndarray:
        """As ``read``, with rows and/or columns reversed, as one C-contiguous array.

        A native tile is a window with its rows (and, for RA increasing to
        the left, its columns) reversed. The reversal costs nothing here: the
        rows are copied into place in reversed order, and the byte swap that
        every read needs also reverses the columns, where ``read`` followed
        by a reversed copy passes over the pixels once more (0.12 ms and a
        1.8 MB allocation for 675 x 675).
        """
        if self._file is None or not self._file.gathers_cheaply:
            window = self.read(y0=y0, y1=y1, x0=x0, x1=x1)
            return np.ascontiguousarray(
                window[:: -1 if reverse_rows else 1, :: -1 if reverse_cols else 1]
            )
        ny, nx = self.info.shape
        if not (0 <= y0 < y1 <= ny and 0 <= x0 < x1 <= nx):
            raise OutOfRangeError(f"window {y0}:{y1}, {x0}:{x1} is outside the {ny} x {nx} plane")
        rows = np.arange(y0, y1, dtype=np.int64)
        raw = np.empty((y1 - y0, x1 - x0), dtype=self._dtype)
        starts = (
            self._plane_start
            + x0 * self._dtype.itemsize
            + self._row_bytes * (rows[::-1] if reverse_rows else rows)
        )
        self._file.fill(raw, starts, raw.shape[1] * self._dtype.itemsize)
        self._check_unchanged()
        if reverse_cols:
            return self._to_float32(raw[:, ::-1])
        return self._to_float32(raw, owned=True)

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The grid of pixels at ``rows`` x ``cols`` (index arrays), as float32.

        For sparse samples (strided tiles, histograms): only the listed rows
        are read, each over the span of ``cols``, unlike a window read
        spanning them.
        """
        rows = np.asarray(rows, dtype=np.intp)
        cols = np.asarray(cols, dtype=np.intp)
        ny, nx = self.info.shape
        if rows.size == 0 or cols.size == 0:
            return np.empty((rows.size, cols.size), dtype=np.float32)
        if rows.min() < 0 or rows.max() >= ny or cols.min() < 0 or cols.max() >= nx:
            raise OutOfRangeError(f"pixel indexes outside the {ny} x {nx} plane")
        x0, x1 = int(cols.min()), int(cols.max()) + 1
        if self._file is None:
            return np.stack(
                [
                    self._to_float32(self._read_compressed(r, r + 1, x0, x1))[0, cols - x0]
                    for r in rows
                ]
            )
        span_bytes = (x1 - x0) * self._dtype.itemsize
        batch = max(1, TAKE_BATCH_BYTES // span_bytes)
        raw = np.empty((rows.size, cols.size), dtype=self._dtype)
        spans = np.empty((min(batch, rows.size), x1 - x0), dtype=self._dtype)
        starts = self._plane_start + rows.astype(np.int64) * self._row_bytes
        starts += x0 * self._dtype.itemsize
        within = cols - x0
        for first in range(0, rows.size, batch):
            count = min(batch, rows.size - first)
            self._file.fill(spans[:count], starts[first : first + count], span_bytes)
            raw[first : first + count] = spans[:count, within]
        self._check_unchanged()
        return self._to_float32(raw, owned=True)

    def _read_rows(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """The window in storage byte order, as a new array."""
        itemsize, row_bytes = self._dtype.itemsize, self._row_bytes
        width_bytes = (x1 - x0) * itemsize
        first = self._plane_start + y0 * row_bytes + x0 * itemsize
        gap_bytes = row_bytes - width_bytes
        if (
            y1 - y0 == 1
            or gap_bytes == 0
            or (gap_bytes <= CONTIGUOUS_GAP_BYTES and not self._file.gathers_cheaply)
        ):
            # One range from the window's first pixel to its last: without a
            # cheap gather, copying the bytes between rows costs less than a
            # system call per row.
            items = ((y1 - y0 - 1) * row_bytes + width_bytes) // itemsize
            buffer = np.empty(items, dtype=self._dtype)
            self._file.fill(buffer, np.array([first]), items * itemsize)
            self._check_unchanged()
            window = np.lib.stride_tricks.as_strided(
                buffer, shape=(y1 - y0, x1 - x0), strides=(row_bytes, itemsize)
            )
            return window if gap_bytes == 0 else window.copy()
        window = np.empty((y1 - y0, x1 - x0), dtype=self._dtype)
        self._file.fill(window, first + np.arange(y1 - y0, dtype=np.int64) * row_bytes, width_bytes)
        self._check_unchanged()
        return window

    def _check_unchanged(self) -> None:
        """Raise when the file no longer is the version inspected.

        Called after reading: a rewrite in place that began before the check
        has already changed the size or mtime, so bytes that passed it
        belong to the inspected version.
        """
        storage = self._storage
        try:
            now = os.fstat(self._file.fd) if self._file is not None else os.stat(self.info.path)
        except OSError:
            now = None
        if now is None or (now.st_size, now.st_mtime_ns) != (storage.size, storage.mtime_ns):
            raise _file_changed(
                "the file changed while it was read (being rewritten?)", path=self.info.path
            )

    def _to_float32(self, raw: np.ndarray, *, owned: bool = False) -> np.ndarray:
        """Native float32 pixels; ``owned`` arrays are reused in place where possible."""
        storage = self._storage
        if owned and not raw.dtype.isnative:
            raw = raw.byteswap(inplace=True).view(raw.dtype.newbyteorder("="))
        # float64 values beyond float32's range become inf (no data), silently.
        with np.errstate(over="ignore"):
            out = raw.astype(np.float32, copy=not owned)
        if raw.dtype.kind in "iu" and self._file is not None:
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
                    data = np.asarray(section[key])
            except Exception as error:
                self._check_unchanged()
                raise FitsError(
                    f"cannot decompress HDU {self.info.hdu} ({_one_line(error)})",
                    path=self.info.path,
                ) from None
        self._check_unchanged()
        return data


_readers: OrderedDict[tuple, PlaneReader] = OrderedDict()
_cache_lock = threading.Lock()


def _forget_other_versions(path: str, version: str) -> None:
    """Drop cached readers of older versions of a file.

    An open descriptor keeps a replaced file's blocks allocated on disk, and
    5 GB maps get regenerated in place; callers hold the lock.
    """
    for key in [k for k in _readers if k[0] == path and k[1] != version]:
        del _readers[key]


def file_state(path: str, *, fresh: bool = False) -> FileState:
    """``file_identity.current_version`` of ``path``, with ``_stat_regular_file``'s
    reason when the file cannot be read (``FitsError``)."""
    try:
        return current_version(path, fresh=fresh)
    except FileUnreadableError:
        _stat_regular_file(path)
        # Readable again between the two looks.
        return current_version(path, fresh=True)


def open_plane(path, *, hdu: int = 0, index: int | None = None) -> PlaneReader:
    """The process-wide reader of one plane, reopened when the file's version changes.

    Raises
    ------
    FitsError
        As ``inspect_plane``.
    FileChangedError
        The file changed twice while it was being opened.
    """
    path = _resolved(path)
    for fresh in (False, True):
        state = file_state(path, fresh=fresh)
        key = (path, state.version, hdu, index)
        with _cache_lock:
            reader = _readers.get(key)
            if reader is not None:
                _readers.move_to_end(key)
                return reader
        info, storage = _inspect(path, hdu=hdu, index=index)
        reader = PlaneReader(info, storage, file_version=state.version)
        # The version was read before the file was opened: a file replaced
        # in between must not be cached under the older version's key.
        if reader.opened_key() == state.key:
            break
    else:
        raise FileChangedError("the file changed while it was opened (being rewritten?)", path=path)
    with _cache_lock:
        _forget_other_versions(path, state.version)
        reader = _readers.setdefault(key, reader)
        _readers.move_to_end(key)
        while len(_readers) > READER_CACHE_SIZE:
            _readers.popitem(last=False)
    return reader
