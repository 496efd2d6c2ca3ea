"""Suite-wide set-up: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL), tasks inline by default.

Tests that need the production shape start real Celery worker processes themselves (see test_production.py).
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from aggregator.celery import app as celery_app

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config):
    if os.environ.get("CI") == "true" and django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        raise pytest.UsageError("CI must run against PostgreSQL: set DATABASE_URL (make test does)")
    # Most tests want a poll to happen inside the test; the production test runs real workers instead.
    celery_app.conf.task_always_eager = True


@pytest.fixture(autouse=True)
def _loopback_feeds_allowed(settings):
    """Test feeds live on 127.0.0.1; tests of the private-address guard turn this off again."""
    settings.CHORUS_FETCH_ALLOW_PRIVATE = True


@pytest.fixture(autouse=True)
def _snapshots_always_current(settings):
    """A test sees a change made "by another process" (a cache version set by hand) at once; the check interval
    itself has its own test (tests/test_snapshots.py)."""
    settings.CHORUS_SNAPSHOT_CHECK_SECONDS = 0


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: ids repeat from one test database to the next and the feed server
    keeps its port for the session, so cached pictures, budgets or indexes of one test must not reach another."""
    cache.clear()


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", "correct horse battery")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", "correct horse battery")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed(): ...`` runs what the block registered with ``transaction.on_commit``, as a real
    commit would (tests run inside a transaction that never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
