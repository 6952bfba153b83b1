"""Header inspection: what PlaneInfo says about good files, and why bad files are refused."""

import os
import subprocess
import sys

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from maps.engine import FitsError, inspect_plane, scan_file
from tests.support.fits import car_header, pixel_centres_deg


@pytest.mark.parametrize(
    ("options", "bounds"),
    [
        (dict(ra_left_deg=90.0, dec_bottom_deg=-45.0), (-90.0, 90.0, 45.0, -45.0)),
        (dict(ra_left_deg=-90.0, dec_bottom_deg=0.0, cdelt1_negative=False),
         (-90.0, 90.0, 90.0, 0.0)),
        (dict(ra_left_deg=180.0, dec_bottom_deg=-90.0, nx=720, ny=360),
         (-180.0, 180.0, 90.0, -90.0)),
        (dict(ra_left_deg=0.0, dec_bottom_deg=-90.0, nx=720, ny=360, cdelt1_negative=False),
         (-180.0, 180.0, 90.0, -90.0)),
        # Crossing RA 180 (170 .. 190): reported as the whole RA range.
        (dict(ra_left_deg=170.0, dec_bottom_deg=0.0, nx=40, ny=20, cdelt1_negative=False),
         (-180.0, 180.0, 10.0, 0.0)),
    ],
)  # fmt: skip
def test_bounding_box(make_car_map, options, bounds):
    info = inspect_plane(make_car_map(**options))
    assert (
        info.bounding_left,
        info.bounding_right,
        info.bounding_top,
        info.bounding_bottom,
    ) == pytest.approx(bounds)


def test_plane_info_of_an_act_like_map(make_car_map):
    path = make_car_map(
        nx=360, ny=180, pixel_scale_deg=1 / 120, n_planes=3, bunit="uK", ra_left_deg=1.5
    )
    with open(path, "rb") as handle:
        before = handle.read()
    info = inspect_plane(path, index=2)
    assert info.path == str(path)
    assert (info.hdu, info.index, info.shape, info.n_planes) == (0, 2, (180, 360), 3)
    assert info.dtype == "float32"
    assert info.bunit == "uK"
    assert info.pixel_scale_ra_deg == pytest.approx(-1 / 120)
    assert info.pixel_scale_dec_deg == pytest.approx(1 / 120)
    assert (info.grid.tile_size, info.grid.number_of_levels) == (675, 6)
    assert info.header["NAXIS"] == 2
    assert "NAXIS3" not in info.header
    assert info.compressed is False
    with open(path, "rb") as handle:
        assert handle.read() == before


@pytest.mark.parametrize(
    ("options", "hdu", "dtype"),
    [
        (dict(dtype="int16"), 0, "int16"),
        (dict(dtype="float64"), 0, "float64"),
        (dict(compressed=True), 1, "float32"),
        (dict(hdu_index=3), 3, "float32"),
    ],
)
def test_storage_variants_are_accepted(make_car_map, options, hdu, dtype):
    info = inspect_plane(make_car_map(**options), hdu=hdu)
    assert info.dtype == dtype
    assert info.hdu == hdu
    assert "BSCALE" not in info.header
    assert "BZERO" not in info.header
    assert info.compressed is options.get("compressed", False)


def test_index_zero_of_a_2d_image_is_accepted(make_car_map):
    assert inspect_plane(make_car_map(), index=0).index is None


def test_crpix1_many_turns_away_is_normalised_without_moving_the_sky(make_car_map):
    scale = 0.5
    crpix1 = 0.5 + (0.0 - 90.0) / -scale + 5 * 360 / scale
    path = make_car_map(pixel_scale_deg=scale, extra_header={"CRPIX1": crpix1})
    info = inspect_plane(path)
    assert 0.5 <= info.header["CRPIX1"] <= info.shape[1] + 0.5
    with fits.open(path) as hdus:
        # astropy cannot place pixels that far from CRPIX1; the linear CAR formula can.
        ra_original, dec_original = pixel_centres_deg(hdus[0].header)
    columns = np.arange(info.shape[1])
    ra_normalised, dec_normalised = WCS(info.header).pixel_to_world_values(
        columns, np.full_like(columns, 17)
    )
    assert np.isfinite(ra_normalised).all()
    turns = (ra_original - ra_normalised) / 360.0
    np.testing.assert_allclose(turns, np.round(turns), atol=1e-9)
    np.testing.assert_allclose(dec_normalised, dec_original[17])


