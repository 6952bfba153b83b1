"""Catalogue files of any supported format -> validated records plus column metadata.

Tables (TSV, ECSV, FITS binary tables, VOTable, IPAC, and CSV whose header
does not simply name ``ra`` and ``dec``) are read by ``astropy.table``; the
JSON list-of-objects shape has no astropy reader and plain ``ra,dec`` CSV
keeps the line-numbered messages of ``catalogs.readers``, so both still go
through that module. No Django here: ``maps.scanning`` checks catalogues
before anything touches a database.

Problems read ``{file}: row {n}, column {name}: ...`` with ``n`` counted from
1 over data rows. Numbers and column names are quoted; text cells never are
(a config pointed at a secrets file must not print it).
"""

import math
import os
import stat
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from catalogs.readers import (
    DEC_RANGE_DEG,
    RA_RANGE_DEG,
    CatalogError,
    SourceRecord,
    _Problems,
    read_catalog,
)

FILE_TYPES = ("json", "csv", "tsv", "ecsv", "fits", "votable", "ipac")
# Suffix -> file_type for "auto"; ".fits.gz" is matched on the two last suffixes.
SUFFIX_TYPES = {
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".ecsv": "ecsv",
    ".fits": "fits",
    ".fit": "fits",
    ".fits.gz": "fits",
    ".xml": "votable",
    ".vot": "votable",
    ".votable": "votable",
    ".tbl": "ipac",
    ".ipac": "ipac",
}
_ASTROPY_FORMATS = {
    "csv": "ascii.csv",
    "tsv": "ascii.tab",
    "ecsv": "ascii.ecsv",
    "fits": "fits",
    "votable": "votable",
    "ipac": "ascii.ipac",
}
# Lower-cased names in order of preference; UCDs with ;meta.main win over all.
RA_NAMES = ("ra", "raj2000", "_raj2000", "ra_icrs", "ra_deg", "radeg", "ra_j2000", "ra2000")
DEC_NAMES = (
    "dec",
    "de",
    "dej2000",
    "decj2000",
    "_dej2000",
    "de_icrs",
    "dec_icrs",
    "dec_deg",
    "decdeg",
    "de_deg",
    "dedeg",
    "dec_j2000",
    "dec2000",
)
GLON_NAMES = ("glon", "_glon", "l", "lii", "gal_l")
GLAT_NAMES = ("glat", "_glat", "b", "bii", "gal_b")
NAME_NAMES = (
    "name",
    "source_name",
    "object",
    "designation",
    "id",
    "source_id",
    "objid",
    "main_id",
)


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    name: str
    unit: str | None = None
    description: str | None = None

    def to_dict(self) -> dict:
        return {"name": self.name, "unit": self.unit, "description": self.description}


@dataclass(frozen=True, slots=True)
class Catalogue:
    """What a file holds: its sources and the unit/description of each ``extra`` column."""

    records: list[SourceRecord]
    columns: list[ColumnInfo] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ColumnChoice:
    """Column names given in the config (``ra_column``...); ``None`` means find it."""

    ra: str | None = None
    dec: str | None = None
    name: str | None = None

    @property
    def given(self) -> bool:
        return any((self.ra, self.dec, self.name))


def file_type_for(path: str | os.PathLike) -> str | None:
    """The file type its name's suffix says (``.fits.gz`` -> ``"fits"``), else ``None``."""
    suffixes = [s.lower() for s in Path(path).suffixes]
    if suffixes[-2:] == [".fits", ".gz"]:
        return "fits"
    return SUFFIX_TYPES.get(suffixes[-1]) if suffixes else None


