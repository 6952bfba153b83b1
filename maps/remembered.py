"""Rows looked up by unique id, remembered per process while the database is unchanged.

Looking an object up by its public id is the first step of every tile
request, and building and compiling that query through the ORM cost about
2 ms, more than serving a cached tile. Each process therefore remembers the
rows it fetched by unique id, together with the names of every grant along
the object's chain, so that ``maps.grants`` can decide visibility from them
in Python. Every lookup first reads the database's visibility generation
(``VisibilityGeneration``: one row, changed by triggers in the same
transaction as any write to the tables involved), and the remembered rows
are used only while it is unchanged. So any write, by any process and by any
means (the admin, ``import_config``, a shell, raw SQL), is seen by the next
lookup everywhere, whatever the cache set-up. Nothing here depends on a
cache library's internals.
"""

import copy
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import Model

from maps import restricted
from maps.models import VisibilityGeneration

# Rows of objects that exist, and separately ids that matched nothing, so
# that requests for made-up ids cannot push real ones out. Both are
# remembered so that a hidden id and an unknown one cost the same work: an
# answer that came faster for one of them would tell which ids exist.
MAX_ROWS = 4096
MAX_MISSES = 4096
GENERATION_SQL = f"SELECT value FROM {VisibilityGeneration._meta.db_table} WHERE id = 1"


@dataclass(frozen=True, slots=True)
class Row:
    """A fetched row: field values in ``concrete_fields`` order and its chain's grant names."""

    values: tuple
    grant_names: frozenset[str]

    def instance(self, model: type[Model]) -> Model:
        """A fresh instance per call: callers may change it, and JSON values are
        copied so that no change reaches the remembered row."""
        names = [field.attname for field in model._meta.concrete_fields]
        values = tuple(
            copy.deepcopy(value) if isinstance(value, dict | list) else value
            for value in self.values
        )
        return model.from_db(model.objects.db, names, values)


class _Memory:
    """What one process remembers of one database, valid for one visibility generation."""

    def __init__(self):
        self.generation = None
        self.rows: OrderedDict[tuple, Row] = OrderedDict()
        self.misses: OrderedDict[tuple, None] = OrderedDict()

    def start(self, generation) -> None:
        self.generation = generation
        self.rows.clear()
        self.misses.clear()


_memories: dict[str, _Memory] = {}
_memories_lock = threading.Lock()


def by_unique_field(model: type[Model], lookup: dict) -> bool:
    """Whether ``lookup`` names one object by a unique field, so that ``row`` answers it."""
    if len(lookup) != 1:
        return False
    (name,) = lookup
    if name == "pk":
        return True
    try:
        return model._meta.get_field(name).unique
    except FieldDoesNotExist:  # a lookup such as "name__iexact"
        return False


# On SQLite, a connection of each process's own for reading the generation:
# a warm anonymous tile needs nothing else from the database, and opening
# Django's connection for it (which registers some thirty SQL functions)
# cost 0.45 ms per request, the read on an open connection 0.02 ms.
_sqlite_readers: dict[str, sqlite3.Connection] = {}
_sqlite_readers_lock = threading.Lock()


def generation(db: str):
    """The database's visibility generation, or None when its row is missing (after a
    test flush, until the next write); raw SQL, as building an ORM query costs more
    than running this one."""
    connection = connections[db]
    # Inside a transaction only its own connection sees what it wrote.
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        with _sqlite_readers_lock:
            reader = _sqlite_readers.get(db)
            if reader is None:
                reader = sqlite3.connect(**connection.get_connection_params())
                _sqlite_readers[db] = reader
            # fetchall runs the statement to its end, so no read transaction
            # stays open to show an old snapshot next time.
            found = reader.execute(GENERATION_SQL).fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(GENERATION_SQL)
            found = cursor.fetchall()
    return found[0][0] if found else None


def fetch_row(model: type[Model], lookup: dict) -> tuple[tuple, frozenset[str]] | None:
    """The database's row matching ``lookup`` and its chain's grant names, or None."""
    names = [field.attname for field in model._meta.concrete_fields]
    grant_names = [f"{path}__name" for path in restricted.kind(model).grant_paths]
    rows = list(model.objects.filter(**lookup).values_list(*names, *grant_names)[:1])
    if not rows:
        return None
    row = rows[0]
    return row[: len(names)], frozenset(name for name in row[len(names) :] if name is not None)


def _read_row(model: type[Model], lookup: dict) -> Row | None:
    fetched = fetch_row(model, lookup)
    return None if fetched is None else Row(*fetched)


def row(model: type[Model], lookup: dict) -> Row | None:
    """The row matching a unique-field ``lookup``, or None when there is none; read
    again whenever the visibility generation changed since it was remembered."""
    if not restricted.kind(model).remembered:
        return _read_row(model, lookup)
    db = model.objects.db
    ((name, value),) = lookup.items()
    key = (model._meta.label, name, value)
    # Read before the row: a write committed in between changes the
    # generation again, and the next lookup reads the row again.
    current = generation(db)
    with _memories_lock:
        memory = _memories.setdefault(db, _Memory())
        if memory.generation != current or current is None:
            memory.start(current)
        found = memory.rows.get(key)
        if found is not None:
            memory.rows.move_to_end(key)
            return found
        if key in memory.misses:
            memory.misses.move_to_end(key)
            return None
    found = _read_row(model, lookup)
    if current is None:
        return found
    with _memories_lock:
        if memory.generation == current:
            remembered, limit = (memory.rows, MAX_ROWS) if found else (memory.misses, MAX_MISSES)
            remembered[key] = found
            while len(remembered) > limit:
                remembered.popitem(last=False)
    return found
