"""The layer provider format (SPEC section 3): parsing, validation and the same-grid rule.

A provider says where a layer's pixels come from::

    {"provider_type": "fits", "filename": "...", "hdu": 0, "index": null}
    {"provider_type": "fits_combination", "function": "/", "providers": [<fits>, ...]}
    {"provider_type": "healpix", "filename": "...", "hdu": 1, "field": 0, "scale": 1}

A ``healpix`` provider is one column of a HEALPix table: ``hdu`` defaults to
1 (where healpy and Planck write the map), ``field`` to 0 and is a column
name (``"Q_STOKES"``, case-insensitive) or a 0-based position among the map
columns, ``PIXEL`` excluded (healpy's ``field``); ``scale`` (default 1, a
finite non-zero number) multiplies every value the layer serves (1e6: a
``K_CMB`` map shown in uK), and is left out of the stored form when 1. A
combination may take
``healpix`` inputs; they combine when they share one NSIDE (one virtual grid).

This module is the one owner of that format: the importer, the admin form,
the model, the deploy checks, the admin display and the engine all parse
through ``parse_provider`` and compare combined inputs with
``check_same_grid``. It lives in the engine because the engine consumes it and
may import nothing outside itself; it reads no file.

Defaults: a missing ``provider_type`` is ``"fits"`` (the original TileMaker's
configs may leave it out), ``hdu`` missing or null is 0, ``index`` missing
is null (a 2-D image, or the whole cube refused by the reader).

Every problem is a ``ProviderError`` naming the ``field`` it is about as a
path from the layer entry (``"provider.providers[1].hdu"``) and a ``message``
that does not repeat it, so callers place it without matching text.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from maps.engine.combine import COMBINATION_FUNCTIONS
from maps.engine.errors import FitsError
from maps.engine.fits_source import PlaneInfo

PROVIDER_FITS = "fits"
PROVIDER_COMBINATION = "fits_combination"
PROVIDER_HEALPIX = "healpix"
FITS_KEYS = frozenset({"provider_type", "filename", "hdu", "index"})
HEALPIX_KEYS = frozenset({"provider_type", "filename", "hdu", "field", "scale"})
COMBINATION_KEYS = frozenset({"provider_type", "providers", "function"})
# Column (row) positions of the corners of two combined inputs may differ by
# this much and still count as one grid: headers written with different
# digits (a CRVAL printed to 1e-10 degrees moves a 0.5 arcmin pixel by 1e-8).
SAME_GRID_TOLERANCE_PIXELS = 1e-3


class ProviderError(FitsError):
    """A provider that cannot give a layer.

    ``field`` is where (``"provider.hdu"``), ``message`` what is wrong there;
    ``problems`` lists every ``(field, message)`` found, this one first.
    ``str()`` is ``"<field>: <message>"``.
    """

    def __init__(
        self,
        field: str,
        message: str,
        *,
        path: str | None = None,
        more: Sequence[tuple[str, str]] = (),
    ):
        super().__init__(f"{field}: {message}", path=path)
        self.field = field
        self.message = message
        self.problems = ((field, message), *more)


@dataclass(frozen=True)
class FitsProvider:
    """One plane of one FITS file: HDU ``hdu``, plane ``index`` of a cube (None: 2-D)."""

    filename: str
    hdu: int = 0
    index: int | None = None

    @property
    def inputs(self) -> tuple["FitsProvider", ...]:
        return (self,)

    def located_inputs(self, field: str = "provider") -> list[tuple[str, "FitsProvider"]]:
        """``[(field of the input, input)]``, for messages about one file."""
        return [(field, self)]

    def to_dict(self) -> dict:
        """The canonical stored form: every key present."""
        return {
            "provider_type": PROVIDER_FITS,
            "filename": self.filename,
            "hdu": self.hdu,
            "index": self.index,
        }


@dataclass(frozen=True)
class HealpixProvider:
    """Column ``field`` (a name or a 0-based position) of HEALPix table HDU ``hdu``, its
    values multiplied by ``scale``."""

    filename: str
    hdu: int = 1
    field: int | str = 0
    scale: float = 1.0

    @property
    def inputs(self) -> tuple["HealpixProvider", ...]:
        return (self,)

    def located_inputs(self, field: str = "provider") -> list[tuple[str, "HealpixProvider"]]:
        return [(field, self)]

    def to_dict(self) -> dict:
        """The canonical stored form: every key present but ``scale`` when it is 1."""
        stored = {
            "provider_type": PROVIDER_HEALPIX,
            "filename": self.filename,
            "hdu": self.hdu,
            "field": self.field,
        }
        if self.scale != 1.0:
            stored["scale"] = self.scale
        return stored


@dataclass(frozen=True)
class CombinationProvider:
    """``function`` applied element-wise across ``inputs``, which share one pixel grid."""

    inputs: tuple["FitsProvider | HealpixProvider", ...]
    function: str

    def located_inputs(self, field: str = "provider") -> list[tuple[str, FitsProvider]]:
        return [(f"{field}.providers[{n}]", entry) for n, entry in enumerate(self.inputs)]

    def to_dict(self) -> dict:
        return {
            "provider_type": PROVIDER_COMBINATION,
            "providers": [entry.to_dict() for entry in self.inputs],
            "function": self.function,
        }


Provider = FitsProvider | HealpixProvider | CombinationProvider


def parse_provider(value: object, *, field: str = "provider") -> Provider:
    """The typed provider of a provider dict (JSON as stored or written in a config).

    Parameters
    ----------
    value : object
        The decoded JSON value.
    field : str
        Where ``value`` sits, the prefix of every error's ``field``.

    Raises
    ------
    ProviderError
        Listing every problem (``.problems``), the first as ``.field``/``.message``.
    """
    problems: list[tuple[str, str]] = []
    provider = _parse(value, field, problems)
    if problems:
        (first_field, first_message), *more = problems
        raise ProviderError(first_field, first_message, more=more)
    return provider


def _parse(value: object, field: str, problems: list) -> Provider | None:
    if not isinstance(value, dict):
        problems.append((field, f"expected an object, found {kind_of(value)}"))
        return None
    kind = value.get("provider_type", PROVIDER_FITS)
    if kind == PROVIDER_FITS:
        return _parse_fits(value, field, problems)
    if kind == PROVIDER_HEALPIX:
        return _parse_healpix(value, field, problems)
    if kind != PROVIDER_COMBINATION:
        problems.append(
            (
                f"{field}.provider_type",
                f"{kind!r} is not one of {PROVIDER_FITS!r}, {PROVIDER_COMBINATION!r}, "
                f"{PROVIDER_HEALPIX!r}",
            )
        )
        return None
    function = value.get("function")
    if function not in COMBINATION_FUNCTIONS:
        problems.append(
            (f"{field}.function", f"{function!r} is not one of {' '.join(COMBINATION_FUNCTIONS)}")
        )
    entries = value.get("providers")
    if not isinstance(entries, list) or not entries:
        problems.append((f"{field}.providers", "expected a non-empty list of fits providers"))
        return None
    inputs = []
    for number, entry in enumerate(entries):
        where = f"{field}.providers[{number}]"
        if not isinstance(entry, dict):
            problems.append((where, f"expected an object, found {kind_of(entry)}"))
            continue
        entry_type = entry.get("provider_type", PROVIDER_FITS)
        if entry_type == PROVIDER_HEALPIX:
            inputs.append(_parse_healpix(entry, where, problems))
            continue
        if entry_type != PROVIDER_FITS:
            message = f"{entry_type!r}: a combination takes fits or healpix providers only"
            problems.append((f"{where}.provider_type", message))
            continue
        inputs.append(_parse_fits(entry, where, problems))
    if None in inputs or len(inputs) != len(entries) or function not in COMBINATION_FUNCTIONS:
        return None
    return CombinationProvider(inputs=tuple(inputs), function=function)


def _file_and_hdu(value: dict, field: str, problems: list, *, default_hdu: int):
    """The ``filename`` and ``hdu`` every file provider has, each problem appended."""
    filename = value.get("filename")
    if filename is None:
        problems.append((f"{field}.filename", "missing (required)"))
    elif not isinstance(filename, str) or not filename.strip():
        problems.append((f"{field}.filename", f"expected a file name, found {kind_of(filename)}"))
    hdu = value.get("hdu")
    if hdu is None:
        hdu = default_hdu
    elif not _is_count(hdu):
        problems.append((f"{field}.hdu", f"expected an integer >= 0, found {kind_of(hdu)}"))
    return filename, hdu


def _parse_fits(value: dict, field: str, problems: list) -> FitsProvider | None:
    count = len(problems)
    filename, hdu = _file_and_hdu(value, field, problems, default_hdu=0)
    index = value.get("index")
    if index is not None and not _is_count(index):
        problems.append(
            (f"{field}.index", f"expected an integer >= 0 or null, found {kind_of(index)}")
        )
    if len(problems) > count:
        return None
    return FitsProvider(filename=filename, hdu=hdu, index=index)


def _parse_healpix(value: dict, field: str, problems: list) -> HealpixProvider | None:
    count = len(problems)
    # A HEALPix map is a table: HDU 1, after the empty primary.
    filename, hdu = _file_and_hdu(value, field, problems, default_hdu=1)
    column = value.get("field")
    if column is None:
        column = 0
    elif not (_is_count(column) or (isinstance(column, str) and column.strip())):
        problems.append(
            (
                f"{field}.field",
                f"expected a column name or an integer >= 0, found {kind_of(column)}",
            )
        )
    scale = value.get("scale")
    if scale is None:
        scale = 1.0
    elif (
        isinstance(scale, bool)
        or not isinstance(scale, int | float)
        or not math.isfinite(scale)
        or scale == 0
    ):
        problems.append(
            (f"{field}.scale", f"expected a finite non-zero number, found {kind_of(scale)}")
        )
    if len(problems) > count:
        return None
    return HealpixProvider(filename=filename, hdu=hdu, field=column, scale=float(scale))


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def unknown_keys(value: object, *, field: str = "provider") -> list[tuple[str, str]]:
    """``[(where, key)]`` of keys the format does not know (configs warn and ignore them)."""
    if not isinstance(value, dict):
        return []
    kind = value.get("provider_type", PROVIDER_FITS)
    if kind == PROVIDER_FITS:
        return [(field, key) for key in value if key not in FITS_KEYS]
    if kind == PROVIDER_HEALPIX:
        return [(field, key) for key in value if key not in HEALPIX_KEYS]
    if kind != PROVIDER_COMBINATION:
        return []
    found = [(field, key) for key in value if key not in COMBINATION_KEYS]
    entries = value.get("providers")
    for number, entry in enumerate(entries if isinstance(entries, list) else []):
        if isinstance(entry, dict):
            where = f"{field}.providers[{number}]"
            known = HEALPIX_KEYS if entry.get("provider_type") == PROVIDER_HEALPIX else FITS_KEYS
            found.extend((where, key) for key in entry if key not in known)
    return found


def filenames(value: object) -> list[str]:
    """Every file name a stored provider names, valid or not (for diagnostics and display).

    Never raises: a row edited by hand may hold anything, and a deploy check or
    an admin page must still say which files it reads.
    """
    if not isinstance(value, dict):
        return []
    if value.get("provider_type") == PROVIDER_COMBINATION:
        entries = value.get("providers")
        return [name for entry in entries or [] for name in filenames(entry)]
    filename = value.get("filename")
    return [filename] if isinstance(filename, str) else []


def check_same_grid(planes: Sequence[PlaneInfo], *, field: str = "provider") -> None:
    """Refuse combined inputs that are not one pixel grid.

    Inputs are one grid when they have the same shape, their corners fall on
    the same pixel positions (the same sky position, pixel scale and
    orientation: the WCS) and they give the same tile grid. ``planes[n]`` is
    the plane of ``providers[n]``.

    Raises
    ------
    ProviderError
        On ``<field>.providers[n]`` for the first input that differs from input 0.
    """
    first = planes[0]
    for number, other in enumerate(planes[1:], start=1):
        if other.shape != first.shape:
            difference = "size"
        elif not _same_pixel_grid(first, other):
            difference = "sky position or pixel scale (WCS)"
        elif other.grid != first.grid:
            difference = "tile grid"
        else:
            continue
        raise ProviderError(
            f"{field}.providers[{number}]",
            f"{other.path}: pixel grid {_extent_text(other)} differs from providers[0] "
            f"({_extent_text(first)}) in {difference}: inputs must share one grid",
            path=other.path,
        )


def _same_pixel_grid(first: PlaneInfo, other: PlaneInfo) -> bool:
    a, b = first.pixel_grid, other.pixel_grid
    ny, nx = first.shape
    corners_ra = a.ra_of_column(np.array([0, nx - 1]))
    corners_dec = a.dec_of_row(np.array([0, ny - 1]))
    column_shift = np.abs(b.column_coordinate(corners_ra) - a.column_coordinate(corners_ra))
    row_shift = np.abs(b.row_coordinate(corners_dec) - a.row_coordinate(corners_dec))
    return max(column_shift.max(), row_shift.max()) <= SAME_GRID_TOLERANCE_PIXELS


def _extent_text(info: PlaneInfo) -> str:
    return (
        f"{info.shape[1]} x {info.shape[0]} at RA {info.bounding_left:g}..{info.bounding_right:g}, "
        f"Dec {info.bounding_bottom:g}..{info.bounding_top:g}"
    )


def kind_of(value: object) -> str:
    """A JSON value as a config message names it: ``"the number -1"``, ``"a list"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}" if len(value) <= 40 else "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
