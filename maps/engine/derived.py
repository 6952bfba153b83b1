"""Derived maps: two pixel sources on one grid combined on the fly.

``difference``, ``ratio`` and ``sum`` of ``a = scale_a * A`` and ``b =
scale_b * B``; ``p`` (polarised intensity) and ``angle`` (polarisation angle)
of ``A = Q`` and ``B = U`` (``maps.engine.polarisation``). A ``DerivedSource``
is a ``PixelSource`` whose native pixels are computed from its inputs' native
pixels, exactly as a ``fits_combination`` is, so tiles, data tiles, cut-outs,
histograms and limits all work unchanged, coarse tiles average the derived
values (the mean of a ratio is not the ratio of means) and a derived tile
costs what a combination tile costs.
"""

import dataclasses
import hashlib
import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from maps.engine.errors import OutOfRangeError
from maps.engine.polarisation import (
    CONVENTIONS,
    DEBIAS_METHODS,
    polarisation_angle_deg,
    polarised_intensity,
)
from maps.engine.providers import ProviderError, check_same_grid
from maps.engine.sources import SOURCE_CACHE_SIZE, PixelSource

ARITHMETIC_OPS = ("difference", "ratio", "sum")
POLARISATION_OPS = ("p", "angle")
DERIVED_OPS = ARITHMETIC_OPS + POLARISATION_OPS


@dataclass(frozen=True)
class DerivedSpec:
    """What a derived map computes: ``op`` on ``scale_a * A`` and ``scale_b * B``.

    ``convention`` applies to ``angle`` only, ``debias`` and ``sigma`` to ``p``
    only; the caller leaves them at their defaults otherwise, so one map has
    one spec (and one cache key).
    """

    op: str
    scale_a: float = 1.0
    scale_b: float = 1.0
    convention: str = "IAU"
    debias: str = "none"
    sigma: float = 0.0

    def __post_init__(self):
        if self.op not in DERIVED_OPS:
            raise OutOfRangeError(f"op must be one of {', '.join(DERIVED_OPS)}, got {self.op!r}")
        for name in ("scale_a", "scale_b", "sigma"):
            value = getattr(self, name)
            if not np.isfinite(value):
                raise OutOfRangeError(f"{name} must be a finite number, got {value!r}")
        if self.sigma < 0:
            raise OutOfRangeError(f"sigma must be >= 0, got {self.sigma:g}")
        if self.convention not in CONVENTIONS:
            raise OutOfRangeError(f"convention must be IAU or COSMO, got {self.convention!r}")
        if self.debias not in DEBIAS_METHODS:
            raise OutOfRangeError(
                f"debias must be one of {', '.join(DEBIAS_METHODS)}, got {self.debias!r}"
            )
        if self.debias != "none" and not self.sigma > 0:
            raise OutOfRangeError("debias needs sigma, the noise of Q and U (> 0)")
        if self.debias != "none" and self.op != "p":
            raise OutOfRangeError("debias applies to op p only")


