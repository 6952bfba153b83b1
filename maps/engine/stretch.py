"""Stretches: how a normalised value ``x`` in [0, 1] becomes a position along the colour map.

The formulas are those of ``astropy.visualization``'s stretch classes,
applied to ``x = (v - vmin) / (vmax - vmin)`` clipped to [0, 1] (after
``abs`` and ``log_norm``, see ``maps.engine.colormap``):

- ``linear``: ``x``
- ``sqrt``: ``sqrt(x)``
- ``log``: ``log10(a x + 1) / log10(a + 1)`` with ``a`` = ``LOG_STRETCH_A``
  (astropy's ``LogStretch`` default). Not the ``log_norm`` parameter, which
  is a logarithmic colour scale between ``vmin > 0`` and ``vmax``.
- ``asinh``: ``asinh(x / a) / asinh(1 / a)``, ``a`` the softening
  (``AsinhStretch``; linear below about ``a``, logarithmic above)
- ``power``: ``x ** gamma`` (``PowerStretch``)
- ``histeq``: histogram equalisation, the layer's cumulative histogram
  within vmin..vmax (see ``histeq_table``), interpolated linearly.

NaN stays NaN (no data); every stretch maps 0 to 0 and 1 to 1.
"""

import numpy as np

STRETCHES = ("linear", "log", "sqrt", "asinh", "power", "histeq")
LOG_STRETCH_A = 1000.0
DEFAULT_ASINH_A = 0.1
DEFAULT_GAMMA = 1.0


def histeq_table(
    edges: np.ndarray,
    counts: np.ndarray,
    *,
    vmin: float,
    vmax: float,
    log_norm: bool = False,
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The histogram-equalisation curve of a histogram, within ``vmin .. vmax``.

    Parameters
    ----------
    edges, counts : ndarray
        A histogram of the layer (``maps.engine.histogram.layer_histogram``):
        ``len(counts) + 1`` increasing edges.
    vmin, vmax : float
        The colour range; values outside it are not counted.
    log_norm : bool
        Whether ``x`` is measured on a logarithmic scale (``vmin > 0``).

    Returns
    -------
    tuple of two tuples of float
        ``(xs, cdf)``: increasing normalised positions from 0 to 1 (``vmin``,
        every edge strictly inside the range, ``vmax``) and the fraction of
        the counts within the range that lie below each. Counts are taken as
        spread evenly within their bin, so partly covered bins count in
        proportion. With no count within the range the curve is the
        identity (a linear stretch).
    """
    edges = np.asarray(edges, dtype=np.float64)
    cumulative = np.concatenate([[0.0], np.cumsum(np.asarray(counts, dtype=np.float64))])
    inside = edges[(edges > vmin) & (edges < vmax)]
    values = np.concatenate([[vmin], inside, [vmax]])
    below = np.interp(values, edges, cumulative)
    total = below[-1] - below[0]
    if log_norm:
        xs = (np.log10(values) - np.log10(vmin)) / (np.log10(vmax) - np.log10(vmin))
    else:
        xs = (values - vmin) / (vmax - vmin)
    if total <= 0:
        return (0.0, 1.0), (0.0, 1.0)
    cdf = (below - below[0]) / total
    return tuple(float(x) for x in xs), tuple(float(c) for c in cdf)


def apply_stretch(
    x: np.ndarray,
    stretch: str,
    *,
    asinh_a: float = DEFAULT_ASINH_A,
    gamma: float = DEFAULT_GAMMA,
    histeq: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
) -> np.ndarray:
    """Stretch normalised values.

    Parameters
    ----------
    x : ndarray
        Normalised values; clipped to [0, 1] first. NaN stays NaN.
    stretch : str
        One of ``STRETCHES``.
    asinh_a : float
        Softening of ``asinh``, > 0.
    gamma : float
        Exponent of ``power``, > 0.
    histeq : tuple, optional
        ``histeq_table``'s ``(xs, cdf)``; required for ``histeq``.

    Returns
    -------
    ndarray
        Same shape and float dtype as ``x`` (float32 stays float32), within [0, 1].

    Raises
    ------
    ValueError
        For an unknown stretch, a parameter out of range, or ``histeq``
        without its table.
    """
    check_stretch(stretch, asinh_a=asinh_a, gamma=gamma)
    values = np.clip(np.asarray(x), 0.0, 1.0)
    dtype = values.dtype if np.issubdtype(values.dtype, np.floating) else np.float64
    values = values.astype(dtype, copy=False)
    if stretch == "linear":
        return values
    if stretch == "sqrt":
        return np.sqrt(values)
    if stretch == "log":
        return (
            np.log10(values * dtype.type(LOG_STRETCH_A) + 1) / np.log10(LOG_STRETCH_A + 1)
        ).astype(dtype, copy=False)
    if stretch == "asinh":
        return (np.arcsinh(values / dtype.type(asinh_a)) / np.arcsinh(1.0 / asinh_a)).astype(
            dtype, copy=False
        )
    if stretch == "power":
        return np.power(values, dtype.type(gamma))
    if histeq is None:
        raise ValueError("the histeq stretch needs the layer's histogram")
    xs, cdf = histeq
    return np.interp(values, xs, cdf).astype(dtype, copy=False)


def check_stretch(stretch: str, *, asinh_a: float, gamma: float) -> None:
    """Raise ``ValueError`` with a one-line reason when the stretch cannot be applied."""
    if stretch not in STRETCHES:
        raise ValueError(f"stretch must be one of {', '.join(STRETCHES)}, got {stretch!r}")
    if not (np.isfinite(asinh_a) and asinh_a > 0):
        raise ValueError(f"asinh_a must be > 0, got {asinh_a:g}")
    if not (np.isfinite(gamma) and gamma > 0):
        raise ValueError(f"gamma must be > 0, got {gamma:g}")
