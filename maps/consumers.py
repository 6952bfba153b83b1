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
        user = self.scope.get("user")
        # Changes to what this user holds are sent to their own group only.
        self.user_group = events.user_group(user.pk) if user and user.is_authenticated else None
        self.groups_joined = []
        try:
            for group in (events.GROUP, self.user_group):
                if group is not None:
                    await self.channel_layer.group_add(group, self.channel_name)
                    self.groups_joined.append(group)
        except Exception as error:
            logger.warning("events socket refused, channel layer unavailable: %s", error)
            await self.close(code=CLOSE_LAYER_UNAVAILABLE)
            return
        # The grants this socket's viewer was last shown the catalogue under.
        self.granted = await database_sync_to_async(grants.current_grants)(user)
        await self.accept()

    async def disconnect(self, code) -> None:
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

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

    async def grants_changed(self, message: dict) -> None:
        # Compared with the grants this viewer was last told about, not with the
        # grants before the change: a grant given and taken back before the
        # message arrives must announce nothing, not an object never shown
        # "removed" (which would name it).
        granted = await database_sync_to_async(grants.current_grants)(self.scope.get("user"))
        for item in message["items"]:
            action = events.membership_action(self.granted, granted, item)
            if action is not None:
                await self.send_json({"event": action, "kind": item["kind"], "id": item["id"]})
        self.granted = granted
