"""WebSocket ``/ws/stream/``: authenticate, join the person's own group, forward events. Nothing else."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from aggregator.events import EVENT_MESSAGE_TYPE, session_group, token_group, user_group

UNAUTHENTICATED = 4401


class StreamConsumer(AsyncJsonWebsocketConsumer):
    groups_joined: tuple[str, ...] = ()

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        # Events reach the person's group; logout or revocation closes the session's or token's group.
        session = self.scope.get("session")
        credential = (token_group(self.scope["token_id"]) if self.scope.get("token_id")
                      else session_group(session.session_key) if session is not None and session.session_key else None)  # fmt: skip
        self.groups_joined = tuple(group for group in (user_group(user.pk), credential) if group)
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def dispatch(self, message: dict) -> None:
        # Events touch no database: skip the per-message `aclose_old_connections` hop Channels' dispatch
        # makes (a sync_to_async trip through one shared thread), which would cost the web process about as
        # much CPU per frame as the frame itself.
        if message["type"] == EVENT_MESSAGE_TYPE:
            await self.stream_event(message)
            return
        if message["type"] == "websocket.receive":
            return  # clients only listen: what they send is dropped unread (never decoded, no thread hop)
        await super().dispatch(message)

    async def stream_close(self, message: dict) -> None:
        await self.close(code=UNAUTHENTICATED)

    async def stream_event(self, message: dict) -> None:
        await self.send_json(message["event"])
