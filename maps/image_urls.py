"""Image routes (SPEC section 6). Every segment is a plain string so the views, not
the URL resolver, answer bad numbers and extensions with a JSON 4xx."""

from django.urls import path

from maps import image_views

urlpatterns = [
    path(
        "layers/<str:layer_id>/<str:level>/<str:y>/<str:x>/tile.<str:ext>",
        image_views.TileView.as_view(),
        name="layer-tile",
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
]
