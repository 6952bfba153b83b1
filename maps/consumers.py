"""The websockets of the viewer: catalogue changes (``maps.events``) and following a
presenter (``maps.follow``)."""

import asyncio
import json
import logging
import math
import secrets
import time

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from maps import events, follow, grants

# A follower's join is answered by the presenter's consumer through the channel
# layer within milliseconds, on any worker; silence this long means no presenter.
NO_PRESENTER_SECONDS = 3.0
# The websocket close code a follower gets for an unknown or ended session.
CLOSE_NOT_FOUND = 4404
# A presenter's states are shared at most this often (the viewer sends ten a
# second at most); faster ones are merged into the next, the latest always
# shared. Each shared state costs every follower a grant check: a socket
# sending in a loop must not cost more than a viewer.
MIN_STATE_INTERVAL_SECONDS = 0.05

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


class FollowConsumer(AsyncWebsocketConsumer):
    """``ws/follow``: a presenter's socket; ``ws/follow/<id>``: a follower's.

    The presenter's socket is told its session id first
    (``{"type": "session", "id": ..., "presenter": ...}``) and then sends
    ``{"type": "state", "state": "<the view's URL query>"}`` at every change.
    A follower is sent ``{"type": "state", "state": ..., "presenter": ...}``
    with only what it may see (``maps.follow.visible_state``, with
    ``"note"`` when something was removed): the latest state at once, then
    every change; ``{"type": "ended"}`` when the presenter leaves. Anything
    the server cannot take is answered ``{"type": "error", "detail": ...}``.

    Everything goes through the channel layer, so the presenter and its
    followers may be on different workers: the session is the group
    ``follow.<id>``, the latest state lives in the presenter's consumer, and
    a new follower asks the group for it.
    """

    async def connect(self) -> None:
        session_id = self.scope["url_route"]["kwargs"].get("session_id")
        self.presenting = session_id is None
        if self.presenting:
            session_id = secrets.token_urlsafe(follow.SESSION_ID_BYTES)
        self.session_id = session_id
        self.state: str | None = None
        self.waiting: asyncio.Task | None = None
        # The presenter's throttle: when the last state was shared, and the
        # pending share of a later one.
        self.shared_at = -math.inf
        self.sharing: asyncio.Task | None = None
        # A follower's last state: a state shared just after the follower's
        # welcome carried it is not sent twice.
        self.shown: dict | None = None
        await self.accept()
        if not follow.SESSION_ID.fullmatch(self.session_id):
            await self._error("No presentation has that id.")
            await self.close(code=CLOSE_NOT_FOUND)
            return
        self.group = f"follow.{self.session_id}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        if self.presenting:
            self.presenter = _display_name(self.scope.get("user"))
            session = {"type": "session", "id": self.session_id, "presenter": self.presenter}
            await self._send(session)
        else:
            await self.channel_layer.group_send(
                self.group, {"type": "follow.join", "channel": self.channel_name}
            )
            self.waiting = asyncio.create_task(self._give_up_without_presenter())

    async def disconnect(self, code) -> None:
        for task in (self.waiting, self.sharing):
            if task is not None:
                task.cancel()
        if not hasattr(self, "group"):
            return
        if self.presenting:
            await self.channel_layer.group_send(self.group, {"type": "follow.ended"})
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        if not self.presenting:
            await self._error("Followers cannot send state: only the presenter's view is shared.")
            return
        try:
            message = json.loads(text_data) if text_data is not None else None
        except ValueError:
            message = None
        if not isinstance(message, dict):
            await self._error('A message must be a JSON object: {"type": "state", "state": ...}.')
            return
        if message.get("type") != "state":
            kind = str(message.get("type"))[:40]
            await self._error(f'Unknown message type {kind!r}: only "state".')
            return
        try:
            self.state = follow.checked_state(message.get("state"))
        except follow.StateError as error:
            await self._error(str(error))
            return
        if self.sharing is not None:
            return
        wait_seconds = self.shared_at + MIN_STATE_INTERVAL_SECONDS - time.monotonic()
        if wait_seconds <= 0:
            await self._share_state()
        else:
            self.sharing = asyncio.create_task(self._share_state_after(wait_seconds))

    # --- channel layer messages -------------------------------------------

    async def follow_join(self, message: dict) -> None:
        if self.presenting:
            await self.channel_layer.send(
                message["channel"],
                {"type": "follow.welcome", "state": self.state, "presenter": self.presenter},
            )

    async def follow_welcome(self, message: dict) -> None:
        if self.waiting is not None:
            self.waiting.cancel()
            self.waiting = None
        if message["state"] is None:
            await self._send({"type": "waiting", "presenter": message["presenter"]})
        else:
            await self.follow_state(message)

    async def follow_state(self, message: dict) -> None:
        if self.presenting:
            return
        granted = await database_sync_to_async(grants.current_grants)(self.scope.get("user"))
        visible = database_sync_to_async(follow.visible_state)
        state, hidden = await visible(message["state"], granted)
        sent = {"type": "state", "state": state, "presenter": message["presenter"]}
        if hidden:
            sent["note"] = follow.HIDDEN_NOTE
        if sent != self.shown:
            self.shown = sent
            await self._send(sent)

    async def follow_ended(self, message: dict) -> None:
        if not self.presenting:
            await self._send({"type": "ended"})
            await self.close()

    # --- helpers ------------------------------------------------------------

    async def _share_state(self) -> None:
        self.shared_at = time.monotonic()
        await self.channel_layer.group_send(
            self.group, {"type": "follow.state", "state": self.state, "presenter": self.presenter}
        )

    async def _share_state_after(self, wait_seconds: float) -> None:
        await asyncio.sleep(wait_seconds)
        self.sharing = None
        await self._share_state()

    async def _give_up_without_presenter(self) -> None:
        await asyncio.sleep(NO_PRESENTER_SECONDS)
        self.waiting = None
        await self._error("No presentation has that id (it may have ended).")
        await self.close(code=CLOSE_NOT_FOUND)

    async def _error(self, detail: str) -> None:
        await self._send({"type": "error", "detail": detail})

    async def _send(self, message: dict) -> None:
        await self.send(text_data=json.dumps(message))


def _display_name(user) -> str:
    if user is not None and user.is_authenticated:
        return user.get_full_name() or user.get_username()
    return "a guest"
