"""SQLite through ``DATABASE_URL``: the same safety options as the embedded default, and a follow-list import
that meets "database is locked" writes again instead of failing half-done.

The suite runs on PostgreSQL, so these run Chorus in a child process on a migrated SQLite copy.
"""

import json
import sqlite3
import subprocess
import sys
import threading

from tests.browser import DATABASE
from tests.servers.processes import ROOT, embedded_env

FEEDS = 450  # three batches of the import: claims, batch writes and progress saves all meet the lock


def child(script: str, *, database_url: str, var_dir) -> subprocess.Popen:
    env = {**embedded_env(var_dir), "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "aggregator.settings"}
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT, env=env, text=True, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip


SETTINGS = "import django; django.setup(); from django.conf import settings; import json;" \
           "print(json.dumps(settings.DATABASES['default']['OPTIONS']))"  # fmt: skip


def test_a_sqlite_database_url_gets_the_embedded_safety_options(tmp_path):
    process = child(SETTINGS, database_url=f"sqlite:///{tmp_path}/other.sqlite3", var_dir=tmp_path)
    output, _ = process.communicate(timeout=60)
    options = json.loads(output.strip().splitlines()[-1])
    assert options["timeout"] == 30 and options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]


def test_options_in_the_url_win_over_the_defaults(tmp_path):
    process = child(SETTINGS, database_url=f"sqlite:///{tmp_path}/other.sqlite3?timeout=0.5", var_dir=tmp_path)
    output, _ = process.communicate(timeout=60)
    options = json.loads(output.strip().splitlines()[-1])
    assert options["timeout"] == 0.5 and options["transaction_mode"] == "IMMEDIATE"


IMPORT = f"""
import django, sys
django.setup()
from django.contrib.auth.models import User
from aggregator.following.imports import run_import
from aggregator.models import FollowImport
outlines = "".join(f'<outline type="rss" text="f{{n}}" xmlUrl="https://feeds.example.org/{{n}}.xml"/>'
                   for n in range({FEEDS}))
body = f'<?xml version="1.0"?><opml version="2.0"><body>{{outlines}}</body></opml>'.encode()
bob = User.objects.create_user("bob", "bob@example.org", "x")
job = FollowImport.objects.create(user=bob, kind="opml", body=body, total={FEEDS})
print("ready", flush=True)
sys.stdin.readline()
run_import(import_id=job.pk)
job.refresh_from_db()
print("ended", job.status, len(job.followed), job.error, flush=True)
"""


def test_an_import_that_meets_a_locked_database_writes_again_and_finishes_whole(tmp_path, embedded_databases):
    embedded_databases.copy_to(tmp_path)
    # A short busy timeout: another process holds the write lock longer than this
    process = child(IMPORT, database_url=f"sqlite:///{tmp_path / DATABASE}?timeout=0.2", var_dir=tmp_path)
    assert process.stdout.readline().strip() == "ready"
    holder = sqlite3.connect(tmp_path / DATABASE, timeout=10, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    process.stdin.write("go\n")
    process.stdin.flush()
    lines = []
    released = threading.Event()
    for line in process.stdout:
        lines.append(line)
        if "database is locked; writing again" in line and not released.is_set():
            holder.rollback()  # the other writer is done
            released.set()
    process.wait(timeout=60)
    holder.close()
    output = "".join(lines)
    assert released.is_set(), output
    assert f"ended done {FEEDS} " in output, output
