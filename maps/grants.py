"""The one place that decides what a user may see.

An object with a grant is visible only to users holding that grant, and so
is everything below it. Views, search, the default layer, caches and
exports all ask here; an object a user may not see must behave exactly as
if it did not exist.
"""

from django.conf import settings
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
    found = visible(model, user).filter(**lookup).first()
    if found is None:
        raise Http404(f"No {model._meta.verbose_name} with that id.")
    return found


def is_visible(obj: Model, user) -> bool:
    return visible(type(obj), user).filter(pk=obj.pk).exists()
