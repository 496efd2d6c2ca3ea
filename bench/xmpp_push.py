"""XMPP push latency: publish -> post committed in PostgreSQL, beside Prosody's bare publish -> receive.

    .venv/bin/python bench/xmpp_push.py [--rate 100] [--seconds 10] [--burst 1000] [--worker-concurrency 2]

Production path, separate processes: Prosody (the suite's throwaway config, tests/xmpp_server.py), the hub's
listener (``manage.py xmpp_listen``), a Celery worker on Redis (``celery -A aggregator worker``, started by
this script in ``--worker`` mode so that it can note when each task's transaction has committed), PostgreSQL.
In this process: alice publishes XEP-0277 posts on her microblog, and "watcher", a plain XMPP client
subscribed to the same node, receives the notifications: that is the bare figure, measured in the same run
on the same server. Chorus' figure ends when the ``store_xmpp_items`` task returned, i.e. after its COMMIT
(Celery's ``task_postrun`` signal in the worker, which pushes (item id, time) to a Redis list).
All processes share one host clock (``time.time()``).

- sustained: ``--rate`` items/s for ``--seconds``: p50/p99 of both, and the difference at p99;
- burst: ``--burst`` items published back to back: every one stored exactly once, and how long it took.
Goal: p99 within 20 ms of the bare figure at 100 items/s; no item lost in 1,000-item bursts.
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from _setup import REPO_ROOT, banner, median, percentile, setup_django, verdict

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
STORED_KEY = "chorus:bench:xmpp:stored"
GOAL_P99_OVER_BARE_MS = 20.0
PASSWORD = "bench secret"
sys.path.insert(0, str(REPO_ROOT / "tests"))


def redis_url() -> str:
    url = os.environ.get("BENCH_REDIS_URL") or DEFAULT_REDIS_URL
    if urlsplit(url).path.lstrip("/") == "15":
        raise SystemExit("refusing Redis database 15: it belongs to the test suite; set BENCH_REDIS_URL")
    return url


def run_worker(concurrency: int) -> None:
    """``--worker`` mode: a Celery worker of the project's app that notes each store task's commit time."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import django

    django.setup()
    import redis
    from celery.signals import task_postrun

    from aggregator.celery import app

    store = redis.Redis.from_url(os.environ["REDIS_URL"])

    @task_postrun.connect(weak=False)
    def note_commit(task=None, args=None, **_kwargs):
        if task is not None and task.name == "aggregator.tasks.store_xmpp_items":
            now = time.time()
            store.rpush(STORED_KEY, *[json.dumps([item[0], now]) for item in args[1]])

    app.worker_main(["worker", "--loglevel=warning", f"--concurrency={concurrency}", "--pool=prefork",
                     "--without-gossip", "--without-mingle", "--without-heartbeat"])  # fmt: skip


async def publish_at_rate(person, *, count: int, rate: float | None, prefix: str) -> dict[str, float]:
    """Publish ``count`` posts on the person's microblog, ``rate`` per second (None: back to back)."""
    from xmpp_clients import MICROBLOG, atom_entry

    pubsub = person.client.plugin["xep_0060"]
    sent: dict[str, float] = {}
    pending = []
    start = time.monotonic()
    for n in range(count):
        if rate:
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        item_id = f"{prefix}-{n}"
        payload = atom_entry(title=f"post {n}", body=f"<p>benchmark post {n} of {prefix}</p>", entry_id=item_id)
        sent[item_id] = time.time()
        pending.append(asyncio.ensure_future(pubsub.publish(person.jid, MICROBLOG, id=item_id, payload=payload,
                                                            timeout=60)))  # fmt: skip
        if len(pending) >= 200:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return sent


class QueueWatch(threading.Thread):
    """Samples the Celery queue's length on the broker: a growing queue means the workers fall behind."""

    def __init__(self, store):
        super().__init__(daemon=True)
        self.store, self.samples, self._stop_event = store, [], threading.Event()
        self.start()

    def run(self) -> None:
        while not self._stop_event.wait(0.1):
            self.samples.append(self.store.llen("celery"))

    def stop(self) -> None:
        self._stop_event.set()
        self.join()

    @property
    def max(self) -> int:
        return max(self.samples, default=0)

    @property
    def mean(self) -> float:
        return sum(self.samples) / len(self.samples) if self.samples else 0.0


