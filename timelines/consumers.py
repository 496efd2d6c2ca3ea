"""WebSocket ``/ws/stream/``: authenticate, join the person's own group, forward events. Nothing else."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from .events import user_group

UNAUTHENTICATED = 4401


class StreamConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=UNAUTHENTICATED)
            return
        self.group = user_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        """Clients only listen; anything they send is ignored."""

    async def stream_event(self, message: dict) -> None:
        await self.send_json(message["event"])
