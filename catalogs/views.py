"""Source catalogue API: the list of catalogues and one catalogue with all its sources."""

from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.db.models import QuerySet, TextField
from django.db.models.functions import Cast
from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogs.models import Source, SourceGroup
from catalogs.serializers import (
    SOURCE_GROUP_TAIL,
    SourceGroupSerializer,
    SourceGroupSummarySerializer,
    source_group_head,
    sources_json,
)
from maps.grants import get_visible_or_404, visible
from tilemaker_site.errors import NOT_FOUND

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
        summary="One source catalogue with all its sources.",
        responses={200: SourceGroupSerializer, 404: NOT_FOUND},
        tags=["Sources"],
    )
    def get(self, request, source_group_id: str):
        group = get_visible_or_404(SourceGroup, request.user, source_group_id=source_group_id)
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
            }
        )
        # The first batch is read before answering, so a failing query is
        # still a JSON error, and a catalogue that fits in it keeps its
        # Content-Length; a larger one is streamed batch by batch.
        last_id, first = _batch_after(rows, 0)
        if len(first) < SOURCE_BATCH_ROWS:
            body = head + sources_json(first, first=True) + SOURCE_GROUP_TAIL
            return HttpResponse(body, content_type="application/json")
        return StreamingHttpResponse(
            _stream(head + sources_json(first, first=True), rows, last_id),
            content_type="application/json",
        )


def _batch_after(rows: QuerySet, last_id: int) -> tuple[int, list[tuple]]:
    """The next ``SOURCE_BATCH_ROWS`` rows after id ``last_id``: (their last id, the rows).

    Each batch is a query of its own, by id (the catalogue's order), never
    one cursor held open while a slow client reads: on SQLite an open read
    blocks every writer (the admin, ``import_config``) until it ends.
    """
    batch = list(rows.filter(id__gt=last_id)[:SOURCE_BATCH_ROWS])
    if not batch:
        return last_id, []
    return batch[-1][0], [row[1:] for row in batch]


async def _stream(start: bytes, rows: QuerySet, last_id: int) -> AsyncIterator[bytes]:
    """``start``, the rows after ``last_id`` batch by batch, then the closing brackets.

    An async iterator: daphne serves a sync one by reading it whole into a
    list first (Django's ``StreamingHttpResponse.__aiter__``).
    """
    yield start
    next_batch = sync_to_async(_batch_after, thread_sensitive=True)
    while True:
        last_id, batch = await next_batch(rows, last_id)
        if not batch:
            break
        yield sources_json(batch, first=False)
    yield SOURCE_GROUP_TAIL
