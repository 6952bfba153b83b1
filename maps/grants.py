"""The one place that decides what a user may see.

An object with a grant is visible only to users holding that grant, and so
is everything below it. Views, search, the default layer, caches and
exports all ask here; an object a user may not see must behave exactly as
if it did not exist. Which models a grant can hide, and the lookups to their
grants, come from the registry in ``maps.restricted``.

A lookup by unique id (the first step of every tile request) reads the
object's row and its chain's grant names through ``maps.remembered``, which
remembers them per process while the database is unchanged; the decision is
still made here.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Model, Q, QuerySet
from django.http import Http404

from maps import remembered, restricted
from maps.models import Grant

_CACHE_ATTRIBUTE = "_tilemaker_grant_names"


def user_grants(user) -> frozenset[str]:
    """Names of the grants ``user`` holds: their own, their groups', and any mock grants."""
    if user is not None and hasattr(user, _CACHE_ATTRIBUTE):
        return getattr(user, _CACHE_ATTRIBUTE)
    granted = _read_grants(user)
    if user is not None:
        setattr(user, _CACHE_ATTRIBUTE, granted)
    return granted


def current_grants(user) -> frozenset[str]:
    """Names of the grants ``user`` holds now, read again from the database.

    For a long-lived connection (a websocket): its user object lives for hours,
    while an admin may take a grant away or deactivate the user at any time.
    """
    if user is not None and user.is_authenticated:
        user = get_user_model().objects.filter(pk=user.pk).first()
    return _read_grants(user)


def grants_of_users(user_ids) -> dict[int, frozenset[str]]:
    """Names of the grants each of the users ``user_ids`` holds now, by primary key
    (a user that no longer exists is left out)."""
    users = get_user_model().objects.filter(pk__in=user_ids)
    return {user.pk: _read_grants(user) for user in users}


def _read_grants(user) -> frozenset[str]:
    names = set(settings.MOCK_GRANTS) if settings.AUTH_TYPE == "mock" else set()
    if user is not None and user.is_authenticated and user.is_active:
        names.update(
            Grant.objects.filter(Q(users=user) | Q(groups__user=user)).values_list(
                "name", flat=True
            )
        )
    return frozenset(names)


def visibility_filter(model: type[Model], granted: frozenset[str]) -> Q:
    """A ``Q`` keeping only rows of ``model`` whose every grant is in ``granted``."""
    condition = Q()
    for lookup in restricted.kind(model).grant_paths:
        condition &= Q(**{f"{lookup}__isnull": True}) | Q(**{f"{lookup}__name__in": granted})
    return condition


def newly_visible(model: type[Model], before: frozenset[str], after: frozenset[str]) -> QuerySet:
    """Objects of ``model`` a holder of the grants ``after`` sees and a holder of
    ``before`` does not (swap them for the objects that became hidden)."""
    return model.objects.filter(visibility_filter(model, after)).exclude(
        visibility_filter(model, before)
    )


def visible(model: type[Model], user) -> QuerySet:
    """All objects of ``model`` that ``user`` may see."""
    return model.objects.filter(visibility_filter(model, user_grants(user)))


def get_visible_or_404(model: type[Model], user, **lookup) -> Model:
    """The visible object matching ``lookup``; ``Http404`` when missing or hidden alike."""
    if remembered.by_unique_field(model, lookup):
        row = remembered.row(model, lookup)
        # Asked for a missing object too: hidden and missing ones cost the same.
        granted = user_grants(user)
        found = (
            row.instance(model) if row is not None and may_see(granted, row.grant_names) else None
        )
    else:
        found = visible(model, user).filter(**lookup).first()
    if found is None:
        raise Http404(f"No {model._meta.verbose_name} with that id.")
    return found


def required_grants(model: type[Model], pk: int) -> frozenset[str] | None:
    """Names of every grant restricting the object of ``model`` with primary key ``pk``
    (its own and its parents'), read from the database now; None when there is no such object."""
    fetched = remembered.fetch_row(model, {"pk": pk})
    return None if fetched is None else fetched[1]


def may_see(granted: frozenset[str], required: frozenset[str] | None) -> bool:
    """Whether a holder of the grants ``granted`` sees an object restricted by the
    grants ``required`` (None: no such object, which nobody sees)."""
    return required is not None and required <= granted


def is_public(obj: Model) -> bool:
    """Whether everyone may see ``obj``: no grant on it or on anything above it."""
    row = remembered.row(type(obj), {"pk": obj.pk})
    return row is not None and not row.grant_names


def required_grants_by_id(model: type[Model], lookup: dict) -> frozenset[str] | None:
    """Names of every grant restricting the object of ``model`` named by a unique
    field (``{"layer_id": ...}``), remembered like ``get_visible_or_404``'s lookups;
    None when there is no such object."""
    found = remembered.row(model, lookup)
    return None if found is None else found.grant_names
