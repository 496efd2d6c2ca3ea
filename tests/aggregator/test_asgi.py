"""Which database connections each process keeps (the ASGI web process one per request, the others persistent),
and how each settles its garbage collector."""

import os
import subprocess
import sys

import pytest

from tests.servers.processes import ROOT, embedded_env

AGE = "from django.conf import settings; print(settings.DATABASES['default']['CONN_MAX_AGE'])"
WEB = "import aggregator.asgi; " + AGE
WORKER = "import django; django.setup(); from aggregator.celery import app; " + AGE


def printed_by(script: str, tmp_path, **extra: str) -> int:
    """The last number ``script`` prints, run in a fresh process with the suite's database."""
    # What this test process's own import of aggregator.asgi set is not what a fresh process starts with.
    inherited = {k: v for k, v in embedded_env(tmp_path).items() if k not in ("DB_CONN_MAX_AGE", "DB_POOL_MAX_SIZE")}
    env = {**inherited, "DJANGO_SETTINGS_MODULE": "aggregator.settings", **extra,
           "DATABASE_URL": os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/test"}  # fmt: skip
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("script", "expected"), [(WEB, 0), (WORKER, 60)], ids=["web", "worker"])
def test_the_web_process_closes_connections_after_each_request_and_workers_keep_theirs(tmp_path, script, expected):
    assert printed_by(script, tmp_path) == expected


def test_an_explicit_setting_wins_in_the_web_process(tmp_path):
    assert printed_by(WEB, tmp_path, DB_CONN_MAX_AGE="30") == 30


POOL = "from django.conf import settings; print(settings.DATABASES['default'].get('OPTIONS', {}).get('pool', {}).get('max_size', 0))"


@pytest.mark.parametrize(("script", "extra", "expected"), [
    ("import aggregator.asgi; " + POOL, {}, 10),
    ("import aggregator.asgi; " + POOL, {"DB_POOL_MAX_SIZE": "4"}, 4),
    ("import aggregator.asgi; " + POOL, {"DB_CONN_MAX_AGE": "30"}, 0),
    ("import django; django.setup(); " + POOL, {}, 0),
], ids=["web", "web-sized", "web-persistent", "worker"])  # fmt: skip
def test_the_web_process_pools_its_connections_and_workers_do_not(tmp_path, script, extra, expected):
    assert printed_by(script, tmp_path, **extra) == expected


# What the collector no longer walks: the loaded process, tens of thousands of objects (none in a fresh one).
FROZEN = "import gc; print(gc.get_threshold()[0] * 1_000_000 + gc.get_freeze_count())"


@pytest.mark.parametrize("script", [
    "import aggregator.asgi; " + FROZEN,
    "import django; django.setup(); from aggregator.celery import _warm_up; _warm_up(); " + FROZEN,
], ids=["web", "worker"])  # fmt: skip
def test_the_web_and_worker_processes_settle_the_garbage_collector_once_loaded(tmp_path, script):
    from aggregator import garbage

    threshold, frozen = divmod(printed_by(script, tmp_path), 1_000_000)
    assert threshold == garbage.YOUNG and frozen > 50_000
