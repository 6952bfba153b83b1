"""Import the JSON data configuration (SPEC section 3) into the database.

Two phases. First everything is validated without writing: types and
required fields, ids, every FITS header (through ``maps.engine``) and every
catalogue file. Any problem raises ``ConfigError`` listing all of them, each
naming the file, the entry (JSON path and id) and the field. Only a clean
config is written, in one transaction, so a failing import changes nothing.

Re-importing is idempotent: rows are matched by public id (map_group_id,
map_id, band_id, layer_id, source_group_id; boxes by name) and updated in
place; the config wins for every field it describes (an entry without
``grant`` becomes public). Rows the config does not mention are left alone.
A source group's sources are replaced by the config's on every import.
"""

import functools
import itertools
import json
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction

from catalogs.models import Source, SourceGroup, dec_zone
from catalogs.readers import CatalogError, SourceRecord, nul_key, records_from_list
from catalogs.tables import FILE_TYPES, Catalogue, ColumnChoice, read_catalogue
from maps.engine import FitsError, PlaneInfo, inspect_plane
from maps.engine.catalogue_ranks import detect_brightness_column, priority_ranks
from maps.engine.providers import ProviderError, parse_provider, unknown_keys
from maps.engine.providers import kind_of as _kind
from maps.layer_geometry import derived_fields, read_provider, refresh_layer_geometry
from maps.models import (
    DERIVED_LAYER_FIELDS,
    STOKES_PARAMETERS,
    Band,
    Grant,
    Layer,
    Map,
    MapGroup,
    colour_map_problem,
    reserved_layer_id_problem,
)
from maps.paths import DataPathError, resolve_data_path
from maps.scanning import slug
from sky_regions.models import Box

AUTO = "auto"
SOURCE_BATCH_SIZE = 5000
# Sources written at once above which the view indexes are rebuilt rather
# than updated row by row (see ``_replace_sources``).
REBUILD_INDEXES_ABOVE = 50_000
_ID = re.compile(r"^[-a-zA-Z0-9_]+$")
ID_MAX_LENGTH = 200
# Written by the original TileMaker's genconfig; derived here from the FITS header instead.
_DERIVED_LAYER_KEYS = frozenset(DERIVED_LAYER_FIELDS)


