"""Admin registrations for the maps app: MapGroup > Map > Band > Layer.

Each page inlines the level below, so a hierarchy can be curated top-down.
Derived layer fields are read-only: they come from the FITS header, through
``Layer.clean`` (which also validates an edited provider, turning a bad path
into a form error) and the "Re-read FITS header" action.

The grant, user and group pages live in ``maps.admin_grants``; importing it
here lets admin autodiscovery register them.
"""

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count

from maps import admin_grants  # noqa: F401
from maps.grants import visibility_filter
from maps.layer_geometry import LayerGeometryError, fits_providers
from maps.models import Band, Layer, Map, MapGroup
from maps.paths import DataPathError, check_file_name

DERIVED_LAYER_FIELDS = (
    "tile_size",
    "number_of_levels",
    "bounding_left",
    "bounding_right",
    "bounding_top",
    "bounding_bottom",
)


class RestrictedFilter(admin.SimpleListFilter):
    """Restricted by a grant on the object itself or on anything above it."""

    title = "restricted"
    parameter_name = "restricted"

    def lookups(self, request, model_admin):
        return (("yes", "yes"), ("no", "no (public)"))

    def queryset(self, request, queryset):
        # Public means visible to someone holding no grant at all: the same
        # rule the API applies, taken from the one place that defines it.
        public = visibility_filter(queryset.model, frozenset())
        if self.value() == "yes":
            return queryset.exclude(public)
        if self.value() == "no":
            return queryset.filter(public)
        return queryset


class LayerForm(forms.ModelForm):
    """Refuses relative FITS paths: in the admin there is no config folder to resolve them."""

    class Meta:
        model = Layer
        # The admin passes the fields it shows; this is only the form's own default.
        fields = ("provider",)

    def clean_provider(self):
        provider = self.cleaned_data["provider"]
        try:
            entries = fits_providers(provider)
        except LayerGeometryError:
            # A malformed provider: Layer.clean reports it on this field.
            return provider
        for entry in entries:
            filename = entry.get("filename")
            if not isinstance(filename, str):
                continue
            try:
                check_file_name(filename)
                absolute = Path(filename).expanduser().is_absolute()
            except DataPathError as error:
                raise ValidationError(str(error)) from None
            except RuntimeError:
                # "~user/..." of an unknown user: Layer.clean's resolve_data_path says so.
                continue
            if not absolute:
                raise ValidationError(
                    f"{filename}: give an absolute path (relative names only work in configs)"
                )
        return provider


class MapInline(admin.TabularInline):
    model = Map
    fields = ("map_id", "name", "description", "grant", "position")
    extra = 0
    show_change_link = True


class BandInline(admin.TabularInline):
    model = Band
    fields = ("band_id", "name", "description", "grant", "position")
    extra = 0
    show_change_link = True


class LayerInline(admin.TabularInline):
    model = Layer
    form = LayerForm
    fields = (
        "layer_id",
        "name",
        "quantity",
        "units",
        "vmin",
        "vmax",
        "cmap",
        "grant",
        "position",
        "provider",
        "tile_size",
        "number_of_levels",
    )
    readonly_fields = ("tile_size", "number_of_levels")
    extra = 0
    show_change_link = True


@admin.register(MapGroup)
class MapGroupAdmin(admin.ModelAdmin):
    list_display = ("name", "map_group_id", "grant", "position", "map_count")
    list_filter = (RestrictedFilter, ("grant", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "map_group_id", "description")
    autocomplete_fields = ("grant",)
    inlines = (MapInline,)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("grant").annotate(_maps=Count("maps"))

    @admin.display(description="maps", ordering="_maps")
    def map_count(self, group):
        return group._maps


@admin.register(Map)
class MapAdmin(admin.ModelAdmin):
    list_display = ("name", "map_id", "map_group", "grant", "position", "band_count")
    list_filter = (
        RestrictedFilter,
        ("grant", admin.RelatedOnlyFieldListFilter),
        ("map_group", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "map_id", "description", "map_group__name", "map_group__map_group_id")
    autocomplete_fields = ("map_group", "grant")
    inlines = (BandInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("map_group", "grant")
            .annotate(_bands=Count("bands"))
        )

    @admin.display(description="bands", ordering="_bands")
    def band_count(self, map_object):
        return map_object._bands


@admin.register(Band)
class BandAdmin(admin.ModelAdmin):
    list_display = ("name", "band_id", "map", "grant", "position", "layer_count")
    list_filter = (
        RestrictedFilter,
        ("grant", admin.RelatedOnlyFieldListFilter),
        ("map__map_group", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("name", "band_id", "description", "map__name", "map__map_id")
    autocomplete_fields = ("map", "grant")
    inlines = (LayerInline,)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("map", "grant")
            .annotate(_layers=Count("layers"))
        )

    @admin.display(description="layers", ordering="_layers")
    def layer_count(self, band):
        return band._layers


@admin.register(Layer)
class LayerAdmin(admin.ModelAdmin):
    form = LayerForm
    list_display = (
        "name",
        "layer_id",
        "band",
        "units",
        "cmap",
        "vmin",
        "vmax",
        "tile_size",
        "number_of_levels",
        "grant",
    )
    list_filter = (
        RestrictedFilter,
        ("grant", admin.RelatedOnlyFieldListFilter),
        ("band__map__map_group", admin.RelatedOnlyFieldListFilter),
        "cmap",
    )
    search_fields = (
        "name",
        "layer_id",
        "description",
        "quantity",
        "band__name",
        "band__band_id",
        "band__map__name",
        "band__map__map_id",
    )
    autocomplete_fields = ("band", "grant")
    readonly_fields = (*DERIVED_LAYER_FIELDS, "files")
    fieldsets = (
        (None, {"fields": ("layer_id", "name", "description", "band", "grant", "position")}),
        ("Display", {"fields": ("quantity", "units", "vmin", "vmax", "cmap")}),
        ("Pixels", {"fields": ("provider", "files")}),
        (
            "Derived from the FITS header (read-only)",
            {"fields": DERIVED_LAYER_FIELDS},
        ),
    )
    actions = ("reread_fits_header",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("band", "grant")

    @admin.display(description="FITS files")
    def files(self, layer):
        provider = layer.provider if isinstance(layer.provider, dict) else {}
        inputs = provider.get("providers", [provider])
        names = [p.get("filename", "?") for p in inputs if isinstance(p, dict)]
        return ", ".join(str(name) for name in names) or "—"

    @admin.action(description="Re-read FITS header (tile grid and bounds)")
    def reread_fits_header(self, request, queryset):
        refreshed = 0
        for layer in queryset:
            try:
                layer.refresh_geometry()
            except ValidationError as error:
                reasons = "; ".join(error.messages)
                self.message_user(request, f"{layer.layer_id}: {reasons}", messages.ERROR)
                continue
            layer.save(update_fields=DERIVED_LAYER_FIELDS)
            refreshed += 1
        if refreshed:
            self.message_user(
                request,
                f"Re-read the FITS header of {refreshed} layer{'s' * (refreshed != 1)}.",
                messages.SUCCESS,
            )