def is_catalogue_fits(path: str | os.PathLike) -> bool:
    """Whether a FITS file's first data HDU is a table that is not a HEALPix map.

    Only headers are read. A file astropy cannot open answers ``False`` (the
    map scanner then reports it).
    """
    from astropy.io import fits

    try:
        with fits.open(path, lazy_load_hdus=True) as hdus:
            for hdu in hdus:
                header = hdu.header
                if header.get("NAXIS", 0) == 0 and not isinstance(hdu, fits.BinTableHDU):
                    continue
                return (
                    isinstance(hdu, fits.BinTableHDU | fits.TableHDU)
                    and str(header.get("PIXTYPE", "")).strip().upper() != "HEALPIX"
                )
    except (OSError, ValueError, TypeError):
        return False
    return False


def read_catalogue(
    path: str | os.PathLike,
    *,
    file_type: str | None = "auto",
    columns: ColumnChoice = ColumnChoice(),
    label: str | None = None,
) -> Catalogue:
    """Read and validate a whole catalogue file of any supported type.

    ``file_type`` ``"auto"`` or ``None`` goes by the file name's suffix;
    ``label`` names the file in problems (an upload's own name rather than
    its temporary path). Raises ``CatalogError``: every problem (up to
    ``readers.MAX_PROBLEMS``), one line each, naming file, row and column.
    """
    name = label or str(path)
    if file_type in (None, "auto"):
        file_type = file_type_for(path)
        if file_type is None:
            raise CatalogError(
                [f"{name}: not a catalogue (expected one of {', '.join(SUFFIX_TYPES)})"]
            )
    if file_type not in FILE_TYPES:
        raise CatalogError([f"{name}: file_type {file_type!r} is not one of {_types()}"])
    # Before anything opens it: a FIFO would block forever.
    _check_regular(path, name)
    if file_type == "json" or (file_type == "csv" and not columns.given and _plain_csv(path)):
        records = _relabel(lambda: read_catalog(path, file_type=file_type), str(path), name)
        return Catalogue(records, _extra_columns(records))
    table = _read_table(path, file_type, name)
    return _from_table(table, name, columns)


def _types() -> str:
    return ", ".join(("auto", *FILE_TYPES))


def _relabel(read, path: str, label: str):
    try:
        return read()
    except CatalogError as error:
        if label == path:
            raise
        raise CatalogError([line.replace(path, label, 1) for line in error.problems]) from None


def _plain_csv(path: str | os.PathLike) -> bool:
    """Whether a CSV header names ``ra`` and ``dec``, or no other coordinate column.

    Those files (and unreadable ones) keep the line-numbered messages of
    ``catalogs.readers``; headers naming ``RAJ2000``, ``GLON``... are read by astropy.
    """
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as handle:
            header = handle.readline(65536)
    except OSError:
        return True
    names = {cell.strip().lstrip("#").strip().lower() for cell in header.split(",")}
    others = {*RA_NAMES, *DEC_NAMES, *GLON_NAMES, *GLAT_NAMES} - {"ra", "dec"}
    return {"ra", "dec"} <= names or not names & others


def _extra_columns(records: list[SourceRecord]) -> list[ColumnInfo]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record.extra:
            seen.setdefault(key)
    return [ColumnInfo(key) for key in seen]