class ConfigError(ValueError):
    """A config that cannot be imported; ``problems`` holds one line per problem."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


KINDS = ("grants", "map_groups", "maps", "bands", "layers", "source_groups", "boxes")


@dataclass
class ImportReport:
    """What an import did: per kind, rows created / updated / unchanged."""

    source_name: str
    counts: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in KINDS})
    sources: int = 0
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = []
        for kind in KINDS:
            counts = self.counts[kind]
            if counts.created or counts.updated or counts.unchanged:
                parts.append(
                    f"{kind.replace('_', ' ')}: {counts.created} created, "
                    f"{counts.updated} updated, {counts.unchanged} unchanged"
                )
        if self.sources:
            parts.append(f"sources: {self.sources} imported")
        return f"Imported {self.source_name}: " + ("; ".join(parts) or "nothing to import")


def import_config(path: str | os.PathLike) -> ImportReport:
    """Import a config file; relative filenames resolve against its folder.

    Raises ``ConfigError`` (nothing written) when the file or any entry is bad.
    """
    name = str(path)
    absolute = Path(os.path.abspath(path))
    try:
        info = os.stat(absolute)
    except FileNotFoundError:
        raise ConfigError([f"{name}: no such file"]) from None
    except OSError as error:
        raise ConfigError([f"{name}: cannot access the file ({error.strerror})"]) from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError([f"{name}: not a regular file"])
    try:
        text = absolute.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as error:
        raise ConfigError([f"{name}: not UTF-8 text (byte {error.start})"]) from None
    except OSError as error:
        raise ConfigError([f"{name}: cannot read the file ({error.strerror})"]) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(
            [f"{name}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"]
        ) from None
    except ValueError:
        # Python refuses integers of more than 4300 digits with a plain ValueError.
        raise ConfigError([f"{name}: invalid JSON: a number with too many digits"]) from None
    except RecursionError:
        raise ConfigError([f"{name}: invalid JSON: values nested too deeply"]) from None
    return import_config_data(data, base_dir=absolute.parent, source_name=name)


def import_config_data(data: dict, *, base_dir: Path, source_name: str) -> ImportReport:
    """Validate ``data`` (a parsed config) completely, then write it in one transaction.

    ``base_dir`` resolves relative filenames; ``source_name`` starts every
    message. A bare list is read as the original's older list of map groups.
    Raises ``ConfigError`` listing every problem; nothing is written then.
    """
    plan = plan_config_data(data, base_dir=base_dir, source_name=source_name)
    report = ImportReport(source_name=source_name, warnings=plan.warnings)
    _write(plan, report)
    return report


def plan_config_data(data: dict, *, base_dir: Path, source_name: str) -> "_Plan":
    """Validate ``data`` completely and return the rows to write, writing nothing.

    The folder watcher (``maps.watching``) places these rows into an existing
    hierarchy itself. Raises ``ConfigError`` listing every problem.
    """
    plan = _Validator(base_dir=Path(base_dir), source_name=source_name).validate(data)
    # After the validator, whose messages name the entry for the fields it
    # checks (file names); this catches NUL in every other string.
    nul = nul_key(data)
    if nul is not None:
        raise ConfigError([f"{source_name}: {nul}: a NUL character (no database can store it)"])
    return plan


# --- validation ------------------------------------------------------------------------------


@dataclass
class _Row:
    """One validated entry: its public id, field values, grant name and children."""

    key: str
    where: str
    fields: dict
    grant: str | None
    children: list["_Row"] = field(default_factory=list)
    records: list[SourceRecord] | None = None


@dataclass
class _Plan:
    map_groups: list[_Row]
    source_groups: list[_Row]
    boxes: list[_Row]
    grants: set[str]
    warnings: list[str]


class _Validator:
    """Walks a config, collecting every problem and building the rows to write."""

    def __init__(self, *, base_dir: Path, source_name: str):
        self.base_dir = base_dir
        self.source = source_name
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.grants: set[str] = set()
        self.seen_ids: dict[str, dict[str, str]] = {}
        self._planes: dict[tuple[str, int, int | None], PlaneInfo | FitsError] = {}

    # Messages: "<file>: <entry>: <field>: <what is wrong>".
    def problem(self, where: str, field_name: str | None, message: str) -> None:
        prefix = f"{self.source}: {where}" if where else self.source
        self.problems.append(
            f"{prefix}: {field_name}: {message}" if field_name else f"{prefix}: {message}"
        )

    def validate(self, data: object) -> _Plan:
        if isinstance(data, list):
            data = {"map_groups": data}
        if not isinstance(data, dict):
            raise ConfigError(
                [
                    f"{self.source}: expected a JSON object with map_groups, source_groups "
                    f"and boxes, found {_kind(data)}"
                ]
            )
        self._unknown_keys(data, "", {"map_groups", "source_groups", "boxes"})
        groups = self._list(data, "map_groups", "")
        sources = self._list(data, "source_groups", "")
        boxes = self._list(data, "boxes", "")
        plan = _Plan(
            map_groups=self._entries(groups, "map_groups", self._map_group),
            source_groups=self._entries(sources, "source_groups", self._source_group),
            boxes=self._entries(boxes, "boxes", self._box),
            grants=self.grants,
            warnings=self.warnings,
        )
        self._derive_ids(plan.map_groups, "map_group_id", "map-group")
        self._derive_ids(plan.source_groups, "source_group_id", "source-group")
        if self.problems:
            raise ConfigError(self.problems)
        return plan

    def _entries(self, items: list, path: str, build: Callable) -> list[_Row]:
        rows = []
        for position, item in enumerate(items):
            where = f"{path}[{position}]"
            if not isinstance(item, dict):
                self.problem(where, None, f"expected an object, found {_kind(item)}")
                continue
            row = build(item, where)
            if row is not None:
                rows.append(row)
        return rows

    def _map_group(self, item: dict, where: str) -> _Row | None:
        key, label = self._id(item, "map_group_id", where, required=False)
        self._unknown_keys(item, label, {"map_group_id", "name", "description", "grant", "maps"})
        fields = self._common(item, label)
        maps = self._entries(self._list(item, "maps", where), f"{where}.maps", self._map)
        return _Row(key, label, fields, self._grant(item, label), maps)

    def _map(self, item: dict, where: str) -> _Row | None:
        key, label = self._id(item, "map_id", where)
        self._unknown_keys(item, label, {"map_id", "name", "description", "grant", "bands"})
        fields = self._common(item, label)
        bands = self._entries(self._list(item, "bands", where), f"{where}.bands", self._band)
        return _Row(key, label, fields, self._grant(item, label), bands)

    def _band(self, item: dict, where: str) -> _Row | None:
        key, label = self._id(item, "band_id", where)
        self._unknown_keys(item, label, {"band_id", "name", "description", "grant", "layers"})
        fields = self._common(item, label)
        layers = self._entries(self._list(item, "layers", where), f"{where}.layers", self._layer)
        self._check_stokes_unique(layers)
        return _Row(key, label, fields, self._grant(item, label), layers)

    def _layer(self, item: dict, where: str) -> _Row | None:
        known = {
            "layer_id",
            "name",
            "description",
            "grant",
            "quantity",
            "units",
            "vmin",
            "vmax",
            "stokes",
            "polarisation_convention",
        }
        key, where = self._id(item, "layer_id", where)
        self._unknown_keys(item, where, known | {"cmap", "provider"} | _DERIVED_LAYER_KEYS)
        fields = self._common(item, where)
        fields["quantity"] = self._text(item, "quantity", where, Layer)
        fields["units"] = self._text(item, "units", where, Layer)
        fields["vmin"] = self._limit(item, "vmin", where)
        fields["vmax"] = self._limit(item, "vmax", where)
        if (
            isinstance(fields["vmin"], float)
            and isinstance(fields["vmax"], float)
            and fields["vmin"] >= fields["vmax"]
        ):
            self.problem(
                where, "vmax", f"{fields['vmax']:g} must be greater than vmin {fields['vmin']:g}"
            )
        fields["cmap"] = self._cmap(item, where)
        fields["stokes"] = self._stokes(item, where)
        fields["polarisation_convention"] = self._polarisation_convention(item, where)
        provider = item.get("provider")
        if provider is None:
            self.problem(where, "provider", "missing (required)")
        else:
            built = self._provider(provider, where)
            if built is not None:
                stored, info = built
                fields["provider"] = stored
                fields.update(derived_fields(info))
        return _Row(key, where, fields, self._grant(item, where))

    def _source_group(self, item: dict, where: str) -> _Row | None:
        known = {
            "source_group_id",
            "name",
            "description",
            "grant",
            "provider",
            "sources",
            "brightness_column",
        }
        key, where = self._id(item, "source_group_id", where, required=False)
        self._unknown_keys(item, where, known)
        fields = self._common(item, where)
        provider, inline = item.get("provider"), item.get("sources")
        records: list[SourceRecord] | None = None
        if provider is not None and inline is not None:
            self.problem(where, "provider", "give either provider or sources, not both")
        elif provider is not None:
            catalogue = self._catalog_file(provider, where)
            if catalogue is not None:
                records = catalogue.records
                fields["columns"] = [column.to_dict() for column in catalogue.columns]
        elif inline is not None:
            if not isinstance(inline, list):
                self.problem(where, "sources", f"expected a list, found {_kind(inline)}")
            else:
                try:
                    records = records_from_list(inline, file=self.source, path=f"{where}.sources")
                except CatalogError as error:
                    self.problems.extend(error.problems)
        else:
            records = []
        fields.setdefault("columns", [])
        if records is not None:
            self._check_source_names(records, where)
            fields["brightness_column"] = self._brightness_column(item, records, where)
        return _Row(key, where, fields, self._grant(item, where), records=records)

    def _box(self, item: dict, where: str) -> _Row | None:
        known = {"name", "description", "grant"} | set(_BOX_CORNERS)
        self._unknown_keys(item, where, known)
        fields = self._common(item, where)
        name = fields.get("name")
        if name:
            where = f"{where} (box {name!r})"
            self._remember("boxes (by name)", name, where, "name")
        for corner, (low, high) in _BOX_CORNERS.items():
            value = self._number(item, corner, where)
            if value is not None and not low <= value <= high:
                self.problem(where, corner, f"{value:g} is outside {low:g}..{high:g} degrees")
                value = None
            fields[corner] = value
        top, bottom = fields["top_left_dec"], fields["bottom_right_dec"]
        if top is not None and bottom is not None and top <= bottom:
            self.problem(
                where,
                "top_left_dec",
                f"{top:g} must be north of (greater than) bottom_right_dec {bottom:g}",
            )
        return _Row(name or "", where, fields, self._grant(item, where))

    # --- fields --------------------------------------------------------------------------------

    def _id(self, item: dict, key: str, where: str, *, required: bool = True) -> tuple[str, str]:
        """The entry's public id (validated, remembered for duplicates) and its label."""
        value = item.get(key)
        if value is None:
            if required:
                self.problem(where, key, "missing (required)")
            return "", where
        if not isinstance(value, str):
            self.problem(where, key, f"expected a string, found {_kind(value)}")
            return "", where
        labelled = f"{where} ({key} {value!r})"
        if not _ID.match(value) or len(value) > ID_MAX_LENGTH:
            self.problem(
                labelled,
                key,
                f"{value!r} is not a valid id (1 to {ID_MAX_LENGTH} letters, digits, '-' or '_')",
            )
            return "", labelled
        reserved = reserved_layer_id_problem(value) if key == "layer_id" else None
        if reserved:
            self.problem(labelled, key, reserved)
            return "", labelled
        self._remember(key, value, labelled, key)
        return value, labelled

    def _remember(self, kind: str, value: str, where: str, field_name: str) -> None:
        seen = self.seen_ids.setdefault(kind, {})
        if value in seen:
            self.problem(where, field_name, f"{value!r} is already used by {seen[value]}")
        else:
            seen[value] = where

    def _derive_ids(self, rows: list[_Row], kind: str, fallback: str) -> None:
        """Ids for entries that have none: a slug of the name, or of the position if taken."""
        taken = self.seen_ids.setdefault(kind, {})
        for position, row in enumerate(rows):
            if row.key:
                continue
            candidate = slug(row.fields.get("name") or "", fallback=fallback)
            if candidate in taken:
                candidate = f"{candidate}-{position}"
            while candidate in taken:
                candidate = f"{candidate}-{position}"
            taken[candidate] = row.where
            row.key = candidate

    def _common(self, item: dict, where: str) -> dict:
        name = item.get("name")
        if name is None:
            self.problem(where, "name", "missing (required)")
            name = ""
        elif not isinstance(name, str) or not name.strip():
            self.problem(where, "name", f"expected a non-empty string, found {_kind(name)}")
            name = ""
        elif len(name) > 300:
            self.problem(where, "name", "longer than 300 characters")
        description = item.get("description")
        if description is None:
            description = ""
        elif not isinstance(description, str):
            self.problem(where, "description", f"expected a string, found {_kind(description)}")
            description = ""
        return {"name": name, "description": description}

    def _text(self, item: dict, key: str, where: str, model: type[models.Model]) -> str:
        value = item.get(key)
        if value is None:
            return ""
        if not isinstance(value, str):
            self.problem(where, key, f"expected a string, found {_kind(value)}")
            return ""
        limit = model._meta.get_field(key).max_length
        if limit and len(value) > limit:
            self.problem(where, key, f"longer than {limit} characters")
        return value

    def _grant(self, item: dict, where: str) -> str | None:
        value = item.get("grant")
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(where, "grant", f"expected a grant name, found {_kind(value)}")
            return None
        if len(value) > Grant._meta.get_field("name").max_length:
            self.problem(where, "grant", "longer than 200 characters")
            return None
        self.grants.add(value)
        return value

    def _list(self, item: dict, key: str, where: str) -> list:
        value = item.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(where, key, f"expected a list, found {_kind(value)}")
            return []
        return value

    def _number(self, item: dict, key: str, where: str) -> float | None:
        value = item.get(key)
        if value is None:
            self.problem(where, key, "missing (a number of degrees is required)")
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, key, f"expected a number, found {_kind(value)}")
            return None
        if not math.isfinite(value):
            self.problem(where, key, f"{value} is not a finite number")
            return None
        return float(value)

    def _limit(self, item: dict, key: str, where: str) -> float | None:
        value = item.get(key)
        if value is None or value == AUTO:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.problem(where, key, f'expected a number or "auto", found {_kind(value)}')
            return None
        if not math.isfinite(value):
            self.problem(where, key, f"{value} is not a finite number")
            return None
        return float(value)

    def _cmap(self, item: dict, where: str) -> str:
        value = item.get("cmap")
        if value is None:
            return Layer._meta.get_field("cmap").default
        if not isinstance(value, str):
            self.problem(where, "cmap", f"expected a colour map name, found {_kind(value)}")
        elif problem := colour_map_problem(value):
            self.problem(where, "cmap", problem)
        return value

    def _check_stokes_unique(self, layers: list[_Row]) -> None:
        """A band has at most one layer per Stokes parameter: P and the readouts pair them."""
        first: dict[str, str] = {}
        for row in layers:
            stokes = row.fields.get("stokes")
            if not stokes:
                continue
            if stokes in first:
                self.problem(
                    row.where,
                    "stokes",
                    f"{stokes!r} is already the Stokes plane of {first[stokes]}",
                )
            else:
                first[stokes] = row.where

    def _stokes(self, item: dict, where: str) -> str:
        value = item.get("stokes")
        if value is None:
            return ""
        if value not in STOKES_PARAMETERS:
            shown = repr(value) if isinstance(value, str) else _kind(value)
            self.problem(where, "stokes", f'expected "I", "Q" or "U", found {shown}')
            return ""
        return value

    def _polarisation_convention(self, item: dict, where: str) -> str:
        value = item.get("polarisation_convention")
        if value is None:
            return ""
        if value not in ("IAU", "COSMO"):
            shown = repr(value) if isinstance(value, str) else _kind(value)
            self.problem(
                where, "polarisation_convention", f'expected "IAU" or "COSMO", found {shown}'
            )
            return ""
        return value

    def _unknown_keys(self, item: dict, where: str, known: set | frozenset) -> None:
        for key in item:
            if key not in known:
                location = f"{self.source}: {where}" if where else self.source
                self.warnings.append(f"{location}: unknown field {key!r} ignored")

    # --- files ---------------------------------------------------------------------------------

    def _provider(self, provider: object, where: str) -> tuple[dict, PlaneInfo] | None:
        for location, key in unknown_keys(provider):
            warning = f"{self.source}: {where}.{location}: unknown field {key!r} ignored"
            self.warnings.append(warning)
        try:
            parsed = parse_provider(provider)
            resolved, info = read_provider(parsed, base_dir=self.base_dir, inspect=self._inspect)
        except ProviderError as error:
            for field_name, message in error.problems:
                self.problem(where, field_name, message)
            return None
        return resolved.to_dict(), info

    def _inspect(self, path: str, *, hdu: int, index: int | None) -> PlaneInfo:
        """``inspect_plane``, once per plane of a config (layers often share files)."""
        key = (path, hdu, index)
        if key not in self._planes:
            try:
                self._planes[key] = inspect_plane(path, hdu=hdu, index=index)
            except FitsError as error:
                self._planes[key] = error
        found = self._planes[key]
        if isinstance(found, FitsError):
            raise found.with_traceback(None)
        return found

    def _catalog_file(self, provider: object, where: str) -> Catalogue | None:
        if not isinstance(provider, dict):
            self.problem(where, "provider", f"expected an object, found {_kind(provider)}")
            return None
        self._unknown_keys(provider, f"{where}.provider", {"file_type", "filename", *_COLUMN_KEYS})
        file_type, filename = provider.get("file_type", "auto"), provider.get("filename")
        ok = True
        if file_type not in ("auto", *FILE_TYPES):
            self.problem(
                where,
                "provider.file_type",
                f"{file_type!r} is not one of {', '.join(('auto', *FILE_TYPES))}",
            )
            ok = False
        if not isinstance(filename, str) or not filename.strip():
            self.problem(
                where, "provider.filename", f"expected a file name, found {_kind(filename)}"
            )
            ok = False
        for key in _COLUMN_KEYS:
            value = provider.get(key)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                self.problem(
                    where, f"provider.{key}", f"expected a column name, found {_kind(value)}"
                )
                ok = False
        if not ok:
            return None
        choice = ColumnChoice(*(provider.get(key) for key in _COLUMN_KEYS))
        try:
            path = resolve_data_path(filename, base_dir=self.base_dir)
            return read_catalogue(path, file_type=file_type, columns=choice)
        except DataPathError as error:
            self.problem(where, "provider.filename", str(error))
        except CatalogError as error:
            for line in error.problems:
                self.problem(where, "provider.filename", line)
        return None

    def _brightness_column(self, item: dict, records: list[SourceRecord], where: str) -> str:
        """The configured brightness column, checked against the sources, or one detected."""
        present = list(dict.fromkeys(key for record in records[:1000] for key in record.extra))
        chosen = item.get("brightness_column")
        if chosen is None:
            return detect_brightness_column(present) or ""
        if not isinstance(chosen, str):
            self.problem(
                where, "brightness_column", f"expected a column name, found {_kind(chosen)}"
            )
        elif chosen and records and chosen not in present:
            self.problem(
                where, "brightness_column", f"{chosen!r} is not a column of the sources: {present}"
            )
        else:
            return chosen
        return ""

    def _check_source_names(self, records: list[SourceRecord], where: str) -> None:
        limit = Source._meta.get_field("name").max_length
        for number, record in enumerate(records):
            if len(record.name) > limit:
                self.problem(where, f"sources[{number}].name", f"longer than {limit} characters")
                return


