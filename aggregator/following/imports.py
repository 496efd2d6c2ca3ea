"""Importing follow lists in the background: OPML, a Mastodon following CSV, an X archive's following.js.

This is the one import path (pages and API alike). ``start_import`` reads and checks the whole file first (a
bad or oversized file is refused before anything is followed), stores a ``FollowImport`` and queues
``run_import`` after the commit. Accounts are looked up (WebFinger, the X API) and followed one by one; OPML
feeds are followed in batches without being fetched (the scheduler fetches them afterwards). The person's pages
hear ``import.progress`` events (about every 1 %, at most a second apart) and a last one when it ends;
``GET /api/v1/follow-lists/{id}`` gives the full summary: followed, already followed, failed with the reason.

A running import holds a lease that each progress save renews. It runs for a slice of ``SLICE_SECONDS`` and
then queues itself again, resuming after the entries it already handled (``done``), so it never meets the
task's time limit. A worker killed mid-import stops renewing: ``recover_stale_imports`` (the scheduler runs it)
queues the import again to resume, or after ``MAX_RESTARTS`` marks it failed and says why. A worker that was
only slow finds its lease taken over at its next save and stops.
"""

import logging
import time
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from aggregator import jobs
from aggregator.db.retry import atomic_retrying_locked
from aggregator.events import send_now
from aggregator.fetch import FetchError
from aggregator.following.follow_lists import FollowList, FollowListError, read_follow_list
from aggregator.following.subscriptions import (
    SubscriptionError,
    follow_opml_feeds,
    follow_target,
    has_room,
    make_followed_sources_due,
    over_cap_reason,
    subscribe_counted,
)
from aggregator.models import FollowImport
from aggregator.networks import x
from aggregator.networks.rss.discover import DiscoveryError
from timelines.services import send_unread_counts_on_commit

log = logging.getLogger(__name__)

PROGRESS_SECONDS = 1.0
MAX_FAILURES_IN_EVENT = 100
LEASE = timedelta(minutes=5)  # renewed at every progress save; one account's lookup takes well under that
SLICE_SECONDS = 60.0  # then the import queues itself again (run_follow_import's soft limit is 300 s)
MAX_RESTARTS = 3
KIND_NAMES = {"opml": "an OPML file", "mastodon": "a Mastodon following CSV", "x": "an X archive's following.js"}
_PROGRESS_FIELDS = ("done", "followed", "already_followed", "failed", "lease_until")
Status = FollowImport.Status


class ImportUnderWay(FollowListError):
    """The person already has an import queued or running; one at a time."""


class _LeaseLost(Exception):
    """Another worker took the import over (this one's lease ran out): stop without writing anything."""


def start_import(*, user: AbstractBaseUser, body: bytes, kinds: tuple[str, ...] | None = None) -> FollowImport:
    """Queue the import of a follow list (of one of ``kinds``, if given). Raises ``FollowListError`` (nothing
    stored) for a bad file."""
    follow_list = read_follow_list(body)
    if kinds is not None and follow_list.kind not in kinds:
        raise FollowListError(f"expected {' or '.join(KIND_NAMES[k] for k in kinds)}; this file reads as "
                              f"{KIND_NAMES[follow_list.kind]}")  # fmt: skip
    if not follow_list.accounts and not follow_list.rejected:
        raise FollowListError("the file lists nothing to follow")
    rejected = [list(pair) for pair in follow_list.rejected]
    _refuse_if_under_way(user)
    try:
        with transaction.atomic():
            job = FollowImport.objects.create(
                user=user, kind=follow_list.kind, body=body, total=len(follow_list.accounts) + len(rejected),
                done=len(rejected), failed=rejected,
            )  # fmt: skip
            jobs.enqueue_on_commit("aggregator.tasks.run_follow_import", job.pk, swept=True)
    except IntegrityError:  # another request of this person's started one meanwhile (the constraint holds)
        _refuse_if_under_way(user)
        raise
    return job


def _refuse_if_under_way(user: AbstractBaseUser) -> None:
    under_way = FollowImport.objects.filter(user=user, status__in=(Status.QUEUED, Status.RUNNING)).first()
    if under_way is not None:
        raise ImportUnderWay(f"your import #{under_way.pk} is still under way ({under_way.done} of {under_way.total} "
                             f"entries handled); import another file once it ends")  # fmt: skip


def import_json(job: FollowImport, *, final: bool = False) -> dict:
    """The import as the API and the ``import.progress`` event show it (failures only once it ended)."""
    data = {"id": job.pk, "kind": job.kind, "status": job.status, "total": job.total, "done": job.done,
            "followed": len(job.followed), "already_followed": len(job.already_followed),
            "failed": len(job.failed), "error": job.error}  # fmt: skip
    if final:
        data["failures"] = [{"address": a, "reason": r} for a, r in job.failed[:MAX_FAILURES_IN_EVENT]]
    return data


