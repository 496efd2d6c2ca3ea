"""The embedded default: `manage.py serve` on SQLite, no broker, web + worker + scheduler in one process;
and the production settings pass `check --deploy`."""

import os
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.servers.feeds import RSS, rss
from tests.servers.processes import ROOT, embedded_env, free_port, manage, start_serve, stop


def test_serve_runs_the_whole_hub_on_sqlite_without_a_broker(tmp_path, httpserver, embedded_databases):
    httpserver.expect_request("/feed.xml").respond_with_data(rss(("e1", "embedded hello")), content_type=RSS)
    env = embedded_env(tmp_path)
    embedded_databases.copy_to(tmp_path)  # migrated
    manage("shell", "-c", (
        "from django.contrib.auth.models import User; from django.utils import timezone;"
        "from aggregator.models import Source, Subscription;"
        "u = User.objects.create_user('alice', 'alice@example.org', 'pw');"
        f"s = Source.objects.create(address='{httpserver.url_for('/feed.xml')}', url='{httpserver.url_for('/feed.xml')}',"
        " next_poll_at=timezone.now());"
        "Subscription.objects.create(user=u, source=s)"
    ), env=env)  # fmt: skip
    port = free_port()
    server = start_serve(port=port, env=env)
    try:
        database = sqlite3.connect(tmp_path / "chorus.sqlite3")
        deadline = time.monotonic() + 30
        stored = []
        while time.monotonic() < deadline and not stored:
            time.sleep(0.3)
            stored = database.execute("SELECT title FROM aggregator_post").fetchall()
        assert stored == [("embedded hello",)], "the embedded scheduler did not poll the due source"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=10) as response:
            assert response.status == 200 and b"Chorus" in response.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/chorus.css", timeout=10) as response:
            assert response.status == 200
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10) as response:
            assert b'"/api/v1/timeline"' in response.read()
    finally:
        print(stop(server)[-3000:])


def test_production_settings_pass_check_deploy(tmp_path):
    env = embedded_env(tmp_path)
    env.update(
        DATABASE_URL=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
        SECRET_KEY="a-production-secret-" + "k" * 50, ALLOWED_HOSTS="chorus.example.org", CHORUS_HTTPS="true",
    )  # fmt: skip
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked(tmp_path):
    env = embedded_env(tmp_path)
    env.pop("DEBUG", None)
    assert manage("shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env=env).splitlines()[-1] == "False"


def test_a_bad_setting_fails_loudly(tmp_path):
    env = embedded_env(tmp_path) | {"DEBUG": "maybe"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode != 0 and "DEBUG must be one of" in result.stderr


@pytest.fixture(autouse=True)
def _no_db():
    """These tests run their own processes with their own databases."""
