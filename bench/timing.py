"""What the benchmarks share for reporting times."""


def percentile(values, p: float) -> float:
    """The nearest-rank ``p``-th percentile (``p`` in percent) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
