"""Source catalogue API: the list of catalogues, one catalogue with all its sources,
source names by prefix and the online name resolver behind the go-to box."""

import json
import math
from collections.abc import AsyncIterator, Callable

from adrf.views import APIView as AsyncAPIView
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogs.filterexpr import MAX_FILTER_CHARS, FilterError, parse_filter
from catalogs.models import Source, SourceGroup
from catalogs.names import DEFAULT_NAME_LIMIT, MAX_NAME_LIMIT, names_with_prefix
from catalogs.resolver import ResolverUnreachable, resolve_name
from catalogs.serializers import (
    SOURCE_GROUP_TAIL,
    SourceGroupSerializer,
    SourceGroupSummarySerializer,
    SourceViewSerializer,
    source_group_head,
    source_view_json,
    sources_json,
)
from catalogs.view_query import SkyBox, matching_sources_in_box, sources_in_box
from maps.grants import get_visible_or_404, visible
from maps.query import echo, optional, parse_int
from tilemaker_site.errors import BAD_REQUEST, ERROR_SCHEMA, NOT_FOUND, BadRequest, error_response

# Rows read and encoded at a time for /sources/{id}: about 250 KB of JSON and
# the same again in row tuples, so a request holds that much, not its whole
# catalogue (1,000,000 sources built in memory took 0.67 GB). Per batch, the
# hop to the database thread costs about 0.1 ms against ~6 ms of encoding.
SOURCE_BATCH_ROWS = 2000


class SourceGroupList(APIView):
    @extend_schema(
        operation_id="sources_list",
        summary="Source catalogues the caller may see.",
        responses={200: SourceGroupSummarySerializer(many=True)},
        tags=["Sources"],
    )
    def get(self, request):
        groups = visible(SourceGroup, request.user).values("source_group_id", "name", "description")
        return Response(list(groups))


