"""Highlight boxes API."""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from maps.grants import visible
from sky_regions.models import Box
from sky_regions.serializers import BoxSerializer


class BoxList(APIView):
    @extend_schema(
        operation_id="highlight_boxes",
        summary="Highlight boxes the caller may see.",
        responses={200: BoxSerializer(many=True)},
        tags=["Highlights"],
    )
    def get(self, request):
        boxes = visible(Box, request.user).select_related("grant")
        return Response(BoxSerializer(boxes, many=True).data)
