"""Poll one source: fetch, parse, store, record the outcome, schedule the next poll.

This is the service the worker's task and the "refresh now" button both call. One source failing in any
way only changes that source's status, never another source's.
"""

import logging
import random
import re
from dataclasses import dataclass, replace
from datetime import timedelta

from django.db.models import F
from django.utils import timezone

from aggregator import jobs
from aggregator.content.entry import Entry
from aggregator.content.xmlsafety import UnsafeXML
from aggregator.events import send_on_commit
from aggregator.fetch import FetchError, FetchResult, fetch
from aggregator.ingest import push, scheduler, websub
from aggregator.ingest.pipeline import ingest, ingest_feed
from aggregator.ingest.store import StoreResult
from aggregator.models import Source, Subscription
from aggregator.networks import x
from aggregator.networks.rss import NotAFeed, parse
from aggregator.networks.websub import discover as websub_links
from timelines.serializers import source_status_json

log = logging.getLogger(__name__)

X_MAX_PAGES = 5  # 500 posts of one X account between two polls; older ones beyond that are skipped
REDIRECT_CONFIRMATIONS = 2  # a 301/308 is stored only once it has been seen this many polls in a row
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_EWMA = 0.5
FAILING_TOLD_AFTER = timedelta(days=1)  # followers' destinations hear of a source failing this long
_POLL_STATE_FIELDS = [
    "title", "site_url", "description", "status", "etag", "last_modified", "last_fetch_at", "last_success_at",
    "next_poll_at", "lease_until", "error_count", "last_error", "last_status_code", "url",
    "pending_redirect_url", "pending_redirect_count", "posts_per_day",
]  # fmt: skip


@dataclass
class PollOutcome:
    status: str  # "stored", "not_modified", "error", "gone", "missing", "resync" (XMPP: items fetched again),
    # "rate_limited" (X: the shared budget is spent; due again after its reset)
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
    if source.kind == Source.Kind.XMPP:
        outcome = _resync_node(source)
    elif source.kind == Source.Kind.X:
        outcome = _poll_x(source)
    else:
        outcome = _poll(source)
    _announce_health_change(source_id=source_id, before=health_before)
    if outcome.status in ("stored", "not_modified") and source.picture_due(timezone.now()):
        jobs.enqueue_on_commit("aggregator.tasks.learn_source_picture", source_id)
    if outcome.status in ("error", "gone"):
        _tell_if_failing_long(source_id=source_id)
    return outcome


def _tell_if_failing_long(*, source_id: int) -> None:
    """Followers who asked are told of a source failing for a day (the job tells each run of failures once)."""
    since = Source.objects.filter(pk=source_id).values_list("last_success_at", "created_at").first()
    if since and (since[0] or since[1]) <= timezone.now() - FAILING_TOLD_AFTER:
        jobs.enqueue_on_commit("replies.tasks.notify_source_failing", source_id)


def _announce_health_change(*, source_id: int, before: tuple[str, str]) -> None:
    """One small read per poll; the source and its followers are loaded only when its health changed."""
    after = Source.objects.filter(pk=source_id).values_list("status", "last_error").first()
    if after is None or tuple(after) == before:
        return
    source = Source.objects.get(pk=source_id)
    followers = Subscription.objects.filter(source_id=source_id).values_list("user_id", flat=True)
    send_on_commit(user_ids=followers, event={"type": "source.status", "source": source_status_json(source)})


def _resync_node(source: Source) -> PollOutcome:
    """An XMPP node is not fetched over HTTP: its "poll" asks the listener to fetch the node's items again."""
    push.request_history(source_id=source.pk)
    Source.objects.filter(pk=source.pk).update(
        next_poll_at=timezone.now() + scheduler.xmpp_resync_interval(), lease_until=None
    )
    return PollOutcome(status="resync")


def _poll_x(source: Source) -> PollOutcome:
    """An X account: its posts after the newest one seen, through the X API and the shared rate budget.

    A spent budget is no error of this source: it is simply due again after the budget's reset.
    """
    now = timezone.now()
    try:
        response, entries, newest_id = _fetch_x_posts(source)
    except x.XRateLimited as error:
        Source.objects.filter(pk=source.pk).update(
            next_poll_at=now + timedelta(seconds=error.retry_after + random.uniform(1, 30)), lease_until=None
        )
        return PollOutcome(status="rate_limited", error=str(error))
    except (x.XNotConfigured, x.BadXResponse) as error:
        return _record_error(source, error=str(error), status_code=None, permanent=True)
    except FetchError as error:
        return _record_error(source, error=f"X API: {error}", status_code=error.status, permanent=error.permanent,
                             retry_after=error.retry_after)  # fmt: skip
    try:
        stored = ingest(source, entries, fetched_at=now)
    except Exception as error:  # as in _poll: record it, retry later
        log.exception("storing posts of X source %s failed", source.pk)
        return _record_error(source, error=f"internal error while storing posts: {type(error).__name__}",
                             status_code=response.status, permanent=False)  # fmt: skip
    if newest_id:
        Source.objects.filter(pk=source.pk).update(poll_cursor=newest_id)
    posts_per_day = scheduler.observed_posts_per_day(entries, now=now)
    _record_success(source, response, posts_per_day=posts_per_day, now=now)
    return PollOutcome(status="stored", stored=stored)