_COLUMN_KEYS = ("ra_column", "dec_column", "name_column")

_BOX_CORNERS = {
    "top_left_ra": (-360.0, 360.0),
    "top_left_dec": (-90.0, 90.0),
    "bottom_right_ra": (-360.0, 360.0),
    "bottom_right_dec": (-90.0, 90.0),
}


# --- writing ---------------------------------------------------------------------------------


def _write(plan: _Plan, report: ImportReport) -> None:
    current = {"where": ""}
    try:
        with transaction.atomic():
            grants = _write_grants(plan.grants, report.counts["grants"])
            for position, group_row in enumerate(plan.map_groups):
                group = _upsert(
                    MapGroup, "map_group_id", group_row, position, grants, {}, report, "map_groups"
                )
                for map_position, map_row in enumerate(group_row.children):
                    map_object = _upsert(
                        Map,
                        "map_id",
                        map_row,
                        map_position,
                        grants,
                        {"map_group": group},
                        report,
                        "maps",
                    )
                    for band_position, band_row in enumerate(map_row.children):
                        band = _upsert(
                            Band,
                            "band_id",
                            band_row,
                            band_position,
                            grants,
                            {"map": map_object},
                            report,
                            "bands",
                        )
                        for layer_position, layer_row in enumerate(band_row.children):
                            current["where"] = layer_row.where
                            _upsert(
                                Layer,
                                "layer_id",
                                layer_row,
                                layer_position,
                                grants,
                                {"band": band},
                                report,
                                "layers",
                                refresh=refresh_layer_geometry,
                            )
            current["where"] = ""
            for position, row in enumerate(plan.source_groups):
                source_group = _upsert(
                    SourceGroup,
                    "source_group_id",
                    row,
                    position,
                    grants,
                    {},
                    report,
                    "source_groups",
                )
                report.sources += _replace_sources(source_group, row.records or [])
            for position, row in enumerate(plan.boxes):
                _upsert(Box, "name", row, position, grants, {}, report, "boxes")
    except ValidationError as error:
        # A FITS file changed between validation and writing; the transaction is rolled back.
        messages = "; ".join(
            message for messages in error.message_dict.values() for message in messages
        )
        raise ConfigError(
            [f"{report.source_name}: {current['where']}: provider: {messages}"]
        ) from None
    if any(len(row.records or []) > REBUILD_INDEXES_ABOVE for row in plan.source_groups):
        _vacuum_sources()


