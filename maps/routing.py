"""Websocket routes of the maps app, mounted by ``tilemaker_site.asgi``."""

from django.urls import path

from maps.consumers import CatalogueEventsConsumer


def websocket_urlpatterns(api_prefix: str) -> list:
    """The websocket routes under the API prefix (``""`` or ``"api/"``), like the HTTP API."""
    return [path(f"{api_prefix}ws/events", CatalogueEventsConsumer.as_asgi())]
