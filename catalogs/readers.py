"""Source catalogue files -> validated records, with errors naming file, row and field.

Two formats (SPEC section 3): a JSON list of ``{"ra", "dec", "name"?, "extra"?}``
objects, or CSV with a header row naming ``ra`` and ``dec`` (and optionally
``name``); every other CSV column goes to ``extra``. No Django here, so
``maps.scanning`` can check catalogues before anything touches a database.

Messages never quote what was read from the file, only its position (line,
entry, field, column number) and the kind of value: a config pointed at
``/proc/self/environ`` or a secrets file must not print it.
"""

import csv
import json
import math
import os
import re
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

FILE_TYPES = ("json", "csv")
# A broken 100k-row file would otherwise produce 100k lines of errors.
MAX_PROBLEMS = 20
RA_RANGE_DEG = (-360.0, 360.0)
DEC_RANGE_DEG = (-90.0, 90.0)
_INTEGER = re.compile(r"^[+-]?\d+$")
_JSON_KEYS = frozenset({"ra", "dec", "name", "extra"})


@dataclass(frozen=True, slots=True)
class SourceRecord:
    ra: float
    dec: float
    name: str = ""
    extra: dict = field(default_factory=dict)


class CatalogError(ValueError):
    """A catalogue that cannot be read; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class _Problems:
    """Collects problem lines, stopping the list (not the count) at ``MAX_PROBLEMS``."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def add(self, line: str) -> None:
        self.count += 1
        if self.count <= MAX_PROBLEMS:
            self.lines.append(line)

    def raise_if_any(self, file: str) -> None:
        if self.count > MAX_PROBLEMS:
            self.lines.append(f"{file}: ... and {self.count - MAX_PROBLEMS} more problems")
        if self.count:
            raise CatalogError(self.lines)


def file_type_for(path: str | os.PathLike) -> str | None:
    """``"json"`` or ``"csv"`` from the file name's suffix, else ``None``."""
    suffix = Path(path).suffix.lower().lstrip(".")
    return suffix if suffix in FILE_TYPES else None


def read_catalog(path: str | os.PathLike, *, file_type: str) -> list[SourceRecord]:
    """Read and validate a whole catalogue file.

    Raises ``CatalogError`` listing every problem (up to ``MAX_PROBLEMS``),
    each starting with the file name and, for row problems, the row and field.
    """
    name = str(path)
    if file_type not in FILE_TYPES:
        raise CatalogError([f"{name}: file_type {file_type!r} is not one of json, csv"])
    text = _read_text(path)
    try:
        if file_type == "json":
            items = load_json(text, where=name)
            if not isinstance(items, list):
                raise CatalogError(
                    [f"{name}: expected a JSON list of sources, found {_kind(items)}"]
                )
            return records_from_list(items, file=name)
        return _records_from_csv(text, where=name)
    except RecursionError:
        raise CatalogError([f"{name}: values nested too deeply"]) from None


