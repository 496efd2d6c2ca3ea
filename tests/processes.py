"""Helpers for tests that run Chorus itself as a separate process (the embedded hub on its own SQLite)."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


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


def start_serve(*, port: int, env: dict[str, str], poll_interval: float = 0.5) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--poll-interval", str(poll_interval)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    wait_for_port(port)
    return process


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""
