"""Suite-wide set-up: real PostgreSQL and Redis (from DATABASE_URL / REDIS_URL), tasks inline by default.

Tests that need the production shape start real Celery worker processes themselves
(tests/aggregator/runtime/test_production.py). Tests of the embedded hub share its migrated database and, in the
browser, one Chromium (tests/browser.py).
"""

import ipaddress
import os
import socket
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import caches
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test.utils import override_settings

from aggregator.celery import app as celery_app

from tests.browser import CHROMIUM, CHROMIUM_ARGS, Browser, EmbeddedDatabases, Hub, require_chromium
from tests.servers.feedservers import FakeInternet, RawServer
from tests.servers.xmpp_server import PASSWORD, running_prosody

FIXTURES = Path(__file__).parent / "fixtures"


def pytest_configure(config):
    if os.environ.get("PYTEST_XDIST_WORKER") and not config.pluginmanager.has_plugin("tests.workers"):
        raise pytest.UsageError(
            "on several processes, load tests/workers.py: python -m pytest -p tests.workers -n N"
        )
    if os.environ.get("CI") == "true" and django_settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        raise pytest.UsageError("CI must run against PostgreSQL: set DATABASE_URL (make test does)")
    # Most tests want a poll to happen inside the test; the production test runs real workers instead.
    celery_app.conf.task_always_eager = True
    # Hashing a password takes ~0.3 s by design (PBKDF2, a million rounds), and most tests create alice or bob.
    # No test is about the hash's strength; the processes a test starts (hub, worker) keep Django's default.
    override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]).enable()


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """Browser tests run last, together: while the run's one Playwright is up, its event loop runs in this thread
    and ``asyncio.run`` (used by many other tests) refuses to start."""
    items.sort(key=lambda item: "browser" in getattr(item, "fixturenames", ()))


def pytest_runtest_setup(item):
    if "browser" in getattr(item, "fixturenames", ()):
        require_chromium()  # skips (fails under CI=true) before the test's hub is started for nothing


@pytest.fixture(autouse=True)
def _loopback_feeds_allowed(settings):
    """Test feeds live on 127.0.0.1; tests of the private-address guard turn this off again."""
    settings.CHORUS_FETCH_ALLOW_PRIVATE = True


_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "", None}


@pytest.fixture(autouse=True)
def _no_internet(monkeypatch):
    """Names other than loopback do not resolve: fixture feeds name sites (example.org, bsky.app) that a poll's
    picture lookup would otherwise ask the real DNS and internet about. ``FakeInternet`` adds its own names."""
    real_getaddrinfo = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host
        if name not in _LOOPBACK_NAMES and not _is_address(name):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (tests have no internet)")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


def _is_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return True


@pytest.fixture(autouse=True)
def _snapshots_always_current(settings):
    """A test sees a change made "by another process" (a cache version set by hand) at once; the check interval
    itself has its own test (tests/aggregator/ingest/test_snapshots.py)."""
    settings.CHORUS_SNAPSHOT_CHECK_SECONDS = 0


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with empty caches: ids repeat from one test database to the next and the feed server
    keeps its port for the session, so cached pictures, budgets or indexes of one test must not reach another."""
    for alias in django_settings.CACHES:
        caches[alias].clear()


@pytest.fixture
def raw_server():
    """``start(respond, tls=None)`` -> a ``RawServer`` (tests/servers/feedservers.py), closed after the test."""
    servers = []

    def start(respond, tls=None) -> RawServer:
        servers.append(RawServer(respond, tls=tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.fixture
def internet(monkeypatch):
    """DNS and routing for the test (``FakeInternet``): a made-up public host can be a local server."""
    return FakeInternet(monkeypatch)


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", "alice@example.org", "correct horse battery")


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", "bob@example.org", "correct horse battery")


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture
def app_keeps_the_test_connection(db, settings):
    """For schemathesis calling the WSGI app in process, as Django's test client does: the app must not close the
    test's connection (and its transaction). Operations that fetch a generated address keep each fetch short."""
    settings.CHORUS_FETCH_DEADLINE = 1
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed(): ...`` runs what the block registered with ``transaction.on_commit``, as a real
    commit would (tests run inside a transaction that never commits)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture(scope="session")
def prosody(tmp_path_factory):
    """One throwaway Prosody for the run (tests/servers/xmpp_server.py) with the accounts the XMPP tests use,
    each with ``PASSWORD``; skips where Prosody is not installed (fails under ``CI=true``)."""
    users = ["hub", "alice", "bob", "mallory", "carol", "dave"]
    yield from running_prosody(tmp_path_factory.mktemp("prosody"), users=users, password=PASSWORD)


@pytest.fixture(scope="session")
def embedded_databases(tmp_path_factory) -> EmbeddedDatabases:
    """The embedded hub's database, migrated once per run (and seeded ones, made once each): copied per use."""
    return EmbeddedDatabases(tmp_path_factory.mktemp("embedded-databases"))


@pytest.fixture
def embedded_hub(tmp_path, embedded_databases):
    """``start(seed=(), port=None, **environment)`` -> a running ``Hub`` (`manage.py serve`) on a fresh copy of
    the migrated database (with what the ``seed`` commands wrote); stopped after the test, its output printed."""
    hubs: list[Hub] = []

    def start(*, seed=(), port: int | None = None, **environment: str) -> Hub:
        hub = Hub(tmp_path / f"hub-{len(hubs)}", port=port, environment=environment)
        embedded_databases.copy_to(hub.var_dir, seed=seed, environment=environment)
        hubs.append(hub)
        return hub.start()

    yield start
    for hub in hubs:
        print(hub.stop()[-3000:])


@pytest.fixture(scope="session")
def _chromium():
    """One headless Chromium for the run (launched at the first browser test; they all run last)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser(_chromium) -> Browser:
    """The run's Chromium; the contexts a test opens are closed after it."""
    shared = Browser(_chromium)
    yield shared
    shared.close_contexts()
