"""JSON shapes of source catalogues.

``/sources/{id}`` may hold 100k+ sources, so its body is written straight
from database rows (``source_group_head``, ``sources_json`` per batch,
``SOURCE_GROUP_TAIL``) instead of through a serializer per row; the
serializers here describe the shape and serve the small list.
"""

import json
import math
from json.encoder import encode_basestring_ascii

from rest_framework import serializers

from catalogs.readers import finite_json


class SourceGroupSummarySerializer(serializers.Serializer):
    source_group_id = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()


class SourceSerializer(serializers.Serializer):
    name = serializers.CharField()
    ra = serializers.FloatField(help_text="Right ascension, degrees.")
    dec = serializers.FloatField(help_text="Declination, degrees.")
    extra = serializers.DictField(help_text="Further columns of the catalogue, as given.")


class ColumnSerializer(serializers.Serializer):
    name = serializers.CharField()
    unit = serializers.CharField(help_text="Empty when the file gave none.")
    description = serializers.CharField()


class SourceGroupSerializer(SourceGroupSummarySerializer):
    columns = ColumnSerializer(many=True, help_text="The extra columns, in the file's order.")
    sources = SourceSerializer(many=True)


def _number(value: float) -> str:
    # repr() of a finite float is a valid JSON number; JSON has no NaN/inf.
    return repr(value) if math.isfinite(value) else "null"


_SOURCE_TEMPLATE = '{"name":%s,"ra":%s,"dec":%s,"extra":%s}'


def _extra(text: str | None) -> str:
    """Stored ``extra`` JSON text, with any NaN/Infinity (JSON has none) turned into null.

    Neither the importer nor the admin writes them, and PostgreSQL's jsonb
    cannot hold them, but an SQLite whose ``json_valid`` accepts JSON5 could
    have stored them from an older admin. Only text holding either
    word is decoded again: 100k sources take ~0.45 s with or without the test.
    """
    if not text:
        return "{}"
    if "NaN" in text or "Infinity" in text:
        return json.dumps(finite_json(json.loads(text)))
    return text


def source_group_head(summary: dict) -> bytes:
    """The ``/sources/{id}`` body up to the first source."""
    return (json.dumps(summary)[:-1] + ',"sources":[').encode()


SOURCE_GROUP_TAIL = b"]}"


def sources_json(rows, *, first: bool) -> bytes:
    """``(name, ra, dec, extra_json)`` rows as the comma-separated items of ``sources``.

    ``first`` says whether these open the list (no leading comma).
    ``extra_json`` is the stored JSON text of ``extra``, copied as is:
    decoding and re-encoding every source's extras would be most of the
    cost of a large catalogue. Names go through the C string encoder that
    ``json.dumps`` itself uses.
    """
    if not rows:
        return b""
    quote = encode_basestring_ascii
    items = ",".join(
        [
            _SOURCE_TEMPLATE % (quote(name), _number(ra), _number(dec), _extra(extra))
            for name, ra, dec, extra in rows
        ]
    )
    return (items if first else "," + items).encode()


class SourceViewSerializer(serializers.Serializer):
    source_group_id = serializers.CharField()
    total = serializers.IntegerField(
        help_text="Sources inside the box: exact, or an estimate when ``total_is_estimate``."
    )
    total_is_estimate = serializers.BooleanField(
        help_text="Whether ``total`` is estimated (to about 1/sqrt(limit)) rather than counted: "
        "a box holding more than max(50000, sqrt(limit x catalogue size)) sources."
    )
    complete = serializers.BooleanField(help_text="Whether ``sources`` holds all of them.")
    truncated = serializers.BooleanField(
        required=False,
        help_text="With ``filter`` only: whether the walk stopped at "
        "``TILEMAKER_MAX_VIEW_SCAN_ROWS`` rows of the box tested, before ``limit`` matches "
        "or the end of the box.",
    )
    order = serializers.CharField(
        help_text="Which come first when incomplete: a brightness column's name, or ``random``."
    )
    fields = serializers.ListField(child=serializers.CharField())
    sources = serializers.ListField(
        child=serializers.ListField(), help_text="One array per source, in the order of ``fields``."
    )


VIEW_FIELDS = ["id", "name", "ra", "dec", "extra"]


def source_view_json(head: dict, rows) -> bytes:
    """A ``/sources/{id}/view`` body: ``head`` then ``sources`` as arrays of ``VIEW_FIELDS``.

    Written like ``sources_json``: stored extras copied as text, not decoded.
    """
    quote = encode_basestring_ascii
    items = ",".join(
        [
            f"[{row_id},{quote(name)},{_number(ra)},{_number(dec)},{_extra(extra)}]"
            for row_id, name, ra, dec, extra in rows
        ]
    )
    return (json.dumps({**head, "fields": VIEW_FIELDS})[:-1] + f',"sources":[{items}]}}').encode()