def load_json(text: str, *, where: str) -> object:
    """``json.loads(text)``, its every failure a ``CatalogError`` naming ``where``.

    ``json.JSONDecodeError`` messages hold a position, never the text; the
    other two failures are a number of more than 4300 digits (Python's
    int-conversion limit, a plain ``ValueError``) and nesting deeper than the
    recursion limit.
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise CatalogError(
            [f"{where}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"]
        ) from None
    except ValueError:
        raise CatalogError([f"{where}: invalid JSON: a number with too many digits"]) from None
    except RecursionError:
        raise CatalogError([f"{where}: invalid JSON: values nested too deeply"]) from None


def records_from_list(items: Iterable, *, file: str, path: str = "") -> list[SourceRecord]:
    """Validate source objects (from a JSON file or a config's inline ``sources``).

    Problems read ``{file}: {path}[{i}].{field}: ...``: ``path`` is where the
    list sits inside ``file`` (empty for a catalogue file). Keys other than
    ``ra``, ``dec``, ``name`` and ``extra`` are kept in ``extra``.
    """
    problems = _Problems()
    records = []
    for position, item in enumerate(items):
        if isinstance(item, dict):
            ra = _degrees(item.get("ra"), RA_RANGE_DEG)
            dec = _degrees(item.get("dec"), DEC_RANGE_DEG)
            name = item.get("name")
            extra = item.get("extra")
            nul = nul_key(item)
            if nul is not None:
                problems.add(f"{file}: {path}[{position}].{nul}: a NUL character")
                continue
            if (
                ra is not None
                and dec is not None
                and (name is None or isinstance(name, str))
                and (extra is None or isinstance(extra, dict))
            ):
                if len(item) > 2 + ("name" in item) + ("extra" in item):
                    others = {k: v for k, v in item.items() if k not in _JSON_KEYS}
                    extra = {**others, **(extra or {})}
                records.append(
                    SourceRecord(ra=ra, dec=dec, name=name or "", extra=finite_json(extra or {}))
                )
                continue
        _explain_item(item, f"{file}: {path}[{position}]", problems)
    problems.raise_if_any(file)
    return records


def _explain_item(item: object, here: str, problems: _Problems) -> None:
    """Report what is wrong with a source object that failed the quick checks."""
    if not isinstance(item, dict):
        problems.add(f"{here}: expected an object with ra and dec, found {_kind(item)}")
        return
    _coordinate(item, "ra", RA_RANGE_DEG, here, problems)
    _coordinate(item, "dec", DEC_RANGE_DEG, here, problems)
    name, extra = item.get("name"), item.get("extra")
    if name is not None and not isinstance(name, str):
        problems.add(f"{here}.name: expected a string, found {_kind(name)}")
    if extra is not None and not isinstance(extra, dict):
        problems.add(f"{here}.extra: expected an object, found {_kind(extra)}")


def _records_from_csv(text: str, *, where: str) -> list[SourceRecord]:
    reader = csv.reader(text.splitlines(keepends=True))
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogError([f"{where}: empty CSV file (expected a header row)"]) from None
    except csv.Error as error:
        raise CatalogError([f"{where}: line 1: {error}"]) from None
    columns = [column.strip() for column in header]
    if columns:
        columns[0] = columns[0].lstrip("#").strip()
    lowered = [column.lower() for column in columns]
    duplicates = [
        " and ".join(str(i + 1) for i, other in enumerate(lowered) if other == column)
        for position, column in enumerate(lowered)
        if column and lowered.index(column) == position and lowered.count(column) > 1
    ]
    if duplicates:
        raise CatalogError([f"{where}: line 1: columns {'; '.join(duplicates)} have the same name"])
    missing = [required for required in ("ra", "dec") if required not in lowered]
    if missing:
        count = len(columns) if any(columns) else 0
        raise CatalogError(
            [
                f"{where}: line 1: the header row must name the columns ra and dec "
                f"(missing {', '.join(missing)}; the header has {count} "
                f"column{'s' * (count != 1)})"
            ]
        )
    ra_column, dec_column = lowered.index("ra"), lowered.index("dec")
    name_column = lowered.index("name") if "name" in lowered else None
    extra_columns = [
        (i, column)
        for i, column in enumerate(columns)
        if i not in (ra_column, dec_column, name_column)
    ]
    problems = _Problems()
    records = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            problems.add(f"{where}: line {reader.line_num}: {error}")
            break
        if len(row) != len(columns):
            if row and any(cell.strip() for cell in row):
                problems.add(
                    f"{where}: line {reader.line_num}: expected {len(columns)} fields, "
                    f"found {len(row)}"
                )
            continue
        ra = _degrees(row[ra_column], RA_RANGE_DEG)
        dec = _degrees(row[dec_column], DEC_RANGE_DEG)
        if ra is None or dec is None:
            here = f"{where}: line {reader.line_num}"
            values = {"ra": row[ra_column].strip(), "dec": row[dec_column].strip()}
            _coordinate(values, "ra", RA_RANGE_DEG, here, problems, separator=": ")
            _coordinate(values, "dec", DEC_RANGE_DEG, here, problems, separator=": ")
            continue
        name = row[name_column].strip() if name_column is not None else ""
        extra = {column: _cell_value(row[i]) for i, column in extra_columns}
        records.append(SourceRecord(ra=ra, dec=dec, name=name, extra=extra))
    problems.raise_if_any(where)
    return records


def _read_text(path: str | os.PathLike) -> str:
    """The file's text; refuses non-regular files first (a FIFO would block forever)."""
    name = str(path)
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
    try:
        with open(path, encoding="utf-8-sig") as handle:
            text = handle.read()
    except UnicodeDecodeError as error:
        raise CatalogError(
            [f"{name}: not UTF-8 text (byte {error.start}); is it really a catalogue?"]
        ) from None
    except OSError as error:
        raise CatalogError([f"{name}: cannot read the file ({error.strerror})"]) from None
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise CatalogError([f"{name}: line {line}: a NUL character; is it really a catalogue?"])
    return text


def _degrees(raw: object, bounds: tuple[float, float]) -> float | None:
    """``raw`` as degrees when it is a number (or numeric text) within ``bounds``, else None."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    # NaN fails both comparisons, so it is refused here too.
    return value if bounds[0] <= value <= bounds[1] else None


def _coordinate(
    values: dict,
    key: str,
    bounds: tuple[float, float],
    here: str,
    problems: _Problems,
    *,
    separator: str = ".",
) -> float | None:
    where = f"{here}{separator}{key}"
    if key not in values or values[key] is None or values[key] == "":
        problems.add(f"{where}: missing (degrees required)")
        return None
    raw = values[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        problems.add(f"{where}: expected a number of degrees, found {_kind(raw)}")
        return None
    try:
        value = float(raw)
    except ValueError:
        problems.add(f"{where}: not a number")
        return None
    low, high = bounds
    if not math.isfinite(value):
        problems.add(f"{where}: not a finite number")
        return None
    if not low <= value <= high:
        problems.add(f"{where}: outside {low:g}..{high:g} degrees")
        return None
    return value


def _cell_value(cell: str) -> int | float | str | None:
    """A CSV cell as a JSON value: numbers where they parse, empty or non-finite as null."""
    text = cell.strip()
    if not text:
        return None
    if _INTEGER.match(text):
        try:
            return int(text)
        except ValueError:
            # Over Python's 4300-digit limit: no catalogue value, keep the text.
            return text
    try:
        number = float(text)
    except ValueError:
        return text
    return number if math.isfinite(number) else None


def finite_json(value):
    """``value`` with NaN/Infinity replaced by null: PostgreSQL's jsonb refuses them."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): finite_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite_json(v) for v in value]
    return value


def non_finite_key(value: object, *, path: str = "") -> str | None:
    """Where in ``value`` the first NaN or infinity sits (``"flux"``, ``"a[2]"``), else None.

    ``path`` prefixes the answer; an infinity at the top level answers ``path``.
    """
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        items = ((f"{path}.{key}" if path else str(key), v) for key, v in value.items())
    elif isinstance(value, list):
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return None
    for where, inner in items:
        found = non_finite_key(inner, path=where)
        if found is not None:
            return found
    return None


def nul_key(value: object, *, path: str = "") -> str | None:
    """Where in ``value`` the first string (or key) holding a NUL character sits, else None.

    PostgreSQL's text and jsonb cannot store NUL: such a value would fail at
    the write, after validation said yes. ``path`` prefixes the answer.
    """
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, inner in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return f"{path}.<key>" if path else "<key>"
            found = nul_key(inner, path=where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found = nul_key(inner, path=f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _kind(value: object) -> str:
    """The kind of a value read from a file, never the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
