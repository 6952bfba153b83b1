"""Admin for grants: who holds which grant, and what each grant restricts.

A grant reaches a user directly, through a Django group, or through GitHub
membership at login (``tilemaker_site.accounts.pipeline``); the grant page
shows all three, as do the user and group pages
(``tilemaker_site.accounts.admin``), so an administrator can answer "who can
see this?" and "what can she see?". Imported by ``maps.admin`` so that admin
autodiscovery registers it.
"""

from django.contrib import admin
from django.db.models import Count
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from maps import restricted
from maps.models import Grant
from tilemaker_site.accounts.pipeline import github_grant_names


def _kinds_with_a_grant():
    """Every kind that carries a grant, in the order the admin lists them."""
    return [kind.model for kind in restricted.kinds() if kind.has_own_grant]


def _admin_link(obj) -> str:
    meta = obj._meta
    try:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:
        return format_html("{}", obj)
    return format_html('<a href="{}">{}</a>', url, obj)


def html_list(items) -> str:
    if not items:
        return "—"
    return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((i,) for i in items)))


def grant_holders(grant: Grant) -> list[tuple[object, str]]:
    """Every user holding ``grant``, with how they hold it, ordered by username."""
    via: dict[int, tuple[object, list[str]]] = {}
    for user in grant.users.all():
        how = "GitHub membership" if grant.name in github_grant_names(user) else "directly"
        via.setdefault(user.pk, (user, []))[1].append(how)
    for group in grant.groups.prefetch_related("user_set"):
        for user in group.user_set.all():
            via.setdefault(user.pk, (user, []))[1].append(f"group {group.name}")
    holders = sorted(via.values(), key=lambda pair: pair[0].get_username())
    return [(user, ", ".join(hows)) for user, hows in holders]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "user_count", "group_count", "restricted_count")
    search_fields = ("name", "description", "users__username", "groups__name")
    filter_horizontal = ("users", "groups")
    readonly_fields = ("holders", "restricts")
    fieldsets = (
        (None, {"fields": ("name", "description")}),
        ("Given to", {"fields": ("users", "groups")}),
        ("Who holds it and what it restricts", {"fields": ("holders", "restricts")}),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                _user_count=Count("users", distinct=True),
                _group_count=Count("groups", distinct=True),
            )
        )

    @admin.display(description="users", ordering="_user_count")
    def user_count(self, grant):
        return grant._user_count

    @admin.display(description="groups", ordering="_group_count")
    def group_count(self, grant):
        return grant._group_count

    @admin.display(description="objects restricted")
    def restricted_count(self, grant):
        return sum(kind.objects.filter(grant=grant).count() for kind in _kinds_with_a_grant())

    @admin.display(description="holders (directly, via groups, via GitHub)")
    def holders(self, grant):
        if grant.pk is None:
            return "—"
        return html_list(
            [format_html("{} ({})", _admin_link(user), how) for user, how in grant_holders(grant)]
        )

    @admin.display(description="restricts (and everything below these)")
    def restricts(self, grant):
        if grant.pk is None:
            return "—"
        return html_list(
            [
                format_html("{}: {}", kind._meta.verbose_name, _admin_link(obj))
                for kind in _kinds_with_a_grant()
                for obj in kind.objects.filter(grant=grant)
            ]
        )
