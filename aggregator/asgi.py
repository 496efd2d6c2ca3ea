"""ASGI entry point: Django over HTTP, and the live stream over WebSocket at /ws/stream/."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: they load models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from timelines.routing import websocket_urlpatterns  # noqa: E402
from timelines.socket_auth import StreamAuthMiddleware  # noqa: E402

application = ProtocolTypeRouter({
    "http": django_asgi_app,
    "websocket": StreamAuthMiddleware(URLRouter(websocket_urlpatterns)),
})  # fmt: skip
