"""Admin for highlight boxes."""

from django.contrib import admin

from maps.admin import RestrictedFilter
from sky_regions.models import Box, Region


@admin.register(Box)
class BoxAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "grant",
        "top_left_ra",
        "top_left_dec",
        "bottom_right_ra",
        "bottom_right_dec",
        "position",
    )
    list_filter = (RestrictedFilter, ("grant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "description")
    autocomplete_fields = ("grant",)


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    """Curators make a region public here; the API never can."""

    list_display = ("name", "shape", "owner", "group", "public", "updated")
    list_filter = ("public", "shape")
    search_fields = ("name", "owner__username")
    autocomplete_fields = ("owner", "group")
