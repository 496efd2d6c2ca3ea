"""``python manage.py xmpp_listen``: the hub's XMPP session (the Procfile's ``xmpp`` process)."""

from django.core.management.base import BaseCommand, CommandError

from aggregator.networks.xmpp.client import Settings
from aggregator.runtime.xmpp_listener import run_listener


class Command(BaseCommand):
    help = "Hold the hub's XMPP session: subscribe to followed nodes, hand pushed items to the worker."

    def add_arguments(self, parser):
        parser.add_argument("--sync-interval", type=float, default=2.0,
                            help="seconds between checks for newly followed or unfollowed nodes")  # fmt: skip

    def handle(self, *args, sync_interval: float, **options):
        settings = Settings.from_django()
        if settings is None:
            raise CommandError("XMPP is not configured: set CHORUS_XMPP_JID and CHORUS_XMPP_PASSWORD")
        settings = Settings(**{**settings.__dict__, "sync_interval": sync_interval})
        self.stdout.write(f"XMPP listener for {settings.jid} (Ctrl-C stops it)")
        run_listener(settings)
