"""ASGI entry point: Django over HTTP, and the live stream over WebSocket at /ws/stream/, both behind the limits
on what a client may send (aggregator/transport.py). `serve` and the Procfile's web process run this object."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: they load models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from aggregator.following.follow_lists import MAX_IMPORT_BYTES  # noqa: E402
from aggregator.transport import RequestLimits  # noqa: E402
from timelines.routing import websocket_urlpatterns  # noqa: E402
from timelines.socket_auth import StreamAuthMiddleware  # noqa: E402

# A follow-list upload is the file plus the multipart framing and the form's other fields; never more than the
# cap of every other request.
MULTIPART_ROOM = 64 * 1024
IMPORT_BODY_CAP = min(MAX_IMPORT_BYTES + MULTIPART_ROOM, settings.CHORUS_MAX_REQUEST_BYTES)
IMPORT_PATHS = ("follow_list_import", "api:import_follow_list", "api:import_opml")

application = RequestLimits(
    ProtocolTypeRouter({
        "http": django_asgi_app,
        "websocket": StreamAuthMiddleware(URLRouter(websocket_urlpatterns)),
    }),
    max_body=settings.CHORUS_MAX_REQUEST_BYTES,
    body_caps={reverse(name): IMPORT_BODY_CAP for name in IMPORT_PATHS},
    ws_max_message=settings.CHORUS_WS_MAX_MESSAGE_BYTES,
    ws_messages_per_minute=settings.CHORUS_WS_MAX_MESSAGES_PER_MINUTE,
)  # fmt: skip
