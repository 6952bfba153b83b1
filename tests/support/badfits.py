"""Malformed FITS files, one builder per way a file can be broken."""

import os
from pathlib import Path

from astropy.io import fits

from tests.support.fits import car_header, write_car_map

GOOD = {"nx": 20, "ny": 10, "pixel_scale_deg": 1.0, "ra_left_deg": 10.0, "dec_bottom_deg": -5.0}


def _header_bytes(**overrides) -> bytes:
    header = fits.Header()
    header["SIMPLE"] = True
    header["BITPIX"] = -32
    header["NAXIS"] = 2
    header["NAXIS1"] = GOOD["nx"]
    header["NAXIS2"] = GOOD["ny"]
    for key, value in car_header(**GOOD).items():
        if not key.startswith("NAXIS"):
            header[key] = value
    for key, value in overrides.items():
        header[key] = value
    return header.tostring().encode()


def truncated(path: Path) -> Path:
    write_car_map(path, **GOOD)
    data = path.read_bytes()
    # Cut into the pixels themselves, not just the padding of the last block.
    path.write_bytes(data[: len(data) - 2880 + 100])
    return path


def header_only(path: Path) -> Path:
    path.write_bytes(_header_bytes())
    return path


def garbage(path: Path) -> Path:
    path.write_bytes(bytes(range(256)) * 40)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def missing_wcs(path: Path) -> Path:
    write_car_map(path, **GOOD)
    with fits.open(path, mode="update") as hdus:
        del hdus[0].header["CDELT1"]
    return path


def cdelt_zero(path: Path) -> Path:
    return write_car_map(path, **GOOD, extra_header={"CDELT2": 0.0})


def absurd_naxis(path: Path) -> Path:
    path.write_bytes(_header_bytes(NAXIS1=10**12) + b"\0" * 2880)
    return path


def huge_naxis(path: Path) -> Path:
    path.write_bytes(_header_bytes(NAXIS1=20_000_000) + b"\0" * 2880)
    return path


def directory(path: Path) -> Path:
    path.mkdir()
    return path


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def not_car(path: Path) -> Path:
    return write_car_map(path, **GOOD, extra_header={"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"})


# A legal file with a hostile pixel scale: 24 x 24 float32 pixels of 1e-6 degree
# (5,760 bytes on disk) on a grid of 19 zoom levels, whose level-0 tile spans
# 1.8e8 x 1.8e8 deepest-level pixels. It imports and must be served cheaply.
TINY_PIXEL = {
    "nx": 24,
    "ny": 24,
    "pixel_scale_deg": 1e-6,
    "ra_left_deg": 10.0,
    "dec_bottom_deg": 5.0,
}


def tiny_pixel(path: Path) -> Path:
    return write_car_map(path, **TINY_PIXEL)


def too_fine_pixel(path: Path) -> Path:
    """1e-7 degree pixels: more zoom levels than are served."""
    return write_car_map(path, **{**TINY_PIXEL, "pixel_scale_deg": 1e-7})