def _vacuum_sources() -> None:
    """Mark a large catalogue's new rows visible to all in PostgreSQL's visibility map.

    Until then its index-only scans still read every row from the table: a
    view query's count of 70,000 sources took 84 ms instead of ~10.
    Autovacuum gets there too, a while later; VACUUM cannot run inside a
    transaction, so an import inside one (the tests') leaves it to that.
    """
    connection = connections[router.db_for_write(Source)]
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM {connection.ops.quote_name(Source._meta.db_table)}")


def _write_grants(names: set[str], counts: KindCounts) -> dict[str, Grant]:
    grants = {}
    for name in sorted(names):
        grant, created = Grant.objects.get_or_create(name=name)
        if created:
            counts.created += 1
        else:
            counts.unchanged += 1
        grants[name] = grant
    return grants


def _upsert(
    model: type[models.Model],
    key_field: str,
    row: _Row,
    position: int,
    grants: dict[str, Grant],
    parents: dict,
    report: ImportReport,
    kind: str,
    refresh: Callable[[models.Model], None] | None = None,
) -> models.Model:
    """Create or update the row of ``row``; ``refresh`` re-derives a new or changed provider.

    The plan's derived fields were read during validation; reading the
    headers again right before writing turns a file that broke in between
    into a rolled-back import rather than a layer that cannot be served.
    """
    values = {
        **row.fields,
        **parents,
        "grant": grants[row.grant] if row.grant else None,
        "position": position,
    }
    if key_field == "name":
        values.pop("name")
    counts = report.counts[kind]
    existing = model.objects.filter(**{key_field: row.key}).first()
    if existing is None:
        created = model(**{key_field: row.key}, **values)
        if refresh is not None:
            refresh(created)
        created.save()
        counts.created += 1
        return created
    changed = [name for name, value in values.items() if _differs(existing, name, value)]
    if not changed:
        counts.unchanged += 1
        return existing
    for name in changed:
        setattr(existing, name, values[name])
    if refresh is not None and "provider" in changed:
        refresh(existing)
    existing.save()
    counts.updated += 1
    return existing


