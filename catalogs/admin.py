"""Admin for source catalogues.

A catalogue can hold 100k sources, far too many for an inline: the group
page links to the Source list filtered to it, and a Source picks its group
by raw id rather than through a 100k-option select.
"""

from django.contrib import admin
from django.db.models import Count
from django.urls import reverse
from django.utils.html import format_html

from catalogs.models import Source, SourceGroup
from maps.admin import RestrictedFilter


@admin.register(SourceGroup)
class SourceGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "source_group_id", "grant", "position", "source_count")
    list_filter = (RestrictedFilter, ("grant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "source_group_id", "description")
    autocomplete_fields = ("grant",)
    readonly_fields = ("sources_link",)
    fields = ("source_group_id", "name", "description", "grant", "position", "sources_link")

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("grant")
            .annotate(_sources=Count("sources"))
        )

    @admin.display(description="sources", ordering="_sources")
    def source_count(self, group):
        return group._sources

    @admin.display(description="sources")
    def sources_link(self, group):
        if group.pk is None:
            return "—"
        url = reverse("admin:catalogs_source_changelist")
        count = group.sources.count()
        return format_html(
            '<a href="{}?source_group__id__exact={}">{} source{}</a>',
            url,
            group.pk,
            count,
            "" if count == 1 else "s",
        )


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ("__str__", "ra", "dec", "source_group")
    list_filter = (RestrictedFilter, ("source_group", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name",)
    raw_id_fields = ("source_group",)
    list_select_related = ("source_group",)
    # Counting 100k rows on every page view of a filtered list is wasted work.
    show_full_result_count = False