def derived_values(spec: DerivedSpec, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Apply ``spec`` element-wise to ``a`` and ``b`` (float32; NaN where undefined).

    Parameters
    ----------
    spec : DerivedSpec
        The operation, scales and polarisation options.
    a, b : ndarray
        The inputs' pixels (Q and U for ``p`` and ``angle``); may be modified in place.

    Returns
    -------
    ndarray
        float32. Where either input has no data, or a ratio divides by zero,
        or any other result is not finite, the value is NaN (no data).
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    with np.errstate(all="ignore"):
        if spec.scale_a != 1.0:
            np.multiply(a, np.float32(spec.scale_a), out=a)
        if spec.scale_b != 1.0:
            np.multiply(b, np.float32(spec.scale_b), out=b)
        if spec.op == "difference":
            result = np.subtract(a, b, out=a)
        elif spec.op == "sum":
            result = np.add(a, b, out=a)
        elif spec.op == "ratio":
            result = np.divide(a, b, out=a)
        elif spec.op == "p":
            result = polarised_intensity(a, b, debias=spec.debias, sigma=spec.sigma)
        else:
            result = polarisation_angle_deg(a, b, convention=spec.convention)
    result[~np.isfinite(result)] = np.nan
    return result


def check_derivable(a: PixelSource, b: PixelSource, *, name_a: str, name_b: str) -> None:
    """Refuse inputs that are not on one pixel grid, naming both.

    Raises
    ------
    OutOfRangeError
        A ``ValueError`` (a 400 over HTTP) whose message names ``name_a`` and
        ``name_b`` and says how their grids differ.
    """
    try:
        check_same_grid([a.info, b.info])
    except ProviderError as error:
        found = re.search(r" in ([^:]+): inputs must share one grid$", error.message)
        difference = found.group(1) if found else "pixel grid"
        raise OutOfRangeError(
            f"layers {name_a} and {name_b} are not on one pixel grid (they differ in "
            f"{difference}): {name_a} is {_extent(a)}, {name_b} is {_extent(b)}"
        ) from None


def _extent(source: PixelSource) -> str:
    info = source.info
    return (
        f"{info.shape[1]} x {info.shape[0]} pixels of {abs(info.pixel_scale_ra_deg) * 60:g} "
        f"arcmin at RA {info.bounding_left:g}..{info.bounding_right:g}, "
        f"Dec {info.bounding_bottom:g}..{info.bounding_top:g}"
    )


def derived_unit(spec: DerivedSpec, unit_a: str | None, unit_b: str | None) -> str | None:
    """The unit of the derived values: A's for p, and for sums and differences of one unit
    with scales 1; degrees for the angle; unknown (None) otherwise."""
    if spec.op == "angle":
        return "deg"
    if spec.op == "p":
        return unit_a
    same = unit_a == unit_b and spec.scale_a == 1.0 and spec.scale_b == 1.0
    return unit_a if spec.op in ("difference", "sum") and same else None


class DerivedSource(PixelSource):
    """``spec`` applied to the native pixels of two sources on one grid."""

    def __init__(self, a: PixelSource, b: PixelSource, spec: DerivedSpec, version: str):
        check_same_grid([a.info, b.info])
        info = dataclasses.replace(a.info, bunit=derived_unit(spec, a.info.bunit, b.info.bunit))
        super().__init__(info, version)
        self._a, self._b, self.spec = a, b, spec

    def read_window(self, *, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        window = {"y0": y0, "y1": y1, "x0": x0, "x1": x1}
        return derived_values(
            self.spec, self._a.read_window(**window), self._b.read_window(**window)
        )

    def take(self, *, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        return derived_values(
            self.spec, self._a.take(rows=rows, cols=cols), self._b.take(rows=rows, cols=cols)
        )


_derived: OrderedDict[tuple, DerivedSource] = OrderedDict()
_derived_lock = threading.Lock()


def derived_source(a: PixelSource, b: PixelSource, spec: DerivedSpec) -> DerivedSource:
    """The derived source of ``spec`` on ``a`` and ``b``, shared per process.

    Shared per spec and per input version, like ``source_from_provider``'s
    sources, so a derived map's overview is built once and a rewritten input
    file gives a new source (and ``version``, for cache keys).

    Raises
    ------
    ProviderError
        ``a`` and ``b`` are not on one pixel grid (call ``check_derivable``
        first for a message naming the layers).
    """
    key = (dataclasses.astuple(spec), a.version, b.version)
    with _derived_lock:
        found = _derived.get(key)
        if found is not None:
            _derived.move_to_end(key)
            return found
    version = hashlib.sha256(json.dumps(key).encode()).hexdigest()[:20]
    source = DerivedSource(a, b, spec, version)
    with _derived_lock:
        source = _derived.setdefault(key, source)
        _derived.move_to_end(key)
        while len(_derived) > SOURCE_CACHE_SIZE:
            _derived.popitem(last=False)
    return source
