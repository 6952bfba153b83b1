"""Source catalogue API: the list of catalogues and one catalogue with all its sources."""

from django.db.models import TextField
from django.db.models.functions import Cast
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from catalogs.models import Source, SourceGroup
from catalogs.serializers import (
    SourceGroupSerializer,
    SourceGroupSummarySerializer,
    source_group_json,
)
from maps.api_errors import NOT_FOUND
from maps.grants import get_visible_or_404, visible


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
            .values_list("name", "ra", "dec", "extra_json")
        )
        summary = {
            "source_group_id": group.source_group_id,
            "name": group.name,
            "description": group.description,
        }
        return HttpResponse(source_group_json(summary, rows), content_type="application/json")
