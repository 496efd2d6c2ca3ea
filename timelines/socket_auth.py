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
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.utils.http import is_same_domain

from accounts.tokens import live_token


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


def _bearer(scope) -> str:
    scheme, _, token = _header(scope, b"authorization").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class _Handshake(HttpRequest):
    """The handshake as Django sees a request: its headers, and http(s) for ws(s) (``scheme`` then honours
    SECURE_PROXY_SSL_HEADER, i.e. X-Forwarded-Proto behind the TLS proxy)."""

    def __init__(self, scope) -> None:
        super().__init__()
        server_name, server_port = scope.get("server") or ("unknown", "0")  # as Django's ASGIRequest reads it
        self.META = {"SERVER_NAME": str(server_name), "SERVER_PORT": str(server_port)}
        self.META.update({"HTTP_" + name.decode("latin1").upper().replace("-", "_"): value.decode("latin1")
                          for name, value in scope.get("headers", [])})  # fmt: skip
        self._secure_socket = scope.get("scheme") == "wss"

    def _get_scheme(self) -> str:
        return "https" if self._secure_socket else "http"


def _origin_allowed(scope) -> bool:
    """Django's CSRF origin check (``CsrfViewMiddleware``): the Origin is exactly the scheme, host and port the
    handshake came to (the host one of ALLOWED_HOSTS), or one of CSRF_TRUSTED_ORIGINS (``*.`` wildcards too)."""
    origin = _header(scope, b"origin")
    if not origin:
        return False
    request = _Handshake(scope)
    try:
        if origin == f"{request.scheme}://{request.get_host()}":
            return True
    except DisallowedHost:
        pass
    if origin in settings.CSRF_TRUSTED_ORIGINS:
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(is_same_domain(parsed.netloc, trusted.netloc.removeprefix("*"))
               for trusted in map(urlsplit, settings.CSRF_TRUSTED_ORIGINS)
               if "*" in trusted.netloc and trusted.scheme == parsed.scheme)  # fmt: skip


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
        if not _origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        return await self.session_stack(scope, receive, send)
