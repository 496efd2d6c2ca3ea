"""Notifications of new replies: queued with the reply, sent after commit, each reply told at most once.

- ``queue_notifications`` runs inside the ingest transaction that made the ``Reply`` rows: a ``Notification``
  row for each person who wants to hear (who does is held in each process: ``listeners``) (so a crash after the commit loses nothing), and, once committed,
  the ``deliver_notifications`` task for those people.
- ``deliver_pending(user_id=)`` sends what is pending for one person, as they chose: one XMPP chat message or
  one email (several replies held back by quiet hours fold into one), or the daily digest when it is due.
  Rows are claimed first (``claimed_at``, a lease, under ``SELECT ... FOR UPDATE SKIP LOCKED``) so two
  workers never send the same rows, and marked (``sent_at``) right after the send. Blocked and retracted
  posts are checked at send time and never sent; neither is anything when the person turned notifications off.
- ``deliver_due()`` is the periodic sweep (Celery beat, the embedded scheduler): quiet hours that ended,
  digests that are due, sends that failed earlier.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Identity
from aggregator import jobs
from aggregator.db.snapshots import Snapshot
from aggregator.networks.xmpp.chat import ChatMessage, send_chat_messages
from replies import destinations
from replies.models import Notification, NotificationSettings
from replies.notification_settings import EMAIL_METHODS, Method, digest_slot, quiet_until
from timelines.blocks import blocks_of

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a claim this old belonged to a sender that died or failed: try again
MAX_PER_MESSAGE = 50  # replies listed in one message; the rest go in the next one
EXCERPT = 280


def _load_listeners() -> frozenset[int]:
    return frozenset(NotificationSettings.objects.exclude(method=Method.NONE).values_list("user_id", flat=True))


# The people who want to hear of their replies, held in each process: a batch of replies asks the database
# nothing when none of them does. Renewed on every write of the settings (apps.py).
listeners = Snapshot(key="chorus:notifications:listeners-version", load=_load_listeners)


def queue_notifications(*, found: dict[tuple[int, int], str]) -> None:
    """Inside the transaction storing these replies (``(user id, post id) -> reason``): queue a notification
    for each person who wants them; their delivery starts after the commit."""
    _queue_for_destinations(found=found)
    wanting = listeners.get() & {user_id for user_id, _ in found}
    rows = [Notification(user_id=user_id, post_id=post_id, reason=reason)
            for (user_id, post_id), reason in found.items() if user_id in wanting]  # fmt: skip
    if not rows:
        return
    Notification.objects.bulk_create(rows, ignore_conflicts=True)  # the same reply again: still one row

    # a broker hiccup must not fail the ingest: the sweep sends
    jobs.enqueue_on_commit("replies.tasks.deliver_notifications", sorted(wanting))


def _queue_for_destinations(*, found: dict[tuple[int, int], str]) -> None:
    """The people of these replies who have a destination for them get a job after the commit (the message is
    made there, off the ingest path)."""
    people = set(destinations.wanting(event=destinations.Event.REPLY, user_ids={user_id for user_id, _ in found}))
    if people:
        told = [[user_id, post_id, reason] for (user_id, post_id), reason in found.items() if user_id in people]
        jobs.enqueue_on_commit("replies.tasks.notify_replies", told)


def deliver_due(*, now: datetime | None = None) -> int:
    """The sweep: everyone with pending notifications gets what is due now. Returns the number handled."""
    people = Notification.objects.filter(sent_at__isnull=True).values_list("user_id", flat=True).distinct()
    return deliver_to(user_ids=list(people), now=now)


def deliver_to(*, user_ids: list[int], now: datetime | None = None) -> int:
    """``deliver_pending`` for each of these people; a failure is logged and left to the next sweep."""
    handled = 0
    for user_id in user_ids:
        try:
            handled += deliver_pending(user_id=user_id, now=now)
        except Exception:  # one person's failing address must not hold up everyone else's
            log.exception("notifications for user %s failed; the sweep tries again", user_id)
    return handled


def deliver_pending(*, user_id: int, now: datetime | None = None) -> int:
    """Send (or drop) what is pending for one person, if it is due. Returns how many rows were handled.
    Raises ``XmppSendError`` / ``OSError`` (SMTP) when the send failed: the rows stay pending, claimed until
    the lease runs out (then the sweep tries again)."""
    now = now or timezone.now()
    prefs = NotificationSettings.objects.filter(user_id=user_id).select_related("user").first()
    pending = Notification.objects.filter(user_id=user_id, sent_at__isnull=True)
    if prefs is None or prefs.method == Method.NONE:
        return _finish(pending, now, Notification.Outcome.OFF)
    if quiet_until(prefs, now) is not None:
        return 0  # held: the sweep sends them when the quiet hours end
    if prefs.method == Method.DIGEST and not pending.filter(created_at__lte=digest_slot(prefs, now)).exists():
        return 0  # nothing older than the last digest hour: what came since waits for the next one
    rows = _claim(user_id=user_id, now=now)
    if not rows:
        return 0
    hidden = _drop_hidden(rows, user_id=user_id, now=now)
    sendable = [row for row in rows if row.pk not in hidden]
    if sendable:
        # A failed send raises and leaves the rows claimed: the lease running out is the retry's back-off.
        outcome = Notification.Outcome.SENT if _send(prefs, sendable) else Notification.Outcome.OFF
        _finish(Notification.objects.filter(pk__in=[row.pk for row in sendable]), now, outcome)
    if prefs.method == Method.DIGEST:
        NotificationSettings.objects.filter(pk=prefs.pk).update(last_digest_at=now)
    return len(rows)


def _claim(*, user_id: int, now: datetime) -> list[Notification]:
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - LEASE)
    with transaction.atomic():
        rows = list(Notification.objects.filter(free, user_id=user_id, sent_at__isnull=True)
                    .select_for_update(skip_locked=True).order_by("created_at", "id")[:MAX_PER_MESSAGE])  # fmt: skip
        Notification.objects.filter(pk__in=[row.pk for row in rows]).update(claimed_at=now)
    # read the posts outside the lock (select_related with FOR UPDATE OF would lock them too)
    posts = {row.pk: row for row in Notification.objects.filter(pk__in=[r.pk for r in rows])
             .select_related("post", "post__source")}  # fmt: skip
    return [posts[row.pk] for row in rows]


def _drop_hidden(rows: list[Notification], *, user_id: int, now: datetime) -> set[int]:
    """Mark the rows whose post is gone or blocked by now; returns their ids."""
    blocks = blocks_of(user_ids=[user_id]).get(user_id)
    retracted = [row.pk for row in rows if row.post.retracted_at is not None]
    hidden = [row.pk for row in rows if row.pk not in retracted and blocks and blocks.hides(row.post)]
    _finish(Notification.objects.filter(pk__in=retracted), now, Notification.Outcome.RETRACTED)
    _finish(Notification.objects.filter(pk__in=hidden), now, Notification.Outcome.BLOCKED)
    return set(retracted) | set(hidden)


def _finish(rows, now: datetime, outcome: str) -> int:
    return rows.update(sent_at=now, outcome=outcome, claimed_at=None)


def _send(prefs: NotificationSettings, rows: list[Notification]) -> bool:
    """Send one message about ``rows``; False when the person has no address for their method any more."""
    text = message_text(rows)
    if prefs.method == Method.XMPP:
        jids = list(Identity.objects.filter(user_id=prefs.user_id, kind=Identity.Kind.XMPP, verified=True)
                    .order_by("verified_at", "id").values_list("value", flat=True))  # fmt: skip
        if not jids:
            return False
        send_chat_messages([ChatMessage(to=prefs.xmpp_jid if prefs.xmpp_jid in jids else jids[0], body=text)])
        return True
    if prefs.method in EMAIL_METHODS and prefs.user.email:
        send_mail(subject=message_subject(rows, digest=prefs.method == Method.DIGEST), message=text,
                  from_email=None, recipient_list=[prefs.user.email])  # fmt: skip
        return True
    return False


def message_subject(rows: list[Notification], *, digest: bool = False) -> str:
    if digest:
        return f"Chorus digest: {len(rows)} new {'reply' if len(rows) == 1 else 'replies'}"
    return f"New reply from {_author(rows[0])}" if len(rows) == 1 else f"{len(rows)} new replies on Chorus"


def message_text(rows: list[Notification]) -> str:
    """Plain text (a chat message or an email body): who wrote, where, an excerpt and the link of each reply."""
    head = f"New reply on Chorus from {_author(rows[0])}:" if len(rows) == 1 else f"{len(rows)} new replies on Chorus:"
    parts = [head]
    for row in rows:
        post = row.post
        verb = "answers you" if row.reason == "reply" else "mentions you"
        excerpt = " ".join((post.text or post.title).split())
        excerpt = excerpt if len(excerpt) <= EXCERPT else excerpt[: EXCERPT - 1] + "…"
        lines = [f"{_author(row)} {verb} ({post.source.title or post.source.url}):", excerpt, post.url]
        parts.append("\n".join(line for line in lines if line))
    base = settings.CHORUS_PUBLIC_URL
    if base:
        parts.append(f"All your replies: {base.rstrip('/')}/replies/")
    return "\n\n".join(parts)


def _author(row: Notification) -> str:
    post = row.post
    return post.author_name or post.author_handle or post.author_uri or "someone"