def test_the_file_header_is_not_modified(make_car_map):
    path = make_car_map(n_planes=3, dtype="int16")
    with fits.open(path) as hdus:
        header = hdus[0].header
        info = inspect_plane(path, index=1)
        info.header["CRPIX1"] = 1.0
        assert header["NAXIS"] == 3
        assert "BSCALE" in header


def test_scan_file_lists_every_plane_of_every_image_hdu(tmp_path):
    header = car_header(nx=20, ny=10, pixel_scale_deg=1.0, ra_left_deg=10.0, dec_bottom_deg=0.0)
    for key in ("NAXIS", "NAXIS1", "NAXIS2"):
        header.remove(key)
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(np.zeros((3, 10, 20), dtype=np.float32), header=header, name="IQU"),
            fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])]),
            fits.ImageHDU(np.zeros((10, 20), dtype=np.float32), header=header, name="IVAR"),
        ]
    )
    hdus.writeto(tmp_path / "multi.fits")
    planes = scan_file(tmp_path / "multi.fits")
    assert [(p.hdu, p.index, p.extname) for p in planes] == [
        (1, 0, "IQU"),
        (1, 1, "IQU"),
        (1, 2, "IQU"),
        (3, None, "IVAR"),
    ]


def _write(path, header_cards: dict, data=None, *, remove=()):
    header = car_header(nx=20, ny=10, pixel_scale_deg=1.0, ra_left_deg=10.0, dec_bottom_deg=0.0)
    for key in ("NAXIS", "NAXIS1", "NAXIS2", *remove):
        header.remove(key)
    for key, value in header_cards.items():
        header[key] = value
    if data is None:
        data = np.zeros((10, 20), dtype=np.float32)
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return path


def _patch_card(path, key: str, value: str):
    """Overwrite a card's value in place, bypassing astropy's checks."""
    with open(path, "r+b") as handle:
        block = handle.read(2880)
        start = block.index(key.ljust(8).encode() + b"= ")
        card = (key.ljust(8) + "= " + value.rjust(20)).ljust(80).encode()
        handle.seek(start)
        handle.write(card)
    return path


