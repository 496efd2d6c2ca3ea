"""A Bluesky account's picture: its profile from the public AppView (``app.bsky.actor.getProfile``, no sign-in),
since the profile's RSS feed names none."""

import json
from urllib.parse import urlencode

from django.conf import settings

from aggregator.content.sanitize import safe_url
from aggregator.fetch import FetchError, fetch

MAX_PROFILE_BYTES = 64 * 1024
DEADLINE = 5.0


def avatar_url(actor: str) -> str:
    """The avatar of ``actor`` (a handle without ``@``, or a DID) as an http(s) URL; "" when it has none or the
    AppView cannot be asked (a picture is never a reason to fail a follow)."""
    query = urlencode({"actor": actor})
    url = f"{settings.CHORUS_BLUESKY_API.rstrip('/')}/xrpc/app.bsky.actor.getProfile?{query}"
    try:
        response = fetch(url, accept="application/json", max_bytes=MAX_PROFILE_BYTES, deadline=DEADLINE)
        profile = json.loads(response.body)
    except (FetchError, ValueError):
        return ""
    avatar = profile.get("avatar") if isinstance(profile, dict) else None
    return safe_url(avatar) if isinstance(avatar, str) else ""