def _check_regular(path: str | os.PathLike, name: str) -> None:
    """Refuse what is not a regular file, with ``catalogs.readers``' messages."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CatalogError([f"{name}: no such file"]) from None
    except OSError as error:
        raise CatalogError([f"{name}: cannot access the file ({error.strerror})"]) from None
    if stat.S_ISDIR(info.st_mode):
        raise CatalogError([f"{name}: is a directory, not a catalogue file"])
    if not stat.S_ISREG(info.st_mode):
        raise CatalogError([f"{name}: not a regular file (a device, pipe or socket)"])


def _read_table(path: str | os.PathLike, file_type: str, name: str):
    from astropy.table import Table

    try:
        with warnings.catch_warnings():
            # Unknown units and multi-HDU notices: the units are kept as text.
            warnings.simplefilter("ignore")
            table = Table.read(path, format=_ASTROPY_FORMATS[file_type])
    except Exception as error:
        # astropy raises many kinds for a bad file, and their messages can
        # quote the file's contents: only the kind is shown.
        if "No table found" in str(error):
            raise CatalogError([f"{name}: no table in the file"]) from None
        raise CatalogError(
            [f"{name}: cannot be read as {file_type} ({type(error).__name__})"]
        ) from None
    return table


def _from_table(table, file: str, choice: ColumnChoice) -> Catalogue:
    names = list(table.colnames)
    ra_name = _column(table, file, choice.ra, "ra_column", RA_NAMES, "pos.eq.ra")
    dec_name = _column(table, file, choice.dec, "dec_column", DEC_NAMES, "pos.eq.dec")
    galactic = False
    if ra_name is None and dec_name is None:
        ra_name = _column(table, file, None, "", GLON_NAMES, "pos.galactic.lon")
        dec_name = _column(table, file, None, "", GLAT_NAMES, "pos.galactic.lat")
        galactic = ra_name is not None and dec_name is not None
    if ra_name is None or dec_name is None:
        raise CatalogError(
            [
                f"{file}: no RA/Dec columns found (looked for ra, RAJ2000, _RAJ2000, RA_ICRS, "
                "ra_deg..., UCD pos.eq.ra/pos.eq.dec, or GLON/GLAT); name them with "
                "ra_column and dec_column"
            ]
        )
    name_name = _column(table, file, choice.name, "name_column", NAME_NAMES, "meta.id")
    problems = _Problems()
    kinds = ("a Galactic longitude", "a Galactic latitude") if galactic else ("an RA", "a Dec")
    ra_deg = _angles(table[ra_name], file, ra_name, kinds[0], RA_RANGE_DEG, True, problems)
    dec_deg = _angles(table[dec_name], file, dec_name, kinds[1], DEC_RANGE_DEG, False, problems)
    problems.raise_if_any(file)
    if galactic:
        ra_deg, dec_deg = _galactic_to_icrs(ra_deg, dec_deg)
    # Galactic l/b stay in extra: the stored RA/Dec are converted from them.
    used = (set() if galactic else {ra_name, dec_name}) | ({name_name} if name_name else set())
    extra_names = [n for n in names if n not in used]
    extras = {n: _json_values(table[n], file, n, problems) for n in extra_names}
    source_names = (
        _json_values(table[name_name], file, name_name, problems)
        if name_name
        else [str(row) for row in range(1, len(table) + 1)]
    )
    problems.raise_if_any(file)
    records = [
        SourceRecord(
            ra=float(ra_deg[row]),
            dec=float(dec_deg[row]),
            name="" if source_names[row] is None else str(source_names[row]),
            extra={n: extras[n][row] for n in extra_names},
        )
        for row in range(len(table))
    ]
    columns = [
        ColumnInfo(n, _unit(table[n]), getattr(table[n].info, "description", None) or None)
        for n in extra_names
    ]
    return Catalogue(records, columns)


def _column(table, file, given, option, names, ucd) -> str | None:
    """The column named in the config, else by UCD (``;meta.main`` first), else by name."""
    colnames = list(table.colnames)
    if given:
        if given not in colnames:
            raise CatalogError([f"{file}: {option} {given!r} is not a column of the table"])
        return given
    ucds = {n: str((table[n].info.meta or {}).get("ucd", "")).lower() for n in colnames}
    for n in colnames:
        parts = ucds[n].split(";")
        if parts[0] == ucd and "meta.main" in parts[1:]:
            return n
    lowered = {n.lower(): n for n in reversed(colnames)}
    for candidate in names:
        if candidate in lowered:
            return lowered[candidate]
    for n in colnames:
        if ucds[n].split(";")[0] == ucd:
            return n
    return None


def _angles(column, file, column_name, kind, bounds, hours, problems) -> np.ndarray:
    """Degrees from a numeric column (with its angle unit) or text (decimal or sexagesimal)."""
    import astropy.units as u

    here = f"{file}: row {{}}, column {column_name}"
    mask = np.ma.getmaskarray(column)
    data = np.ma.getdata(column)
    if data.ndim != 1:
        problems.add(f"{file}: column {column_name}: holds arrays, not one angle per row")
        return np.zeros(len(column))
    if data.dtype.kind in "fiu":
        scale = 1.0
        unit = column.unit
        if unit is not None and not isinstance(unit, u.UnrecognizedUnit):
            if not unit.is_equivalent(u.deg):
                problems.add(f"{file}: column {column_name}: unit {unit} is not an angle")
                return np.zeros(len(column))
            scale = unit.to(u.deg)
        degrees = data.astype(float) * scale
        degrees[mask] = np.nan
        for row in np.flatnonzero(~(degrees >= bounds[0]) | ~(degrees <= bounds[1])):
            value = degrees[row]
            if math.isnan(value):
                problems.add(f"{here.format(row + 1)}: missing (empty, masked or NaN)")
            else:
                problems.add(
                    f"{here.format(row + 1)}: {value:g} is not {kind} in "
                    f"{bounds[0]:g}..{bounds[1]:g} degrees"
                )
        return degrees
    if data.dtype.kind in "USO":
        return _text_angles(data, mask, here, kind, bounds, hours, problems)
    problems.add(f"{file}: column {column_name}: neither numbers nor text")
    return np.zeros(len(column))


def _text_angles(data, mask, here, kind, bounds, hours, problems) -> np.ndarray:
    """Decimal degrees, or sexagesimal parsed by astropy (hours for RA: ``10:00:29.1``)."""
    import astropy.units as u
    from astropy.coordinates import Angle

    degrees = np.empty(len(data))
    unit = u.hourangle if hours else u.deg
    for row, raw in enumerate(data):
        text = (raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)).strip()
        if mask[row] or not text:
            problems.add(f"{here.format(row + 1)}: missing (empty, masked or NaN)")
            continue
        try:
            value = float(text)
        except ValueError:
            try:
                value = Angle(text, unit=unit).degree
            except (ValueError, TypeError, u.UnitsError):
                problems.add(f"{here.format(row + 1)}: not a number or a sexagesimal angle")
                continue
        if not bounds[0] <= value <= bounds[1]:
            problems.add(
                f"{here.format(row + 1)}: {value:g} is not {kind} in "
                f"{bounds[0]:g}..{bounds[1]:g} degrees"
            )
            continue
        degrees[row] = value
    return degrees


def _galactic_to_icrs(l_deg: np.ndarray, b_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import astropy.units as u
    from astropy.coordinates import SkyCoord

    icrs = SkyCoord(l=l_deg * u.deg, b=b_deg * u.deg, frame="galactic").icrs
    return icrs.ra.deg, icrs.dec.deg


def _json_values(column, file, column_name, problems) -> list:
    """A column as JSON values: masked and non-finite -> None, bytes -> text, arrays -> lists."""
    mask = np.ma.getmaskarray(column)
    data = np.asarray(np.ma.getdata(column))
    if data.dtype.kind == "f":
        values = np.where(np.isfinite(data), data, np.nan).tolist()
        if data.ndim == 1:
            values = [None if math.isnan(v) else v for v in values]
        else:
            values = [_finite(v) for v in values]
    elif data.dtype.kind in "iub":
        values = data.tolist()
    elif data.dtype.kind in "SU":
        values = [_plain(v) for v in np.asarray(data).tolist()]
    else:
        values = [_finite(_plain(v)) for v in data.tolist()]
    if mask.ndim == 1 and mask.any():
        values = [None if masked else v for v, masked in zip(values, mask, strict=True)]
    if data.dtype.kind in "SUO":
        for row, value in enumerate(values):
            if isinstance(value, str) and "\x00" in value:
                problems.add(f"{file}: row {row + 1}, column {column_name}: a NUL character")
    return values


def _plain(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, str | int | float | bool | list | type(None)):
        return value
    return str(value)


def _finite(value):
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _unit(column) -> str | None:
    unit = getattr(column, "unit", None)
    return None if unit is None else str(unit) or None
