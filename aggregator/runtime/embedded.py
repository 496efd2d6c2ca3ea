"""The embedded worker and scheduler that ``manage.py serve`` runs beside the web server.

Without a broker, Celery tasks run eagerly; this thread claims due sources like ``celery beat`` +
``schedule_due_polls`` would, and runs the same ``poll_source`` task on a small thread pool. Queued follow-list
imports run on the same pool (not inside the request that queued them).
"""

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from django.db import close_old_connections

from aggregator import jobs
from aggregator.ingest import scheduler
from aggregator.models import FollowImport

log = logging.getLogger(__name__)
DESTINATIONS_EVERY = 2.0  # seconds between sends to notification destinations (queued with swept=True, run here)
NOTIFY_EVERY = 60.0  # seconds between sweeps of due reply notifications (celery beat's schedule in production)
WEBSUB_EVERY = 60.0  # seconds between sweeps of WebSub leases to renew (celery beat's schedule in production)
PRUNE_EVERY = 3600.0  # seconds between retention sweeps of old read posts (celery beat's schedule in production)


def _run_import(import_id: int) -> None:
    try:
        jobs.enqueue("aggregator.tasks.run_follow_import", import_id)  # eager: runs here, in the pool
    except Exception:
        log.exception("follow list import %s failed", import_id)
    finally:
        close_old_connections()


def _run_sweep(task: str) -> None:
    try:
        jobs.enqueue(task)  # eager: runs here, in the pool; else on a worker
    except Exception:
        log.exception("sweep %s failed", task)
    finally:
        close_old_connections()


def _run_poll(source_id: int) -> None:
    try:
        jobs.enqueue("aggregator.tasks.poll_source", source_id)  # eager: runs here, in the pool
    except Exception:  # never let one failing source stop the loop
        log.exception("poll of source %s failed", source_id)
    finally:
        close_old_connections()


class EmbeddedScheduler(threading.Thread):
    def __init__(self, *, interval: float = 5.0, workers: int = 4) -> None:
        super().__init__(name="chorus-scheduler", daemon=True)
        self.interval = interval
        self.workers = workers
        self._stop_event = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="chorus-poll")
        self._running: set = set()
        self._notified_at = 0.0
        self._websub_swept_at = 0.0
        self._pruned_at = 0.0
        self._destinations_at = 0.0

    def stop(self) -> None:
        jobs.set_sweeping_here(False)
        self._stop_event.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self) -> None:
        log.info("embedded scheduler started (%s poll threads)", self.workers)
        jobs.set_sweeping_here(True)
        while not self._stop_event.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("scheduler tick failed")
            finally:
                close_old_connections()
            self._stop_event.wait(self.interval)

    def tick(self) -> None:
        if time.monotonic() - self._notified_at >= NOTIFY_EVERY:
            self._notified_at = time.monotonic()
            self._running.add(self._pool.submit(_run_sweep, "replies.tasks.deliver_due_notifications"))
            self._running.add(self._pool.submit(_run_sweep, "replies.tasks.resend_lost_xmpp_codes"))
        if time.monotonic() - self._destinations_at >= DESTINATIONS_EVERY:
            self._destinations_at = time.monotonic()
            self._running.add(self._pool.submit(_run_sweep, "replies.tasks.send_due_destinations"))
        if time.monotonic() - self._websub_swept_at >= WEBSUB_EVERY:
            self._websub_swept_at = time.monotonic()
            self._running.add(self._pool.submit(_run_sweep, "aggregator.tasks.sweep_websub"))
            self._running.add(self._pool.submit(_run_sweep, "publishing.tasks.sweep_hub"))
        if time.monotonic() - self._pruned_at >= PRUNE_EVERY:
            self._pruned_at = time.monotonic()
            self._running.add(self._pool.submit(_run_sweep, "aggregator.tasks.prune_history"))
        if not jobs.runs_inline():
            jobs.enqueue("aggregator.tasks.schedule_due_polls")  # a broker is configured: workers do the polling
            return
        self._running = {future for future in self._running if not future.done()}
        # Webmentions are left to this pool (a request must not wait on another hub): their sweep every tick
        self._running.add(self._pool.submit(_run_sweep, "publishing.tasks.sweep_outbox"))
        free = self.workers - len(self._running)
        if free <= 0:
            return
        jobs.enqueue("aggregator.tasks.recover_stale_imports")  # a serve killed mid-import: queued again here
        # run_import claims an import (queued -> running) itself: one left over here is simply skipped there
        for import_id in FollowImport.objects.filter(status=FollowImport.Status.QUEUED).values_list("id", flat=True)[:free]:
            self._running.add(self._pool.submit(_run_import, import_id))
            free -= 1
        for source_id in scheduler.claim_due_sources(limit=free):
            self._running.add(self._pool.submit(_run_poll, source_id))
