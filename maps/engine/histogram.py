"""The histogram the viewer draws under its colour-scale slider (SPEC section 6)."""

from dataclasses import dataclass

import numpy as np

from maps.engine.errors import NoDataError

HISTOGRAM_BINS = 128
# The bins cover the colour range widened this many times about its centre,
# so the slider can move vmin/vmax well past their starting values.
HISTOGRAM_RANGE_FACTOR = 4.0
# An "auto" range over data with a single value still needs a width.
DEGENERATE_HALF_WIDTH = 1.0


@dataclass(frozen=True, kw_only=True)
class Histogram:
    edges: np.ndarray
    counts: np.ndarray
    vmin: float
    vmax: float


def auto_range(sample: np.ndarray, *, percentile: float) -> tuple[float, float]:
    """The ``percentile`` and ``100 - percentile`` percentiles of the finite values of ``sample``.

    Raises
    ------
    NoDataError
        When ``sample`` holds no finite value.
    ValueError
        When ``percentile`` is not within 0..50.
    """
    if not 0.0 <= percentile < 50.0:
        raise ValueError(f"percentile {percentile} must be within 0..50")
    values = np.asarray(sample, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise NoDataError("the layer has no finite pixel")
    low, high = np.percentile(values, [percentile, 100.0 - percentile])
    return float(low), float(high)


def layer_histogram(
    sample: np.ndarray,
    *,
    vmin: float | None,
    vmax: float | None,
    auto_percentile: float,
) -> Histogram:
    """Counts of ``sample`` in ``HISTOGRAM_BINS`` linear bins around the colour range.

    Parameters
    ----------
    sample : ndarray
        Pixel values (e.g. ``PixelSource.histogram_sample()``); NaN and inf
        are ignored.
    vmin, vmax : float or None
        The layer's colour range; ``None`` means "auto", replaced by the
        ``auto_percentile`` / ``100 - auto_percentile`` percentiles of
        ``sample``.
    auto_percentile : float
        Percent, e.g. ``1.0`` for the 1st and 99th percentiles.

    Returns
    -------
    Histogram
        ``edges`` (``HISTOGRAM_BINS + 1`` values) spanning ``vmin .. vmax``
        widened ``HISTOGRAM_RANGE_FACTOR`` times about its centre,
        ``counts`` (int64, values outside the edges are not counted, the
        last bin includes its right edge as in ``numpy.histogram``), and the
        ``vmin``/``vmax`` used. When the range is empty or inverted (a
        constant map), it is widened by ``DEGENERATE_HALF_WIDTH`` (times the
        value's magnitude when that is larger) on either side.
    """
    values = np.asarray(sample, dtype=np.float32).ravel()
    if vmin is None or vmax is None:
        auto_low, auto_high = auto_range(values, percentile=auto_percentile)
        vmin = auto_low if vmin is None else vmin
        vmax = auto_high if vmax is None else vmax
    vmin, vmax = float(vmin), float(vmax)
    if not (np.isfinite(vmin) and np.isfinite(vmax)):
        raise ValueError(f"vmin {vmin} and vmax {vmax} must be finite")
    if vmin >= vmax:
        centre = (vmin + vmax) / 2
        half = DEGENERATE_HALF_WIDTH * max(1.0, abs(centre))
        vmin, vmax = centre - half, centre + half
    centre, half_width = (vmin + vmax) / 2, (vmax - vmin) / 2
    edges = np.linspace(
        centre - HISTOGRAM_RANGE_FACTOR * half_width,
        centre + HISTOGRAM_RANGE_FACTOR * half_width,
        HISTOGRAM_BINS + 1,
    )
    finite = values[np.isfinite(values)]
    counts, _ = np.histogram(finite, bins=edges)
    return Histogram(edges=edges, counts=counts.astype(np.int64), vmin=vmin, vmax=vmax)
