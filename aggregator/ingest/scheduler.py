"""Who is due, who polls it, and when to poll next.

Claims are conditional updates, so two workers (or the scheduler and a "refresh now") never poll the same
source at once. A claim is a lease: a worker killed mid-poll leaves the source to be claimed again later.
"""

import math
import random
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from aggregator.content.entry import Entry
from aggregator.models import Source, Subscription

LEASE = timedelta(minutes=5)  # longer than the poll task's hard time limit
FIRST_INTERVAL = timedelta(hours=1)
PERMANENT_ERROR_FLOOR = timedelta(hours=1)
JITTER = 0.1


def _bounds() -> tuple[timedelta, timedelta]:
    return (timedelta(seconds=settings.CHORUS_POLL_MIN_SECONDS), timedelta(seconds=settings.CHORUS_POLL_MAX_SECONDS))


def _clamp(delay: timedelta) -> timedelta:
    low, high = _bounds()
    return max(low, min(high, delay))


def _jitter(delay: timedelta) -> timedelta:
    """Spread polls out so sources added together do not stay in lock-step."""
    return delay * random.uniform(1 - JITTER, 1 + JITTER)


def _free(now: datetime) -> Q:
    """Nobody holds the lease (or its holder ran out of time)."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


# Due sources in turns across people: each person's due sources are numbered by how long they have waited,
# and every person's first turn comes before anyone's second, so one person's thousands of due sources never
# push another's few behind them. A source followed by several people is taken once, at its earliest turn; one
# nobody follows any more (still due for a last poll) is "nobody's" and takes turns like a person. Only due
# sources are read (source_due_idx), then their followers (the subscriptions' source index).
_DUE_IN_TURNS = """
    WITH due AS (
        SELECT s.id, s.next_poll_at,
               ROW_NUMBER() OVER (PARTITION BY sub.user_id ORDER BY s.next_poll_at, s.id) AS turn
        FROM {source} s LEFT JOIN {subscription} sub ON sub.source_id = s.id
        WHERE s.next_poll_at <= %s AND (s.lease_until IS NULL OR s.lease_until < %s)
    )
    SELECT id FROM due GROUP BY id ORDER BY MIN(turn), MIN(next_poll_at), id LIMIT %s
"""


def claim_due_sources(*, limit: int = 100, now: datetime | None = None) -> list[int]:
    """Claim up to ``limit`` due sources, taking turns across the people who follow them (see ``_DUE_IN_TURNS``);
    returns the ids this caller now holds."""
    now = now or timezone.now()
    sql = _DUE_IN_TURNS.format(source=Source._meta.db_table, subscription=Subscription._meta.db_table)
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM writes it (SQLite keeps text)
    with connection.cursor() as cursor:
        cursor.execute(sql, [at, at, limit])
        candidates = [row[0] for row in cursor.fetchall()]
    return [source_id for source_id in candidates if claim_source(source_id=source_id, now=now, due_only=True)]


def claim_source(*, source_id: int, now: datetime | None = None, due_only: bool = False) -> bool:
    """Take the lease on one source. False if someone else holds it (or, with ``due_only``, it is not due)."""
    now = now or timezone.now()
    query = Source.objects.filter(pk=source_id).filter(_free(now))
    if due_only:
        query = query.filter(next_poll_at__lte=now)
    return query.update(lease_until=now + LEASE) == 1


def observed_posts_per_day(entries: Iterable[Entry], *, now: datetime) -> float | None:
    """Posting rate seen in a feed's window of dated entries, or None when the window says nothing."""
    dates = sorted(e.published for e in entries if e.published and e.published <= now)
    if len(dates) < 2:
        return None
    span_days = max((now - dates[0]).total_seconds() / 86400, 1 / 24)
    return len(dates) / span_days


def next_poll_delay(*, posts_per_day: float, subscribers: int, min_delay: timedelta | None = None) -> timedelta:
    """Adaptive interval: about one new post per poll, sooner for sources many people follow.

    Clamped to the configured bounds; ``min_delay`` is what the server asked for (Cache-Control max-age).
    """
    delay = timedelta(days=1) / posts_per_day if posts_per_day > 0 else _bounds()[1]
    delay = delay / (1 + math.log10(max(subscribers, 1)))
    delay = _clamp(_jitter(delay))
    if min_delay:
        delay = max(delay, min(min_delay, _bounds()[1]))
    return delay


def xmpp_resync_interval() -> timedelta:
    """How often an XMPP node's items are fetched again although pushes arrive (the safety net)."""
    return _jitter(timedelta(seconds=settings.CHORUS_XMPP_RESYNC_SECONDS))


def error_delay(*, error_count: int, permanent: bool, retry_after: float | None) -> timedelta:
    """Exponential backoff for failures; permanent errors start from an hour; Retry-After is obeyed."""
    low, high = _bounds()
    floor = max(low, PERMANENT_ERROR_FLOOR) if permanent else low
    delay = min(high, floor * (2 ** min(max(error_count - 1, 0), 16)))
    delay = _jitter(delay)
    if retry_after:
        delay = max(delay, timedelta(seconds=min(retry_after, 7 * 86400)))
    return delay
