"""Colour limits of a layer (issue 13, section 3): min/max, percentiles and zscale.

Each function takes pixel values (e.g. ``PixelSource.histogram_sample()``),
ignores NaN and inf, and returns ``(vmin, vmax)`` as Python floats. The
viewer has the same algorithms in ``frontend/static/frontend/js/limits.js``
for limits over the tiles on screen.
"""

import numpy as np

from maps.engine.errors import NoDataError

LIMIT_METHODS = ("minmax", "percentile", "zscale")
# The percentages the viewer offers (as DS9 and CARTA do); any value in (0, 100] is accepted.
PERCENT_PRESETS = (90.0, 95.0, 99.0, 99.5, 99.9, 99.99)
DEFAULT_PERCENT = 99.5

# IRAF's zscale parameters, as in IRAF's display task and astropy's
# ``ZScaleInterval`` defaults.
ZSCALE_SAMPLES = 1000
ZSCALE_CONTRAST = 0.25
ZSCALE_MAX_REJECT = 0.5
ZSCALE_MIN_PIXELS = 5
ZSCALE_KREJ = 2.5
ZSCALE_MAX_ITERATIONS = 5
# The rejection mask grows by this fraction of the samples around each rejected one.
ZSCALE_GROW_FRACTION = 0.01


def _finite(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise NoDataError("the layer has no finite pixel")
    return values


def minmax_limits(values: np.ndarray) -> tuple[float, float]:
    """The smallest and largest finite value of ``values``.

    Raises
    ------
    NoDataError
        When ``values`` holds no finite value.
    """
    finite = _finite(values)
    return float(finite.min()), float(finite.max())


def percentile_limits(values: np.ndarray, *, percent: float) -> tuple[float, float]:
    """The limits that keep the central ``percent`` per cent of the finite values.

    Parameters
    ----------
    values : ndarray
        Pixel values; NaN and inf are ignored.
    percent : float
        In (0, 100]: 99.5 gives the 0.25th and 99.75th percentiles (linear
        interpolation, as ``numpy.nanpercentile``); 100 gives min and max.

    Raises
    ------
    NoDataError
        When ``values`` holds no finite value.
    ValueError
        When ``percent`` is not within (0, 100].
    """
    if not 0.0 < percent <= 100.0:
        raise ValueError(f"percent must be within (0, 100], got {percent}")
    finite = _finite(values).astype(np.float64)
    tail = (100.0 - percent) / 2.0
    low, high = np.percentile(finite, [tail, 100.0 - tail])
    return float(low), float(high)


def _grow(mask: np.ndarray, width: int) -> np.ndarray:
    """``mask`` dilated by a box of ``width`` samples, centred as ``numpy.convolve`` "same"."""
    if width <= 1:
        return mask
    # Sample i becomes bad when any of samples i - behind .. i + ahead is.
    ahead = (width - 1) // 2
    behind = width - 1 - ahead
    counts = np.concatenate(([0], np.cumsum(mask, dtype=np.int64)))
    index = np.arange(mask.size)
    low = np.clip(index - behind, 0, mask.size)
    high = np.clip(index + ahead + 1, 0, mask.size)
    return counts[high] - counts[low] > 0


def zscale_limits(values: np.ndarray) -> tuple[float, float]:
    """IRAF's zscale limits of the finite values of ``values``.

    At most ``ZSCALE_SAMPLES`` values are used, taken at an even stride
    through ``values`` in order. A line is fitted to the sorted samples with
    iterative ``ZSCALE_KREJ``-sigma rejection (the rejected set grown by
    ``ZSCALE_GROW_FRACTION`` of the samples each time); its slope divided
    by ``ZSCALE_CONTRAST`` gives the range about the median, clipped to the
    samples' min and max. When too many samples are rejected the limits
    are the samples' min and max. Matches ``astropy.visualization.ZScaleInterval``
    with its default parameters.

    Raises
    ------
    NoDataError
        When ``values`` holds no finite value.
    """
    finite = _finite(values)
    stride = max(1, int(finite.size / ZSCALE_SAMPLES))
    samples = np.sort(finite[::stride][:ZSCALE_SAMPLES].astype(np.float64))
    n_samples = samples.size
    vmin, vmax = float(samples[0]), float(samples[-1])
    min_good = max(ZSCALE_MIN_PIXELS, int(n_samples * ZSCALE_MAX_REJECT))
    grow = max(1, int(n_samples * ZSCALE_GROW_FRACTION))
    x = np.arange(n_samples, dtype=np.float64)
    bad = np.zeros(n_samples, dtype=bool)
    n_good, last_n_good = n_samples, n_samples + 1
    slope = 0.0
    for _ in range(ZSCALE_MAX_ITERATIONS):
        if n_good >= last_n_good or n_good < min_good:
            break
        good = ~bad
        slope, intercept = np.polyfit(x[good], samples[good], deg=1)
        residual = samples - (slope * x + intercept)
        threshold = ZSCALE_KREJ * residual[good].std()
        bad = _grow(bad | (np.abs(residual) > threshold), grow)
        last_n_good, n_good = n_good, int(np.count_nonzero(~bad))
    if n_good >= min_good:
        slope /= ZSCALE_CONTRAST
        centre = (n_samples - 1) // 2
        median = float(np.median(samples))
        vmin = max(vmin, median - (centre - 1) * slope)
        vmax = min(vmax, median + (n_samples - centre) * slope)
    return float(vmin), float(vmax)


def layer_limits(values: np.ndarray, *, method: str, percent: float = DEFAULT_PERCENT):
    """``(vmin, vmax)`` of ``values`` by ``method`` (one of ``LIMIT_METHODS``).

    ``percent`` is used by ``"percentile"`` only. Raises ``ValueError`` for an
    unknown method or a percent outside (0, 100], ``NoDataError`` when
    ``values`` holds no finite value.
    """
    if method == "minmax":
        return minmax_limits(values)
    if method == "percentile":
        return percentile_limits(values, percent=percent)
    if method == "zscale":
        return zscale_limits(values)
    raise ValueError(f"method must be one of {', '.join(LIMIT_METHODS)}, got {method!r}")
