"""Limits on what a client may send, enforced around the whole ASGI application before anything is read.

``RequestLimits`` wraps every process's application (uvicorn's and ``serve``'s alike, aggregator/asgi.py):

- An HTTP request body over its cap is refused with 413 before Django reads it: at once when ``Content-Length``
  says so (not a byte of the body is read), else as soon as the counted bytes of a chunked body pass the cap.
  Django then never spools it to memory or disk. The answer closes the connection, so the rest of the body is
  never read either.
- A WebSocket client that sends a message over its cap, or more messages than a listener ever needs, is closed.
  The server itself caps the message size (uvicorn's ``--ws-max-size``) so an oversized frame is never
  buffered; the cap here holds the same line when the server was started without it.
"""

import json
import time

POLICY_VIOLATION = 1008  # WebSocket close codes (RFC 6455)
MESSAGE_TOO_BIG = 1009


def _content_length(scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _size(limit: int) -> str:
    return f"{round(limit / 2**20, 2):g} MiB" if limit >= 2**20 else f"{limit} bytes"


async def _too_large(scope, send, limit: int) -> None:
    """413 with a short body (JSON ``detail`` under /api/), closing the connection: the rest is never read."""
    message = f"The request body is larger than {_size(limit)}, the limit here."
    if scope["path"].startswith("/api/"):
        body, content_type = json.dumps({"detail": message}).encode(), b"application/json"
    else:
        body, content_type = (message + "\n").encode(), b"text/plain; charset=utf-8"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    """ASGI middleware: body caps for HTTP (``max_body``, or ``body_caps[path]`` for those paths) and message
    caps for WebSockets (``ws_max_message`` bytes, or characters of text, a message; ``ws_messages_per_minute``
    messages, in a burst as well)."""

    def __init__(self, app, *, max_body: int, body_caps: dict[str, int], ws_max_message: int,
                 ws_messages_per_minute: int) -> None:  # fmt: skip
        self.app = app
        self.max_body = max_body
        self.body_caps = body_caps
        self.ws_max_message = ws_max_message
        self.ws_messages_per_minute = ws_messages_per_minute

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            return await self._http(scope, receive, send)
        if scope["type"] == "websocket":
            socket = _GuardedSocket(self, receive, send)
            return await self.app(scope, socket.receive, socket.send)
        return await self.app(scope, receive, send)

    async def _http(self, scope, receive, send):
        limit = self.body_caps.get(scope["path"], self.max_body)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            return await _too_large(scope, send, limit)
        received = 0
        over = started = False

        async def counted_receive():
            nonlocal received, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # The application sees the client go away (Django drops what it read); the 413 follows.
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def watched_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, watched_send)
        if over and not started:
            await _too_large(scope, send, limit)


class _GuardedSocket:
    """One WebSocket connection: closes it on an oversized message or once its message budget is spent (a token
    bucket refilled at ``ws_messages_per_minute``); the application then sees a disconnect."""

    def __init__(self, limits: RequestLimits, receive, send) -> None:
        self.limits = limits
        self._receive = receive
        self._send = send
        self.budget = float(limits.ws_messages_per_minute)
        self.refilled_at = time.monotonic()
        self.closed_with: int | None = None

    async def receive(self):
        if self.closed_with is not None:
            return {"type": "websocket.disconnect", "code": self.closed_with}
        message = await self._receive()
        if message["type"] != "websocket.receive":
            return message
        data = message.get("bytes") or message.get("text") or ""
        if len(data) > self.limits.ws_max_message:
            return await self._close(MESSAGE_TOO_BIG)
        if not self._spend():
            return await self._close(POLICY_VIOLATION)
        return message

    async def send(self, message):
        if self.closed_with is None:  # past our close, the application's late events have nowhere to go
            await self._send(message)

    def _spend(self) -> bool:
        now, rate = time.monotonic(), self.limits.ws_messages_per_minute
        self.budget = min(float(rate), self.budget + (now - self.refilled_at) * rate / 60)
        self.refilled_at = now
        if self.budget < 1:
            return False
        self.budget -= 1
        return True

    async def _close(self, code: int):
        self.closed_with = code
        await self._send({"type": "websocket.close", "code": code})
        return {"type": "websocket.disconnect", "code": code}
