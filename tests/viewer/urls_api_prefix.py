"""The site's URLs with the API under ``/api/``, as ``TILEMAKER_API_ENDPOINT=/api`` mounts them."""

from django.urls import include, path

urlpatterns = [
    path("auth/", include("tilemaker_site.accounts.urls")),
    path("api/", include("maps.urls")),
    path("api/", include("catalogs.urls")),
    path("api/", include("sky_regions.urls")),
    path("", include("frontend.urls")),
]
