"""Histograms against brute-force bin counting and hand-computed percentiles."""

import numpy as np
import pytest

from maps.engine.errors import NoDataError
from maps.engine.histogram import (
    HISTOGRAM_BINS,
    HISTOGRAM_RANGE_FACTOR,
    auto_range,
    layer_histogram,
)


def brute_counts(values, edges):
    values = [float(v) for v in values if np.isfinite(v)]
    counts = []
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        last = i == len(edges) - 2
        counts.append(sum(1 for v in values if low <= v < high or (last and v == high)))
    return counts


def brute_percentile(values, percent):
    """Linear interpolation between closest ranks (numpy's default method), by hand."""
    ordered = sorted(float(v) for v in values if np.isfinite(v))
    position = percent / 100 * (len(ordered) - 1)
    below = int(position)
    above = min(below + 1, len(ordered) - 1)
    return ordered[below] + (position - below) * (ordered[above] - ordered[below])


@pytest.fixture
def sample():
    rng = np.random.default_rng(7)
    values = rng.normal(10.0, 40.0, 5000).astype(np.float32)
    values[::97] = np.nan
    values[5] = np.inf
    values[6] = -np.inf
    values[7] = 1e6
    return values


@pytest.mark.parametrize(("vmin", "vmax"), [(-50.0, 70.0), (5.0, 6.0), (-300.0, -200.0)])
def test_explicit_range(sample, vmin, vmax):
    result = layer_histogram(sample, vmin=vmin, vmax=vmax, auto_percentile=1.0)
    assert (result.vmin, result.vmax) == (vmin, vmax)
    centre, half = (vmin + vmax) / 2, (vmax - vmin) / 2
    assert len(result.edges) == HISTOGRAM_BINS + 1 == 129
    assert len(result.counts) == HISTOGRAM_BINS
    assert result.edges[0] == pytest.approx(centre - 4 * half)
    assert result.edges[-1] == pytest.approx(centre + 4 * half)
    assert np.allclose(np.diff(result.edges), 8 * half / 128)
    assert result.counts.tolist() == brute_counts(sample, result.edges)


@pytest.mark.parametrize(
    ("vmin", "vmax", "percent"),
    [(None, None, 1.0), (None, None, 5.0), (None, 40.0, 1.0), (-20.0, None, 2.5), (None, None, 0)],
)
def test_auto_range_uses_percentiles(sample, vmin, vmax, percent):
    result = layer_histogram(sample, vmin=vmin, vmax=vmax, auto_percentile=percent)
    expected_low = vmin if vmin is not None else brute_percentile(sample, percent)
    expected_high = vmax if vmax is not None else brute_percentile(sample, 100 - percent)
    assert result.vmin == pytest.approx(expected_low, rel=1e-6)
    assert result.vmax == pytest.approx(expected_high, rel=1e-6)
    width = result.edges[-1] - result.edges[0]
    assert width == pytest.approx(HISTOGRAM_RANGE_FACTOR * (result.vmax - result.vmin))
    assert result.counts.tolist() == brute_counts(sample, result.edges)


def test_constant_map_gets_a_usable_range():
    result = layer_histogram(np.full(100, 3.0), vmin=None, vmax=None, auto_percentile=1.0)
    assert result.vmin < 3.0 < result.vmax
    assert result.counts.sum() == 100


@pytest.mark.parametrize("empty", [np.array([]), np.full(10, np.nan), np.array([np.inf, -np.inf])])
def test_no_finite_value(empty):
    with pytest.raises(NoDataError):
        layer_histogram(empty, vmin=None, vmax=1.0, auto_percentile=1.0)


def test_explicit_range_needs_no_data():
    result = layer_histogram(np.full(10, np.nan), vmin=0.0, vmax=1.0, auto_percentile=1.0)
    assert result.counts.sum() == 0


@pytest.mark.parametrize("percent", [-1.0, 50.0, 75.0])
def test_bad_percentile(percent):
    with pytest.raises(ValueError, match="percentile"):
        auto_range(np.arange(10.0), percentile=percent)
