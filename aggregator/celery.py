"""The Celery application.

With ``REDIS_URL`` set, tasks go through Redis to separate worker processes. Without it (the embedded
default), tasks run eagerly in the calling thread: ``python manage.py serve`` needs no broker.

Database connections in workers live as long as ``CONN_MAX_AGE`` says, as in the web processes. Celery's
Django fixup would close them around every task (``CELERY_DB_REUSE_MAX`` unset): a new PostgreSQL
connection per task, much of a short task's time. Here, before each task, connections past their age or
seen failing are closed (and, with ``CONN_HEALTH_CHECKS``, the first query checks the connection), and
after a task that failed they are all closed: an interrupted query (a soft time limit) may have left the
connection in a state Django cannot see.
"""

import logging
import os
import time

from celery import Celery, states
from celery.signals import task_postrun, task_prerun, worker_process_init
from django.db import close_old_connections, connections

from aggregator import garbage
from aggregator.db import snapshots

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")

log = logging.getLogger(__name__)

app = Celery("aggregator")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _reuse_healthy_connections(task=None, **_kwargs) -> None:
    if task is not None and not task.request.is_eager:  # eager: the caller's connection, maybe mid-transaction
        close_old_connections()


@task_postrun.connect
def _close_connections_after_failure(task=None, state=None, **_kwargs) -> None:
    if task is not None and not task.request.is_eager and state != states.SUCCESS:
        connections.close_all()


@worker_process_init.connect
def _warm_up(**_kwargs) -> None:
    """A new worker process (prefork) loads what it holds of tracks, identities, blocks and notification choices
    before its first task, not while that task's pushed post waits (else a new process's first tasks are its
    slowest). Best effort.

    The connection it opened is closed again: Celery's Django fixup closes a forked process's connections in
    this same signal, and receivers run in an order we do not rely on; the first task connects for itself."""
    started = time.monotonic()
    try:
        snapshots.load_all()
    except Exception:  # noqa: BLE001 - the first task will load (and report) by itself
        log.warning("worker warm-up failed; the first task loads what it needs", exc_info=True)
        return
    finally:
        connections.close_all()
        garbage.settle()  # what the process keeps is loaded now (aggregator/garbage.py)
    log.info("worker process %d warmed up in %.0f ms", os.getpid(), (time.monotonic() - started) * 1000)
