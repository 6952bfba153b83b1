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
visibility from them in Python. A remembered row is used only while
django-cachalot's invalidation stamps of every table involved are present
and unchanged since it was read, the same evidence cachalot uses to serve
the cached query, and never longer than ``CACHALOT_TIMEOUT``: a write
through the ORM anywhere (another process, the admin, ``import_config``)
makes the next lookup read the database again, and a lost stamp (cache
restarted, entry evicted) does too.
"""

import copy
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from cachalot.api import LOCAL_STORAGE
from cachalot.cache import cachalot_caches
from cachalot.settings import cachalot_settings
from cachalot.utils import are_all_cachable
from django.conf import settings
from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from catalogs.models import Source, SourceGroup
from maps.models import Band, Grant, Layer, Map, MapGroup
from regions.models import Box

# For each kind, the lookups from it to every grant that restricts it.
_GRANT_PATHS: dict[type[Model], tuple[str, ...]] = {
    MapGroup: ("grant",),
    Map: ("grant", "map_group__grant"),
    Band: ("grant", "map__grant", "map__map_group__grant"),
    Layer: ("grant", "band__grant", "band__map__grant", "band__map__map_group__grant"),
    SourceGroup: ("grant",),
    Source: ("source_group__grant",),
    Box: ("grant",),
}

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
    for lookup in _GRANT_PATHS[model]:
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

# Rows of objects that exist; unknown ids are not remembered, so requests
# for made-up ids cannot push real ones out.
_REMEMBERED_ROWS = 4096


@dataclass(frozen=True, slots=True)
class _Row:
    """A fetched row: field values in ``concrete_fields`` order and its chain's grant names."""

    values: tuple
    grant_names: frozenset[str]
    stamps: tuple | None
    expires: float


_rows: OrderedDict[tuple, _Row] = OrderedDict()
_rows_lock = threading.Lock()
_stamp_tables: dict[type[Model], tuple[str, ...]] = {}


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


def _tables(model: type[Model]) -> tuple[str, ...]:
    """Every table whose rows decide ``model``'s visibility: its own, its parents', grants'."""
    tables = _stamp_tables.get(model)
    if tables is None:
        found = [model._meta.db_table]
        for path in _GRANT_PATHS[model]:
            current = model
            for name in path.split("__"):
                current = current._meta.get_field(name).related_model
                found.append(current._meta.db_table)
        tables = _stamp_tables[model] = tuple(dict.fromkeys(found))
    return tables


def _stamps(model: type[Model], db: str) -> tuple | None:
    """cachalot's last-invalidation times of ``model``'s tables, or None when any is
    unknown (never stamped, expired, evicted) or cachalot does not cache these reads."""
    if not (
        cachalot_settings.CACHALOT_ENABLED
        and getattr(LOCAL_STORAGE, "cachalot_enabled", True)
        and db in cachalot_settings.CACHALOT_DATABASES
    ):
        return None
    tables = _tables(model)
    if not are_all_cachable(set(tables)):
        return None
    keys = [cachalot_settings.CACHALOT_TABLE_KEYGEN(db, table) for table in tables]
    found = cachalot_caches.get_cache(db_alias=db).get_many(keys)
    if len(found) != len(keys):
        return None
    return tuple(found[key] for key in keys)


def _fetch_row(model: type[Model], lookup: dict) -> tuple[tuple, frozenset[str]] | None:
    names = [field.attname for field in model._meta.concrete_fields]
    grant_names = [f"{path}__name" for path in _GRANT_PATHS[model]]
    rows = list(model.objects.filter(**lookup).values_list(*names, *grant_names)[:1])
    if not rows:
        return None
    row = rows[0]
    return row[: len(names)], frozenset(name for name in row[len(names) :] if name is not None)


def _remembered_row(model: type[Model], lookup: dict) -> _Row | None:
    """The row matching a unique-field ``lookup``, read again only when cachalot's
    stamps say it may have changed; None when there is no such row."""
    db = model.objects.db
    ((name, value),) = lookup.items()
    key = (model._meta.label, db, name, value)
    stamps = _stamps(model, db)
    now = time.monotonic()
    with _rows_lock:
        row = _rows.get(key)
        if row is not None and (row.stamps != stamps or now >= row.expires):
            del _rows[key]
            row = None
        if row is not None:
            _rows.move_to_end(key)
            return row
    fetched = _fetch_row(model, lookup)
    if fetched is None:
        return None
    # Stamped with what was read before the query: a write racing with it
    # changes the stamps, and the next lookup reads again.
    lifetime = cachalot_settings.CACHALOT_TIMEOUT
    row = _Row(*fetched, stamps, math.inf if lifetime is None else now + lifetime)
    if stamps is not None:
        with _rows_lock:
            _rows[key] = row
            while len(_rows) > _REMEMBERED_ROWS:
                _rows.popitem(last=False)
    return row


def _remembered_lookup(model: type[Model], user, lookup: dict) -> Model | None:
    """``visible(model, user).filter(**lookup).first()`` for a unique-field lookup."""
    row = _remembered_row(model, lookup)
    if row is None:
        return None
    if not row.grant_names <= user_grants(user):
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
