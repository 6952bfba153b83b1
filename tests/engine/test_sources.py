"""Providers, combinations and histogram samples."""

import os

import numpy as np
import pytest
from astropy.io import fits

from maps.engine import (
    COMBINATION_FUNCTIONS,
    FitsError,
    TileIndex,
    source_from_provider,
)
from tests.engine.brute import expected_tile, plane_values, plane_wcs
from tests.support.fits import car_header

GRID = dict(nx=400, ny=200, pixel_scale_deg=1 / 32, ra_left_deg=10.0, dec_bottom_deg=-3.0)


def _second_input(path):
    """A plane on GRID with zeros, negatives, NaN and inf, so every function has edge cases."""
    header = car_header(**{k: v for k, v in GRID.items()})
    for key in ("NAXIS", "NAXIS1", "NAXIS2"):
        header.remove(key)
    rng = np.random.default_rng(3)
    data = rng.normal(0, 5, (GRID["ny"], GRID["nx"])).astype(np.float32)
    data[:, 100:120] = 0.0
    data[150:170, :] = np.nan
    data[10:12, 300:310] = np.inf
    header["BUNIT"] = "uK^-2"
    fits.PrimaryHDU(data=data, header=header).writeto(path)
    return path


def _reference(function, inputs):
    stack = np.stack(inputs)
    finite = np.isfinite(stack)
    with np.errstate(all="ignore"):
        if function in ("+", "-", "*", "/"):
            ops = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}[function]
            result = stack[0]
            for other in stack[1:]:
                result = ops(result, other)
        elif function == "mean":
            result = np.where(finite, stack, 0).sum(0) / finite.sum(0)
        else:
            fill = -np.inf if function == "max" else np.inf
            reduce = np.max if function == "max" else np.min
            result = reduce(np.where(finite, stack, fill), axis=0)
    return np.where(np.isfinite(result), result, np.nan)


@pytest.mark.parametrize("function", COMBINATION_FUNCTIONS)
def test_combinations_equal_element_wise_references(make_car_map, tmp_path, function):
    first = make_car_map("a.fits", **GRID, nan_box=(slice(20, 60), slice(0, 50)))
    second = _second_input(tmp_path / "b.fits")
    third = make_car_map("c.fits", **GRID, n_planes=2, dtype="float64")
    provider = {
        "provider_type": "fits_combination",
        "function": function,
        "providers": [
            {"provider_type": "fits", "filename": str(first)},
            {"provider_type": "fits", "filename": str(second), "hdu": 0},
            {"provider_type": "fits", "filename": str(third), "index": 1},
        ],
    }
    source = source_from_provider(provider)
    values = [plane_values(first), plane_values(second), plane_values(third, index=1)]
    inputs = [v.astype(np.float32).astype(np.float64) for v in values]
    expected = _reference(function, inputs)
    combined = source.read_window(y0=0, y1=GRID["ny"], x0=0, x1=GRID["nx"])
    np.testing.assert_array_equal(np.isnan(combined), np.isnan(expected))
    np.testing.assert_allclose(combined, expected, rtol=2e-6, atol=1e-5)
    assert source.info.bunit is None, "inputs in different units give no unit"
    # Coarse levels average the combined native pixels (not combine averages).
    wcs = plane_wcs(first)
    for level in (2, 4):
        index = TileIndex(level=level, x=2 ** (level + 1) // 2, y=2**level // 2 - 1)
        reference = expected_tile(
            expected, wcs, source.info.grid, level=level, x=index.x, y=index.y
        )
        np.testing.assert_allclose(source.tile(index=index), reference, rtol=1e-4, atol=1e-3)


def test_combination_units(make_car_map):
    first = make_car_map("a.fits", **GRID)
    second = make_car_map("b.fits", **GRID)
    inputs = [{"provider_type": "fits", "filename": str(p)} for p in (first, second)]
    for function, unit in (("+", "uK"), ("mean", "uK"), ("/", None), ("*", None)):
        provider = {"provider_type": "fits_combination", "function": function, "providers": inputs}
        assert source_from_provider(provider).info.bunit == unit


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (dict(GRID, nx=399), r"399 x 200 at .* \(400 x 200 at .*\) in size"),
        (dict(GRID, ra_left_deg=10.5), r"in sky position or pixel scale \(WCS\)"),
        (dict(GRID, cdelt1_negative=False), r"in sky position or pixel scale \(WCS\)"),
    ],
)
def test_combined_inputs_must_share_one_grid(make_car_map, other, message):
    first = make_car_map("a.fits", **GRID)
    second = make_car_map("b.fits", **other)
    provider = {
        "provider_type": "fits_combination",
        "function": "+",
        "providers": [{"provider_type": "fits", "filename": str(p)} for p in (first, second)],
    }
    with pytest.raises(
        FitsError, match=f"provider\\.providers\\[1\\]: .*b\\.fits: pixel grid .*{message}"
    ):
        source_from_provider(provider)


