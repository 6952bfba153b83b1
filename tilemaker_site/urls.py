"""URL configuration: the API under ``TILEMAKER_API_ENDPOINT``, the admin, the viewer."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularJSONAPIView

from tilemaker_site.docs import SwaggerDocsView
from tilemaker_site.health import healthz

_api_prefix = settings.API_ENDPOINT.strip("/")
API_PREFIX = f"{_api_prefix}/" if _api_prefix else ""

urlpatterns = [
    # Outside the API prefix, where container health checks expect it.
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    # Outside the API prefix: GitHub's callback URL must not move with it.
    path("auth/", include("tilemaker_site.accounts.urls")),
    path(API_PREFIX, include("maps.urls")),
    path(API_PREFIX, include("catalogs.urls")),
    path(API_PREFIX, include("sky_regions.urls")),
    path(f"{API_PREFIX}openapi.json", SpectacularJSONAPIView.as_view(), name="openapi-schema"),
    path(f"{API_PREFIX}docs", SwaggerDocsView.as_view(url_name="openapi-schema"), name="docs"),
]

if settings.SERVE_FRONTEND:
    urlpatterns.append(path("", include("frontend.urls")))
