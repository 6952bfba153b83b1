"""Websocket routes of the maps app, mounted by ``tilemaker_site.asgi``."""

from django.urls import path

from maps.consumers import CatalogueEventsConsumer, FollowConsumer


def websocket_urlpatterns(api_prefix: str) -> list:
    """The websocket routes under the API prefix (``""`` or ``"api/"``), like the HTTP API."""
    return [
        path(f"{api_prefix}ws/events", CatalogueEventsConsumer.as_asgi()),
        path(f"{api_prefix}ws/follow", FollowConsumer.as_asgi()),
        path(f"{api_prefix}ws/follow/<str:session_id>", FollowConsumer.as_asgi()),
    ]
