"""Highlight boxes: named rectangles on the sky, by their top-left and bottom-right corners."""

from django.db import models

from maps.models import Grant


class Box(models.Model):
    name = models.CharField(max_length=300, unique=True)
    description = models.TextField(blank=True, default="")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.PROTECT)
    top_left_ra = models.FloatField(help_text="Degrees.")
    top_left_dec = models.FloatField(help_text="Degrees.")
    bottom_right_ra = models.FloatField(help_text="Degrees.")
    bottom_right_dec = models.FloatField(help_text="Degrees.")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        verbose_name_plural = "boxes"

    def __str__(self) -> str:
        return self.name
