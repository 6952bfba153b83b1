"""Admin for users and groups, each page showing the grants its user or group holds, and API tokens.

A user's page lists every grant held and how: directly, through a group, or
through GitHub membership at login (``tilemaker_site.accounts.pipeline``).
The grant page itself is ``maps.admin_grants``. Imported by
``tilemaker_site.admin`` so that admin autodiscovery registers it.
"""

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.utils import timezone
from django.utils.html import format_html

from maps.admin_grants import html_list
from maps.models import Grant
from tilemaker_site.accounts.models import TOKEN_KIND, ApiToken
from tilemaker_site.accounts.pipeline import github_grant_names

User = get_user_model()


class DirectGrantInline(admin.TabularInline):
    model = Grant.users.through
    extra = 0
    verbose_name = "grant held directly"
    verbose_name_plural = "grants held directly"
    autocomplete_fields = ("grant",)


class GroupGrantInline(admin.TabularInline):
    model = Grant.groups.through
    extra = 0
    verbose_name = "grant held by this group's members"
    verbose_name_plural = "grants held by this group's members"
    autocomplete_fields = ("grant",)


admin.site.unregister(User)


@admin.register(User)
class TileMakerUserAdmin(UserAdmin):
    inlines = (*UserAdmin.inlines, DirectGrantInline)
    readonly_fields = (*UserAdmin.readonly_fields, "all_grants")
    fieldsets = (*UserAdmin.fieldsets, ("TileMaker grants", {"fields": ("all_grants",)}))

    @admin.display(description="all grants held (directly, via groups, via GitHub)")
    def all_grants(self, user):
        if user.pk is None:
            return "—"
        from_github = github_grant_names(user)
        how: dict[str, list[str]] = {}
        for grant in user.tilemaker_grants.all():
            source = "GitHub membership" if grant.name in from_github else "directly"
            how.setdefault(grant.name, []).append(source)
        for group in user.groups.prefetch_related("tilemaker_grants"):
            for grant in group.tilemaker_grants.all():
                how.setdefault(grant.name, []).append(f"group {group.name}")
        return html_list(
            [format_html("{} ({})", name, ", ".join(how[name])) for name in sorted(how)]
        )


admin.site.unregister(Group)


@admin.register(Group)
class TileMakerGroupAdmin(GroupAdmin):
    inlines = (*GroupAdmin.inlines, GroupGrantInline)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every user's tokens, for curators: see and revoke, never add (the secret
    is shown only to the user who creates one) and never see a secret."""

    list_display = ("name", "user", "public_prefix", "created", "expires", "last_used", "state")
    list_filter = ("revoked", "expires")
    search_fields = ("name", "prefix", "user__username")
    fields = ("name", "user", "public_prefix", "created", "expires", "last_used", "revoked")
    readonly_fields = fields
    actions = ("revoke",)

    @admin.display(description="prefix")
    def public_prefix(self, token):
        return f"{TOKEN_KIND}_{token.prefix}"

    @admin.display(description="state")
    def state(self, token):
        return token.state

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected tokens", permissions=("change",))
    def revoke(self, request, queryset):
        revoked = queryset.filter(revoked__isnull=True).update(revoked=timezone.now())
        self.message_user(request, f"Revoked {revoked} token(s).")
