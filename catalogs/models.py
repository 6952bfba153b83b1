"""Source catalogues: a SourceGroup holds Sources (RA/Dec in degrees plus free-form extras)."""

from django.db import models

from maps.models import Grant


class SourceGroup(models.Model):
    source_group_id = models.SlugField(max_length=200, unique=True)
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True, default="")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.PROTECT)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Source(models.Model):
    source_group = models.ForeignKey(SourceGroup, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=300, blank=True, default="")
    ra = models.FloatField(help_text="Right ascension in degrees.")
    dec = models.FloatField(help_text="Declination in degrees.")
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or f"({self.ra:.4f}, {self.dec:.4f})"
