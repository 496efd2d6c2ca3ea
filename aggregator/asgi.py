"""ASGI entry point: Django over HTTP (but hubs' WebSub deliveries, taken in front of it by
``websub_callback.LeanDeliveries``), the live stream over WebSocket at /ws/stream/ and Mastodon's at
/api/v1/streaming, all behind the limits on what a client may send (aggregator/transport.py). `serve` and the
Procfile's web process run this object."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
# The web process borrows database connections from a pool of at most DB_POOL_MAX_SIZE (10) on PostgreSQL, and
# otherwise closes its connection at the end of each request (DB_CONN_MAX_AGE=0), unless told otherwise; workers
# and beat keep theirs (60 s, settings.py). Under ASGI Django runs each request's sync code in a thread of its own,
# and persistent connections stay with those threads: at 100 requests/s one uvicorn process held ~96 PostgreSQL
# connections and the server (max_connections 100) refused everyone else (bench/websub.py); Django's documentation
# says to disable persistent connections under ASGI. A pool bounds them per process (every web process together
# must fit under max_connections) and saves each request's connect and PostgreSQL's new backend. This only has
# effect where this module loads Django (uvicorn); `serve` has read its settings already.
if "DB_CONN_MAX_AGE" not in os.environ:  # persistent connections asked for explicitly: no pool (they exclude it)
    os.environ.setdefault("DB_POOL_MAX_SIZE", "10")
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: they load models.
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import reverse  # noqa: E402

from aggregator import garbage  # noqa: E402
from aggregator.following.follow_lists import MAX_IMPORT_BYTES  # noqa: E402
from aggregator.following.websub_callback import LeanDeliveries  # noqa: E402
from aggregator.transport import RequestLimits  # noqa: E402
from compat.mastodon.stream_views import MastodonStreamConsumer  # noqa: E402
from timelines.routing import websocket_urlpatterns  # noqa: E402
from timelines.socket_auth import StreamAuthMiddleware  # noqa: E402

# A follow-list upload is the file plus the multipart framing and the form's other fields; never more than the
# cap of every other request.
MULTIPART_ROOM = 64 * 1024
IMPORT_BODY_CAP = min(MAX_IMPORT_BYTES + MULTIPART_ROOM, settings.CHORUS_MAX_REQUEST_BYTES)
IMPORT_PATHS = ("follow_list_import", "api:import_follow_list", "api:import_opml")

chorus_sockets = StreamAuthMiddleware(URLRouter(websocket_urlpatterns))
mastodon_sockets = MastodonStreamConsumer.as_asgi()


async def sockets(scope, receive, send):
    """Mastodon apps authenticate their sockets by token only (any Origin, no cookies); ours as before."""
    app = mastodon_sockets if scope["path"].rstrip("/") == "/api/v1/streaming" else chorus_sockets
    return await app(scope, receive, send)


application = RequestLimits(
    ProtocolTypeRouter({
        "http": LeanDeliveries(django_asgi_app),
        "websocket": sockets,
    }),
    max_body=settings.CHORUS_MAX_REQUEST_BYTES,
    body_caps={reverse(name): IMPORT_BODY_CAP for name in IMPORT_PATHS},
    ws_max_message=settings.CHORUS_WS_MAX_MESSAGE_BYTES,
    ws_messages_per_minute=settings.CHORUS_WS_MAX_MESSAGES_PER_MINUTE,
)  # fmt: skip

garbage.settle()  # what the process keeps is loaded now: out of the collector's sight (aggregator/garbage.py)
