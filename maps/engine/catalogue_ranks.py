"""Drawing priority of catalogue sources: which ones a crowded view shows first.

A view holding more sources than it may draw shows the first ones by rank:
the brightest by a brightness column when the catalogue has one, otherwise
a fixed pseudo-random order, so that a subsample is spread evenly over the
sky and the same view always shows the same sources.
"""

import re
from collections.abc import Sequence

import numpy as np

# Column names taken as brightness when the config names none, best first;
# matched without regard to case. Larger is brighter for all of them
# (magnitudes are not guessed: smaller is brighter there).
_BRIGHTNESS_NAMES = (
    re.compile(r"^(snr|s/?n|sn|signif(icance)?|sig)$"),
    re.compile(r"^flux.*"),
    re.compile(r"^.*_?flux(_.*)?$"),
)
# Fixed so that re-importing the same catalogue gives the same order.
_RANDOM_SEED = 16


def detect_brightness_column(column_names: Sequence[str]) -> str | None:
    """The first of ``column_names`` that reads as a brightness (SNR, flux), or None.

    Parameters
    ----------
    column_names : sequence of str
        The catalogue's extra columns, in file order.

    Returns
    -------
    str or None
        The chosen column's name as given.
    """
    for pattern in _BRIGHTNESS_NAMES:
        for name in column_names:
            if pattern.match(name.lower()):
                return name
    return None


def priority_ranks(brightness: Sequence[object] | None, n_sources: int) -> np.ndarray:
    """Rank of every source, 0 first: brightest first, ties and blanks in a fixed random order.

    Parameters
    ----------
    brightness : sequence or None
        One value per source; anything that is not a finite number (None,
        text, NaN) ranks after every number. None: no brightness column,
        the ranks are a fixed pseudo-random permutation.
    n_sources : int
        Number of sources (the length of ``brightness`` when given).

    Returns
    -------
    numpy.ndarray
        int64 array of length ``n_sources``, a permutation of 0..n-1.
    """
    shuffle = np.random.default_rng(_RANDOM_SEED).permutation(n_sources)
    if brightness is None:
        return shuffle.astype(np.int64)
    values = np.array([_number(value) for value in brightness], dtype=np.float64)
    if values.shape != (n_sources,):
        raise ValueError(f"expected {n_sources} brightness values, got {values.shape[0]}")
    # lexsort sorts by the last key first: blanks last, then brightest, then the shuffle.
    blank = ~np.isfinite(values)
    order = np.lexsort((shuffle, -np.where(blank, 0.0, values), blank))
    ranks = np.empty(n_sources, dtype=np.int64)
    ranks[order] = np.arange(n_sources)
    return ranks


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return float("nan")
    return float(value)