class SourceGroupDetail(APIView):
    @extend_schema(
        operation_id="sources_detail",
        summary="One source catalogue with its sources, all or those matching a filter.",
        description=(
            "`columns` lists the extra columns with their units. `filter` is the viewer's "
            'filter language, e.g. `snr > 5 and name ~ "ACT"` (README, Catalogue table); '
            "a filter that does not parse, or names a column the catalogue lacks, is a 400."
        ),
        parameters=[
            OpenApiParameter("filter", str, description=f"At most {MAX_FILTER_CHARS} characters."),
        ],
        responses={200: SourceGroupSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["Sources"],
    )
    def get(self, request, source_group_id: str):
        group = get_visible_or_404(SourceGroup, request.user, source_group_id=source_group_id)
        keep = _row_filter(request, group)
        rows = (
            visible(Source, request.user)
            .filter(source_group=group)
            .annotate(extra_json=Cast("extra", TextField()))
            .order_by("id")
            .values_list("id", "name", "ra", "dec", "extra_json")
        )
        head = source_group_head(
            {
                "source_group_id": group.source_group_id,
                "name": group.name,
                "description": group.description,
                "columns": group.columns,
            }
        )
        # The first batch is read before answering, so a failing query is
        # still a JSON error, and a catalogue that fits in it keeps its
        # Content-Length; a larger one is streamed batch by batch.
        last_id, first, more = _batch_after(rows, 0, keep)
        if not more:
            body = head + sources_json(first, first=True) + SOURCE_GROUP_TAIL
            return HttpResponse(body, content_type="application/json")
        return StreamingHttpResponse(
            _stream(head + sources_json(first, first=True), rows, last_id, keep),
            content_type="application/json",
        )


DEFAULT_VIEW_SOURCES = 5000


class SourceGroupView(APIView):
    @extend_schema(
        operation_id="sources_view",
        summary="The sources of one catalogue inside a sky box, at most `limit` of them.",
        description=(
            "`left` is the box's east RA edge and `right` its west one (degrees); the box runs "
            "eastwards from `right` to `left`, across RA 0 when `left` < `right` "
            "(`left=10&right=350`, or `right=-10`), all of RA when `left - right` >= 360. "
            "`top`/`bottom` are Dec, clipped to -90..90. When more than `limit` sources fall "
            "inside, the answer holds the brightest by the catalogue's brightness column "
            "(`order`), else a fixed random subsample, with `complete: false`. Counting a "
            "crowded box exactly would read all of it, so past max(50000, sqrt(limit x "
            "catalogue size)) sources `total` is estimated (to about 1/sqrt(limit)) and "
            "`total_is_estimate` is true. With `filter` (the language of `/sources/{id}`), the "
            "answer holds the brightest `limit` matching sources and `total` counts the matching "
            "ones; at most `TILEMAKER_MAX_VIEW_SCAN_ROWS` rows of the box are tested, and "
            "`truncated` is true when that cap stopped the walk."
        ),
        parameters=[
            OpenApiParameter("filter", str, description=f"At most {MAX_FILTER_CHARS} characters."),
        ],
        responses={200: SourceViewSerializer, 400: BAD_REQUEST, 404: NOT_FOUND},
        tags=["Sources"],
    )
    def get(self, request, source_group_id: str):
        group = get_visible_or_404(SourceGroup, request.user, source_group_id=source_group_id)
        parsed = _view_params(request.query_params)
        if isinstance(parsed, str):
            return error_response(parsed)
        box, limit = parsed
        keep = _row_filter(request, group)
        if keep is None:
            answer = sources_in_box(group, box, limit)
            truncated = False
        else:
            answer = matching_sources_in_box(group, box, limit, keep, settings.MAX_VIEW_SCAN_ROWS)
            truncated = answer.truncated
        head = {
            "source_group_id": group.source_group_id,
            "total": answer.total,
            "total_is_estimate": answer.total_is_estimate,
            "complete": len(answer.rows) == answer.total and not answer.total_is_estimate,
            "order": group.brightness_column or "random",
        }
        if keep is not None:
            head["truncated"] = truncated
        return HttpResponse(source_view_json(head, answer.rows), content_type="application/json")


def _view_params(query) -> tuple[SkyBox, int] | str:
    """The box and limit of a view query, or the ``detail`` of why not."""
    edges = {}
    for name in ("left", "right", "top", "bottom"):
        text = query.get(name)
        if text is None:
            return f"{name}: required (degrees)"
        try:
            edges[name] = float(text)
        except ValueError:
            return f"{name}: expected a number of degrees, found {text[:40]!r}"
        if not math.isfinite(edges[name]):
            return f"{name}: expected a finite number of degrees"
    if edges["top"] < edges["bottom"]:
        return "top must not be below bottom"
    if edges["left"] < edges["right"] - 360.0:
        return "left - right must be at least -360 degrees"
    maximum = settings.MAX_VIEW_SOURCES
    text = query.get("limit", str(min(DEFAULT_VIEW_SOURCES, maximum)))
    try:
        limit = int(text)
    except ValueError:
        return f"limit: expected a whole number, found {text[:40]!r}"
    if not 1 <= limit <= maximum:
        return f"limit: must be between 1 and {maximum}"
    box = SkyBox(
        left_deg=edges["left"],
        right_deg=edges["right"],
        top_deg=min(edges["top"], 90.0),
        bottom_deg=max(edges["bottom"], -90.0),
    )
    return box, limit


RowFilter = Callable[[tuple], bool] | None


def _row_filter(request, group: SourceGroup) -> RowFilter:
    """The ``filter`` parameter as a test of ``(id, name, ra, dec, extra_json)`` rows.

    Evaluated in Python on each batch rather than translated to SQL on the
    JSON field: the viewer's parser gives the same answers on the same
    cases (tests/support/filter_cases.json), on SQLite and PostgreSQL alike,
    where JSON comparisons cast and compare mixed types differently and
    ``~`` would need each backend's case rules. The cost is decoding each
    row's extras (README gives the measured rate).
    """
    text = request.query_params.get("filter")
    if text is None or not text.strip():
        return None
    # A catalogue stored without its column list (before columns were kept)
    # accepts any name: its extras are still there to test.
    known = [column["name"] for column in group.columns] or None
    try:
        predicate = parse_filter(text, known)
    except FilterError as error:
        raise BadRequest(f"filter: {error}") from None

    def keep(row: tuple) -> bool:
        _, name, ra, dec, extra = row
        return predicate({"name": name, "ra": ra, "dec": dec, "extra": json.loads(extra or "{}")})

    return keep


def _batch_after(rows: QuerySet, last_id: int, keep: RowFilter = None) -> tuple[int, list, bool]:
    """(last id read, the rows kept, whether more may follow) after id ``last_id``.

    Reads ``SOURCE_BATCH_ROWS`` rows at a time, skipping on past batches
    ``keep`` empties, so a sparse filter does not send a chunk per batch.
    Each batch is a query of its own, by id (the catalogue's order), never
    one cursor held open while a slow client reads: on SQLite an open read
    blocks every writer (the admin, ``import_config``) until it ends.
    """
    while True:
        batch = list(rows.filter(id__gt=last_id)[:SOURCE_BATCH_ROWS])
        if not batch:
            return last_id, [], False
        last_id = batch[-1][0]
        more = len(batch) == SOURCE_BATCH_ROWS
        kept = [row[1:] for row in batch if keep is None or keep(row)]
        if kept or not more:
            return last_id, kept, more


async def _stream(
    start: bytes, rows: QuerySet, last_id: int, keep: RowFilter
) -> AsyncIterator[bytes]:
    """``start``, the rows after ``last_id`` batch by batch, then the closing brackets.

    ``start`` holds a source already: ``_batch_after`` answers no rows only
    at the end, and the view streams only when more may follow. An async
    iterator: daphne serves a sync one by reading it whole into a list
    first (Django's ``StreamingHttpResponse.__aiter__``).
    """
    yield start
    next_batch = sync_to_async(_batch_after, thread_sensitive=True)
    more = True
    while more:
        last_id, batch, more = await next_batch(rows, last_id, keep)
        yield sources_json(batch, first=False)
    yield SOURCE_GROUP_TAIL


# Longer than any name a catalogue holds (Source.name is at most 300).
MAX_NAME_QUERY_CHARS = 300


class SourceNameSerializer(serializers.Serializer):
    name = serializers.CharField()
    ra = serializers.FloatField(help_text="Right ascension, degrees.")
    dec = serializers.FloatField(help_text="Declination, degrees.")
    source_group_id = serializers.CharField()


def _name_query(request, parameter: str) -> str:
    text = request.query_params.get(parameter, "").strip()
    if len(text) > MAX_NAME_QUERY_CHARS:
        raise BadRequest(f"{parameter} is longer than {MAX_NAME_QUERY_CHARS} characters")
    return text


# Not under /sources/: a catalogue may be called "names".
class SourceNames(APIView):
    @extend_schema(
        operation_id="source_names",
        summary="Sources whose name starts with q (any case), in the catalogues the caller sees.",
        description="Ordered by lower-cased name; an empty q answers [].",
        parameters=[
            OpenApiParameter("q", str, description="Start of the name."),
            OpenApiParameter(
                "limit",
                int,
                description=f"1 to {MAX_NAME_LIMIT}; default {DEFAULT_NAME_LIMIT}.",
            ),
        ],
        responses={200: SourceNameSerializer(many=True), 400: BAD_REQUEST},
        tags=["Sources"],
    )
    def get(self, request):
        prefix = _name_query(request, "q")
        limit = optional(request.query_params, "limit", parse_int, DEFAULT_NAME_LIMIT)
        if not 1 <= limit <= MAX_NAME_LIMIT:
            raise BadRequest(f"limit must be between 1 and {MAX_NAME_LIMIT}, got {limit}")
        if not prefix:
            return Response([])
        rows = names_with_prefix(request.user, prefix, limit)
        return Response(
            [
                {
                    "name": row["name"],
                    "ra": row["ra"],
                    "dec": row["dec"],
                    "source_group_id": row["source_group__source_group_id"],
                }
                for row in rows
            ]
        )


class ResolvedNameSerializer(serializers.Serializer):
    name = serializers.CharField()
    ra = serializers.FloatField(help_text="Right ascension (ICRS), degrees.")
    dec = serializers.FloatField(help_text="Declination (ICRS), degrees.")
    resolver = serializers.CharField(help_text="Which service knew it, e.g. Simbad.")


RESOLVER_UNREACHABLE = "name resolver unreachable: enter coordinates"


# Async, so a resolver taking its whole timeout holds a thread of its own and
# not the worker's one thread for synchronous views.
class ResolveName(AsyncAPIView):
    @extend_schema(
        operation_id="resolve_name",
        summary="Position of an astronomical object by name, from the name resolver (CDS Sesame).",
        description=(
            "Off unless the server sets `TILEMAKER_NAME_RESOLVER_URL` (404). 502 when the "
            "resolver cannot be reached or answers nonsense."
        ),
        parameters=[OpenApiParameter("name", str, required=True, description="e.g. M31.")],
        responses={
            200: ResolvedNameSerializer,
            400: BAD_REQUEST,
            404: OpenApiResponse(ERROR_SCHEMA, description="Unknown name, or no resolver."),
            502: OpenApiResponse(ERROR_SCHEMA, description="The resolver could not be reached."),
        },
        tags=["Sources"],
    )
    async def get(self, request):
        name = _name_query(request, "name")
        if not name:
            raise BadRequest("the query parameter name is required")
        if not settings.NAME_RESOLVER_URL:
            return error_response("no name resolver on this server: enter coordinates", 404)
        try:
            found = await sync_to_async(resolve_name, thread_sensitive=False)(
                settings.NAME_RESOLVER_URL, name, settings.NAME_RESOLVER_TIMEOUT_SECONDS
            )
        except ResolverUnreachable:
            return error_response(RESOLVER_UNREACHABLE, 502)
        if found is None:
            return error_response(f"the name resolver does not know {echo(name)}", 404)
        body = {"name": found.name, "ra": found.ra_deg, "dec": found.dec_deg}
        return Response({**body, "resolver": found.resolver})
