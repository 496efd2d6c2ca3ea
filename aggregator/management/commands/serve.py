"""``python manage.py serve``: the whole hub in one process (web, worker, scheduler, XMPP listener)."""

import uvicorn
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from aggregator.networks.xmpp.client import Settings
from aggregator.runtime.embedded import EmbeddedScheduler
from aggregator.runtime.xmpp_listener import ListenerThread


class Command(BaseCommand):
    help = "Run the embedded hub: web server, worker, scheduler and XMPP listener in one process."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-migrate", action="store_true", help="do not apply migrations first")
        parser.add_argument("--poll-interval", type=float, default=5.0, help="seconds between scheduler ticks")

    def handle(self, *args, host: str, port: int, no_migrate: bool, poll_interval: float, **options):
        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)
        scheduler = EmbeddedScheduler(interval=poll_interval)
        scheduler.start()
        xmpp_settings = Settings.from_django()
        listener = ListenerThread(xmpp_settings) if xmpp_settings else None
        if listener:
            listener.start()
        self.stdout.write(f"Chorus is running at http://{host}:{port}/ (Ctrl-C stops it)")
        try:
            # The same application and message cap as the Procfile's web process (aggregator/asgi.py).
            uvicorn.run("aggregator.asgi:application", host=host, port=port, lifespan="off", log_level="info",
                        ws_max_size=settings.CHORUS_WS_MAX_MESSAGE_BYTES)
        finally:
            scheduler.stop()
            if listener:
                listener.stop()
