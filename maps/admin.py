"""Admin registrations for the maps app: MapGroup > Map > Band > Layer.

Each page inlines the level below, so a hierarchy can be curated top-down.
Derived layer fields are read-only: they come from the FITS header, read by
``LayerForm`` (which also validates an edited provider, turning a bad path
into a form error) and by the "Re-read FITS header" action.

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
from maps.models import DERIVED_LAYER_FIELDS, Band, Layer, Map, MapGroup, WatchedFolder
from maps.paths import DataPathError, check_file_name, resolve_data_path

# maps.layer_geometry and maps.engine.providers, and with them numpy and astropy
# (0.7 s), are imported on first use, not when django.setup() autodiscovers the
# admin for every management command.


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
    """Validates a provider as the importer does and reads its headers for the derived fields.

    Refuses relative FITS paths: in the admin there is no config folder to
    resolve them. Stores the provider in its canonical form (``to_dict``).
    """

    class Meta:
        model = Layer
        # The admin passes the fields it shows; this is only the form's own default.
        fields = ("provider",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.derived = {}

    def clean_provider(self):
        from maps.engine.providers import ProviderError, parse_provider
        from maps.layer_geometry import derived_fields, read_provider

        try:
            parsed = parse_provider(self.cleaned_data["provider"])
        except ProviderError as error:
            raise ValidationError([f"{f}: {m}" for f, m in error.problems]) from None
        for where, entry in parsed.located_inputs():
            try:
                check_file_name(entry.filename)
                absolute = Path(entry.filename).expanduser().is_absolute()
            except DataPathError as error:
                raise ValidationError(f"{where}.filename: {error}") from None
            except RuntimeError:
                # "~user/..." of an unknown user: read_provider's resolve_data_path says so.
                continue
            if not absolute:
                raise ValidationError(
                    f"{where}.filename: {entry.filename}: give an absolute path "
                    "(relative names only work in configs)"
                )
        try:
            _, plane = read_provider(parsed)
        except ProviderError as error:
            raise ValidationError([f"{f}: {m}" for f, m in error.problems]) from None
        self.derived = derived_fields(plane)
        return parsed.to_dict()

    def save(self, commit=True):
        for name, value in self.derived.items():
            setattr(self.instance, name, value)
        return super().save(commit)


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
    readonly_fields = (*DERIVED_LAYER_FIELDS, "files", "healpix")
    fieldsets = (
        (None, {"fields": ("layer_id", "name", "description", "band", "grant", "position")}),
        (
            "Display",
            {
                "fields": (
                    "quantity",
                    "stokes",
                    "polarisation_convention",
                    "units",
                    "vmin",
                    "vmax",
                    "cmap",
                )
            },
        ),
        ("Pixels", {"fields": ("provider", "files", "healpix")}),
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
        from maps.engine.providers import filenames

        return ", ".join(filenames(layer.provider)) or "—"

    @admin.display(description="HEALPix")
    def healpix(self, layer):
        """NSIDE, ordering and frame of each HEALPix input, read from its header now."""
        from maps.engine.errors import FitsError
        from maps.engine.healpix import FRAME_NAMES, inspect_healpix
        from maps.engine.providers import HealpixProvider, ProviderError, parse_provider

        try:
            inputs = parse_provider(layer.provider).inputs
        except ProviderError:
            return "—"
        shown = []
        for entry in inputs:
            if not isinstance(entry, HealpixProvider):
                continue
            try:
                path = resolve_data_path(entry.filename)
                info = inspect_healpix(path, hdu=entry.hdu, field=entry.field)
            except (DataPathError, FitsError) as error:
                shown.append(f"{entry.filename}: {error}")
                continue
            shown.append(
                f"NSIDE {info.nside}, {info.ordering}, {FRAME_NAMES[info.frame]} "
                f"(column {info.column}{', partial sky' if info.explicit else ''})"
            )
        return "; ".join(shown) or "—"

    @admin.action(description="Re-read FITS header (tile grid and bounds)")
    def reread_fits_header(self, request, queryset):
        from maps.layer_geometry import refresh_layer_geometry

        refreshed = 0
        for layer in queryset:
            try:
                refresh_layer_geometry(layer)
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


@admin.register(WatchedFolder)
class WatchedFolderAdmin(admin.ModelAdmin):
    """Folders ``manage.py watch_data`` follows, and where their new files go."""

    list_display = ("path", "map_group", "grant", "enabled")
    list_filter = ("enabled",)
    list_editable = ("enabled",)
    autocomplete_fields = ("map_group", "grant")
    search_fields = ("path",)
