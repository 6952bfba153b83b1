"""Colour limits (issue 13): zscale against astropy, percentiles against numpy."""

import numpy as np
import pytest
from astropy.visualization import ZScaleInterval

from maps.engine.errors import NoDataError
from maps.engine.limits import (
    PERCENT_PRESETS,
    _grow,
    layer_limits,
    minmax_limits,
    percentile_limits,
    zscale_limits,
)


def noisy(n, *, seed=0, nan_every=17, outlier_every=101):
    """Gaussian noise with NaN and bright 'point sources' sprinkled at a fixed stride."""
    values = np.random.default_rng(seed).normal(2.0, 3.0, n).astype(np.float32)
    if nan_every:
        values[::nan_every] = np.nan
    if outlier_every:
        values[::outlier_every] = 1e4
    return values


SYNTHETIC = {
    "noise with NaN and sources": noisy(250_000),
    "under the sample size": noisy(999, seed=1),
    "exactly the sample size": noisy(1000, seed=2, nan_every=0),
    "just over the sample size": noisy(1001, seed=3, nan_every=0),
    "2-D map with inf": np.where(
        np.arange(400 * 300).reshape(400, 300) % 53 == 0,
        np.inf,
        noisy(400 * 300, seed=4, nan_every=29).reshape(400, 300),
    ),
    "ramp": np.linspace(-500.0, 500.0, 7919, dtype=np.float32),
    "heavy tail": np.random.default_rng(5).standard_cauchy(50_000).astype(np.float32),
    "mostly one value": np.concatenate([np.zeros(900), np.linspace(1, 1000, 100)]),
    "constant": np.full(5000, 3.5, dtype=np.float32),
    "four values (too few to fit)": np.array([4.0, np.nan, 1.0, 9.0, 2.0]),
    "one value": np.array([np.nan, 7.25]),
}


@pytest.mark.parametrize("name", SYNTHETIC)
def test_zscale_matches_astropy(name):
    values = SYNTHETIC[name]
    expected = ZScaleInterval().get_limits(values)
    vmin, vmax = zscale_limits(values)
    assert (type(vmin), type(vmax)) == (float, float)
    # astropy keeps float32 samples (its median is float32); ours are float64.
    assert vmin == pytest.approx(float(expected[0]), rel=1e-6, abs=1e-9)
    assert vmax == pytest.approx(float(expected[1]), rel=1e-6, abs=1e-9)


def test_zscale_rejects_sources_within_the_data_range():
    """The test data must exercise the fit, not fall back to min/max."""
    vmin, vmax = zscale_limits(SYNTHETIC["noise with NaN and sources"])
    assert -20 < vmin < 0
    assert 0 < vmax < 30


@pytest.mark.parametrize("width", [1, 2, 3, 9, 10])
def test_grow_is_numpy_convolve_same(width):
    mask = np.random.default_rng(width).random(200) > 0.93
    mask[0] = mask[-1] = True
    expected = np.convolve(mask, np.ones(width, dtype=bool), mode="same")
    assert _grow(mask, width).tolist() == expected.tolist()


@pytest.mark.parametrize("percent", [*PERCENT_PRESETS, 100.0, 0.001, 42.0])
def test_percentile_matches_nanpercentile(percent):
    values = SYNTHETIC["noise with NaN and sources"].astype(np.float64)
    tail = (100.0 - percent) / 2
    expected = np.nanpercentile(values, [tail, 100 - tail])
    assert percentile_limits(values, percent=percent) == (expected[0], expected[1])


def test_percentile_ignores_inf_and_float32_input():
    values = SYNTHETIC["2-D map with inf"]
    finite = values[np.isfinite(values)].astype(np.float64)
    assert percentile_limits(values, percent=99.0) == tuple(np.percentile(finite, [0.5, 99.5]))


def test_percentile_100_is_minmax():
    values = SYNTHETIC["heavy tail"]
    assert percentile_limits(values, percent=100.0) == minmax_limits(values)
    assert minmax_limits(values) == (float(np.nanmin(values)), float(np.nanmax(values)))


@pytest.mark.parametrize("percent", [0.0, -1.0, 100.0001, np.nan])
def test_percent_out_of_range(percent):
    with pytest.raises(ValueError, match="percent must be within"):
        percentile_limits(np.arange(10.0), percent=percent)


@pytest.mark.parametrize("method", ["minmax", "percentile", "zscale"])
def test_no_finite_value(method):
    with pytest.raises(NoDataError, match="no finite pixel"):
        layer_limits(np.array([np.nan, np.inf, -np.inf]), method=method)


def test_layer_limits_dispatches_and_refuses_unknown_methods():
    values = SYNTHETIC["ramp"]
    assert layer_limits(values, method="zscale") == zscale_limits(values)
    assert layer_limits(values, method="minmax") == (-500.0, 500.0)
    assert layer_limits(values, method="percentile", percent=90) == percentile_limits(
        values, percent=90
    )
    with pytest.raises(ValueError, match="method must be one of minmax, percentile, zscale"):
        layer_limits(values, method="median")
