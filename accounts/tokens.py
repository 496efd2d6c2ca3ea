"""API tokens: issue, check, revoke."""

import hashlib
import secrets

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from accounts.models import ApiToken
from aggregator.events import close_streams_on_commit, token_group

_PREFIX = "chorus_"


def secret_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(*, user: AbstractBaseUser, name: str = "") -> str:
    """Create a token and return its secret; the secret is shown once and never stored."""
    raw = _PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, name=name[:100], key_hash=secret_hash(raw), prefix=raw[len(_PREFIX):][:8])
    return raw


def looks_like_api_token(raw: str) -> bool:
    """Whether a bearer secret is one of ours by its form (anything else may be another scheme's, such as an
    OAuth token of a Mastodon app); says nothing about whether it is valid."""
    return raw.startswith(_PREFIX)


def user_for_token(raw: str) -> AbstractBaseUser | None:
    """The active user a live token belongs to, or None."""
    token = live_token(raw)
    return token.user if token else None


def live_token(raw: str) -> ApiToken | None:
    """The unrevoked token of an active user with this secret (its ``user`` loaded), or None."""
    if not raw or len(raw) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=secret_hash(raw), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)  # throttled: not one write per request
    return token


def revoke_token(*, user: AbstractBaseUser, token_id: int) -> bool:
    """Revoke one of the person's tokens; WebSockets opened with it are closed after the commit."""
    revoked = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(revoked_at=timezone.now())
    if revoked:
        close_streams_on_commit(group=token_group(token_id))
    return revoked == 1