def _differs(instance: models.Model, name: str, value: object) -> bool:
    model_field = instance._meta.get_field(name)
    if model_field.is_relation:
        return getattr(instance, model_field.attname) != (value.pk if value is not None else None)
    return getattr(instance, name) != value


def _copy_rows(cursor, sql: str, rows, extra_field) -> None:
    """PostgreSQL's ``COPY``: 1e6 rows in ~6 s, where ``executemany`` sends one statement a row."""
    dumps = functools.partial(json.dumps, cls=extra_field.encoder)
    with cursor.copy(sql) as copy:
        for pk, name, ra, dec, extra, rank, zone in rows:
            copy.write_row((pk, name, ra, dec, dumps(extra), rank, zone))


def _replace_sources(group: SourceGroup, records: list[SourceRecord]) -> int:
    """Swap a group's sources for ``records``, ranked by the group's brightness column.

    Rows go in through ``executemany`` rather than ``bulk_create``: building
    100k model instances and their SQL costs the ORM ~10 s, the insert itself
    well under one. ``extra`` is adapted by the backend's own JSON adaptation
    (what its field would call, without the three calls around it: ~3 s per
    1e6 rows).

    A large catalogue goes in with the view indexes dropped and then rebuilt
    in one sorted pass: inserting 1e6 rows of random dec and rank into them
    cost ~45 s on SQLite, the rebuild a few seconds (bench/bench_million.py).
    On PostgreSQL the dropped index holds the table's lock until the import
    commits, so readers of sources wait for it.
    """
    group.sources.all().delete()
    column = group.brightness_column
    brightness = [record.extra.get(column) for record in records] if column else None
    ranks = priority_ranks(brightness, len(records)).tolist()
    connection = connections[router.db_for_write(Source)]
    extra_field = Source._meta.get_field("extra")
    quote = connection.ops.quote_name
    columns = ", ".join(
        quote(Source._meta.get_field(name).column)
        for name in ("source_group", "name", "ra", "dec", "extra", "rank", "zone")
    )
    table = quote(Source._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES (%s, %s, %s, %s, %s, %s, %s)"
    rebuild = len(records) > REBUILD_INDEXES_ABOVE
    with connection.cursor() as cursor:
        # The column indexes of the view queries; the name index (an
        # expression) keeps up by itself, its inserts arrive in no worse order.
        view_indexes = [index for index in Source._meta.indexes if index.fields]
        if rebuild:
            for index in view_indexes:
                cursor.execute(f"DROP INDEX {quote(index.name)}")
        rows = (
            (group.pk, record.name, record.ra, record.dec, record.extra, rank, dec_zone(record.dec))
            for record, rank in zip(records, ranks, strict=True)
        )
        if connection.vendor == "postgresql":
            _copy_rows(cursor.cursor, f"COPY {table} ({columns}) FROM STDIN", rows, extra_field)
        else:
            adapt_json = connection.ops.adapt_json_value
            while batch := list(itertools.islice(rows, SOURCE_BATCH_SIZE)):
                batch = [
                    (pk, name, ra, dec, adapt_json(extra, extra_field.encoder), rank, zone)
                    for pk, name, ra, dec, extra, rank, zone in batch
                ]
                cursor.executemany(sql, batch)
        if rebuild:
            if connection.vendor == "postgresql":
                # It builds no index over pending (deferred) foreign key checks.
                connection.check_constraints()
            for index in view_indexes:
                fields = [quote(Source._meta.get_field(name).column) for name in index.fields]
                cursor.execute(f"CREATE INDEX {quote(index.name)} ON {table} ({', '.join(fields)})")
        if connection.vendor == "postgresql":
            # The planner's row estimates for the view queries (autovacuum
            # would get there only later).
            cursor.execute(f"ANALYZE {table}")
    return len(records)
