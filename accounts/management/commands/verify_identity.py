"""``manage.py verify_identity USERNAME KIND VALUE``: an administrator vouches for a handle Chorus cannot
check itself yet (X, fediverse, Bluesky, XMPP); it then counts for matching replies."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import IntegrityError

from accounts.identities import IdentityError, mark_verified


class Command(BaseCommand):
    help = "Mark USERNAME's handle KIND VALUE verified (kinds: x, fediverse, bluesky, xmpp, url)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("kind")
        parser.add_argument("value")

    def handle(self, *args, username: str, kind: str, value: str, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        try:
            identity = mark_verified(user_id=user.pk, kind=kind, value=value)
        except (IdentityError, IntegrityError) as error:
            raise CommandError(str(error) or "already verified by someone else") from error
        self.stdout.write(f"verified {identity.kind}:{identity.value} for {username}")