def _fetch_x_posts(source: Source) -> tuple[FetchResult, list[Entry], str]:
    """Every post since the newest seen (up to ``X_MAX_PAGES`` pages); the first poll takes one page.

    Returns the last response, the entries and the newest post id. A rate limit midway loses nothing: the
    cursor has not moved, so the next poll asks again from the same ``since_id``.
    """
    author = x.XUser(id=source.remote_id, username=x.profile_username(source.url), name=source.title)
    entries: list[Entry] = []
    newest_id = token = ""
    for _ in range(X_MAX_PAGES):
        response = x.fetch_user_posts(source.remote_id, since_id=source.poll_cursor, pagination_token=token)
        page = x.parse_posts(response.body, author=author)
        entries += page.entries
        newest_id, token = newest_id or page.newest_id, page.next_token
        if not token or not source.poll_cursor:
            break
    else:
        log.info("X source %s: over %d pages of new posts; the oldest were skipped", source.pk, X_MAX_PAGES)
    return response, entries, newest_id


def _poll(source: Source) -> PollOutcome:
    now = timezone.now()
    push_covered = push.push_covers(source, now=now)
    try:
        response = fetch(source.url, etag=source.etag, last_modified=source.last_modified)
    except FetchError as error:
        return _record_error(source, error=str(error), status_code=error.status, permanent=error.permanent,
                             retry_after=error.retry_after, gone=error.status == 410)  # fmt: skip
    if response.not_modified:
        _record_success(source, response, posts_per_day=None, now=now, push_covered=push_covered)
        return PollOutcome(status="not_modified")
    try:
        feed = parse(response.body, base_url=response.url, content_type=response.headers.get("content-type", ""))
    except (NotAFeed, UnsafeXML) as error:
        return _record_error(source, error=str(error), status_code=response.status, permanent=True)
    entries = feed.entries
    if source.remote_id:  # one account's feed (fediverse, Bluesky): the posts are that account's
        entries = [e if e.author_handle else replace(e, author_handle=source.remote_id) for e in entries]
    try:
        stored = ingest_feed(source, feed, entries=entries, fetched_at=now)
    except Exception as error:  # a bug or a database fault must not wedge the source: record it, retry later
        log.exception("storing entries of source %s failed", source.pk)
        return _record_error(source, error=f"internal error while storing posts: {type(error).__name__}",
                             status_code=response.status, permanent=False)  # fmt: skip
    if feed.info.title:
        source.title = feed.info.title[:500]
    source.site_url = feed.info.site_url[:2048] or source.site_url
    source.description = feed.info.description
    if not source.push_jid:  # a feed that names its XMPP node (Atom <link rel=alternate href=xmpp:...>)
        push.adopt_push_node(source_id=source.pk, xmpp_uri=feed.info.xmpp_uri)
    websub.adopt_hub(source_id=source.pk, links=websub_links(response.body, url=response.url, headers=response.headers))
    if push_covered and stored.created:
        log.info("source %s: the safety-net poll found %d posts the pushes missed", source.pk, len(stored.created))
        push.record_missed_posts(source_id=source.pk, count=len(stored.created))
    _record_success(source, response, posts_per_day=scheduler.observed_posts_per_day(feed.entries, now=now), now=now,
                    push_covered=push_covered and not stored.created)  # fmt: skip
    return PollOutcome(status="stored", stored=stored)


def _cache_max_age(response: FetchResult) -> timedelta | None:
    match = _MAX_AGE.search(response.headers.get("cache-control", ""))
    return timedelta(seconds=int(match.group(1))) if match else None


def _follow_permanent_redirect(source: Source, response: FetchResult) -> None:
    """301/308 move the source only once repeated, never on a one-off; the fetch already vetted the target."""
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


def _record_success(source: Source, response: FetchResult, *, posts_per_day: float | None, now,
                    push_covered: bool = False) -> None:  # fmt: skip
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
    if push_covered:  # pushes carry this source: the poll is only the safety net
        delay = max(delay, push.SAFETY_NET_INTERVAL)
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
