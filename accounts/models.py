"""A person's ways in (API tokens; sign-in itself is allauth's) and who they are elsewhere (``Identity``).

``Identity``: a handle a person says is theirs. Only a verified identity is used for matching, and a verified
``(kind, value)`` belongs to one person only; an unverified one is shown as such.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class HashedSecret(models.Model):
    """A secret a person hands to a client; only a hash of it is stored."""

    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="first characters, to tell tokens apart in lists")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"


class ApiToken(HashedSecret):
    """A Bearer token for the JSON API and WebSocket clients."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")


class AppPassword(HashedSecret):
    """A password for one app (a Google Reader client), so people who sign in with OpenID can use apps too.
    Accepted only where apps sign in, never on the sign-in page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_passwords")


class Identity(models.Model):
    class Kind(models.TextChoices):
        X = "x", "X (Twitter) @name"
        FEDIVERSE = "fediverse", "Mastodon / fediverse @user@host"
        BLUESKY = "bluesky", "Bluesky handle"
        XMPP = "xmpp", "XMPP address (JID)"
        URL = "url", "blog or profile URL"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=2048, help_text="normalized: lowercased handle, bare JID, normalized URL")
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # XMPP: a code sent to the JID by the hub's account, entered back by the person (only its hash is kept)
    code_hash = models.CharField(max_length=64, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        db_table = "replies_identity"  # made by the replies app, before identities were the account's
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "value"], name="one_identity_per_handle"),
            models.UniqueConstraint(fields=["kind", "value"], name="one_owner_per_verified_handle",
                                    condition=Q(verified=True)),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}{'' if self.verified else ' (unverified)'}"
