"""Highlight boxes (named rectangles by their corners) and users' saved sky regions."""

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from maps.engine.region_stats import SHAPES
from maps.models import Restricted


class Box(Restricted):
    # Unique, unlike other kinds' names: a box has no other public id (the
    # importer matches boxes by name).
    name = models.CharField(max_length=300, unique=True)
    top_left_ra = models.FloatField(help_text="Degrees.")
    top_left_dec = models.FloatField(help_text="Degrees.")
    bottom_right_ra = models.FloatField(help_text="Degrees.")
    bottom_right_dec = models.FloatField(help_text="Degrees.")

    class Meta(Restricted.Meta):
        verbose_name_plural = "boxes"


class Region(models.Model):
    """A user's region on the sky, in ICRS degrees (``maps.engine.region_stats``'s dict).

    Stored as the checked engine dict (JSON) rather than DS9 text: statistics
    read it without parsing, and DS9/CRTF are produced on export. Visibility
    (``sky_regions.visibility``): the owner, members of ``group``, everyone
    when ``public`` (set by staff in the admin only).
    """

    SHAPES = [(kind, kind) for kind in SHAPES]

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sky_regions"
    )
    name = models.CharField(max_length=300, blank=True, default="")
    shape = models.CharField(max_length=16, choices=SHAPES)
    params = models.JSONField(help_text="The region in ICRS degrees (kind and its numbers).")
    group = models.ForeignKey(
        Group,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="sky_regions",
        help_text="Members of this group see the region too.",
    )
    public = models.BooleanField(default=False, help_text="Everyone sees the region.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("pk",)

    def __str__(self):
        return f"{self.name or self.shape} ({self.owner})"
