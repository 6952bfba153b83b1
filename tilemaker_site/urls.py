"""URL configuration: the API under ``TILEMAKER_API_ENDPOINT``, the admin, the viewer."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

_api_prefix = settings.API_ENDPOINT.strip("/")
API_PREFIX = f"{_api_prefix}/" if _api_prefix else ""

urlpatterns = [
    path("admin/", admin.site.urls),
    path(API_PREFIX, include("maps.urls")),
    path(API_PREFIX, include("catalogs.urls")),
    path(API_PREFIX, include("regions.urls")),
]

if settings.SERVE_FRONTEND:
    urlpatterns.append(path("", include("frontend.urls")))
