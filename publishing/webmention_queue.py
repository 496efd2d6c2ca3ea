"""Webmention work owed, in the database: a row's ``due_at`` says a check or send is owed from then. The job
claims its row (``due_at`` moved a lease ahead) before working, so two runs never do it twice and a late
message finds nothing; the sweep queues again whatever is due (a lost message, a killed worker's lease, or in
the embedded hub, where requests must not wait on another hub, every job)."""

from datetime import timedelta

from django.db import models
from django.utils import timezone

from aggregator import jobs
from publishing.models import ReceivedWebmention, SentWebmention

VERIFY_TASK = "publishing.tasks.verify_webmention"
SEND_TASK = "publishing.tasks.send_webmention"
LEASE = timedelta(minutes=5)


def queue(task: str, row_id: int) -> None:
    """After the commit: a worker's job where a broker runs, the embedded runner's next sweep otherwise (a
    request here must not wait for a fetch that may come back to this very hub)."""
    jobs.enqueue_on_commit(task, row_id, swept=True)


def claim(model: type[models.Model], row_id: int) -> bool:
    now = timezone.now()
    return model.objects.filter(pk=row_id, due_at__lte=now).update(due_at=now + LEASE) == 1


def sweep(*, limit: int = 100) -> int:
    """Periodic: run again every check and send that is due. Returns how many were queued."""
    now, queued = timezone.now(), 0
    for model, task in ((ReceivedWebmention, VERIFY_TASK), (SentWebmention, SEND_TASK)):
        for row_id in model.objects.filter(due_at__lte=now).order_by("due_at").values_list("pk", flat=True)[:limit]:
            jobs.enqueue(task, row_id)
            queued += 1
    return queued
