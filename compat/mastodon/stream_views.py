"""The two ends of Mastodon's streaming API: a Channels consumer for the WebSocket and an async view for
server-sent events. Both only authenticate, join groups and forward (``streaming`` makes the payloads)."""

import asyncio
import json
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse

from aggregator.events import CLOSE_MESSAGE_TYPE
from compat.mastodon import streaming
from compat.mastodon.endpoint import error_response
from compat.mastodon.streaming import (
    Listener,
    StreamError,
    listener_for,
    mastodon_events,
    subscribe,
    token_from,
)

UNAUTHENTICATED = 4401
HEARTBEAT_SECONDS = 15  # Mastodon's SSE comment line, which keeps proxies from closing an idle stream
SSE_STREAMS = {"user": "user", "user/notification": "user:notification", "hashtag": "hashtag",
               "hashtag/local": "hashtag:local"}  # fmt: skip


class MastodonStreamConsumer(AsyncWebsocketConsumer):
    listener: Listener | None = None

    async def connect(self) -> None:
        headers = dict(self.scope.get("headers", []))
        token = token_from(query_string=self.scope.get("query_string", b""), headers=headers)
        self.listener = await database_sync_to_async(listener_for)(token)
        if self.listener is None:
            await self.close(code=UNAUTHENTICATED)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin1"))
        if query.get("stream"):
            try:
                await database_sync_to_async(subscribe)(self.listener, stream=query["stream"][0],
                                                        tag=(query.get("tag") or [None])[0])  # fmt: skip
            except StreamError:
                await self.close(code=4400)
                return
        for group in self.listener.groups:
            await self.channel_layer.group_add(group, self.channel_name)
        offered = headers.get(b"sec-websocket-protocol", b"").decode("latin1").split(",")[0].strip()
        await self.accept(subprotocol=offered or None)

    async def disconnect(self, code: int) -> None:
        for group in self.listener.groups if self.listener else ():
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """``{"type": "subscribe" | "unsubscribe", "stream": ..., "tag": ...}``; the transport guard caps the size
        and the rate of these frames."""
        try:
            asked = json.loads(text_data or "")
            kind, stream, tag = asked["type"], str(asked["stream"]), asked.get("tag")
        except (ValueError, KeyError, TypeError):
            await self.send(json.dumps({"error": "Expected {\"type\": \"subscribe\", \"stream\": ...}", "status": 400}))
            return
        if kind == "unsubscribe":
            streaming.unsubscribe(self.listener, stream=stream, tag=str(tag) if tag else None)
            return
        try:
            await database_sync_to_async(subscribe)(self.listener, stream=stream, tag=str(tag) if tag else None)
        except StreamError as error:
            await self.send(json.dumps({"error": str(error), "status": 400}))

    async def stream_event(self, message: dict) -> None:
        for stream, event, payload in mastodon_events(self.listener, message, base_url=_base_url(self.scope)):
            await self.send(json.dumps({"stream": stream, "event": event, "payload": payload}))

    async def stream_close(self, message: dict) -> None:
        await self.close(code=UNAUTHENTICATED)


def _base_url(scope) -> str:
    headers = dict(scope.get("headers", []))
    host = headers.get(b"host", b"").decode("latin1") or "localhost"
    return ("https://" if scope.get("scheme") in ("wss", "https") else "http://") + host


async def sse(request: HttpRequest, name: str) -> HttpResponse:
    """``GET /api/v1/streaming/<user|user/notification|hashtag|health>``: the stream as server-sent events."""
    if name == "health":
        return HttpResponse("OK", content_type="text/plain")
    if name not in SSE_STREAMS:
        return error_response(404, "Unknown stream (Chorus streams user and hashtag)")
    token = token_from(query_string=request.META.get("QUERY_STRING", "").encode("latin1"),
                       headers={b"authorization": request.headers.get("Authorization", "").encode("latin1")})  # fmt: skip
    listener = await sync_to_async(listener_for)(token)
    if listener is None:
        return error_response(401, "The access token is invalid (Authorization: Bearer <token>)")
    try:
        await sync_to_async(subscribe)(listener, stream=SSE_STREAMS[name], tag=request.GET.get("tag"))
    except StreamError as error:
        return error_response(400, str(error))
    layer = get_channel_layer()
    channel = await layer.new_channel()
    for group in listener.groups:
        await layer.group_add(group, channel)
    response = StreamingHttpResponse(_events(layer, channel, listener, base_url=request.build_absolute_uri("/")[:-1]),
                                     content_type="text/event-stream")  # fmt: skip
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


async def _events(layer, channel: str, listener: Listener, *, base_url: str):
    try:
        yield ":)\n\n"
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), HEARTBEAT_SECONDS)
            except TimeoutError:
                yield ":thump\n\n"
                continue
            if message.get("type") == CLOSE_MESSAGE_TYPE:
                return
            for _, event, payload in mastodon_events(listener, message, base_url=base_url):
                yield f"event: {event}\ndata: {payload}\n\n"
    finally:
        for group in listener.groups:
            await layer.group_discard(group, channel)
