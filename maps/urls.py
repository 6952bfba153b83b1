"""The maps app's routes (SPEC section 6), mounted under ``TILEMAKER_API_ENDPOINT``.

Catalogue routes answer JSON; image routes take every segment as a plain
string, so the views, not the URL resolver, answer bad numbers and
extensions with a JSON 4xx.
"""

from django.urls import path

from maps import api_views, derived_views, image_views

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
    path(
        "layers/<str:layer_id>/limits",
        image_views.LayerLimitsView.as_view(),
        name="layer-limits",
    ),
    path(
        "layers/<str:layer_id>/<str:level>/<str:y>/<str:x>/tile.<str:ext>",
        image_views.TileView.as_view(),
        name="layer-tile",
    ),
    path(
        "layers/<str:layer_id>/<str:level>/<str:y>/<str:x>/data.<str:ext>",
        image_views.DataTileView.as_view(),
        name="layer-data-tile",
    ),
    path(
        "layers/<str:layer_id>/submap/<str:left>/<str:right>/<str:top>/<str:bottom>/image.<str:ext>",
        image_views.SubmapView.as_view(),
        name="layer-submap",
    ),
    path(
        "histograms/data/<str:layer_id>",
        image_views.HistogramDataView.as_view(),
        name="histogram-data",
    ),
    path("histograms/<str:cmap>.png", image_views.ColourBarView.as_view(), name="colour-bar"),
    path(
        "analysis/aperture/<str:layer_id>",
        image_views.ApertureView.as_view(),
        name="aperture",
    ),
    # Derived layers (maps.derived): op on layers a and b, described by the URL.
    path(
        "derived/<str:op>/<str:a>/<str:b>", derived_views.DerivedLayerView.as_view(), name="derived"
    ),
    path(
        "derived/<str:op>/<str:a>/<str:b>/limits",
        derived_views.DerivedLimitsView.as_view(),
        name="derived-limits",
    ),
    path(
        "derived/<str:op>/<str:a>/<str:b>/histogram",
        derived_views.DerivedHistogramView.as_view(),
        name="derived-histogram",
    ),
    path(
        "derived/<str:op>/<str:a>/<str:b>/<str:level>/<str:y>/<str:x>/tile.<str:ext>",
        derived_views.DerivedTileView.as_view(),
        name="derived-tile",
    ),
    path(
        "derived/<str:op>/<str:a>/<str:b>/<str:level>/<str:y>/<str:x>/data.<str:ext>",
        derived_views.DerivedDataTileView.as_view(),
        name="derived-data-tile",
    ),
    path(
        "derived/<str:op>/<str:a>/<str:b>/submap/<str:left>/<str:right>/<str:top>/<str:bottom>"
        "/image.<str:ext>",
        derived_views.DerivedSubmapView.as_view(),
        name="derived-submap",
    ),
]
