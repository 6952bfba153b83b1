"""Catalogue API routes (SPEC section 6), mounted under ``TILEMAKER_API_ENDPOINT``."""

from django.urls import path

from maps import api_views

urlpatterns = [
    path("map-groups", api_views.MapGroupList.as_view(), name="map-groups"),
    path(
        "map-groups/<str:map_group_id>/maps",
        api_views.MapGroupMaps.as_view(),
        name="map-group-maps",
    ),
    path("maps/<str:map_id>/bands", api_views.MapBands.as_view(), name="map-bands"),
    path("bands/<str:band_id>/layers", api_views.BandLayers.as_view(), name="band-layers"),
    # Before layers/<id>: "default" is a route, not a layer id (as in the original).
    path("layers/default", api_views.DefaultLayer.as_view(), name="layer-default"),
    path("layers/<str:layer_id>", api_views.LayerDetail.as_view(), name="layer-detail"),
    path("search", api_views.Search.as_view(), name="search"),
]
