"""Poll one source: fetch, parse, store, record the outcome, schedule the next poll.

This is the service the worker's task and the "refresh now" button both call. One source failing in any
way only changes that source's status (HOSTILE.md 37).
"""

import logging
import re
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from timelines.events import send_on_commit
from timelines.serializers import source_status_json

from . import scheduler
from .fetch import FetchError, FetchResult, fetch
from .ingest import StoreResult, store_entries
from .models import Source, Subscription
from .networks.rss import NotAFeed, parse
from .xmlsafety import UnsafeXML

log = logging.getLogger(__name__)

REDIRECT_CONFIRMATIONS = 2  # a 301/308 is stored only once it has been seen this many polls in a row
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_EWMA = 0.5
_POLL_STATE_FIELDS = [
    "title", "site_url", "description", "status", "etag", "last_modified", "last_fetch_at", "last_success_at",
    "next_poll_at", "lease_until", "error_count", "last_error", "last_status_code", "url",
    "pending_redirect_url", "pending_redirect_count", "posts_per_day",
]  # fmt: skip


@dataclass
class PollOutcome:
    status: str  # "stored", "not_modified", "error", "gone", "missing"
    stored: StoreResult | None = None
    error: str = ""


def poll_source(*, source_id: int) -> PollOutcome:
    """Poll one source now and release its lease. The caller should hold the lease (see ``scheduler``).

    Followers' open pages hear of it (``source.status``) when the source's health changed.
    """
    source = Source.objects.filter(pk=source_id).first()
    if source is None:
        return PollOutcome(status="missing")
    health_before = (source.status, source.last_error)
    outcome = _poll(source)
    _announce_health_change(source_id=source_id, before=health_before)
    return outcome


def _announce_health_change(*, source_id: int, before: tuple[str, str]) -> None:
    """One small read per poll; the source and its followers are loaded only when its health changed."""
    after = Source.objects.filter(pk=source_id).values_list("status", "last_error").first()
    if after is None or tuple(after) == before:
        return
    source = Source.objects.get(pk=source_id)
    followers = Subscription.objects.filter(source_id=source_id).values_list("user_id", flat=True)
    send_on_commit(user_ids=followers, event={"type": "source.status", "source": source_status_json(source)})


def _poll(source: Source) -> PollOutcome:
    now = timezone.now()
    try:
        response = fetch(source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as error:
        return _record_error(source, error=str(error), status_code=error.status, permanent=error.permanent,
                             retry_after=error.retry_after, gone=error.status == 410)  # fmt: skip
    if response.not_modified:
        _record_success(source, response, posts_per_day=None, now=now)
        return PollOutcome(status="not_modified")
    try:
        feed = parse(response.body, base_url=response.url, content_type=response.headers.get("content-type", ""))
    except (NotAFeed, UnsafeXML) as error:
        return _record_error(source, error=str(error), status_code=response.status, permanent=True)
    try:
        stored = store_entries(source, feed.entries, fetched_at=now)
    except Exception as error:  # a bug or a database fault must not wedge the source: record it, retry later
        log.exception("storing entries of source %s failed", source.pk)
        return _record_error(source, error=f"internal error while storing posts: {type(error).__name__}",
                             status_code=response.status, permanent=False)  # fmt: skip
    if feed.info.title:
        source.title = feed.info.title[:500]
    source.site_url = feed.info.site_url[:2048] or source.site_url
    source.description = feed.info.description
    _record_success(source, response, posts_per_day=scheduler.observed_posts_per_day(feed.entries, now=now), now=now)
    return PollOutcome(status="stored", stored=stored)


def _cache_max_age(response: FetchResult) -> timedelta | None:
    match = _MAX_AGE.search(response.headers.get("cache-control", ""))
    return timedelta(seconds=int(match.group(1))) if match else None


def _follow_permanent_redirect(source: Source, response: FetchResult) -> None:
    """301/308 move the source only after repeating (HOSTILE.md 38); the fetch already vetted the target."""
    target = response.permanent_redirect
    if not target or target == source.url:
        source.pending_redirect_url, source.pending_redirect_count = "", 0
        return
    if target == source.pending_redirect_url:
        source.pending_redirect_count += 1
    else:
        source.pending_redirect_url, source.pending_redirect_count = target, 1
    if source.pending_redirect_count >= REDIRECT_CONFIRMATIONS:
        log.info("source %s moved permanently: %s -> %s", source.pk, source.url, target)
        source.url = target
        source.pending_redirect_url, source.pending_redirect_count = "", 0


def _record_success(source: Source, response: FetchResult, *, posts_per_day: float | None, now) -> None:
    if posts_per_day is not None:
        previous = source.posts_per_day
        source.posts_per_day = posts_per_day if previous <= 0 else _EWMA * posts_per_day + (1 - _EWMA) * previous
    _follow_permanent_redirect(source, response)
    if not response.not_modified:
        source.etag = response.headers.get("etag", "")[:500]
        source.last_modified = response.headers.get("last-modified", "")[:100]
    subscribers = source.subscriptions.count()
    delay = scheduler.next_poll_delay(posts_per_day=source.posts_per_day, subscribers=subscribers,
                                      min_delay=_cache_max_age(response))  # fmt: skip
    source.status = Source.Status.OK
    source.last_status_code = response.status
    source.error_count = 0
    source.last_error = ""
    source.last_fetch_at = source.last_success_at = now
    source.next_poll_at = now + delay
    source.lease_until = None
    source.save(update_fields=_POLL_STATE_FIELDS)


def _record_error(source: Source, *, error: str, status_code: int | None, permanent: bool,
                  retry_after: float | None = None, gone: bool = False) -> PollOutcome:  # fmt: skip
    now = timezone.now()
    error_count = source.error_count + 1
    if gone:
        next_poll_at, status = None, Source.Status.GONE
    else:
        delay = scheduler.error_delay(error_count=error_count, permanent=permanent, retry_after=retry_after)
        next_poll_at, status = now + delay, Source.Status.ERROR
    kind = "permanent" if permanent else "transient"
    log.info("source %s poll failed (%s): %s", source.pk, kind, error)
    Source.objects.filter(pk=source.pk).update(
        status=status, error_count=F("error_count") + 1, last_error=f"{error} ({kind})"[:2000],
        last_error_at=now, last_fetch_at=now, last_status_code=status_code, next_poll_at=next_poll_at,
        lease_until=None,
    )  # fmt: skip
    return PollOutcome(status="gone" if gone else "error", error=error)
