"""Source catalogues: a SourceGroup holds Sources (RA/Dec in degrees plus free-form extras)."""

import math

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Lower

from catalogs.readers import DEC_RANGE_DEG, RA_RANGE_DEG, non_finite_key, nul_key
from maps.models import Restricted


class SourceGroup(Restricted):
    source_group_id = models.SlugField(max_length=200, unique=True)
    columns = models.JSONField(
        default=list,
        blank=True,
        help_text='The extra columns read from the file: [{"name", "unit", "description"}].',
    )
    brightness_column = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="The extra column whose largest values are shown first when a view holds "
        "more sources than it may draw; empty: a fixed random order.",
    )

    class Meta(Restricted.Meta):
        pass


class Source(models.Model):
    source_group = models.ForeignKey(SourceGroup, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=300, blank=True, default="")
    ra = models.FloatField(help_text="Right ascension in degrees.")
    dec = models.FloatField(help_text="Declination in degrees.")
    extra = models.JSONField(default=dict, blank=True)
    rank = models.IntegerField(
        default=0,
        help_text="Drawing priority within the group, 0 first: by brightness, else a fixed "
        "random order (set on import).",
    )
    zone = models.IntegerField(
        default=0,
        editable=False,
        help_text="The one-degree band of declination the source lies in: floor(dec + 90).",
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            # A view's sources by box: each one-degree zone of the box is one
            # range of RA in the index, so a box reads about its own sources
            # rather than its whole band of Dec (counts and ranks read the
            # index alone); and the same box walked in priority order when it
            # holds more than a view may draw (bench/bench_million.py).
            models.Index(
                fields=["source_group", "zone", "ra", "dec", "rank"], name="source_zone_box"
            ),
            models.Index(fields=["source_group", "rank", "dec", "ra"], name="source_rank_box"),
            # Go-to by name (``catalogs.names``): a prefix of lower(name) is an
            # index range scan in name order on SQLite and PostgreSQL alike.
            models.Index(Lower("name"), name="source_name_lower"),
        ]

    def __str__(self) -> str:
        return self.name or f"({self.ra:.4f}, {self.dec:.4f})"

    def save(self, *args, **kwargs) -> None:
        self.zone = dec_zone(self.dec)
        fields = kwargs.get("update_fields")
        if fields is not None and "dec" in fields:
            kwargs["update_fields"] = {*fields, "zone"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Refuse what the importer never writes: the API copies ``extra`` out as stored."""
        super().clean()
        errors = {}
        for field_name, (low, high) in (("ra", RA_RANGE_DEG), ("dec", DEC_RANGE_DEG)):
            value = getattr(self, field_name)
            if value is not None and not low <= value <= high:
                errors[field_name] = f"outside {low:g}..{high:g} degrees"
        if not isinstance(self.extra, dict):
            errors["extra"] = 'expected a JSON object, e.g. {"flux": 1.5}'
        else:
            where = non_finite_key(self.extra)
            if where is not None:
                # PostgreSQL's jsonb refuses them and JSON has no such numbers.
                errors["extra"] = f"{where}: NaN and Infinity are not allowed; use null"
            elif (where := nul_key(self.extra)) is not None:
                errors["extra"] = f"{where}: a NUL character is not allowed"
        if errors:
            raise ValidationError(errors)


def dec_zone(dec_deg: float) -> int:
    """``Source.zone`` of a declination in degrees."""
    return math.floor(dec_deg + 90.0)
