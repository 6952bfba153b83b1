"""The one rule for who sees a saved region: its owner, its group's members, or everyone
when public. A region someone may not see answers exactly like a missing one (404).

Regions are not grant-restricted catalogue objects (``maps.grants``): they
belong to people, so the rule is ownership and group membership.
"""

from django.db.models import Q, QuerySet
from django.http import Http404

from sky_regions.models import Region


def visible_regions(user) -> QuerySet:
    condition = Q(public=True)
    if user is not None and user.is_authenticated and user.is_active:
        condition |= Q(owner=user) | Q(group__in=user.groups.all())
    return Region.objects.filter(condition)


def visible_region_or_404(user, pk) -> Region:
    found = visible_regions(user).filter(pk=pk).first()
    if found is None:
        raise Http404("No region with that id.")
    return found
