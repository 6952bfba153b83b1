"""Element-wise combination of planes on the same pixel grid (``fits_combination``)."""

import numpy as np

from maps.engine.errors import FitsError

COMBINATION_FUNCTIONS = ("+", "-", "*", "/", "max", "min", "mean")
_ARITHMETIC = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.divide}


def check_function(function: object) -> str:
    if function not in COMBINATION_FUNCTIONS:
        raise FitsError(
            f"combination function {function!r} is not one of {' '.join(COMBINATION_FUNCTIONS)}"
        )
    return function


def combine(function: str, arrays: list[np.ndarray]) -> np.ndarray:
    """Apply ``function`` element-wise across ``arrays`` in order (float32 result).

    Arithmetic needs every input: where one has no data the result has none.
    ``max``, ``min`` and ``mean`` use whichever inputs have data. Division by
    zero and any other non-finite result become NaN, without warnings.
    ``arrays`` may be modified in place.
    """
    check_function(function)
    with np.errstate(all="ignore"):
        if function in _ARITHMETIC:
            result = arrays[0]
            for other in arrays[1:]:
                result = _ARITHMETIC[function](result, other, out=result)
        else:
            finite = [np.isfinite(a) for a in arrays]
            if function == "mean":
                result = np.zeros(arrays[0].shape, dtype=np.float64)
                counts = np.zeros(arrays[0].shape, dtype=np.int32)
                for values, ok in zip(arrays, finite, strict=True):
                    result += np.where(ok, values, 0)
                    counts += ok
                result = (result / counts).astype(np.float32)
            else:
                reduce = np.fmax if function == "max" else np.fmin
                result = np.where(finite[0], arrays[0], np.nan).astype(np.float32)
                for values, ok in zip(arrays[1:], finite[1:], strict=True):
                    result = reduce(result, np.where(ok, values, np.nan), out=result)
    result = np.asarray(result, dtype=np.float32)
    result[~np.isfinite(result)] = np.nan
    return result