class _Progress:
    """Counts outcomes on the job; saves (renewing the lease) and tells the person's pages every ~1 % (or
    second); says when the slice's time is up."""

    def __init__(self, job: FollowImport, *, seconds: float) -> None:
        self.job = job
        self.step = max(1, job.total // 100)
        self.ends_at = time.monotonic() + seconds
        self.sent_done, self.sent_at = job.done, time.monotonic()
        self._announce()

    def record(self, outcome: list, value) -> None:
        outcome.append(value)
        self.job.done += 1
        if self.job.done - self.sent_done >= self.step or time.monotonic() - self.sent_at >= PROGRESS_SECONDS:
            self._announce()

    def out_of_time(self) -> bool:
        return time.monotonic() >= self.ends_at

    def _announce(self) -> None:
        self.job.lease_until = timezone.now() + LEASE
        if not _save(self.job, *_PROGRESS_FIELDS):
            raise _LeaseLost
        self.sent_done, self.sent_at = self.job.done, time.monotonic()
        send_now(user_ids=[self.job.user_id], event={"type": "import.progress", "import": import_json(self.job)})


def _save(job: FollowImport, *fields: str) -> bool:
    """Write ``fields`` if this worker still holds the import (running, not restarted since it was claimed)."""
    held = FollowImport.objects.filter(pk=job.pk, status=Status.RUNNING, restarts=job.restarts)
    return atomic_retrying_locked(partial(held.update, **{name: getattr(job, name) for name in fields})) == 1


def run_import(*, import_id: int, slice_seconds: float = SLICE_SECONDS) -> FollowImport | None:
    """Follow the accounts of a queued import for about ``slice_seconds`` (at least one entry or batch), then
    queue it again if some are left. None when it is not queued (already taken, gone) or was taken over."""
    queued = FollowImport.objects.filter(pk=import_id, status=Status.QUEUED)
    if not atomic_retrying_locked(partial(queued.update, status=Status.RUNNING, lease_until=timezone.now() + LEASE)):
        return None
    job = FollowImport.objects.select_related("user").get(pk=import_id)
    try:
        progress = _Progress(job, seconds=slice_seconds)
        follow_list = read_follow_list(bytes(job.body))
        handled = job.done - (job.total - len(follow_list.accounts))  # before a restart or in earlier slices
        finished = _FOLLOW[follow_list.kind](job=job, follow_list=follow_list, skip=handled, progress=progress)
    except _LeaseLost:
        log.warning("follow list import %s was taken over by another worker; this one stops", import_id)
        return None
    except Exception as error:  # a bug or a database fault must not leave the import "running" for ever
        log.exception("follow list import %s failed", import_id)
        return _finish(job, error=f"internal error: {type(error).__name__}")
    if finished:
        return _finish(job)
    job.status, job.lease_until, job.queued_at = Status.QUEUED, None, timezone.now()
    if not _save(job, "status", "queued_at", *_PROGRESS_FIELDS):
        return None
    jobs.enqueue_on_commit("aggregator.tasks.run_follow_import", job.pk, swept=True)
    return job


def _finish(job: FollowImport, *, error: str = "") -> FollowImport | None:
    job.status = Status.FAILED if error else Status.DONE
    job.error, job.body, job.finished_at, job.lease_until = error, b"", timezone.now(), None
    if not _save(job, "status", "error", "body", "finished_at", *_PROGRESS_FIELDS):
        return None
    jobs.enqueue_on_commit("replies.tasks.notify_import_done", job.pk)
    send_now(user_ids=[job.user_id], event={"type": "import.progress", "import": import_json(job, final=True)})
    return job


def recover_stale_imports(*, now: datetime | None = None) -> list[int]:
    """Imports whose worker stopped renewing the lease (killed, lost): queued again to resume where they
    stopped, or failed with the reason after ``MAX_RESTARTS``. Returns the ids queued again."""
    now = now or timezone.now()
    stale = FollowImport.objects.filter(status=Status.RUNNING).filter(Q(lease_until__lt=now) | Q(lease_until=None))
    resumed = []
    for job in stale.only("id", "user_id", "restarts", "lease_until", "done", "total"):
        still_stale = stale.filter(pk=job.pk, restarts=job.restarts)
        if job.restarts < MAX_RESTARTS:
            if still_stale.update(status=Status.QUEUED, restarts=F("restarts") + 1, lease_until=None, queued_at=now):
                log.warning("follow list import %s: its worker stopped; resuming after %s of %s", job.pk,
                            job.done, job.total)  # fmt: skip
                resumed.append(job.pk)
                jobs.enqueue_on_commit("aggregator.tasks.run_follow_import", job.pk, swept=True)
            continue
        last_seen = f" (last heard from at {job.lease_until - LEASE:%Y-%m-%d %H:%M} UTC)" if job.lease_until else ""
        error = (f"the worker running it stopped {job.restarts + 1} times{last_seen}; {job.done} of {job.total} "
                 f"entries were handled (counted above), the rest were not followed — import the file again "
                 f"to follow them")  # fmt: skip
        if still_stale.update(status=Status.FAILED, error=error, body=b"", finished_at=now, lease_until=None):
            job = FollowImport.objects.get(pk=job.pk)
            send_now(user_ids=[job.user_id], event={"type": "import.progress", "import": import_json(job, final=True)})
    return resumed


def requeue_lost_imports(*, now: datetime | None = None) -> list[int]:
    """Imports queued longer than ``CHORUS_QUEUED_JOB_GRACE_SECONDS`` with no worker taking them: their
    message was lost (broker restarted without persistence, or down when it was sent). Each is queued again,
    once per grace period whoever sweeps; a message that was only late does no harm, as ``run_import`` claims
    the import (queued -> running) before doing anything. Returns the ids queued again."""
    now = now or timezone.now()
    waited = FollowImport.objects.filter(status=Status.QUEUED,
                                         queued_at__lt=now - timedelta(seconds=settings.CHORUS_QUEUED_JOB_GRACE_SECONDS))
    requeued = []
    for import_id, queued_at in waited.values_list("id", "queued_at"):
        if waited.filter(pk=import_id, queued_at=queued_at).update(queued_at=now):  # one sweeper wins
            log.warning("follow list import %s waited since %s for a worker; its message is taken for lost and "
                        "sent again", import_id, queued_at)  # fmt: skip
            jobs.enqueue_on_commit("aggregator.tasks.run_follow_import", import_id, swept=True)
            requeued.append(import_id)
    return requeued


def _follow_feeds(*, job: FollowImport, follow_list: FollowList, skip: int, progress: _Progress) -> bool:
    size = min(progress.step, 200)  # one batch of queries per progress step
    feeds = follow_list.feeds[skip:]
    for start in range(0, len(feeds), size):
        if start and progress.out_of_time():
            return False
        batch = feeds[start:start + size]
        outcomes = atomic_retrying_locked(partial(follow_opml_feeds, user=job.user, feeds=batch))
        for feed, created in zip(batch, outcomes, strict=True):
            if created is None:
                progress.record(job.failed, [feed.url, over_cap_reason()])
            else:
                progress.record(job.followed if created else job.already_followed, feed.url)
    make_followed_sources_due(user=job.user)
    if job.followed:
        send_unread_counts_on_commit(user=job.user)
    return True


def _follow_handles(*, job: FollowImport, follow_list: FollowList, skip: int, progress: _Progress) -> bool:
    for position, handle in enumerate(follow_list.accounts[skip:]):
        if position and progress.out_of_time():
            return False
        if not has_room(job.user):  # no WebFinger or X look-up for an account that could not be followed
            progress.record(job.failed, [handle, over_cap_reason()])
            continue
        try:
            _, created = subscribe_counted(user=job.user, address=handle)
        except (SubscriptionError, DiscoveryError, FetchError) as error:
            progress.record(job.failed, [handle, str(error)])
            continue
        progress.record(job.followed if created else job.already_followed, handle)
    return True


def _follow_x_accounts(*, job: FollowImport, follow_list: FollowList, skip: int, progress: _Progress) -> bool:
    ids = follow_list.accounts[skip:]
    if not x.configured():
        reason = "this hub has no X API token (X_BEARER_TOKEN); follow the account through an RSS bridge"
        for account_id in ids:
            progress.record(job.failed, [f"X account {account_id}", reason])
        return True
    try:
        found, missing = x.lookup_users_by_id(ids)
    except (x.XRateLimited, x.XNotConfigured, x.BadXResponse, FetchError) as error:
        for account_id in ids:
            progress.record(job.failed, [f"X account {account_id}", f"could not look it up: {error}"])
        return True
    for position, account_id in enumerate(ids):
        if position and progress.out_of_time():
            return False
        account = found.get(account_id)
        if account is None:
            progress.record(job.failed, [f"X account {account_id}", missing.get(account_id, "not found")])
            continue
        try:
            _, created = follow_target(user=job.user, target=account)
        except SubscriptionError as error:  # over the person's cap
            progress.record(job.failed, [f"@{account.username}", str(error)])
            continue
        progress.record(job.followed if created else job.already_followed, f"@{account.username}")
    return True


_FOLLOW = {"opml": _follow_feeds, "mastodon": _follow_handles, "x": _follow_x_accounts}
