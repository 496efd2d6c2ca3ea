"""Importing follow lists in the background: OPML, a Mastodon following CSV, an X archive's following.js.

``start_import`` reads and checks the whole file first (a bad or oversized file is refused before anything is
followed), stores a ``FollowImport`` and queues ``run_import`` after the commit. Each entry is followed in its
own transaction (accounts are looked up first: WebFinger, the X API; OPML feeds are only stored, the scheduler
fetches them; ``subscriptions.import_opml`` is the synchronous all-or-nothing OPML path). The person's pages hear ``import.progress`` events (about every 1 %, at most once a second apart
from that) and a last one when it ends; ``GET /api/v1/follow-lists/{id}`` gives the full summary: followed,
already followed, failed with the reason.
"""

import logging
import time

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from timelines.events import send_now
from timelines.services import send_unread_counts_on_commit

from .fetch import FetchError
from .follow_lists import FollowList, FollowListError, read_follow_list
from .models import FollowImport
from .networks import x
from .networks.rss.discover import DiscoveryError
from .subscriptions import (
    SubscriptionError,
    follow_opml_feeds,
    follow_target,
    make_followed_sources_due,
    subscribe_counted,
)

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0
MAX_FAILURES_IN_EVENT = 100


def start_import(*, user: AbstractBaseUser, body: bytes) -> FollowImport:
    """Queue the import of a follow list. Raises ``FollowListError`` (nothing stored) for a bad file."""
    follow_list = read_follow_list(body)
    if not follow_list.accounts and not follow_list.rejected:
        raise FollowListError("the file lists nothing to follow")
    rejected = [list(pair) for pair in follow_list.rejected]
    with transaction.atomic():
        job = FollowImport.objects.create(
            user=user, kind=follow_list.kind, body=body, total=len(follow_list.accounts) + len(rejected),
            done=len(rejected), failed=rejected,
        )  # fmt: skip
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return job


def _enqueue(import_id: int) -> None:
    from . import embedded  # tasks import services; services reach tasks only at call time
    from .tasks import run_follow_import

    if embedded.running() and run_follow_import.app.conf.task_always_eager:
        return  # inside ``serve`` without a broker: the embedded scheduler's pool takes queued imports
    run_follow_import.delay(import_id)


def import_json(job: FollowImport, *, final: bool = False) -> dict:
    """The import as the API and the ``import.progress`` event show it (failures only once it ended)."""
    data = {"id": job.pk, "kind": job.kind, "status": job.status, "total": job.total, "done": job.done,
            "followed": len(job.followed), "already_followed": len(job.already_followed),
            "failed": len(job.failed), "error": job.error}  # fmt: skip
    if final:
        data["failures"] = [{"address": a, "reason": r} for a, r in job.failed[:MAX_FAILURES_IN_EVENT]]
    return data


class _Progress:
    """Counts outcomes on the job; saves and tells the person's pages every ~1 % (or second)."""

    def __init__(self, job: FollowImport) -> None:
        self.job = job
        self.step = max(1, job.total // 100)
        self.sent_done, self.sent_at = job.done, time.monotonic()
        self._announce()

    def record(self, outcome: list, value) -> None:
        outcome.append(value)
        self.job.done += 1
        if self.job.done - self.sent_done >= self.step or time.monotonic() - self.sent_at >= PROGRESS_SECONDS:
            self._announce()

    def _announce(self) -> None:
        self.job.save(update_fields=["done", "followed", "already_followed", "failed"])
        self.sent_done, self.sent_at = self.job.done, time.monotonic()
        send_now(user_ids=[self.job.user_id], event={"type": "import.progress", "import": import_json(self.job)})


def run_import(*, import_id: int) -> FollowImport | None:
    """Follow every account of a queued import; None when it is not queued (already taken or gone)."""
    if not FollowImport.objects.filter(pk=import_id, status=FollowImport.Status.QUEUED).update(
        status=FollowImport.Status.RUNNING
    ):
        return None
    job = FollowImport.objects.select_related("user").get(pk=import_id)
    status = FollowImport.Status.DONE
    try:
        progress = _Progress(job)
        follow_list = read_follow_list(bytes(job.body))
        if follow_list.kind == "x":
            _follow_x_accounts(job=job, follow_list=follow_list, progress=progress)
        elif follow_list.kind == "opml":
            _follow_feeds(job=job, follow_list=follow_list, progress=progress)
        else:
            _follow_handles(job=job, follow_list=follow_list, progress=progress)
    except Exception as error:  # a bug or a database fault must not leave the import "running" for ever
        log.exception("follow list import %s failed", import_id)
        status, job.error = FollowImport.Status.FAILED, f"internal error: {type(error).__name__}"
    job.status, job.body, job.finished_at = status, b"", timezone.now()
    job.save()
    send_now(user_ids=[job.user_id], event={"type": "import.progress", "import": import_json(job, final=True)})
    return job


def _follow_feeds(*, job: FollowImport, follow_list: FollowList, progress: _Progress) -> None:
    size = min(progress.step, 200)  # one batch of queries per progress step
    for start in range(0, len(follow_list.feeds), size):
        batch = follow_list.feeds[start:start + size]
        with transaction.atomic():
            outcomes = follow_opml_feeds(user=job.user, feeds=batch)
        for feed, created in zip(batch, outcomes, strict=True):
            progress.record(job.followed if created else job.already_followed, feed.url)
    make_followed_sources_due(user=job.user)
    if job.followed:
        send_unread_counts_on_commit(user=job.user)


def _follow_handles(*, job: FollowImport, follow_list: FollowList, progress: _Progress) -> None:
    for handle in follow_list.accounts:
        try:
            _, created = subscribe_counted(user=job.user, address=handle)
        except (SubscriptionError, DiscoveryError, FetchError) as error:
            progress.record(job.failed, [handle, str(error)])
            continue
        progress.record(job.followed if created else job.already_followed, handle)


def _follow_x_accounts(*, job: FollowImport, follow_list: FollowList, progress: _Progress) -> None:
    ids = follow_list.accounts
    if not x.configured():
        reason = "this hub has no X API token (X_BEARER_TOKEN); follow the account through an RSS bridge"
        for account_id in ids:
            progress.record(job.failed, [f"X account {account_id}", reason])
        return
    try:
        found, missing = x.lookup_users_by_id(ids)
    except (x.XRateLimited, x.XNotConfigured, x.BadXResponse, FetchError) as error:
        for account_id in ids:
            progress.record(job.failed, [f"X account {account_id}", f"could not look it up: {error}"])
        return
    for account_id in ids:
        account = found.get(account_id)
        if account is None:
            progress.record(job.failed, [f"X account {account_id}", missing.get(account_id, "not found")])
            continue
        _, created = follow_target(user=job.user, target=account)
        progress.record(job.followed if created else job.already_followed, f"@{account.username}")
