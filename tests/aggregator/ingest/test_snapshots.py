"""aggregator.db.snapshots: what a process holds of a table, and when it notices another process changed it."""

import time

import pytest
from django.core.cache import cache
from django.db import transaction

from aggregator.db.snapshots import Snapshot


class Table:
    """Stands for a table: the loads count how often the snapshot read it."""

    def __init__(self) -> None:
        self.rows, self.loads = ["a"], 0

    def load(self) -> list[str]:
        self.loads += 1
        return list(self.rows)


@pytest.fixture
def table():
    return Table()


def test_loads_once_and_again_only_when_the_version_changes(table):
    snapshot = Snapshot(key="test:snapshot", load=table.load)
    assert snapshot.get() == ["a"] and snapshot.get() == ["a"] and table.loads == 1
    table.rows.append("b")
    cache.set(snapshot.key, "another process's version")
    assert snapshot.get() == ["a", "b"] and table.loads == 2
    cache.delete(snapshot.key)  # an evicted or flushed cache: a new version, and a reload
    assert snapshot.get() == ["a", "b"] and table.loads == 3 and cache.get(snapshot.key)


@pytest.mark.django_db
def test_a_write_is_seen_by_its_own_process_at_once_and_by_others_after_the_commit(table,
                                                                                  django_capture_on_commit_callbacks):  # fmt: skip
    snapshot = Snapshot(key="test:snapshot", load=table.load)
    snapshot.get()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        table.rows.append("b")
        snapshot.changed()
        assert snapshot.get() == ["a", "b"]  # this process, inside its transaction
        inside = cache.get(snapshot.key)
    assert cache.get(snapshot.key) != inside  # renewed after the commit: the others reload what they now can see


@pytest.mark.django_db  # changed() registers its after-commit renewal
def test_the_version_is_read_at_most_once_per_check_interval(table, settings):
    settings.CHORUS_SNAPSHOT_CHECK_SECONDS = 0.3
    snapshot = Snapshot(key="test:snapshot", load=table.load)
    snapshot.get()
    table.rows.append("b")
    cache.set(snapshot.key, "another process's version")
    assert snapshot.get() == ["a"]  # not read again yet: no cache round trip per batch
    time.sleep(0.35)
    assert snapshot.get() == ["a", "b"]
    table.rows.append("c")
    snapshot.changed()  # this process's own write: at once, whatever the interval
    assert snapshot.get() == ["a", "b", "c"]


def test_a_snapshot_too_old_is_reloaded_whatever_the_version_says(table):
    snapshot = Snapshot(key="test:snapshot", load=table.load, max_age=0.2)
    snapshot.get()
    table.rows.append("b")  # written past changed(), e.g. by a bulk insert
    time.sleep(0.25)
    assert snapshot.get() == ["a", "b"]
