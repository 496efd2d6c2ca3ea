"""COMMIT stamps of the posts a run makes, taken in the process that stores them, into a file the run reads.

Every new database connection of the process (and of the processes it forks, a prefork pool) gets a statement
wrapper (Django's ``connection_created`` signal; nothing of the project is replaced) that sees the INSERT of a
post whose values carry the run's ``marker`` (its GUID: a plain INSERT, or the execution of the prepared
statement ``aggregator.ingest.store`` inserts new posts with, whose columns are array literals) and registers an ``on_commit`` hook, which runs right
after the COMMIT, ahead of the pipeline's own events hook, and appends ``key time`` to the file named by the
environment variable ``path_env`` (whole lines, from any process).
"""

import os
import re
import threading
import time
from pathlib import Path

POST_INSERTS = ("INSERT", "EXECUTE chorus_insert_posts(")


def stamp_commits(*, marker: str, path_env: str) -> None:
    from django.db import transaction
    from django.db.backends.signals import connection_created

    in_literal = re.compile(re.escape(marker) + r'[^",{}\\]*')  # a value, or an element of an array literal
    lock = threading.Lock()  # each request runs in a thread of its own
    files: dict[int, object] = {}  # per process: a prefork pool's processes open their own

    def write(keys: list[str]) -> None:
        line = "".join(f"{k} {time.time():.6f}\n" for k in keys)
        with lock:
            if os.getpid() not in files:
                files[os.getpid()] = open(os.environ[path_env], "a", buffering=1)  # noqa: SIM115 - process life
            files[os.getpid()].write(line)

    def stamp(execute, sql, params, many, context):
        if sql.startswith(POST_INSERTS) and params:
            rows = params if many else [params]  # a multi-row bulk INSERT passes each column as one array (UNNEST)
            values = [v for row in rows for p in row for v in (p if isinstance(p, list | tuple) else [p])]
            keys = sorted({key for v in values if isinstance(v, str) and marker in v for key in in_literal.findall(v)})
            if keys:
                alias = context["connection"].alias
                transaction.on_commit(lambda: write(keys), using=alias)
        return execute(sql, params, many, context)

    def install(sender, connection, **kwargs):
        if stamp not in connection.execute_wrappers:
            connection.execute_wrappers.append(stamp)

    connection_created.connect(install, weak=False)


def commits(path: Path) -> dict[str, float]:
    """Each key's first COMMIT time."""
    found: dict[str, float] = {}
    for line in path.read_text().splitlines():
        key, at = line.split()
        found[key] = min(float(at), found.get(key, float("inf")))
    return found


def wait_for_commits(path: Path, keys: list[str], timeout: float = 60.0) -> bool:
    """Wait until every key has its COMMIT stamp; False after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not set(keys) <= {line.split()[0] for line in path.read_text().splitlines()}:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
