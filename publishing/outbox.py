"""Work owed to the world, in the database: Webmention checks and sends, XMPP publications. A row's ``due_at``
says its job is owed from then. The job claims its row (``due_at`` moved a lease ahead) before working, so two
runs never do it twice and a late message finds nothing; a failure that may pass (a peer down, a timeout, a
5xx) puts ``due_at`` a back-off ahead, up to ``MAX_ATTEMPTS`` in a row; the sweep queues again whatever is due
(a retry, a lost message, a killed worker's lease, or in the embedded hub, where requests must not wait on
another hub, every Webmention job)."""

from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

from aggregator import jobs
from aggregator.db.backoff import backoff
from aggregator.fetch import FetchError
from publishing.models import ReceivedWebmention, SentWebmention, XmppPublication

VERIFY_TASK = "publishing.tasks.verify_webmention"
SEND_TASK = "publishing.tasks.send_webmention"
XMPP_TASK = "publishing.tasks.publish_on_xmpp"
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)
MAX_ATTEMPTS = 12  # failures in a row: about 20 hours of retries, then the last failure stays recorded
_SWEPT = ((ReceivedWebmention, VERIFY_TASK), (SentWebmention, SEND_TASK), (XmppPublication, XMPP_TASK))


def queue(task: str, row_id: int, *, swept: bool = True) -> None:
    """After the commit: a worker's job where a broker runs; otherwise the embedded runner's next sweep
    (``swept``: a request here must not wait for a fetch that may come back to this very hub) or now."""
    jobs.enqueue_on_commit(task, row_id, swept=swept)


def may_pass(error: FetchError) -> bool:
    """A failure worth trying again later: the peer unreachable or slow, a 5xx, a 408 or 429 (a 4xx otherwise,
    a refused address, a body too big would only fail again)."""
    return not error.permanent or error.status in (408, 429)


def claim(model: type[models.Model], row_id: int) -> datetime | None:
    """Take the row's owed job: its lease (the new ``due_at``), or None when nothing is owed or another run
    holds it."""
    now = timezone.now()
    lease = now + LEASE
    return lease if model.objects.filter(pk=row_id, due_at__lte=now).update(due_at=lease) == 1 else None


def _held(model: type[models.Model], row_id: int, lease: datetime | None) -> models.QuerySet:
    """The row, unless the job was owed again while this run held it (then that newer job stays owed)."""
    rows = model.objects.filter(pk=row_id)
    return rows if lease is None else rows.filter(due_at=lease)


def succeeded(model: type[models.Model], row_id: int, *, lease: datetime | None = None, **fields) -> None:
    """Done: nothing owed any more, the count of failures starts again."""
    _held(model, row_id, lease).update(due_at=None, attempts=0, **fields)


def failed(model: type[models.Model], row_id: int, *, attempts: int, retry: bool, lease: datetime | None = None,
           **fields) -> bool:  # fmt: skip
    """The job failed for the ``attempts``-th time in a row (``fields`` record why). Owed again after a
    back-off when ``retry`` and attempts remain; returns whether it will run again."""
    again = retry and attempts < MAX_ATTEMPTS
    due = timezone.now() + backoff(attempts, first=FIRST_RETRY, most=LAST_RETRY) if again else None
    _held(model, row_id, lease).update(due_at=due, attempts=attempts if again else 0, **fields)
    return again


def sweep(*, limit: int = 100) -> int:
    """Periodic: run again every job that is due. Returns how many were queued."""
    now, queued = timezone.now(), 0
    for model, task in _SWEPT:
        for row_id in model.objects.filter(due_at__lte=now).order_by("due_at").values_list("pk", flat=True)[:limit]:
            jobs.enqueue(task, row_id)
            queued += 1
    return queued
