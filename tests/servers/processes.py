"""Helpers for tests that run Chorus itself as separate processes: the embedded hub on its own SQLite, or the
production shape (Celery worker, uvicorn) on the test's PostgreSQL database and Redis."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the repository (this file is tests/servers/processes.py)


# Ports handed out by ``free_port``: below the system's ephemeral range (32768-60999 on Linux), so no client
# socket holds one, and a block of its own per test process, so two processes never pick the same one.
_PORTS_FROM, _PORTS_PER_PROCESS = 12000, 2000
_last_port: int | None = None


def worker_number() -> int:
    """This process's number in a run on several processes (pytest-xdist's ``gw<N>``), else 0."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(worker.removeprefix("gw")) if worker.startswith("gw") else 0


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now, for a server a test is about to start. The ports come in
    turn from this process's block: a port handed out is not handed out again until the block wraps around."""
    global _last_port
    first = _PORTS_FROM + worker_number() * _PORTS_PER_PROCESS
    for _ in range(_PORTS_PER_PROCESS):
        after = first - 1 if _last_port is None else _last_port
        _last_port = first + (after + 1 - first) % _PORTS_PER_PROCESS
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", _last_port))
            except OSError:
                continue
        return _last_port
    raise RuntimeError(f"no free port in {first}-{first + _PORTS_PER_PROCESS - 1}")


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def wait_for(condition, *, timeout: float = 15.0, what: str = "condition", interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy (returned); fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


def embedded_env(var_dir: Path) -> dict[str, str]:
    """The embedded default (no DATABASE_URL, no REDIS_URL) with its data under ``var_dir``."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY")}
    env.update(CHORUS_VAR_DIR=str(var_dir), CHORUS_FETCH_ALLOW_PRIVATE="true")
    return env


def manage(*args: str, env: dict[str, str]) -> str:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout


def spawn(args: list[str], *, env: dict[str, str], cwd: Path = ROOT) -> subprocess.Popen:
    """Start a long-running child in its own process group, its output going to an unlinked temporary file.

    Not a pipe: nobody reads a pipe while the test runs, and a child that logs more than the pipe buffer
    (64 KiB) would block in write() and hang the test. ``stop`` reads the file back.
    """
    log = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 -- lives as long as the child
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    process.log = log
    return process


def output_of(process: subprocess.Popen) -> str:
    """What the child has printed so far."""
    process.log.flush()
    process.log.seek(0)
    return process.log.read()


def start_serve(*, port: int, env: dict[str, str], poll_interval: float = 0.5,
                migrate: bool = True) -> subprocess.Popen:  # fmt: skip
    """The embedded hub on ``port``, once it listens; a hub that never does is stopped (not left running behind
    the failed test) before the error is raised. ``migrate=False`` skips serve's own migrate (a fraction of a
    second of its start) on a database known to be migrated."""
    arguments = ["serve", "--port", str(port), "--poll-interval", str(poll_interval)]
    if not migrate:
        arguments.append("--no-migrate")
    process = spawn([sys.executable, "manage.py", *arguments], env=env)
    try:
        wait_for_port(port)
    except BaseException as error:
        printed = stop(process)
        if isinstance(error, AssertionError):
            raise AssertionError(f"{error}; the hub printed:\n{printed[-3000:]}") from None
        raise
    return process


def stop(process: subprocess.Popen) -> str:
    """Terminate the child and everything it started (its process group); return what it printed.

    Every wait is bounded: a child that ignores SIGTERM is killed, and a test never hangs here."""
    for sig, grace in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        if process.poll() is not None:
            break
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # grandchildren that outlived the leader
    return output_of(process)


def require_production_services() -> None:
    """Skip (fail with CI=true) unless the suite runs on PostgreSQL and a reachable Redis."""
    import pytest
    import redis
    from django.conf import settings
    from django.db import connection

    missing = []
    if connection.vendor != "postgresql":
        missing.append("PostgreSQL (DATABASE_URL)")
    if not settings.REDIS_URL:
        missing.append("Redis (REDIS_URL)")
    else:
        try:
            redis.Redis.from_url(settings.REDIS_URL).ping()
        except redis.RedisError:
            missing.append(f"Redis at {settings.REDIS_URL}")
    if missing:
        message = "the production-shape test needs " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def production_env() -> dict[str, str]:
    """The environment of a production process on the test database (pytest-django's ``test_<name>``)."""
    from django.conf import settings
    from django.db import connection

    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    database_url = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    inherited = {k: v for k, v in os.environ.items() if k != "DB_POOL_MAX_SIZE"}  # set here by importing aggregator.asgi
    return {**inherited, "DATABASE_URL": database_url, "REDIS_URL": settings.REDIS_URL,
            "CHORUS_FETCH_ALLOW_PRIVATE": "true", "DB_CONN_MAX_AGE": "0",
            "CHORUS_SNAPSHOT_CHECK_MS": "0"}  # a test's tracks, blocks... count at once  # fmt: skip


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """A real `celery -A aggregator worker` (threads pool, 2 threads)."""
    return spawn([sys.executable, "-m", "celery", "-A", "aggregator", "worker", "--pool=threads", "--concurrency=2",
                  "--loglevel=INFO", "--without-gossip", "--without-mingle", "--without-heartbeat"], env=env)  # fmt: skip
