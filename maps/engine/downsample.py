"""Assembling pixel grids from windowed reads, and NaN-aware block reduction.

A tile, a cut-out or an overview chunk is a grid of map pixels given by a
row index list and a column index list (``-1`` where there is no pixel).
``gather`` turns those lists into as few contiguous window reads as it can:
a native tile is one read (two across a full-sky map's RA seam), flipped
or north-up orientation is a reversed slice, not a fancy-indexing copy.
"""

from collections.abc import Callable

import numpy as np

ReadWindow = Callable[..., np.ndarray]
# Above this many rectangular pieces (oversampled grids repeat pixels, so
# every other step breaks a run) reading covering windows and indexing
# them is cheaper than one read per piece.
MAX_PIECES = 16


def _pieces(index: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Maximal runs of ``index`` moving by +1 or -1 per position, skipping -1.

    Returns ``(start, stop, first, step)``: positions ``start:stop`` hold
    ``first + step * (position - start)``.
    """
    count = len(index)
    if count == 0:
        return []
    valid = index >= 0
    steps = np.diff(index)
    breaks = ~((np.abs(steps) == 1) & valid[1:] & valid[:-1])
    breaks[1:] |= steps[1:] != steps[:-1]
    starts = np.concatenate(([0], np.flatnonzero(breaks) + 1))
    stops = np.append(starts[1:], count)
    return [
        (int(start), int(stop), int(index[start]), int(steps[start]) if stop - start > 1 else 1)
        for start, stop in zip(starts, stops, strict=True)
        if valid[start]
    ]


def _span(first: int, step: int, length: int) -> tuple[int, int]:
    last = first + step * (length - 1)
    return min(first, last), max(first, last) + 1


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """Contiguous ``[lo, hi)`` runs covering the sorted unique ``values``."""
    unique = np.unique(values)
    cuts = np.flatnonzero(np.diff(unique) > 1) + 1
    return [(int(part[0]), int(part[-1]) + 1) for part in np.split(unique, cuts)]


def gather(
    read: ReadWindow,
    rows: np.ndarray,
    cols: np.ndarray,
    *,
    fill: float = np.nan,
    dtype=np.float32,
    read_oriented: Callable[..., np.ndarray] | None = None,
) -> np.ndarray:
    """The grid ``out[i, j] = pixel(rows[i], cols[j])``, ``fill`` where an index is -1.

    ``read(y0=, y1=, x0=, x1=)`` returns a new array for a window;
    ``read_oriented(y0=, y1=, x0=, x1=, reverse_rows=, reverse_cols=)``, when
    given, returns it already reversed (a native tile in one pass).
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    row_pieces, col_pieces = _pieces(rows), _pieces(cols)
    shape = (len(rows), len(cols))
    if len(row_pieces) == 1 and len(col_pieces) == 1:
        (r_start, r_stop, r_first, r_step), (c_start, c_stop, c_first, c_step) = (
            row_pieces[0],
            col_pieces[0],
        )
        if (r_stop - r_start, c_stop - c_start) == shape:
            y0, y1 = _span(r_first, r_step, shape[0])
            x0, x1 = _span(c_first, c_step, shape[1])
            if read_oriented is not None and np.dtype(dtype) == np.float32:
                return read_oriented(
                    y0=y0, y1=y1, x0=x0, x1=x1, reverse_rows=r_step < 0, reverse_cols=c_step < 0
                )
            block = read(y0=y0, y1=y1, x0=x0, x1=x1)[::r_step, ::c_step]
            return np.ascontiguousarray(block, dtype=dtype)
    out = np.full(shape, fill, dtype=dtype)
    if not row_pieces or not col_pieces:
        return out
    if len(row_pieces) * len(col_pieces) <= MAX_PIECES:
        for r_start, r_stop, r_first, r_step in row_pieces:
            y0, y1 = _span(r_first, r_step, r_stop - r_start)
            for c_start, c_stop, c_first, c_step in col_pieces:
                x0, x1 = _span(c_first, c_step, c_stop - c_start)
                block = read(y0=y0, y1=y1, x0=x0, x1=x1)
                out[r_start:r_stop, c_start:c_stop] = block[::r_step, ::c_step]
        return out
    row_positions = np.flatnonzero(rows >= 0)
    col_positions = np.flatnonzero(cols >= 0)
    source_rows = rows[row_positions]
    y0, y1 = int(source_rows.min()), int(source_rows.max()) + 1
    for x0, x1 in _runs(cols[col_positions]):
        block = read(y0=y0, y1=y1, x0=x0, x1=x1)
        selected = col_positions[(cols[col_positions] >= x0) & (cols[col_positions] < x1)]
        out[np.ix_(row_positions, selected)] = block[np.ix_(source_rows - y0, cols[selected] - x0)]
    return out


def block_sums(data: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Sums and counts of the finite values in each ``factor`` x ``factor`` block.

    ``data`` (float32, both sides multiples of ``factor``) is used as
    scratch: its non-finite values are zeroed in place. Sums are float32,
    counts int32; keeping both lets coarser blocks be combined exactly
    (a mean of means is not the mean when blocks have different counts).
    Sums too large for float32 become inf without warnings.
    """
    rows, cols = data.shape[0] // factor, data.shape[1] // factor
    finite = np.isfinite(data)
    if finite.all():
        counts = np.full((rows, cols), factor * factor, dtype=np.int32)
    else:
        np.copyto(data, 0, where=~finite)
        counts = add_blocks(finite, factor, dtype=np.int32)
    return add_blocks(data, factor), counts


def add_blocks(values: np.ndarray, factor: int, *, dtype=None) -> np.ndarray:
    """Sum each ``factor`` x ``factor`` block of an array without missing values."""
    rows, cols = values.shape[0] // factor, values.shape[1] // factor
    # Adding whole rows first is a vectorised pass over contiguous memory;
    # the reduction across columns then runs on 1/factor of the data (a
    # reduction over both axes at once is about 3x slower).
    with np.errstate(over="ignore", invalid="ignore"):
        by_rows = values.reshape(rows, factor, cols * factor).sum(axis=1, dtype=dtype)
        return by_rows.reshape(rows, cols, factor).sum(axis=2, dtype=dtype)


def mean_from_sums(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``sums / counts`` as float32, NaN where the count is 0."""
    out = np.full(sums.shape, np.nan, dtype=np.float32)
    np.divide(sums, counts, out=out, where=counts > 0, casting="unsafe")
    return out
