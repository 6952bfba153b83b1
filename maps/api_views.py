"""The map catalogue API (SPEC section 6): map groups > maps > bands > layers, and search.

Every query goes through ``maps.grants``: hidden objects, and everything
under them, are absent from lists and answer the same 404 as unknown ids.
"""

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from maps.grants import get_visible_or_404, visible
from maps.models import Band, Layer, Map, MapGroup
from maps.serializers import (
    BandSummarySerializer,
    DefaultLayerSerializer,
    LayerSerializer,
    LayerSummarySerializer,
    MapGroupSummarySerializer,
    MapSummarySerializer,
    SearchQuerySerializer,
    SearchResultSerializer,
    default_layer_menu,
    filter_menu,
    layer_menu_tree,
)
from tilemaker_site.errors import BAD_REQUEST, NOT_FOUND

# Menu order: the default layer is the first one a walk down the menu meets.
_MENU_ORDER = (
    "band__map__map_group__position",
    "band__map__map_group__id",
    "band__map__position",
    "band__map__id",
    "band__position",
    "band__id",
    "position",
    "id",
)


class MapGroupList(APIView):
    @extend_schema(
        operation_id="map_groups_list",
        summary="Map groups the caller may see.",
        responses={200: MapGroupSummarySerializer(many=True)},
        tags=["Catalogue"],
    )
    def get(self, request):
        groups = visible(MapGroup, request.user).select_related("grant")
        return Response(MapGroupSummarySerializer(groups, many=True).data)


class MapGroupMaps(APIView):
    @extend_schema(
        operation_id="map_group_maps",
        summary="Maps of one map group.",
        responses={200: MapSummarySerializer(many=True), 404: NOT_FOUND},
        tags=["Catalogue"],
    )
    def get(self, request, map_group_id: str):
        group = get_visible_or_404(MapGroup, request.user, map_group_id=map_group_id)
        maps = visible(Map, request.user).filter(map_group=group).select_related("grant")
        return Response(MapSummarySerializer(maps, many=True).data)


class MapBands(APIView):
    @extend_schema(
        operation_id="map_bands",
        summary="All bands of one map.",
        responses={200: BandSummarySerializer(many=True), 404: NOT_FOUND},
        tags=["Catalogue"],
    )
    def get(self, request, map_id: str):
        parent = get_visible_or_404(Map, request.user, map_id=map_id)
        bands = visible(Band, request.user).filter(map=parent).select_related("grant")
        return Response(BandSummarySerializer(bands, many=True).data)


class BandLayers(APIView):
    @extend_schema(
        operation_id="band_layers",
        summary="Layers of one band.",
        responses={200: LayerSummarySerializer(many=True), 404: NOT_FOUND},
        tags=["Catalogue"],
    )
    def get(self, request, band_id: str):
        band = get_visible_or_404(Band, request.user, band_id=band_id)
        layers = visible(Layer, request.user).filter(band=band).select_related("grant")
        return Response(LayerSummarySerializer(layers, many=True).data)


class DefaultLayer(APIView):
    @extend_schema(
        operation_id="layer_default",
        summary="The layer a viewer opens first, and the menu expanded down to it.",
        description=(
            "`layer` is the first visible layer in menu order (with its map group, map "
            "and band ids), or null when the caller may see none. `default_layer_menu` "
            "lists every visible map group; only the path to `layer` has its children."
        ),
        responses={200: DefaultLayerSerializer},
        tags=["Catalogue"],
    )
    def get(self, request):
        layer = (
            visible(Layer, request.user)
            .select_related("grant", "band__map__map_group")
            .order_by(*_MENU_ORDER)
            .first()
        )
        return Response(
            {
                "layer": None
                if layer is None
                else LayerSerializer(layer, context={"user": request.user}).data,
                "default_layer_menu": default_layer_menu(request.user, layer),
            }
        )


class LayerDetail(APIView):
    @extend_schema(
        operation_id="layer_detail",
        summary="One layer: display settings, tile grid and sky bounds.",
        description='`vmin`/`vmax` are numbers or `"auto"` (the histogram\'s percentiles).',
        responses={200: LayerSerializer, 404: NOT_FOUND},
        tags=["Catalogue"],
    )
    def get(self, request, layer_id: str):
        layer = get_visible_or_404(Layer, request.user, layer_id=layer_id)
        return Response(LayerSerializer(layer, context={"user": request.user}).data)


class Search(APIView):
    @extend_schema(
        operation_id="search",
        summary="Filter the layer menu by name.",
        description=(
            "Case-insensitive substring match on the names of map groups, maps, bands "
            "and layers. A matching entry keeps its whole subtree; a non-matching entry "
            "is kept with only its matching descendants. `matched_ids` lists the ids of "
            "the entries that matched, in menu order."
        ),
        parameters=[SearchQuerySerializer],
        responses={200: SearchResultSerializer, 400: BAD_REQUEST},
        tags=["Catalogue"],
    )
    def get(self, request):
        params = SearchQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data["q"]
        filtered, matched_ids = filter_menu(layer_menu_tree(request.user), query)
        return Response({"filtered_layer_menu": filtered, "matched_ids": matched_ids})