@pytest.mark.parametrize(
    ("provider", "message"),
    [
        ([], "provider: expected an object, found a list"),
        (
            {"provider_type": "hdf5", "filename": "x"},
            "provider.provider_type: 'hdf5' is not one of",
        ),
        ({"provider_type": "fits"}, "provider.filename: missing"),
        (
            {"provider_type": "fits", "filename": "m.fits", "hdu": -1},
            "hdu: expected an integer >= 0",
        ),
        ({"provider_type": "fits", "filename": "m.fits", "hdu": True}, "hdu: .* found a boolean"),
        (
            {"provider_type": "fits", "filename": "m.fits", "index": "I"},
            "index: .* found the string 'I'",
        ),
        (
            {"provider_type": "fits_combination", "function": "pow", "providers": []},
            "provider.function: 'pow' is not one of",
        ),
        (
            {"provider_type": "fits_combination", "function": "+", "providers": []},
            "non-empty list",
        ),
        (
            {
                "provider_type": "fits_combination",
                "function": "+",
                "providers": [{"provider_type": "fits_combination"}],
            },
            r"providers\[0\]\.provider_type: 'fits_combination': a combination takes fits",
        ),
        ({"provider_type": "fits", "filename": "missing.fits"}, "no such file"),
    ],
)
def test_malformed_providers(tmp_path, provider, message):
    with pytest.raises(FitsError, match=message):
        source_from_provider(provider, path_resolver=lambda name: tmp_path / name)


def test_sources_are_shared_per_file_version(make_car_map):
    path = make_car_map(**GRID)
    source = source_from_provider(
        {"provider_type": "fits", "filename": "map.fits"},
        path_resolver=lambda name: path.parent / name,
    )
    assert (
        source_from_provider({"provider_type": "fits", "filename": str(path), "hdu": 0}) is source
    )
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    changed = source_from_provider({"provider_type": "fits", "filename": str(path)})
    assert changed is not source
    assert changed.version != source.version


def test_histogram_sample_covers_the_whole_plane(make_car_map):
    path = make_car_map(**GRID, nan_box=(slice(0, 100), slice(0, 400)))
    source = source_from_provider({"provider_type": "fits", "filename": str(path)})
    values = plane_values(path).astype(np.float32)
    sample = source.histogram_sample(max_values=2000)
    assert sample.dtype == np.float32
    assert 0 < sample.size <= 2000
    assert np.isfinite(sample).all()
    assert np.isin(sample, values).all()
    finite = values[np.isfinite(values)]
    # An even grid over the finite half of the map: close to its distribution.
    assert np.percentile(sample, [5, 50, 95]) == pytest.approx(
        np.percentile(finite, [5, 50, 95]), abs=0.05 * np.ptp(finite)
    )
    full = source.histogram_sample()
    np.testing.assert_array_equal(np.sort(full), np.sort(finite))
