"""Shared set-up for the benchmarks: their own PostgreSQL database, Django, and small statistics helpers.

A benchmark never touches the test databases: it runs against ``BENCH_DATABASE_URL`` if the caller gave
one, else against ``postgres://postgres@127.0.0.1:5432/<name>``, which is created here when missing.
``DATABASE_URL`` from the caller's environment is deliberately ignored (``make bench`` sets it to the test
database).
"""

import os
import platform
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

FORBIDDEN_DATABASES = {"test", "test_test"}


def bench_database_url(default_name: str) -> str:
    """The database this benchmark runs against; refuses the test databases."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{default_name}"
    name = urlsplit(url).path.lstrip("/")
    if name in FORBIDDEN_DATABASES:
        raise SystemExit(f"refusing to benchmark against the {name!r} database: set BENCH_DATABASE_URL elsewhere")
    return url


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` (connecting to its server's ``postgres`` database) if missing."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def setup_django(*, default_db: str, allow_private_fetch: bool = False) -> str:
    """Point Django at the benchmark database, set it up and migrate it. Returns the database URL."""
    url = bench_database_url(default_db)
    ensure_database(url)
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    os.environ["DB_CONN_MAX_AGE"] = "0"
    if allow_private_fetch:
        os.environ["CHORUS_FETCH_ALLOW_PRIVATE"] = "true"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    return url


class QueryTimer:
    """A ``connection.execute_wrapper`` that records (sql, params, seconds) of every statement."""

    def __init__(self):
        self.queries: list[tuple[str, object, float]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.queries.append((sql, params, time.perf_counter() - started))

    @property
    def seconds(self) -> float:
        return sum(seconds for _, _, seconds in self.queries)


def percentile(values: list[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation between closest ranks."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: list[float]) -> float:
    return statistics.median(values)


def banner(title: str, database_url: str) -> None:
    """The header every benchmark prints: what, when, where."""
    parts = urlsplit(database_url)
    print(f"== {title}")
    print(f"   {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, python {platform.python_version()}, "
          f"{os.cpu_count()} cpus, database {parts.hostname}:{parts.port}{parts.path}")


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISSED"
