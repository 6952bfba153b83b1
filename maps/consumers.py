"""The websocket a viewer keeps open to hear about catalogue changes (``maps.events``)."""

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from maps import events, grants

logger = logging.getLogger(__name__)

# Sent when the channel layer cannot be joined (Redis down): the handshake is
# refused (daphne answers 403 instead of a 500 with a traceback) and the
# viewer falls back to periodic refresh until a reconnect succeeds. 1013 is
# RFC 6455's "try again later".
CLOSE_LAYER_UNAVAILABLE = 1013


class CatalogueEventsConsumer(AsyncJsonWebsocketConsumer):
    """Sends ``{"event": "added"|"changed"|"removed", "kind": ..., "id": ...}`` for
    every change to an object the connected user may see before or after it, and
    ``{"event": "rewritten", "kind": "layer", "id": ..., "version": ...}`` when the
    map file of a layer they may see changed on disk (``events.file_rewritten``).

    The user is the one of the HTTP session (the socket's cookies); their grants
    are read again for every event, so a grant taken away applies at once.
    Messages from the browser are ignored.
    """

    async def connect(self) -> None:
        try:
            await self.channel_layer.group_add(events.GROUP, self.channel_name)
        except Exception as error:
            logger.warning("events socket refused, channel layer unavailable: %s", error)
            self.groups_joined = False
            await self.close(code=CLOSE_LAYER_UNAVAILABLE)
            return
        self.groups_joined = True
        await self.accept()

    async def disconnect(self, code) -> None:
        if getattr(self, "groups_joined", False):
            await self.channel_layer.group_discard(events.GROUP, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        return

    async def catalogue_event(self, message: dict) -> None:
        granted = await database_sync_to_async(grants.current_grants)(self.scope.get("user"))
        action = events.action_for(granted, message)
        if action is not None:
            await self.send_json({"event": action, "kind": message["kind"], "id": message["id"]})

    async def layer_rewritten(self, message: dict) -> None:
        granted = await database_sync_to_async(grants.current_grants)(self.scope.get("user"))
        sent = events.rewritten_for(granted, message)
        if sent is not None:
            await self.send_json(sent)
