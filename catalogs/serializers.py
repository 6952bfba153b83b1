"""JSON shapes of source catalogues.

``/sources/{id}`` may hold 100k+ sources, so its body is written straight
from database rows (``source_group_json``) instead of through a serializer
per row; the serializers here describe the shape and serve the small list.
"""

import json
import math

from rest_framework import serializers


class SourceGroupSummarySerializer(serializers.Serializer):
    source_group_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class SourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    ra = serializers.FloatField(help_text="Right ascension, degrees.")
    dec = serializers.FloatField(help_text="Declination, degrees.")
    extra = serializers.DictField(help_text="Further columns of the catalogue, as given.")


class SourceGroupSerializer(SourceGroupSummarySerializer):
    sources = SourceSerializer(many=True)


def _number(value: float) -> str:
    # repr() of a finite float is a valid JSON number; JSON has no NaN/inf.
    return repr(float(value)) if math.isfinite(value) else "null"


def source_group_json(summary: dict, rows) -> bytes:
    """The ``/sources/{id}`` body from ``summary`` and ``(name, ra, dec, extra_json)`` rows.

    ``extra_json`` is the stored JSON text of ``extra``, copied as is:
    decoding and re-encoding every source's extras is most of the cost of a
    large catalogue.
    """
    dumps = json.dumps
    parts = [
        '{"name":'
        + dumps(name)
        + ',"ra":'
        + _number(ra)
        + ',"dec":'
        + _number(dec)
        + ',"extra":'
        + (extra or "{}")
        + "}"
        for name, ra, dec, extra in rows
    ]
    head = dumps(summary)[:-1]
    return (head + ',"sources":[' + ",".join(parts) + "]}").encode()
