"""The one place that decides what a user may see.

An object with a grant is visible only to users holding that grant, and so
is everything below it. Views, search, the default layer, caches and
exports all ask here; an object a user may not see must behave exactly as
if it did not exist.

Looking an object up by its public id (``get_visible_or_404``) is the
first step of every tile request, and building and compiling that query
through the ORM cost about 2 ms, more than serving a cached tile. Each
process therefore remembers the rows it fetched by unique id, together
with the names of every grant along the object's chain, and decides
visibility from them in Python. Every lookup first reads the database's
visibility generation (``VisibilityGeneration``: one row, changed by
triggers in the same transaction as any write to the tables involved), and
the remembered rows are used only while it is unchanged. So any write, by
any process and by any means (the admin, ``import_config``, a shell, raw
SQL), is seen by the next lookup everywhere, whatever the cache set-up.
"""

import copy
import sqlite3
import threading
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db import connections
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from maps import restricted
from maps.models import Grant, VisibilityGeneration

_CACHE_ATTRIBUTE = "_tilemaker_grant_names"


def user_grants(user) -> frozenset[str]:
    """Names of the grants ``user`` holds: their own, their groups', and any mock grants."""
    if user is not None and hasattr(user, _CACHE_ATTRIBUTE):
        return getattr(user, _CACHE_ATTRIBUTE)
    names = set(settings.MOCK_GRANTS) if settings.AUTH_TYPE == "mock" else set()
    if user is not None and user.is_authenticated and user.is_active:
        names.update(
            Grant.objects.filter(Q(users=user) | Q(groups__user=user)).values_list(
                "name", flat=True
            )
        )
    granted = frozenset(names)
    if user is not None:
        setattr(user, _CACHE_ATTRIBUTE, granted)
    return granted


def visibility_filter(model: type[Model], granted: frozenset[str]) -> Q:
    """A ``Q`` keeping only rows of ``model`` whose every grant is in ``granted``."""
    condition = Q()
    for lookup in restricted.kind(model).grant_paths:
        condition &= Q(**{f"{lookup}__isnull": True}) | Q(**{f"{lookup}__name__in": granted})
    return condition


def visible(model: type[Model], user) -> QuerySet:
    """All objects of ``model`` that ``user`` may see."""
    return model.objects.filter(visibility_filter(model, user_grants(user)))


def get_visible_or_404(model: type[Model], user, **lookup) -> Model:
    """The visible object matching ``lookup``; ``Http404`` when missing or hidden alike."""
    if _by_unique_field(model, lookup):
        found = _remembered_lookup(model, user, lookup)
    else:
        found = visible(model, user).filter(**lookup).first()
    if found is None:
        raise Http404(f"No {model._meta.verbose_name} with that id.")
    return found


# --- Lookups by unique id, remembered per process ------------------------------

# Rows of objects that exist, and separately ids that matched nothing, so
# that requests for made-up ids cannot push real ones out. Both are
# remembered so that a hidden id and an unknown one cost the same work: an
# answer that came faster for one of them would tell which ids exist.
_REMEMBERED_ROWS = 4096
_REMEMBERED_MISSES = 4096
_GENERATION_SQL = f"SELECT value FROM {VisibilityGeneration._meta.db_table} WHERE id = 1"


@dataclass(frozen=True, slots=True)
class _Row:
    """A fetched row: field values in ``concrete_fields`` order and its chain's grant names."""

    values: tuple
    grant_names: frozenset[str]


class _Memory:
    """What one process remembers of one database, valid for one visibility generation."""

    def __init__(self):
        self.generation = None
        self.rows: OrderedDict[tuple, _Row] = OrderedDict()
        self.misses: OrderedDict[tuple, None] = OrderedDict()

    def start(self, generation) -> None:
        self.generation = generation
        self.rows.clear()
        self.misses.clear()


_memories: dict[str, _Memory] = {}
_memories_lock = threading.Lock()


def _by_unique_field(model: type[Model], lookup: dict) -> bool:
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


def _generation(db: str):
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
            found = reader.execute(_GENERATION_SQL).fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(_GENERATION_SQL)
            found = cursor.fetchall()
    return found[0][0] if found else None


def _fetch_row(model: type[Model], lookup: dict) -> tuple[tuple, frozenset[str]] | None:
    names = [field.attname for field in model._meta.concrete_fields]
    grant_names = [f"{path}__name" for path in restricted.kind(model).grant_paths]
    rows = list(model.objects.filter(**lookup).values_list(*names, *grant_names)[:1])
    if not rows:
        return None
    row = rows[0]
    return row[: len(names)], frozenset(name for name in row[len(names) :] if name is not None)


def _read_row(model: type[Model], lookup: dict) -> _Row | None:
    fetched = _fetch_row(model, lookup)
    return None if fetched is None else _Row(*fetched)


def _remembered_row(model: type[Model], lookup: dict) -> _Row | None:
    """The row matching a unique-field ``lookup``, or None when there is none; read
    again whenever the visibility generation changed since it was remembered."""
    if not restricted.kind(model).remembered:
        return _read_row(model, lookup)
    db = model.objects.db
    ((name, value),) = lookup.items()
    key = (model._meta.label, name, value)
    # Read before the row: a write committed in between changes the
    # generation again, and the next lookup reads the row again.
    generation = _generation(db)
    with _memories_lock:
        memory = _memories.setdefault(db, _Memory())
        if memory.generation != generation or generation is None:
            memory.start(generation)
        row = memory.rows.get(key)
        if row is not None:
            memory.rows.move_to_end(key)
            return row
        if key in memory.misses:
            memory.misses.move_to_end(key)
            return None
    row = _read_row(model, lookup)
    if generation is None:
        return row
    with _memories_lock:
        if memory.generation == generation:
            remembered, limit = (
                (memory.rows, _REMEMBERED_ROWS) if row else (memory.misses, _REMEMBERED_MISSES)
            )
            remembered[key] = row
            while len(remembered) > limit:
                remembered.popitem(last=False)
    return row


def _remembered_lookup(model: type[Model], user, lookup: dict) -> Model | None:
    """``visible(model, user).filter(**lookup).first()`` for a unique-field lookup."""
    row = _remembered_row(model, lookup)
    # Asked for a missing object too: hidden and missing ones cost the same.
    granted = user_grants(user)
    if row is None or not row.grant_names <= granted:
        return None
    names = [field.attname for field in model._meta.concrete_fields]
    # A fresh instance per call: callers may change it, and JSON values are
    # copied so that no change reaches the remembered row.
    values = tuple(
        copy.deepcopy(value) if isinstance(value, dict | list) else value for value in row.values
    )
    return model.from_db(model.objects.db, names, values)


def is_public(obj: Model) -> bool:
    """Whether everyone may see ``obj``: no grant on it or on anything above it."""
    row = _remembered_row(type(obj), {"pk": obj.pk})
    return row is not None and not row.grant_names


def is_visible(obj: Model, user) -> bool:
    return visible(type(obj), user).filter(pk=obj.pk).exists()