def wait_for_stored(store, expected: set[str], *, timeout: float) -> dict[str, list[float]]:
    stored: dict[str, list[float]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not expected <= stored.keys():
        for raw in store.lpop(STORED_KEY, 1000) or []:
            item_id, when = json.loads(raw)
            stored.setdefault(item_id, []).append(when)
        time.sleep(0.05)
    return stored


def received_times(watcher, prefix: str) -> dict[str, float]:
    return {item_id: when for item_id, when in watcher.received_at.items() if item_id.startswith(prefix)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker_concurrency)
        return

    from xmpp_server import DOMAIN, ProsodyServer, prosody_available

    if not prosody_available():
        raise SystemExit("prosody is not installed (make system-deps, or apt-get install prosody lua-unbound)")
    database_url = setup_django(default_db="chorus_bench_xmpp")
    import redis
    from django.contrib.auth import get_user_model
    from xmpp_clients import MICROBLOG, XmppPerson, atom_entry

    from aggregator.models import Post, Source
    from aggregator.subscriptions import subscribe

    banner("XMPP push: publish -> committed post, beside Prosody's publish -> receive", database_url)
    broker = redis_url()
    store = redis.Redis.from_url(broker)
    store.delete(STORED_KEY)
    workdir = Path(tempfile.mkdtemp(prefix="chorus-bench-xmpp-"))
    prosody = ProsodyServer(workdir).start()
    processes: list[subprocess.Popen] = []
    try:
        for user in ("hub", "alice", "watcher"):
            prosody.register(user, PASSWORD)
        alice_jid = f"alice@{DOMAIN}"
        Source.objects.filter(push_jid=alice_jid).delete()  # a previous run's posts
        reader, _ = get_user_model().objects.get_or_create(username="bench-xmpp-reader")
        env = {
            **os.environ, "DATABASE_URL": database_url, "REDIS_URL": broker, "DB_CONN_MAX_AGE": "60",
            "CHORUS_XMPP_JID": f"hub@{DOMAIN}", "CHORUS_XMPP_PASSWORD": PASSWORD, "CHORUS_XMPP_HOST": "127.0.0.1",
            "CHORUS_XMPP_PORT": str(prosody.port), "CHORUS_XMPP_TLS": "false",
        }  # fmt: skip
        logs = {name: open(workdir / f"{name}.log", "w") for name in ("listener", "worker")}  # noqa: SIM115
        processes.append(subprocess.Popen([sys.executable, __file__, "--worker", "--worker-concurrency",
                                           str(args.worker_concurrency)], cwd=REPO_ROOT, env=env,
                                          stdout=logs["worker"], stderr=subprocess.STDOUT))  # fmt: skip
        processes.append(subprocess.Popen([sys.executable, "manage.py", "xmpp_listen", "--sync-interval", "0.5"],
                                          cwd=REPO_ROOT, env=env, stdout=logs["listener"],
                                          stderr=subprocess.STDOUT))  # fmt: skip

        with XmppPerson(jid=alice_jid, password=PASSWORD, port=prosody.port) as alice, \
             XmppPerson(jid=f"watcher@{DOMAIN}", password=PASSWORD, port=prosody.port) as watcher:  # fmt: skip
            alice.publish("warm-up", atom_entry(title="warm up", body="<p>first</p>", entry_id="warm-up"))
            watcher.subscribe(alice_jid, MICROBLOG)
            source = subscribe(user=reader, address=alice_jid).source
            deadline = time.monotonic() + 60
            while not Post.objects.filter(source=source, guid="warm-up").exists():
                if time.monotonic() > deadline:
                    raise SystemExit(f"the listener never stored the warm-up post; see {workdir}/*.log")
                time.sleep(0.1)
            store.delete(STORED_KEY)
            print(f"   processes: prosody, xmpp_listen, celery worker (concurrency {args.worker_concurrency}), "
                  f"Redis {broker}")  # fmt: skip

            count = int(args.rate * args.seconds)
            prefix = f"s{uuid.uuid4().hex[:6]}"
            backlog = QueueWatch(store)
            sent = alice.call(lambda: publish_at_rate(alice, count=count, rate=args.rate, prefix=prefix), timeout=600)
            stored = wait_for_stored(store, set(sent), timeout=60)
            backlog.stop()
            received = received_times(watcher, prefix)
            bare = [(received[i] - sent[i]) * 1000 for i in sent if i in received]
            chorus = [(min(stored[i]) - sent[i]) * 1000 for i in sent if i in stored]
            print(f"\nsustained: {count} items at {args.rate:.0f}/s")
            print(f"   bare Prosody publish -> receive  p50 {median(bare):7.2f} ms  p99 {percentile(bare, 99):7.2f} ms"
                  f"  ({len(bare)}/{count} received)")  # fmt: skip
            print(f"   Chorus publish -> committed      p50 {median(chorus):7.2f} ms  p99 {percentile(chorus, 99):7.2f} ms"
                  f"  ({len(chorus)}/{count} stored)")  # fmt: skip
            over = percentile(chorus, 99) - percentile(bare, 99)
            ok = over <= GOAL_P99_OVER_BARE_MS and len(chorus) == count
            print(f"   Celery queue length while publishing: max {backlog.max}, mean {backlog.mean:.1f}")
            print(f"   p99 over bare: {over:.2f} ms (goal <= {GOAL_P99_OVER_BARE_MS:.0f} ms, none lost): {verdict(ok)}")

            prefix = f"b{uuid.uuid4().hex[:6]}"
            started = time.time()
            sent = alice.call(lambda: publish_at_rate(alice, count=args.burst, rate=None, prefix=prefix), timeout=600)
            published_in = time.time() - started
            stored = wait_for_stored(store, set(sent), timeout=120)
            rows = Post.objects.filter(source=source, guid__startswith=prefix).count()
            done_in = max(max(times) for times in stored.values()) - started if stored else float("nan")
            print(f"\nburst: {args.burst} items back to back (published in {published_in:.2f} s, "
                  f"{args.burst / published_in:.0f} items/s)")  # fmt: skip
            print(f"   bare: {len(received_times(watcher, prefix))}/{args.burst} received")
            print(f"   Chorus: {len(stored)}/{args.burst} stored in {done_in:.2f} s "
                  f"({len(stored) / done_in:.0f} items/s), {rows} post rows")  # fmt: skip
            print(f"   every item stored exactly once: {verdict(rows == args.burst == len(stored))}")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
        prosody.stop()


if __name__ == "__main__":
    main()
