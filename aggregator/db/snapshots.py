"""A table (or what a hot path needs of it) held in each process, renewed when any process says it changed.

For hot paths that would otherwise read the same small, rarely written table in every ingest batch: the tracks
by key token (tracks/index.py), the verified handles (accounts/identities.py), the people who block anything
(timelines/blocks.py) and those who want notifications (replies/notifications.py). A write calls
``changed()``, which puts a new version token in the Django cache (Redis in production, so every web and worker
process sees it) at once and again after the commit. ``get()`` reads the token (one cache GET, at most once every
``CHORUS_SNAPSHOT_CHECK_SECONDS``: a batch of pushed posts would otherwise pay a Redis round trip per snapshot)
and reloads when it differs, when it is missing (an evicted or flushed cache) or after ``max_age`` seconds
whatever it says (a write that bypassed ``changed()``, e.g. a bulk insert, is seen within that time).

So the process that wrote sees its write at once; the others within ``CHORUS_SNAPSHOT_CHECK_SECONDS`` (1 s by
default): a new track matches posts ingested from then on, a new block applies to live events from then on (the
pages hide what it blocks at once: ``block.new``). The writer reloads inside its own transaction: if that
transaction then rolls back, the writer's process keeps what it saw until the next change or ``max_age`` (a
rolled-back track stores nothing: the match statement joins the tracks; a rolled-back verification would count
in that process until then).
"""

import math
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

_every: list["Snapshot"] = []


def load_all() -> None:
    """Load every snapshot of the process now (a new worker, before its first task: not while a post waits)."""
    for snapshot in _every:
        snapshot.get()


@dataclass(frozen=True)
class _Loaded(Generic[T]):
    version: str
    loaded_at: float
    value: T


class Snapshot(Generic[T]):
    def __init__(self, *, key: str, load: Callable[[], T], max_age: float = 30.0):
        self.key, self.load, self.max_age = key, load, max_age
        self._current: _Loaded[T] | None = None
        self._checked_at = -math.inf  # when the version was last read (monotonic)
        self._lock = threading.Lock()
        _every.append(self)

    def get(self) -> T:
        """What ``load()`` returned, as of the current version (reloaded here if it is not)."""
        current, now = self._current, time.monotonic()
        if current is not None and now - self._checked_at < settings.CHORUS_SNAPSHOT_CHECK_SECONDS:
            return current.value
        self._checked_at = now
        version = cache.get(self.key)
        if version is None:  # never set, evicted or flushed: start a version everyone will agree on
            cache.add(self.key, uuid.uuid4().hex, timeout=None)
            version = cache.get(self.key) or ""
        current = self._current
        if current is None or current.version != version or time.monotonic() - current.loaded_at > self.max_age:
            with self._lock:
                current = self._current = _Loaded(version, time.monotonic(), self.load())
        return current.value

    def follow_writes_of(self, model) -> None:
        """Call ``changed()`` on every save and delete of ``model``'s rows, the admin's and cascades (a person
        deleted) included. Call it once, from an ``AppConfig.ready``."""
        from django.db.models.signals import post_delete, post_save

        def changed(**_kwargs) -> None:
            self.changed()

        for signal, what in ((post_save, "saved"), (post_delete, "deleted")):
            signal.connect(changed, sender=model, dispatch_uid=f"{self.key}:{what}", weak=False)

    def changed(self) -> None:
        """Tell every process to reload: now (this process, inside the transaction) and after the commit (the
        others, who only then see the change)."""
        self._checked_at = -math.inf  # this process: at its next get()
        cache.set(self.key, uuid.uuid4().hex, timeout=None)
        transaction.on_commit(lambda: cache.set(self.key, uuid.uuid4().hex, timeout=None), robust=True)