BROKEN_FILES = {
    "missing": (lambda d: d / "nothing-here.fits", {}, "no such file"),
    "empty": (lambda d: _bytes_file(d / "e.fits", b""), {}, "empty file"),
    "garbage": (
        lambda d: _bytes_file(d / "g.fits", b"\x7f" + os.urandom(5000)),
        {},
        "not a FITS file",
    ),
    "simple_then_garbage": (
        lambda d: _bytes_file(d / "s.fits", b"SIMPLE  =" + b"\x00" * 6000),
        {},
        "not a readable FITS file",
    ),
    "truncated": (
        lambda d: _truncate(_write(d / "t.fits", {}, np.zeros((100, 20), np.float32))),
        {},
        "truncated",
    ),
    "header_only": (
        lambda d: fits.PrimaryHDU().writeto(d / "h.fits") or d / "h.fits",
        {},
        "HDU 0 has no image data",
    ),
    "image_in_another_hdu": (
        lambda d: (
            fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.zeros((4, 4)))]).writeto(d / "x.fits")
            or d / "x.fits"
        ),
        {},
        r"HDU 0 has no image data \(images are in HDU 1\)",
    ),
    "hdu_out_of_range": (
        lambda d: _write(d / "o.fits", {}),
        {"hdu": 4},
        r"HDU 4 does not exist \(the file has 1\)",
    ),
    "table_hdu": (
        lambda d: (
            fits.HDUList(
                [
                    fits.PrimaryHDU(),
                    fits.BinTableHDU.from_columns([fits.Column(name="a", format="E", array=[1.0])]),
                ]
            ).writeto(d / "tb.fits")
            or d / "tb.fits"
        ),
        {"hdu": 1},
        "HDU 1 is a BinTableHDU, not an image",
    ),
    "plane_out_of_range": (
        lambda d: _write(d / "p.fits", {}, np.zeros((3, 10, 20), np.float32)),
        {"index": 3},
        r"index 3 is outside 0\.\.2",
    ),
    "plane_missing": (
        lambda d: _write(d / "pm.fits", {}, np.zeros((3, 10, 20), np.float32)),
        {},
        r"holds 3 planes: an index 0\.\.2 is needed",
    ),
    "index_on_2d": (lambda d: _write(d / "i.fits", {}), {"index": 1}, "index 1 given for a 2-D"),
    "one_dimensional": (
        lambda d: fits.PrimaryHDU(np.zeros(10, np.float32)).writeto(d / "1d.fits") or d / "1d.fits",
        {},
        "1-D array",
    ),
    "four_useful_axes": (
        lambda d: _write(d / "4d.fits", {}, np.zeros((2, 3, 10, 20), np.float32)),
        {"index": 0},
        "more than 3 non-trivial axes",
    ),
    "absurd_naxis": (
        lambda d: _patch_card(_write(d / "big.fits", {}), "NAXIS1", "999999999999"),
        {},
        "NAXIS1 = 999999999999 is implausibly large",
    ),
    "missing_cdelt": (
        lambda d: _write(d / "nc.fits", {}, remove=("CDELT1",)),
        {},
        "missing WCS keyword CDELT1",
    ),
    "missing_ctype": (
        lambda d: _write(d / "nt.fits", {}, remove=("CTYPE2",)),
        {},
        "missing WCS keyword CTYPE2",
    ),
    "missing_crpix": (
        lambda d: _write(d / "np.fits", {}, remove=("CRPIX2",)),
        {},
        "missing WCS keyword CRPIX2",
    ),
    "cdelt_zero": (lambda d: _write(d / "z.fits", {"CDELT2": 0.0}), {}, "CDELT2 is 0"),
    "tan_projection": (
        lambda d: _write(d / "tan.fits", {"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN"}),
        {},
        "CTYPE1 = 'RA---TAN': only plate carree maps",
    ),
    "galactic": (
        lambda d: _write(d / "gal.fits", {"CTYPE1": "GLON-CAR", "CTYPE2": "GLAT-CAR"}),
        {},
        "CTYPE1 = 'GLON-CAR'",
    ),
    "radians": (
        lambda d: _write(d / "rad.fits", {"CUNIT1": "rad"}),
        {},
        "CUNIT1 = 'rad': only degrees",
    ),
    "rotated": (lambda d: _write(d / "rot.fits", {"PC1_2": 0.1}), {}, "rotated pixel grid"),
}


def _bytes_file(path, content: bytes):
    path.write_bytes(content)
    return path


def _truncate(path):
    size = os.path.getsize(path)
    with open(path, "r+b") as handle:
        handle.truncate(size - 4000)
    return path


@pytest.mark.parametrize("case", BROKEN_FILES)
def test_broken_files_are_refused_with_a_one_line_reason(tmp_path, case):
    make, options, message = BROKEN_FILES[case]
    path = make(tmp_path)
    with pytest.raises(FitsError, match=message) as caught:
        inspect_plane(path, **options)
    reason = str(caught.value)
    assert "\n" not in reason
    assert str(path) not in reason
    assert caught.value.path == str(path)
    if case in ("missing", "empty", "garbage", "truncated", "header_only"):
        with pytest.raises(FitsError):
            scan_file(path)


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(FitsError, match="is a directory"):
        inspect_plane(tmp_path)


INSPECT_IN_CHILD = """
import sys
from maps.engine import FitsError, inspect_plane, open_plane, scan_file
for function in (inspect_plane, scan_file, open_plane):
    try:
        function(sys.argv[1])
    except FitsError as error:
        print(error)
"""


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "directory"])
def test_special_files_are_refused_without_blocking(tmp_path, kind):
    if kind == "dev_zero":
        path = "/dev/zero"
    elif kind == "fifo":
        path = str(tmp_path / "pipe.fits")
        os.mkfifo(path)
    else:
        path = str(tmp_path)
    # In a child with a deadline: opening a FIFO would block this process forever.
    result = subprocess.run(
        [sys.executable, "-c", INSPECT_IN_CHILD, path],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    expected = "is a directory" if kind == "directory" else "not a regular file"
    assert result.stdout.splitlines() == [f"{expected}" + _suffix(kind)] * 3, result.stderr


def _suffix(kind):
    return ", not a FITS file" if kind == "directory" else " (a device, pipe or socket)"
