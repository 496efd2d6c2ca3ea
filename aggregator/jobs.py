"""Queue background work by task name: services never import tasks (the tasks modules import the services).

``enqueue("aggregator.tasks.poll_source", source_id)`` hands the job to a Celery worker through the broker, or
runs it here and now where tasks run eagerly (the embedded hub, tests). ``enqueue_on_commit`` waits for the
surrounding transaction: a worker never looks for rows that are not committed yet, and a rollback queues nothing.

Some jobs leave their state in the database, where a sweep finds it (a queued follow-list import). Inside the
embedded hub, whose pool runs that sweep, such a job (``swept=True``) is left to the pool instead of running
eagerly in the thread that queued it (a request).
"""

import threading

from django.db import transaction

from aggregator.celery import app

_sweeping_here = threading.Event()  # set while the embedded runner's pool takes swept jobs


def enqueue(name: str, *args, swept: bool = False) -> None:
    """Run the task called ``name`` with ``args`` on a worker, or here where tasks run eagerly. Every app's
    ``AppConfig.ready`` registers its tasks, so any process knows them all by name."""
    if swept and runs_inline() and _sweeping_here.is_set():
        return
    app.tasks[name].apply_async(args=args)


def enqueue_on_commit(name: str, *args, swept: bool = False) -> None:
    """``enqueue`` once the surrounding transaction commits (now, outside one). A broker that is down then
    fails no write: the failure is logged by Django, and the work is found again by its sweep or next poll."""
    transaction.on_commit(lambda: enqueue(name, *args, swept=swept), robust=True)


def runs_inline() -> bool:
    """True where tasks run eagerly, in the caller's thread (no broker: the embedded hub, tests)."""
    return bool(app.conf.task_always_eager)


def set_sweeping_here(active: bool) -> None:
    """The embedded runner says whether its pool is taking swept jobs (see the module docstring)."""
    (_sweeping_here.set if active else _sweeping_here.clear)()
