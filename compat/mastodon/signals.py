"""Revoking an OAuth access token (the app, the person under Settings, or expiry clean-up) closes the streams
it opened, as revoking one of our API tokens does."""

from django.db.models.signals import post_delete
from django.dispatch import receiver
from oauth2_provider.models import AccessToken

from aggregator.events import close_streams_on_commit
from compat.mastodon.streaming import oauth_group


@receiver(post_delete, sender=AccessToken)
def close_streams_of_revoked_token(sender, instance: AccessToken, **kwargs) -> None:
    close_streams_on_commit(group=oauth_group(instance.pk))
