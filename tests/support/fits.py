"""Builders for small synthetic CAR FITS maps used throughout the tests.

Pixel values are a known function of position so a test can say which
value a given RA/Dec must show: ``value_at(ra_deg, dec_deg)``.
"""

import os
from pathlib import Path

import numpy as np
from astropy.io import fits


def car_header(
    *,
    nx: int,
    ny: int,
    pixel_scale_deg: float,
    ra_left_deg: float,
    dec_bottom_deg: float,
    cdelt1_negative: bool = True,
    bunit: str | None = "uK",
    n_planes: int | None = None,
) -> fits.Header:
    """A CAR header whose pixel (0, 0) is the bottom row, at the left-hand RA edge.

    ``ra_left_deg`` is the RA of the outer edge of column 0: with the ACT
    convention (CDELT1 < 0) RA decreases to the right from there.
    """
    cdelt1 = -pixel_scale_deg if cdelt1_negative else pixel_scale_deg
    header = fits.Header()
    header["NAXIS"] = 2 if n_planes is None else 3
    header["NAXIS1"] = nx
    header["NAXIS2"] = ny
    if n_planes is not None:
        header["NAXIS3"] = n_planes
    header["CTYPE1"] = "RA---CAR"
    header["CTYPE2"] = "DEC--CAR"
    header["CUNIT1"] = "deg"
    header["CUNIT2"] = "deg"
    header["CDELT1"] = cdelt1
    header["CDELT2"] = pixel_scale_deg
    # Reference at RA = 0, Dec = 0 as pixell writes it: CRPIX is where that
    # point falls (1-based), possibly outside the array.
    header["CRVAL1"] = 0.0
    header["CRVAL2"] = 0.0
    header["CRPIX1"] = 0.5 + (0.0 - ra_left_deg) / cdelt1
    header["CRPIX2"] = 0.5 + (0.0 - dec_bottom_deg) / pixel_scale_deg
    if bunit is not None:
        header["BUNIT"] = bunit
    return header


def pixel_centres_deg(header: fits.Header) -> tuple[np.ndarray, np.ndarray]:
    """RA (per column) and Dec (per row) of pixel centres, straight from the linear CAR WCS."""
    nx, ny = header["NAXIS1"], header["NAXIS2"]
    ra = header["CRVAL1"] + (np.arange(nx) + 1 - header["CRPIX1"]) * header["CDELT1"]
    dec = header["CRVAL2"] + (np.arange(ny) + 1 - header["CRPIX2"]) * header["CDELT2"]
    return ra, dec


def value_at(ra_deg, dec_deg, plane: int = 0):
    """The synthetic sky: smooth, distinct everywhere, different per plane."""
    ra = np.asarray(ra_deg, dtype=np.float64)
    dec = np.asarray(dec_deg, dtype=np.float64)
    return 100.0 * np.sin(np.radians(ra) * 3.0) + 2.0 * dec + 1000.0 * plane


def write_car_map(
    path: Path,
    *,
    nx: int = 360,
    ny: int = 180,
    pixel_scale_deg: float = 0.5,
    ra_left_deg: float = 90.0,
    dec_bottom_deg: float = -45.0,
    n_planes: int | None = None,
    cdelt1_negative: bool = True,
    dtype: str = "float32",
    bunit: str | None = "uK",
    nan_box: tuple[slice, slice] | None = None,
    compressed: bool = False,
    hdu_index: int = 0,
    extra_header: dict | None = None,
) -> Path:
    """Write a CAR map of ``value_at`` and return its path.

    ``dtype`` may be an integer type, in which case BSCALE/BZERO encode the
    values. ``hdu_index`` > 0 puts the image after empty HDUs.
    """
    header = car_header(
        nx=nx,
        ny=ny,
        pixel_scale_deg=pixel_scale_deg,
        ra_left_deg=ra_left_deg,
        dec_bottom_deg=dec_bottom_deg,
        cdelt1_negative=cdelt1_negative,
        bunit=bunit,
        n_planes=n_planes,
    )
    for key, value in (extra_header or {}).items():
        header[key] = value
    ra, dec = pixel_centres_deg(header)
    ra_grid, dec_grid = np.meshgrid(ra, dec)
    planes = [value_at(ra_grid, dec_grid, plane=p) for p in range(n_planes or 1)]
    data = np.stack(planes) if n_planes is not None else planes[0]
    if nan_box is not None:
        data[(..., *nan_box)] = np.nan
    hdus: list = [fits.PrimaryHDU()] if hdu_index > 0 else []
    hdus.extend(fits.ImageHDU() for _ in range(max(0, hdu_index - 1)))
    for key in ("NAXIS", "NAXIS1", "NAXIS2", "NAXIS3"):
        header.remove(key, ignore_missing=True)
    if compressed:
        if hdu_index == 0:
            hdus.append(fits.PrimaryHDU())
        hdus.append(fits.CompImageHDU(data=data.astype(dtype), header=header))
    else:
        image_class = fits.PrimaryHDU if hdu_index == 0 else fits.ImageHDU
        if np.dtype(dtype).kind == "i":
            image = image_class(data=data.astype(np.float64), header=header)
            image.scale(dtype, bscale=0.01, bzero=0.0)
        else:
            image = image_class(data=data.astype(dtype), header=header)
        hdus.append(image)
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return Path(path)


def write_constant_map(
    path: Path,
    value: float,
    *,
    nx: int = 2000,
    ny: int = 1000,
    pixel_scale_deg: float = 0.01,
    ra_left_deg: float = 20.0,
    dec_bottom_deg: float = -5.0,
) -> Path:
    """A float32 CAR map whose every pixel is ``value`` (default: RA 20 .. 0, Dec -5 .. 5).

    Two of these with different values tell which version of a file a read saw.
    """
    header = car_header(
        nx=nx,
        ny=ny,
        pixel_scale_deg=pixel_scale_deg,
        ra_left_deg=ra_left_deg,
        dec_bottom_deg=dec_bottom_deg,
    )
    for key in ("NAXIS", "NAXIS1", "NAXIS2"):
        header.remove(key)
    data = np.full((ny, nx), value, dtype=np.float32)
    fits.PrimaryHDU(data=data, header=header).writeto(path, overwrite=True)
    return path


def bump_mtime(path: Path) -> None:
    """Move a file's mtime a second on, so a rewrite is seen whatever the clock's grain."""
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))


# ACT's 0.5 arcmin pixels: a 700 x 700 map gives 675-pixel tiles and 6 levels.
ACT_PIXEL_SCALE_DEG = 0.5 / 60


def write_big_map(path, **options):
    """A 700 x 700 map at ACT's pixel scale: big enough for a whole native 675-pixel tile."""
    return write_car_map(
        path,
        nx=700,
        ny=700,
        pixel_scale_deg=ACT_PIXEL_SCALE_DEG,
        ra_left_deg=5.0,
        dec_bottom_deg=0.0,
        **options,
    )
