"""The map catalogue: MapGroup > Map > Band > Layer, and the Grant that restricts them.

Every restricted kind carries an optional ``grant``; an object with a grant,
and everything below it, is visible only to users holding that grant. Who
may see what is decided in ``maps.grants`` and nowhere else.
"""

import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

# ``/layers/default`` is a route (maps.urls), so no layer can be reached by that id.
RESERVED_LAYER_IDS = frozenset({"default"})


def colour_map_problem(name: object) -> str | None:
    """Why ``name`` is not a colour map the tile engine can draw with, or None when it is."""
    from maps.engine.colormap import UnknownColourMapError, lookup_table

    if not isinstance(name, str):
        return "expected a colour map name"
    try:
        lookup_table(name)
    except UnknownColourMapError:
        return f"{name!r} is not a matplotlib colour map"
    return None


def reserved_layer_id_problem(layer_id: object) -> str | None:
    """Why ``layer_id`` may not be used, or None."""
    if layer_id in RESERVED_LAYER_IDS:
        return f"{layer_id!r} is reserved: /layers/{layer_id} is a route, not a layer"
    return None


class Grant(models.Model):
    """A named permission; users and Django groups hold grants."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="tilemaker_grants"
    )
    groups = models.ManyToManyField("auth.Group", blank=True, related_name="tilemaker_grants")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Restricted(models.Model):
    """Fields shared by every kind that can be restricted by a grant."""

    name = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.PROTECT)
    position = models.PositiveIntegerField(default=0, help_text="Order within its parent.")

    class Meta:
        abstract = True
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class MapGroup(Restricted):
    map_group_id = models.SlugField(max_length=200, unique=True)

    class Meta(Restricted.Meta):
        pass


class Map(Restricted):
    map_id = models.SlugField(max_length=200, unique=True)
    map_group = models.ForeignKey(MapGroup, on_delete=models.CASCADE, related_name="maps")

    class Meta(Restricted.Meta):
        pass


class Band(Restricted):
    band_id = models.SlugField(max_length=200, unique=True)
    map = models.ForeignKey(Map, on_delete=models.CASCADE, related_name="bands")

    class Meta(Restricted.Meta):
        pass


# The Stokes parameters a layer may be (``Layer.stokes``).
STOKES_PARAMETERS = ("I", "Q", "U")


# Layer fields read from the FITS header(s) of its provider (maps.layer_geometry).
DERIVED_LAYER_FIELDS = (
    "tile_size",
    "number_of_levels",
    "bounding_left",
    "bounding_right",
    "bounding_top",
    "bounding_bottom",
    "pixel_scale_ra_deg",
    "pixel_scale_dec_deg",
    "pixel_offset_ra_deg",
    "pixel_offset_dec_deg",
)


class Layer(Restricted):
    """One 2-D image. Pixels come from ``provider`` (SPEC section 3 shape).

    ``vmin``/``vmax`` of ``None`` mean "auto": the histogram's percentiles.
    The geometry fields are derived from the FITS header, never typed in:
    ``save()`` reads no file, so whoever sets the provider refreshes them
    (``maps.layer_geometry.refresh_layer_geometry``).
    """

    layer_id = models.SlugField(max_length=200, unique=True)
    band = models.ForeignKey(Band, on_delete=models.CASCADE, related_name="layers")
    quantity = models.CharField(max_length=200, blank=True, default="")
    units = models.CharField(max_length=100, blank=True, default="")
    vmin = models.FloatField(null=True, blank=True, help_text="Empty means auto.")
    vmax = models.FloatField(null=True, blank=True, help_text="Empty means auto.")
    cmap = models.CharField(max_length=100, default="RdBu_r")
    # Which Stokes parameter the layer is, so the viewer and the polarisation
    # layers find I, Q and U of one band without guessing from names.
    stokes = models.CharField(
        max_length=1,
        blank=True,
        default="",
        choices=[("", "not a Stokes map"), *((name, name) for name in STOKES_PARAMETERS)],
        help_text="I, Q or U when the layer is that Stokes plane of its band.",
    )
    # The convention of a Q layer's Q and U when its file has no POLCCONV
    # header (maps.engine.polarisation); the header wins where present.
    polarisation_convention = models.CharField(
        max_length=5,
        blank=True,
        default="",
        choices=[("", "IAU unless POLCCONV says"), ("IAU", "IAU"), ("COSMO", "COSMO")],
        help_text="For a Q layer without POLCCONV in its FITS header: the convention of its "
        "Q and U (COSMO flips the sign of U). Empty means IAU.",
    )
    provider = models.JSONField(
        help_text='{"provider_type": "fits", "filename": ..., "hdu": 0, "index": null} or '
        '{"provider_type": "fits_combination", "providers": [...], "function": "/"}'
    )

    tile_size = models.PositiveIntegerField(editable=False, default=0)
    number_of_levels = models.PositiveIntegerField(editable=False, default=0)
    bounding_left = models.FloatField(editable=False, default=0.0)
    bounding_right = models.FloatField(editable=False, default=0.0)
    bounding_top = models.FloatField(editable=False, default=0.0)
    bounding_bottom = models.FloatField(editable=False, default=0.0)
    # Where the tiles' pixels are on the sky (maps.engine.geometry.PixelGrid.pixel_offset_deg).
    pixel_scale_ra_deg = models.FloatField(editable=False, default=0.0)
    pixel_scale_dec_deg = models.FloatField(editable=False, default=0.0)
    pixel_offset_ra_deg = models.FloatField(editable=False, default=0.0)
    pixel_offset_dec_deg = models.FloatField(editable=False, default=0.0)

    class Meta(Restricted.Meta):
        pass

    def clean(self) -> None:
        """Refuse what the importer refuses, so a layer edited in the admin can be served.

        Reads no file: the admin form reads the headers (``LayerForm``).
        """
        from maps.engine.providers import ProviderError, parse_provider

        super().clean()
        problems = {
            "layer_id": reserved_layer_id_problem(self.layer_id),
            "cmap": colour_map_problem(self.cmap),
        }
        if self.vmin is not None and self.vmax is not None and self.vmin >= self.vmax:
            problems["vmax"] = "vmax must be greater than vmin"
        errors = {key: [message] for key, message in problems.items() if message}
        try:
            parse_provider(self.provider)
        except ProviderError as error:
            errors["provider"] = [f"{field}: {message}" for field, message in error.problems]
        if errors:
            raise ValidationError(errors)


class VisibilityGeneration(models.Model):
    """One row whose ``value`` changes, to a value never used before, in every
    transaction that writes a table deciding what a lookup by id finds (the
    catalogue tree, grants, source groups, boxes).

    Database triggers (migration 0002) make the change, so raw SQL, bulk updates,
    ``import_config`` and other processes change it too, in the same transaction
    as the write. ``maps.remembered`` remembers rows only while the value it read is
    unchanged.
    """

    value = models.BigIntegerField()

    def __str__(self) -> str:
        return f"visibility generation {self.value}"


class WatchedFolder(models.Model):
    """A folder ``manage.py watch_data`` watches: its new map files go into ``map_group``.

    New maps, bands and layers (and catalogues) carry ``grant`` when one is
    set, so only its holders see them; without one they are public.
    """

    path = models.CharField(max_length=1000, unique=True, help_text="Absolute path of the folder.")
    map_group = models.ForeignKey(
        MapGroup,
        on_delete=models.CASCADE,
        related_name="watched_folders",
        help_text="The map group new map files are added to.",
    )
    grant = models.ForeignKey(
        Grant,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="Empty: new files are public. Otherwise only holders of this grant see them.",
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path

    def clean(self) -> None:
        super().clean()
        if not self.path:
            return
        if not os.path.isabs(self.path):
            raise ValidationError({"path": "give an absolute path"})
        resolved = os.path.realpath(self.path)
        roots = settings.DATA_ROOTS
        if roots and not any(Path(resolved).is_relative_to(root) for root in roots):
            raise ValidationError(
                {"path": "outside the allowed data folders (TILEMAKER_DATA_ROOTS)"}
            )
        if not os.path.isdir(resolved):
            raise ValidationError({"path": "not a folder (or not readable by the server)"})
