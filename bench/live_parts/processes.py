"""The child processes of a run (web, workers, clients): started from ``bench/live.py --role ...``, spoken to
with one JSON command per line on stdin and one JSON answer line each on stdout, stopped at the end. Their
logs (stderr) go to a temporary folder, kept when the run fails."""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _setup import REPO_ROOT, cpu_seconds, machine_busy


def protocol_out():
    """In a child: the real stdout carries protocol lines only; anything else printed goes to stderr (its log)."""
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    return out


class Child:
    """One subprocess: JSON commands on its stdin, one JSON answer line each on its stdout."""

    def __init__(self, name: str, argv: list[str], env: dict, log_dir: str):
        self.name = name
        self.log_path = os.path.join(log_dir, f"{name}.log")
        self.log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(argv, env=env, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log)  # fmt: skip
        self.buffer = b""

    def request(self, command: dict, timeout: float = 60.0) -> dict:
        self.send(command)
        return self.read(timeout)

    def send(self, command: dict) -> None:
        self.proc.stdin.write((json.dumps(command) + "\n").encode())
        self.proc.stdin.flush()

    def read(self, timeout: float = 60.0) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(f"{self.name}: no answer within {timeout:.0f} s; log: {self.tail()}")
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 20)
                if not chunk:
                    raise RuntimeError(f"{self.name} exited ({self.proc.poll()}); log: {self.tail()}")
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        answer = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"{self.name}: {answer['error']}")
        return answer

    def tail(self) -> str:
        self.log.flush()
        return Path(self.log_path).read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


class Processes:
    """The run's children: ``web`` (uvicorn on ``port``), ``workers``, ``celery`` (a Celery worker of the
    script's ``--role celery``, started with the given arguments; it answers only its ready line, and SIGTERM
    stops it), ``clients``; ``profile_path`` is where the web process writes its cProfile (``--profile-web``),
    or empty."""

    def __init__(self, *, script: str, env: dict, log_dir: str, profile_web: bool, port: int = 0):
        self.script, self.env, self.log_dir = script, env, log_dir
        self.port = port or free_port()
        self.profile_path = os.path.join(log_dir, "web.pstats") if profile_web else ""
        self.children: list[Child] = []
        self.workers: list[Child] = []
        self.celery: list[Child] = []

    def start(self, *, workers: int, celery: tuple[str, ...] = ()) -> None:
        self.web = self._child("web", "--port", str(self.port), "--profile-out", self.profile_path)
        self.workers = [self._child(f"worker{w}") for w in range(workers)]
        self.celery = [self._child("celery", *celery)] if celery else []
        self.clients = self._child("clients", "--url", f"ws://127.0.0.1:{self.port}/ws/stream/")
        wait_for_port(self.port, self.web)
        for child in (*self.workers, *self.celery, self.clients):
            child.read(60)  # its {"ready": true}

    def _child(self, role: str, *argv: str) -> Child:
        name = role.rstrip("0123456789")
        child = Child(role, [sys.executable, self.script, "--role", name, *argv], self.env, self.log_dir)
        self.children.append(child)
        return child

    def cpu(self, since: dict | None = None) -> dict:
        """CPU seconds of each child, of the whole machine, and the wall clock; the differences ``since``."""
        now = {child.name: cpu_seconds(child.proc.pid, children=True) for child in self.children}  # Celery's pool
        now["machine"] = machine_busy()
        now["wall"] = time.monotonic()
        return {name: value - since[name] for name, value in now.items()} if since else now

    def profile_web(self, on: bool) -> None:
        if self.profile_path:
            self.web.proc.send_signal(signal.SIGUSR1 if on else signal.SIGUSR2)

    def say_stop(self) -> None:
        """Let the workers and clients finish on their own (they flush their layers)."""
        for child in (*self.workers, self.clients):
            child.send({"cmd": "stop"})

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()


@contextmanager
def started(*, script: str, env: dict, workers: int, profile_web: bool, celery: tuple[str, ...] = (),
            port: int = 0) -> Iterator[Processes]:  # fmt: skip
    """The children, started and ready (the web process on ``port``, else a free one); stopped on leaving.
    Their logs are kept if the run fails."""
    log_dir = tempfile.mkdtemp(prefix="chorus-bench-live-")
    processes = Processes(script=script, env=env, log_dir=log_dir, profile_web=profile_web, port=port)
    try:
        processes.start(workers=workers, celery=celery)
        yield processes
        processes.say_stop()
    except BaseException:
        print(f"   (process logs kept in {log_dir})", file=sys.stderr)
        raise
    else:
        shutil.rmtree(log_dir, ignore_errors=True)
    finally:
        processes.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.proc.poll() is not None:
            raise RuntimeError(f"web exited ({child.proc.returncode}); log: {child.tail()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"web did not listen on {port} within {timeout:.0f} s; log: {child.tail()}")
