"""Receiving Webmentions (W3C): someone's page says it links to a person's profile or post here.

``receive`` (the endpoint's request) only checks the shape, the target and the source host's rate, and queues
the check; ``verify`` (a worker) fetches the source through the outbound guard: a source that links to the
target is stored as a post of its host's ``Source`` through ``pipeline.ingest``, so reply matching puts it in
the target's author's Replies, live, whoever they follow (blocks apply as to any reply). Sent again, it is
checked again: a changed page updates the post, a page that is gone (410) or no longer links retracts it. A
source that cannot be read for now (down, slow, a 5xx) is checked again after a back-off (``outbox``).
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone

from aggregator.content.sanitize import safe_url
from aggregator.db.rates import over_rate
from aggregator.fetch import FetchError, fetch
from aggregator.ingest.pipeline import ingest, retract
from aggregator.models import Source
from aggregator.networks import webmention
from publishing import addresses, outbox
from publishing.models import ReceivedWebmention

User = get_user_model()
State = ReceivedWebmention.State


class WebmentionRefused(ValueError):
    """The request is refused as it stands; the message says why, ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def receive(*, source: str, target: str) -> ReceivedWebmention:
    """Take a Webmention for checking. Raises ``WebmentionRefused``."""
    source_url, target_url = safe_url((source or "").strip()), safe_url((target or "").strip())
    if not source_url or not target_url or max(len(source_url), len(target_url)) > 2048:
        raise WebmentionRefused("source and target must both be http(s) URLs.")
    if source_url == target_url:
        raise WebmentionRefused("source and target are the same page.")
    owner = owner_of(target_url)
    if owner is None:
        raise WebmentionRefused("target is not a person's page on this hub.")
    host = (urlsplit(source_url).hostname or "").lower()
    if over_rate(f"webmention:{host}", limit=settings.CHORUS_WEBMENTION_PER_HOST_PER_MINUTE):
        raise WebmentionRefused(f"too many Webmentions from {host}; try again in a minute.", status=429)
    with transaction.atomic():
        row, _ = ReceivedWebmention.objects.update_or_create(
            source=source_url, target=target_url, defaults={"user": owner, "source_host": host,
                                                            "due_at": timezone.now(), "attempts": 0})  # fmt: skip
        outbox.queue(outbox.VERIFY_TASK, row.pk)
    return row


def endpoint_url() -> str:
    return addresses.absolute(reverse("webmention_endpoint"))


def owner_of(url: str) -> AbstractBaseUser | None:
    """The person whose profile or post page ``url`` is on this hub, or None."""
    base = addresses.base_url()
    if not url.startswith(base + "/"):
        return None
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    if match.url_name not in ("profile", "post_permalink"):
        return None
    return User.objects.filter(username=match.kwargs.get("username"), is_active=True).first()


def verify(*, webmention_id: int) -> str:
    """Check one received Webmention against its source; returns the state it ends in."""
    if not outbox.claim(ReceivedWebmention, webmention_id):
        return ""  # done already, or being done
    row = ReceivedWebmention.objects.get(pk=webmention_id)
    now = timezone.now()
    try:
        response = fetch(row.source, accept="text/html, application/xhtml+xml;q=0.9, */*;q=0.5")
    except FetchError as error:
        if error.status == 410:
            return _withdraw(row, reason="the source is gone (410)", now=now)
        if outbox.may_pass(error) and outbox.failed(ReceivedWebmention, row.pk, attempts=row.attempts + 1, retry=True,
                                                    last_error=str(error)[:500], checked_at=now):  # fmt: skip
            return row.state  # checked again after a back-off
        return _record(row, state=row.state if row.state == State.VERIFIED else State.REFUSED, error=str(error),
                       now=now)  # fmt: skip
    if not webmention.links_to(body=response.body, base_url=response.url, target=row.target):
        if row.state == State.VERIFIED:
            return _withdraw(row, reason="the source no longer links to the target", now=now)
        return _record(row, state=State.REFUSED, error="the source does not link to the target", now=now)
    entry = webmention.entry_of(body=response.body, url=row.source, target=row.target, fetched_at=now)
    with transaction.atomic():
        origin = origin_for(row.source)
        ingest(origin, [entry], fetched_at=now)
        ReceivedWebmention.objects.filter(pk=row.pk).update(origin=origin)
        return _record(row, state=State.VERIFIED, error="", now=now)


def origin_for(source_url: str) -> Source:
    """The ``Source`` that holds what pages of this host sent: never polled, followed by nobody."""
    parts = urlsplit(source_url)
    host = parts.netloc.lower()
    origin, _ = Source.objects.get_or_create(address=f"webmention:{host}", defaults={
        "kind": Source.Kind.RSS, "url": f"{parts.scheme}://{host}/", "site_url": f"{parts.scheme}://{host}/",
        "title": host, "status": Source.Status.OK, "next_poll_at": None})  # fmt: skip
    return origin


def _withdraw(row: ReceivedWebmention, *, reason: str, now) -> str:
    with transaction.atomic():
        if row.origin_id is not None:
            retract(row.origin, [row.source], at=now)
        return _record(row, state=State.DELETED, error=reason, now=now)


def _record(row: ReceivedWebmention, *, state: str, error: str, now) -> str:
    outbox.succeeded(ReceivedWebmention, row.pk, state=state, last_error=error[:500], checked_at=now)
    return state
