"""The websocket a viewer keeps open to hear about catalogue changes (``maps.events``)."""

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from maps import events, grants


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
        await self.channel_layer.group_add(events.GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code) -> None:
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
