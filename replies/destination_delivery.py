"""What reaches a person's destinations, and its sending. Runs in worker tasks only (``replies.tasks``).

- ``tell_*`` turn an event (replies, track matches, a source failing for a day, an import done) into one
  ``DestinationMessage`` per destination that wants it, due now, at the end of the person's quiet hours, or at
  the track's digest slot (hourly, or the person's daily digest hour); then a send is queued.
- ``send_to(destination_ids=)`` sends what is due: a destination's due messages fold into one message, claimed
  first (a lease, ``SELECT ... FOR UPDATE SKIP LOCKED``) so two workers never send them twice. Limits per
  destination, per person and per remote host leave the rest due (the next sweep folds them). A failed send
  moves the messages on with an exponential back-off; ``CHORUS_NOTIFY_PAUSE_AFTER`` failures in a row pause
  the destination with the reason, and its messages wait for the person to resume it.
- ``send_due()`` is the periodic sweep (Celery beat, the embedded scheduler).
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from aggregator import jobs
from aggregator.db import backoff as db_backoff
from aggregator.models import FollowImport, Post, Source, Subscription
from aggregator.networks import apprise_send
from replies.destinations import Event, wanting
from replies.models import Destination, DestinationMessage, NotificationSettings
from replies.notification_settings import digest_slot, quiet_until
from timelines.blocks import blocks_of

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
MAX_PER_MESSAGE = 20
FAILING_FOR = timedelta(days=1)
MAX_BACKOFF = timedelta(hours=6)
EXCERPT = 280


def tell_replies(*, found: list[tuple[int, int, str]]) -> int:
    """``(user id, post id, reason)`` of new replies."""
    people = wanting(event=Event.REPLY, user_ids={user_id for user_id, _, _ in found})
    posts = _visible_posts(found=[(user_id, post_id) for user_id, post_id, _ in found if user_id in people])
    queued = 0
    for user_id, post_id, reason in found:
        post = posts.get((user_id, post_id))
        if post is not None:
            verb = "answers you" if reason == "reply" else "mentions you"
            queued += _queue(user_id=user_id, event=Event.REPLY, key=f"reply:{post_id}",
                             title=f"{_author(post)} {verb}", body=_excerpt(post), link=_hub_link("/replies/", post))  # fmt: skip
    return queued


def tell_track_matches(*, found: list[tuple[int, int, int, str, str]]) -> int:
    """``(user id, post id, track id, its query, its alert)`` of new matches; the alert (each, hourly, daily)
    says now or in a digest. (Tracks hand them over whole: replies and tracks never import each other.)"""
    people = wanting(event=Event.TRACK, user_ids={user_id for user_id, *_ in found})
    posts = _visible_posts(found=[(user_id, post_id) for user_id, post_id, *_ in found if user_id in people])
    queued = 0
    for user_id, post_id, track_id, query, alert in found:
        post = posts.get((user_id, post_id))
        if post is not None:
            queued += _queue(user_id=user_id, event=Event.TRACK, key=f"track:{post_id}", digest=alert,
                             title=f"“{query}”: {_author(post)}", body=_excerpt(post),
                             link=_hub_link(f"/tracks/{track_id}/", post))  # fmt: skip
    return queued


def tell_source_failing(*, source_id: int, now: datetime | None = None) -> int:
    """A source failing since its last success (or since it was added) at least a day ago: told once per
    run of failures."""
    now = now or timezone.now()
    source = Source.objects.filter(pk=source_id, status__in=[Source.Status.ERROR, Source.Status.GONE]).first()
    if source is None:
        return 0
    since = source.last_success_at or source.created_at
    if since > now - FAILING_FOR:
        return 0
    followers = Subscription.objects.filter(source_id=source_id).values_list("user_id", flat=True)
    queued = 0
    for user_id in wanting(event=Event.SOURCE_FAILING, user_ids=followers):
        queued += _queue(user_id=user_id, event=Event.SOURCE_FAILING, key=f"failing:{source_id}:{since.timestamp()}",
                         title=f"{source.title or source.url} has been failing since {since:%Y-%m-%d %H:%M} UTC",
                         body=source.last_error, link=_hub_link(f"/sources/{source_id}/"))  # fmt: skip
    return queued


def tell_import_done(*, import_id: int) -> int:
    job = FollowImport.objects.filter(pk=import_id, status__in=[FollowImport.Status.DONE, FollowImport.Status.FAILED]).first()
    if job is None or not wanting(event=Event.IMPORT_DONE, user_ids=[job.user_id]):
        return 0
    done = job.status == FollowImport.Status.DONE
    return _queue(user_id=job.user_id, event=Event.IMPORT_DONE, key=f"import:{import_id}",
                  title="Your follow-list import finished" if done else "Your follow-list import failed",
                  body=_import_summary(job) if done else job.error, link=_hub_link(f"/subscriptions/imports/{import_id}/"))  # fmt: skip


def _import_summary(job: FollowImport) -> str:
    counts = [f"{len(getattr(job, name, None) or [])} {label}" for name, label in
              (("followed", "followed"), ("already_followed", "already followed"), ("failed", "failed"))]  # fmt: skip
    return ", ".join(counts)


def _queue(*, user_id: int, event: str, key: str, title: str, body: str, link: str, digest: str = "each") -> int:
    destinations = [d for d in Destination.objects.filter(user_id=user_id, paused_at__isnull=True) if event in d.events]
    if not destinations:
        return 0
    due = _due_at(user_id=user_id, digest=digest, now=timezone.now())
    rows = [DestinationMessage(destination=d, event=event, key=key, title=title[:300], body=body, link=link, due_at=due)
            for d in destinations]  # fmt: skip
    made = DestinationMessage.objects.bulk_create(rows, ignore_conflicts=True)
    if due <= timezone.now():
        jobs.enqueue_on_commit("replies.tasks.send_destinations", [d.pk for d in destinations], swept=True)
    return len(made)


def _due_at(*, user_id: int, digest: str, now: datetime) -> datetime:
    prefs = NotificationSettings.objects.filter(user_id=user_id).first() or NotificationSettings(user_id=user_id)
    due = now
    if digest == "hourly":
        due = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    elif digest == "daily":
        due = digest_slot(prefs, now) + timedelta(days=1)
    held = quiet_until(prefs, due)
    return max(due, held) if held else due


def send_due(*, now: datetime | None = None) -> int:
    """The sweep: every destination with messages due now."""
    now = now or timezone.now()
    due = DestinationMessage.objects.filter(sent_at__isnull=True, due_at__lte=now).filter(_free(now))
    return send_to(destination_ids=list(due.values_list("destination_id", flat=True).distinct()), now=now)


def send_to(*, destination_ids: list[int], now: datetime | None = None) -> int:
    """Send what is due to these destinations. Returns the number of messages handled."""
    handled = 0
    for destination in Destination.objects.filter(pk__in=destination_ids, paused_at__isnull=True):
        try:
            handled += _send_destination(destination, now=now or timezone.now())
        except Exception:  # one destination's trouble must not hold up the others
            log.exception("destination %s: sending failed; the sweep tries again", destination.pk)
    return handled


def _free(now: datetime) -> Q:
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE)


def _send_destination(destination: Destination, *, now: datetime) -> int:
    rows = _claim(destination, now=now)
    if not rows:
        return 0
    if not _within_limits(destination):
        DestinationMessage.objects.filter(pk__in=[row.pk for row in rows]).update(claimed_at=None)
        return 0
    title, body = compose(rows)
    try:
        apprise_send.send(destination.url, title=title, body=body, timeout=settings.CHORUS_NOTIFY_TIMEOUT)
    except apprise_send.SendError as error:
        _failed(destination, rows, reason=str(error), now=now)
        return 0
    DestinationMessage.objects.filter(pk__in=[row.pk for row in rows]).update(sent_at=now, claimed_at=None)
    destination.failures, destination.last_error, destination.last_sent_at = 0, "", now
    if any(row.event == "test" for row in rows):
        destination.last_test_result = "sent"
    destination.save(update_fields=["failures", "last_error", "last_sent_at", "last_test_result"])
    return len(rows)


def _claim(destination: Destination, *, now: datetime) -> list[DestinationMessage]:
    with transaction.atomic():
        rows = list(DestinationMessage.objects.filter(_free(now), destination=destination, sent_at__isnull=True,
                                                      due_at__lte=now)
                    .select_for_update(skip_locked=True).order_by("due_at", "id")[:MAX_PER_MESSAGE])  # fmt: skip
        DestinationMessage.objects.filter(pk__in=[row.pk for row in rows]).update(claimed_at=now)
    return rows


def _within_limits(destination: Destination) -> bool:
    """One more message for this destination, its person and its host this minute? Counted in the cache,
    shared by all processes (Redis in production)."""
    minute = int(timezone.now().timestamp() // 60)
    limits = [(f"d{destination.pk}", settings.CHORUS_NOTIFY_PER_MINUTE),
              (f"u{destination.user_id}", settings.CHORUS_NOTIFY_PERSON_PER_MINUTE)]  # fmt: skip
    if destination.host:
        limits.append((f"h{destination.host}", settings.CHORUS_NOTIFY_HOST_PER_MINUTE))
    for name, limit in limits:
        key = f"chorus:notify:rate:{name}:{minute}"
        cache.add(key, 0, timeout=120)
        if cache.incr(key) > limit:
            return False
    return True


def _failed(destination: Destination, rows: list[DestinationMessage], *, reason: str, now: datetime) -> None:
    tests = [row.pk for row in rows if row.event == "test"]
    DestinationMessage.objects.filter(pk__in=tests).update(sent_at=now, claimed_at=None)  # a test is not retried
    for row in rows:
        if row.pk not in tests:
            row.attempts += 1
            row.due_at, row.claimed_at = now + backoff(row.attempts), None
    DestinationMessage.objects.bulk_update([row for row in rows if row.pk not in tests], ["attempts", "due_at", "claimed_at"])
    destination.last_error = reason[:500]
    if tests:
        destination.last_test_result = reason[:500]
    if len(tests) < len(rows):
        destination.failures += 1
        if destination.failures >= settings.CHORUS_NOTIFY_PAUSE_AFTER:
            destination.paused_at = now
            destination.pause_reason = f"paused after {destination.failures} failed sends in a row: {reason}"[:500]
    log.info("destination %s (%s): send failed: %s", destination.pk, destination.masked, reason)
    destination.save(update_fields=["failures", "last_error", "last_test_result", "paused_at", "pause_reason"])


def backoff(attempts: int) -> timedelta:
    """A minute, doubling with every failure up to ``MAX_BACKOFF``, with jitter so retries spread out."""
    return db_backoff.backoff(attempts, first=timedelta(minutes=1), most=MAX_BACKOFF)


def compose(rows: list[DestinationMessage]) -> tuple[str, str]:
    """One message: a row as it is, several as a list (a digest, or what quiet hours held)."""
    if len(rows) == 1:
        row = rows[0]
        return row.title, "\n".join(part for part in (row.body, row.link) if part)
    parts = ["\n".join(part for part in (row.title, row.body, row.link) if part) for row in rows]
    return f"{len(rows)} new on Chorus", "\n\n".join(parts)


def _visible_posts(*, found: list[tuple[int, int]]) -> dict[tuple[int, int], Post]:
    """The posts of these (person, post) pairs that are not retracted and not hidden by the person's blocks."""
    if not found:
        return {}
    posts = Post.objects.select_related("source").in_bulk({post_id for _, post_id in found})
    blocks = blocks_of(user_ids={user_id for user_id, _ in found})
    visible = {}
    for user_id, post_id in found:
        post = posts.get(post_id)
        if post is None or post.retracted_at is not None:
            continue
        if (person_blocks := blocks.get(user_id)) and person_blocks.hides(post):
            continue
        visible[(user_id, post_id)] = post
    return visible


def _hub_link(path: str, post: Post | None = None) -> str:
    base = settings.CHORUS_PUBLIC_URL
    return f"{base.rstrip('/')}{path}" if base else (post.url if post is not None else "")


def _author(post: Post) -> str:
    return post.author_name or post.author_handle or post.author_uri or post.source.title or "someone"


def _excerpt(post: Post) -> str:
    text = " ".join((post.text or post.title).split())
    text = text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"
    return "\n".join(part for part in (text, post.url) if part)
