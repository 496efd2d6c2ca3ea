"""Who is on the other end of a WebSocket, and may they connect from there (no cross-site
handshake on a victim's cookies, no socket outliving a logout or a revoked token).

Browsers authenticate with their session cookie, so the Origin must be one of ours (a cross-site page
would otherwise ride on the victim's cookies). Other clients send ``Authorization: Bearer <token>``, which
a browser cannot attach to a WebSocket, so for them the Origin is not needed.
"""

from urllib.parse import urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host

from accounts.tokens import live_token


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


def _bearer(scope) -> str:
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _origin_allowed(origin: str) -> bool:
    if not origin:
        return False
    host = urlsplit(origin).hostname or ""
    return validate_host(host, settings.ALLOWED_HOSTS) or origin in settings.CSRF_TRUSTED_ORIGINS


class StreamAuthMiddleware:
    """Bearer token -> that user (Origin not required); otherwise the session, from an allowed Origin only."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope, receive, send):
        token = _bearer(scope)
        if token:
            api_token = await database_sync_to_async(live_token)(token)
            if api_token is None:
                return await WebsocketDenier()(scope, receive, send)
            return await self.inner(dict(scope, user=api_token.user, token_id=api_token.pk), receive, send)
        if not _origin_allowed(_header(scope, b"origin")):
            return await WebsocketDenier()(scope, receive, send)
        return await self.session_stack(scope, receive, send)
