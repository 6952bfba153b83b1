"""Highlight boxes: named rectangles on the sky, by their top-left and bottom-right corners."""

from django.db import models

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
