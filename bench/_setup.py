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
FORBIDDEN_REDIS_DBS = {"15"}  # the test suite's


def bench_database_url(default_name: str) -> str:
    """The database this benchmark runs against; refuses the test databases."""
    url = os.environ.get("BENCH_DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/{default_name}"
    name = urlsplit(url).path.lstrip("/")
    if name in FORBIDDEN_DATABASES:
        raise SystemExit(f"refusing to benchmark against the {name!r} database: set BENCH_DATABASE_URL elsewhere")
    return url


def bench_redis_url(default: str) -> str:
    """The Redis this benchmark uses: ``BENCH_REDIS_URL``, else ``default``; refuses the test suite's database."""
    url = os.environ.get("BENCH_REDIS_URL") or default
    if urlsplit(url).path.lstrip("/") in FORBIDDEN_REDIS_DBS:
        raise SystemExit(f"refusing Redis {url}: database 15 belongs to the test suite; set BENCH_REDIS_URL")
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


def cpu_seconds(pid: int, *, children: bool = False) -> float:
    """User + system CPU seconds of a process so far (all its threads; with ``children``, its child processes'
    too, such as a prefork worker's pool), from /proc. 0.0 for a process that is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split() if children else []
    except OSError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(kid), children=True) for kid in kids)


def machine_busy() -> float:
    """CPU seconds the whole machine spent not idle so far (every process: PostgreSQL, Redis, other people's
    too), from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # less idle and iowait
