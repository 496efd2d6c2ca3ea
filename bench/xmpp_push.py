"""XMPP push latency: publish -> post committed in PostgreSQL, beside Prosody's bare publish -> receive.

    .venv/bin/python bench/xmpp_push.py [--rate 100] [--seconds 10] [--burst 1000] [--worker-concurrency 2]
                                        [--profile]

Production path, separate processes: Prosody (the suite's throwaway config, tests/servers/xmpp_server.py), the hub's
listener (``manage.py xmpp_listen``), a Celery worker on Redis (``celery -A aggregator worker``, started by
this script in ``--worker`` mode so that it can note when each task's transaction has committed), PostgreSQL.
In this process: alice publishes XEP-0277 posts on her microblog, and "watcher", a plain XMPP client
subscribed to the same node, receives the notifications: that is the bare figure, measured in the same run
on the same server. Chorus' figure ends at the COMMIT of the transaction that stored the item: the worker
wraps its database wrapper's ``_commit`` and takes the first commit after ``ingest`` began; its
``task_postrun`` pushes (item id, stamps) to a Redis list. The task's end (after the on-commit live events)
is printed beside it. ``--profile`` runs the listener from this script (``--listener`` mode: the same
``run_listener``, noting when each stanza arrived and when its task reached the broker) and prints where an
item's time goes, step by step.
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

from _setup import (
    REPO_ROOT,
    banner,
    bench_redis_url,
    cpu_seconds,
    machine_busy,
    median,
    percentile,
    setup_django,
    verdict,
)
from live_parts import celery_worker

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/4"
STORED_KEY = "chorus:bench:xmpp:stored"
ENQUEUED_KEY = "chorus:bench:xmpp:enqueued"
GOAL_P99_OVER_BARE_MS = 20.0
PASSWORD = "bench secret"


def redis_url() -> str:
    return bench_redis_url(DEFAULT_REDIS_URL)


def run_worker(concurrency: int) -> None:
    """``--worker`` mode: a Celery worker of the project's app that notes when each store task's items are
    committed, and (for ``--profile``) when the task started, when ingest began and when the task ended."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import django

    django.setup()
    import redis
    from celery.signals import task_postrun, task_prerun, worker_process_init
    from django.db import connection, connections

    from aggregator.ingest import xmpp_items as xmpp_store

    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    stamps: dict[str, float] = {}
    statements: list[float] = []
    original_ingest = xmpp_store.ingest

    def timed_ingest(*args, **kwargs):
        stamps["ingest"] = time.time()
        return original_ingest(*args, **kwargs)

    xmpp_store.ingest = timed_ingest
    original_parse_items = xmpp_store.parse_items

    def timed_parse_items(*args, **kwargs):
        stamps["parse"] = time.time()
        return original_parse_items(*args, **kwargs)

    xmpp_store.parse_items = timed_parse_items
    wrapper_class = type(connections["default"])
    original_commit = wrapper_class._commit

    def timed_commit(self):  # the first COMMIT after ingest began: from then on the posts are stored
        result = original_commit(self)
        if "ingest" in stamps and "commit" not in stamps:
            stamps["commit"] = time.time()
        return result

    wrapper_class._commit = timed_commit

    def count_statement(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(time.perf_counter() - started)

    @worker_process_init.connect(weak=False)
    def install(**_kwargs):
        connection.execute_wrappers.append(count_statement)

    @task_prerun.connect(weak=False)
    def note_start(task=None, **_kwargs):
        stamps.clear()
        statements.clear()
        stamps["started"] = time.time()

    @task_postrun.connect(weak=False)
    def note_commit(task=None, args=None, **_kwargs):
        if task is not None and task.name == "aggregator.tasks.store_xmpp_items":
            now = time.time()
            trace = {**stamps, "ended": now, "statements": len(statements), "sql": sum(statements)}
            trace.setdefault("commit", now)  # nothing committed (a missing source): the task's end
            store.rpush(STORED_KEY, *[json.dumps([item[0], trace]) for item in args[1]])

    celery_worker.run(concurrency)


def run_listener() -> None:
    """``--listener`` mode (``--profile``): ``manage.py xmpp_listen`` noting when each item's stanza arrived
    and when its task was handed to the broker."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import django

    django.setup()
    import redis
    from celery.signals import after_task_publish

    from aggregator.runtime import xmpp_listener as listener

    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    arrived: dict[str, float] = {}
    original_on_items = listener.Listener._on_items

    def timed_on_items(self, message):
        now = time.time()
        for item in message.xml.iter("{http://jabber.org/protocol/pubsub#event}item"):
            arrived.setdefault(item.get("id"), now)
        return original_on_items(self, message)

    listener.Listener._on_items = timed_on_items

    @after_task_publish.connect(weak=False)
    def note_enqueued(sender=None, body=None, **_kwargs):
        if sender == "aggregator.tasks.store_xmpp_items":
            now = time.time()
            items = body[0][1]
            store.rpush(ENQUEUED_KEY, *[json.dumps([i[0], arrived.pop(i[0], now), now]) for i in items])

    settings = listener.Settings.from_django()
    listener.run_listener(listener.Settings(**{**settings.__dict__, "sync_interval": 0.5}))


async def publish_at_rate(person, *, count: int, rate: float | None, prefix: str) -> dict[str, float]:
    """Publish ``count`` posts on the person's microblog, ``rate`` per second (None: back to back)."""
    from tests.servers.xmpp_clients import MICROBLOG, atom_entry

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


def cpu_snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {**{name: cpu_seconds(pid, children=pid != os.getpid()) for name, pid in pids.items()},
            "machine": machine_busy(),
            "wall": time.monotonic()}  # fmt: skip


def print_cpu(before: dict[str, float], after: dict[str, float]) -> None:
    used = {name: after[name] - before[name] for name in before}
    wall = used.pop("wall")
    machine = used.pop("machine")
    ours = sum(used.values())
    cores = os.cpu_count() or 1
    print("   CPU seconds: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in used.items())
          + f"; whole machine {machine:.1f} of {cores * wall:.1f} ({machine / (cores * wall):.0%} busy,"
          f" {max(0.0, machine - ours):.1f} s in PostgreSQL, Redis and anything else running)")  # fmt: skip


def wait_for_stored(store, expected: set[str], *, timeout: float) -> dict[str, list[dict]]:
    """Item id -> the worker's trace of every task that stored it (``commit``: when its transaction committed)."""
    stored: dict[str, list[dict]] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not expected <= stored.keys():
        for raw in store.lpop(STORED_KEY, 1000) or []:
            item_id, trace = json.loads(raw)
            stored.setdefault(item_id, []).append(trace)
        time.sleep(0.05)
    return stored


def first_commit(traces: list[dict]) -> dict:
    return min(traces, key=lambda trace: trace["commit"])


def print_profile(store, sent: dict[str, float], received: dict[str, float], stored: dict[str, list[dict]]) -> None:
    """Where an item's time goes, stage by stage (``--profile``): p50 / p99 of each step, in ms."""
    enqueued = {}
    for raw in store.lrange(ENQUEUED_KEY, 0, -1):
        item_id, arrived, handed = json.loads(raw)
        enqueued.setdefault(item_id, (arrived, handed))
    rows = []
    for item_id, at in sent.items():
        if item_id not in stored or item_id not in enqueued:
            continue
        trace = first_commit(stored[item_id])
        arrived, handed = enqueued[item_id]
        rows.append({
            "publish -> bare watcher receives": received.get(item_id, at) - at,
            "publish -> listener gets the stanza": arrived - at,
            "stanza -> task on the broker (Outbox + delay)": handed - arrived,
            "on the broker -> task starts in a worker": trace["started"] - handed,
            "task start -> source loaded": trace["parse"] - trace["started"],
            "source loaded -> parsed (feedparser)": trace["ingest"] - trace["parse"],
            "ingest -> COMMIT done": trace["commit"] - trace["ingest"],
            "COMMIT -> task ends (on-commit hooks)": trace["ended"] - trace["commit"],
            "= publish -> COMMIT": trace["commit"] - at,
            "= publish -> task ends": trace["ended"] - at,
        })  # fmt: skip
    if not rows:
        print("   (no profile: no item has all its stamps)")
        return
    # The p99 is the 10th slowest of 1,000 items: the mean of each step over the slowest 1% says whether they
    # were slow in one step (the Outbox, the store) or everywhere at once (a stalled machine).
    slowest = sorted(rows, key=lambda row: row["= publish -> COMMIT"])[-max(1, len(rows) // 100) :]
    print(f"   where the time goes ({len(rows)} items; each step's own p50 and p99, and its mean over the slowest 1%"
          " of items to COMMIT, ms):")  # fmt: skip
    for step in rows[0]:
        values = [row[step] * 1000 for row in rows]
        tail = sum(row[step] for row in slowest) * 1000 / len(slowest)
        print(f"     {step:<50} p50 {median(values):7.2f}  p99 {percentile(values, 99):7.2f}  slowest 1% {tail:7.2f}")  # fmt: skip
    commits = sorted(first_commit(traces)["commit"] for traces in stored.values())
    gaps = []  # a batch that waited for the task before it: that task's COMMIT -> this batch on the broker
    for arrived, handed in sorted(set(enqueued.values()), key=lambda pair: pair[1]):
        before = [commit for commit in commits if arrived < commit <= handed]
        if before:
            gaps.append((handed - before[-1]) * 1000)
    if gaps:
        print(f"     {'COMMIT -> waiting items on the broker':<50} p50 {median(gaps):7.2f}  p99 {percentile(gaps, 99):7.2f}"
              f"  ({len(gaps)} items waited for the task before them)")  # fmt: skip
    tasks: dict[tuple[float, float], list[dict]] = {}
    for trace in (trace for traces in stored.values() for trace in traces):
        tasks.setdefault((trace["started"], trace["ended"]), []).append(trace)
    per_task = [len(items) for items in tasks.values()]
    traces = [items[0] for items in tasks.values()]
    print(f"     tasks: {len(per_task)}, items per task mean {sum(per_task) / len(per_task):.2f} max {max(per_task)}; "
          f"SQL statements per task p50 {median([t['statements'] for t in traces]):.0f}, "
          f"time in them p50 {median([t['sql'] for t in traces]) * 1000:.2f} ms")  # fmt: skip


def received_times(watcher, prefix: str) -> dict[str, float]:
    return {item_id: when for item_id, when in watcher.received_at.items() if item_id.startswith(prefix)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--profile", action="store_true",
                        help="stamp each item at every step (listener, broker, worker) and print where the time goes")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--listener", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker_concurrency)
        return
    if args.listener:
        run_listener()
        return

    from tests.servers.xmpp_server import DOMAIN, ProsodyServer, prosody_available

    if not prosody_available():
        raise SystemExit("prosody is not installed (make system-deps, or apt-get install prosody lua-unbound)")
    database_url = setup_django(default_db="chorus_bench_xmpp")
    import redis
    from django.contrib.auth import get_user_model

    from aggregator.following.subscriptions import subscribe
    from aggregator.models import Post, Source

    from tests.servers.xmpp_clients import MICROBLOG, XmppPerson, atom_entry

    banner("XMPP push: publish -> committed post, beside Prosody's publish -> receive", database_url)
    broker = redis_url()
    store = redis.Redis.from_url(broker)
    store.delete(STORED_KEY, ENQUEUED_KEY)
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
        listen = [__file__, "--listener"] if args.profile else ["manage.py", "xmpp_listen", "--sync-interval", "0.5"]
        processes.append(subprocess.Popen([sys.executable, *listen], cwd=REPO_ROOT, env=env, stdout=logs["listener"],
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
            store.delete(STORED_KEY, ENQUEUED_KEY)
            print(f"   processes: prosody, xmpp_listen{' (stamping)' if args.profile else ''}, celery worker (concurrency {args.worker_concurrency}), "
                  f"Redis {broker}")  # fmt: skip

            count = int(args.rate * args.seconds)
            prefix = f"s{uuid.uuid4().hex[:6]}"
            pids = {"worker": processes[0].pid, "listener": processes[1].pid, "prosody": prosody.process.pid,
                    "clients (this process)": os.getpid()}  # fmt: skip
            cpu_before = cpu_snapshot(pids)
            backlog = QueueWatch(store)
            sent = alice.call(lambda: publish_at_rate(alice, count=count, rate=args.rate, prefix=prefix), timeout=600)
            stored = wait_for_stored(store, set(sent), timeout=60)
            cpu_after = cpu_snapshot(pids)
            backlog.stop()
            received = received_times(watcher, prefix)
            bare = [(received[i] - sent[i]) * 1000 for i in sent if i in received]
            chorus = [(first_commit(stored[i])["commit"] - sent[i]) * 1000 for i in sent if i in stored]
            ended = [(first_commit(stored[i])["ended"] - sent[i]) * 1000 for i in sent if i in stored]
            print(f"\nsustained: {count} items at {args.rate:.0f}/s")
            print(f"   bare Prosody publish -> receive  p50 {median(bare):7.2f} ms  p99 {percentile(bare, 99):7.2f} ms"
                  f"  ({len(bare)}/{count} received)")  # fmt: skip
            print(f"   Chorus publish -> committed      p50 {median(chorus):7.2f} ms  p99 {percentile(chorus, 99):7.2f} ms"
                  f"  ({len(chorus)}/{count} stored)")  # fmt: skip
            print(f"   (same, until the store task ended  p50 {median(ended):7.2f} ms  p99 {percentile(ended, 99):7.2f} ms"
                  ": after the on-commit live events)")  # fmt: skip
            over = percentile(chorus, 99) - percentile(bare, 99)
            ok = over <= GOAL_P99_OVER_BARE_MS and len(chorus) == count
            print(f"   Celery queue length while publishing: max {backlog.max}, mean {backlog.mean:.1f}")
            print_cpu(cpu_before, cpu_after)
            print(f"   p99 over bare: {over:.2f} ms (goal <= {GOAL_P99_OVER_BARE_MS:.0f} ms, none lost): {verdict(ok)}")
            if args.profile:
                print_profile(store, sent, received, stored)

            prefix = f"b{uuid.uuid4().hex[:6]}"
            started = time.time()
            sent = alice.call(lambda: publish_at_rate(alice, count=args.burst, rate=None, prefix=prefix), timeout=600)
            published_in = time.time() - started
            stored = wait_for_stored(store, set(sent), timeout=120)
            rows = Post.objects.filter(source=source, guid__startswith=prefix).count()
            done_in = max(first_commit(traces)["commit"] for traces in stored.values()) - started if stored else float("nan")
            twice = sum(1 for traces in stored.values() if len(traces) > 1)
            print(f"\nburst: {args.burst} items back to back (published in {published_in:.2f} s, "
                  f"{args.burst / published_in:.0f} items/s)")  # fmt: skip
            print(f"   bare: {len(received_times(watcher, prefix))}/{args.burst} received")
            print(f"   Chorus: {len(stored)}/{args.burst} stored in {done_in:.2f} s "
                  f"({len(stored) / done_in:.0f} items/s), {rows} post rows, {twice} items handed to 2+ tasks")  # fmt: skip
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
