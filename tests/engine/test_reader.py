"""Windowed reads: values, scaling, blanks, compression, caching per file version."""

import os

import numpy as np
import pytest
from astropy.io import fits

from maps.engine import OutOfRangeError, open_plane
from tests.engine.brute import plane_values
from tests.support.fits import car_header

WINDOWS = [(0, 180, 0, 360), (17, 18, 200, 360), (100, 150, 3, 4), (0, 1, 0, 1)]


@pytest.mark.parametrize(
    ("options", "hdu", "index"),
    [
        (dict(), 0, None),
        (dict(dtype="float64"), 0, None),
        (dict(dtype="int16"), 0, None),
        (dict(dtype="int32", hdu_index=2), 2, None),
        (dict(n_planes=3), 0, 1),
        (dict(compressed=True, nan_box=(slice(5, 9), slice(0, 400))), 1, None),
        (dict(compressed=True, dtype="int16"), 1, None),
        (dict(compressed=True, n_planes=3), 1, 2),
    ],
)
def test_windows_equal_astropy_values(make_car_map, options, hdu, index):
    path = make_car_map(**options)
    expected = plane_values(path, hdu=hdu, index=index)
    reader = open_plane(path, hdu=hdu, index=index)
    for y0, y1, x0, x1 in WINDOWS:
        window = reader.read(y0=y0, y1=y1, x0=x0, x1=x1)
        assert window.dtype == np.dtype(np.float32)
        assert window.dtype.isnative
        np.testing.assert_allclose(window, expected[y0:y1, x0:x1], rtol=1e-6, atol=1e-6)
    rows, cols = np.array([0, 5, 179, 5]), np.array([359, 0, 17])
    np.testing.assert_allclose(
        reader.take(rows=rows, cols=cols), expected[np.ix_(rows, cols)], rtol=1e-6
    )


def test_blank_integers_read_as_nan(tmp_path):
    header = car_header(nx=4, ny=3, pixel_scale_deg=1.0, ra_left_deg=2.0, dec_bottom_deg=0.0)
    for key in ("NAXIS", "NAXIS1", "NAXIS2"):
        header.remove(key)
    raw = np.array([[1, 2, -32768, 4], [5, -32768, 7, 8], [9, 10, 11, 12]], dtype=np.int16)
    hdu = fits.PrimaryHDU(data=raw, header=header, do_not_scale_image_data=True)
    hdu.header["BSCALE"] = 0.5
    hdu.header["BZERO"] = 10.0
    hdu.header["BLANK"] = -32768
    hdu.writeto(tmp_path / "blank.fits")
    window = open_plane(tmp_path / "blank.fits").read(y0=0, y1=3, x0=0, x1=4)
    expected = raw * 0.5 + 10.0
    expected[raw == -32768] = np.nan
    np.testing.assert_array_equal(window, expected.astype(np.float32))


def test_compressed_reads_never_decompress_the_whole_image(make_car_map, monkeypatch):
    path = make_car_map(compressed=True)
    reader = open_plane(path, hdu=1)

    def whole_image(self):
        raise AssertionError("the whole compressed image was decompressed")

    monkeypatch.setattr(fits.CompImageHDU, "data", property(whole_image))
    assert reader.read(y0=10, y1=20, x0=30, x1=50).shape == (10, 20)


@pytest.mark.parametrize(
    "window", [(0, 181, 0, 10), (-1, 3, 0, 10), (5, 5, 0, 10), (0, 10, 300, 361), (0, 10, 9, 3)]
)
def test_windows_outside_the_plane_are_refused(make_car_map, window):
    y0, y1, x0, x1 = window
    with pytest.raises(OutOfRangeError):
        open_plane(make_car_map()).read(y0=y0, y1=y1, x0=x0, x1=x1)


def test_readers_are_shared_until_the_file_changes(make_car_map):
    path = make_car_map(nx=40, ny=20)
    first = open_plane(path)
    assert open_plane(str(path)) is first
    make_car_map(nx=40, ny=20, extra_header={"CRVAL2": 0.0}, dtype="float64")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = open_plane(path)
    assert second is not first
    assert second.info.dtype == "float64"


@pytest.mark.parametrize("gather", ["vm_readv", "preadv"])
@pytest.mark.parametrize(
    ("options", "hdu"), [(dict(), 0), (dict(dtype="int16"), 0), (dict(compressed=True), 1)]
)
def test_oriented_reads_equal_reversed_windows(make_car_map, monkeypatch, gather, options, hdu):
    from maps.engine import fits_source

    if gather == "preadv":
        monkeypatch.setattr(fits_source, "_vm_readv", None)
    reader = open_plane(make_car_map(**options), hdu=hdu)
    for y0, y1, x0, x1 in WINDOWS:
        window = reader.read(y0=y0, y1=y1, x0=x0, x1=x1)
        for reverse_rows in (False, True):
            for reverse_cols in (False, True):
                oriented = reader.read_oriented(
                    y0=y0, y1=y1, x0=x0, x1=x1, reverse_rows=reverse_rows, reverse_cols=reverse_cols
                )
                assert oriented.flags.c_contiguous
                assert oriented.dtype == np.dtype(np.float32)
                np.testing.assert_array_equal(
                    oriented,
                    window[:: -1 if reverse_rows else 1, :: -1 if reverse_cols else 1],
                )
    with pytest.raises(OutOfRangeError):
        reader.read_oriented(y0=0, y1=181, x0=0, x1=10, reverse_rows=True, reverse_cols=False)
