"""Notification destinations: 1,000 replies to 100 people with 3 destinations each, on loopback HTTP servers.

    .venv/bin/python bench/notify.py [--people 100] [--replies 1000] [--batch 10] [--rounds 5] [--rate 20]
                                     [--worker-concurrency 2]

The production shape: replies are ingested through ``pipeline.ingest`` in this process, in batches of ``--batch``
posts each mentioning one person; the jobs go through Redis (``BENCH_REDIS_URL``, db 11 by default) to a Celery
worker of the project's app (prefork), which makes the messages and sends them (Apprise's own HTTP POSTs through
the connection guard). Each person has a verified fediverse handle and three ``json://`` destinations, one on each
of three loopback HTTP servers that run in a process of their own and note when each message arrives.

Figures:
- ingest: the time to the commit of batches mentioning people with destinations (their jobs enqueued) over the
  same batches mentioning as many people without any, interleaved batch by batch so that whatever else the machine
  does weighs on both alike; median of ``--rounds`` per-round ratios, after an untimed round. No worker runs
  meanwhile (the jobs left on the broker are counted and dropped after each round). Goal: <= 1.05.
- latency: with the worker running, replies ingested at ``--rate`` per second: from a batch's commit to each
  destination receiving each of its replies, p50/p99, beside a bare HTTP POST (urllib3, a fresh connection each,
  to the same servers) in the same run.
"""

import argparse
import http.server
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import banner, bench_redis_url, cpu_seconds, median, percentile, setup_django, verdict

GOAL = 1.05
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
READY_KEY = "chorus:bench:notify:worker-ready"
REPO_ROOT = Path(__file__).resolve().parent.parent
LIMITS = ("CHORUS_NOTIFY_PER_MINUTE", "CHORUS_NOTIFY_PERSON_PER_MINUTE", "CHORUS_NOTIFY_HOST_PER_MINUTE")


def serve_peers(count: int, ports, arrivals_queue, stop, received) -> None:
    """The destinations' servers (a process of their own): ``count`` HTTP servers noting, for each reply named
    in a message, when it first arrived (``received`` counts them); on ``stop`` the arrivals go back through
    ``arrivals_queue``."""
    arrivals: list[dict[str, float]] = [{} for _ in range(count)]

    def handler_for(seen: dict[str, float]):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.time()
                for word in body.decode().split():
                    name = word.strip('",.\\n')
                    if name.startswith("bench-reply-") and name not in seen:
                        seen[name] = now
                        with received.get_lock():
                            received.value += 1
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        return Handler

    for seen in arrivals:
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler_for(seen))
        ports.append(server.server_address[1])
        threading.Thread(target=server.serve_forever, daemon=True).start()
    stop.wait()
    arrivals_queue.put(arrivals)


def run_worker(concurrency: int) -> None:
    """``--worker`` mode: a Celery worker of the project's app; says in Redis when it consumes."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import django

    django.setup()
    import redis
    from live_parts import celery_worker

    store = redis.Redis.from_url(os.environ["REDIS_URL"])
    celery_worker.run(concurrency, purge=True, on_ready=lambda: store.set(READY_KEY, "1"))


def setup_people(count: int) -> list[int]:
    from django.contrib.auth import get_user_model

    from accounts.identities import identity_create
    from aggregator.models import Source

    User = get_user_model()  # noqa: N806
    Source.objects.filter(address__startswith="https://carol.example/").delete()  # and their posts
    User.objects.filter(username__startswith="bench-notify-").delete()
    users = User.objects.bulk_create([User(username=f"bench-notify-{n:03d}") for n in range(count)])
    for n, user in enumerate(users):
        identity_create(user=user, kind="fediverse", value=f"@p{n}@bench.example", verified=True)
    return [u.pk for u in users]


def set_destinations(user_ids: list[int], ports: list[int]) -> None:
    """Three destinations for each person (``ports`` empty: none at all)."""
    from django.contrib.auth import get_user_model

    from replies.destinations import destination_create
    from replies.models import Destination

    Destination.objects.all().delete()
    for user in get_user_model().objects.filter(pk__in=user_ids) if ports else []:
        for n, port in enumerate(ports):
            destination_create(user=user, name=f"d{n}", url=f"json://127.0.0.1:{port}/hook", events=["reply"])


def make_batch(source, *, start: int, batch: int, people: range, tag: str):
    """``batch`` replies, each mentioning one of ``people`` (by index)."""
    from aggregator.content.entry import Entry

    names = [f"bench-reply-{tag}-{n}" for n in range(start, start + batch)]
    entries = [Entry(guid=name, url=f"https://carol.example/{name}", author_name="Carol",
                     content_html=f"<p>@p{people[n % len(people)]}@bench.example {name} what do you think?</p>",
                     base_url=source.url) for n, name in zip(range(start, start + batch), names, strict=True)]  # fmt: skip
    return names, entries


def ingest_timed(source, entries) -> tuple[float, float]:
    """Ingest one batch in its transaction; returns (seconds to the commit, the commit's ``time.time()``)."""
    from django.db import transaction

    from aggregator.ingest.pipeline import ingest

    began = time.perf_counter()
    with transaction.atomic():
        marks: list[tuple[float, float]] = []
        transaction.on_commit(lambda: marks.append((time.perf_counter(), time.time())))  # before the jobs
        ingest(source, entries)
    return marks[0][0] - began, marks[0][1]


def new_source(tag: str):
    from aggregator.models import Source

    return Source.objects.create(address=f"https://carol.example/{tag}", url=f"https://carol.example/{tag}")


def interleaved_round(*, people: int, replies: int, batch: int, tag: str) -> tuple[float, float]:
    """``replies`` replies to the people with destinations and as many to those without, batch by batch in
    turn; returns the seconds to the commits of each (with, without)."""
    source = new_source(tag)
    spent = {"with": 0.0, "without": 0.0}
    for start in range(0, replies, batch):
        for half, group in (("with", range(people)), ("without", range(people, 2 * people))):
            _, entries = make_batch(source, start=start, batch=batch, people=group, tag=f"{tag}-{half}")
            spent[half] += ingest_timed(source, entries)[0]
    return spent["with"], spent["without"]


def paced_round(*, people: int, replies: int, batch: int, rate: float, tag: str) -> dict[str, float]:
    """``replies`` replies to the people with destinations at ``rate`` per second; returns each one's commit time."""
    source = new_source(tag)
    committed_at: dict[str, float] = {}
    started = time.monotonic()
    for start in range(0, replies, batch):
        time.sleep(max(0.0, started + start / rate - time.monotonic()))
        names, entries = make_batch(source, start=start, batch=batch, people=range(people), tag=tag)
        committed_at.update(dict.fromkeys(names, ingest_timed(source, entries)[1]))
    return committed_at


def drop_queued_jobs() -> int:
    """Empty the broker's queue; returns how many jobs were on it."""
    from aggregator.celery import app

    return app.control.purge()


def bare_posts(ports: list[int], count: int) -> list[float]:
    import urllib3

    times = []
    for n in range(count):
        began = time.perf_counter()
        with urllib3.HTTPConnectionPool("127.0.0.1", ports[n % len(ports)], maxsize=1) as pool:
            pool.request("POST", "/hook", body=b'{"message": "bare"}', headers={"content-type": "application/json"})
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100, help="people with destinations (as many without)")
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=20.0, help="replies per second in the latency part")
    parser.add_argument("--worker-concurrency", type=int, default=2)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(args.worker_concurrency)
        return

    # The peers' process starts before Django is set up here: it shares nothing with it.
    context = multiprocessing.get_context("fork")
    manager = context.Manager()
    ports, arrivals_queue, stop = manager.list(), context.Queue(), context.Event()
    received = context.Value("i", 0)
    peers = context.Process(target=serve_peers, args=(3, ports, arrivals_queue, stop, received), daemon=True)
    peers.start()
    while len(ports) < 3:
        time.sleep(0.01)
    ports = list(ports)

    broker = bench_redis_url(DEFAULT_REDIS_URL)
    os.environ["REDIS_URL"] = broker
    for name in LIMITS:
        os.environ[name] = "1000000"  # the limits are not what is measured here
    url = setup_django(default_db="chorus_bench_notify", allow_private_fetch=True)
    banner("notification destinations (Apprise json:// on loopback, a Celery worker through Redis)", url)
    import redis

    store = redis.Redis.from_url(broker)
    user_ids = setup_people(2 * args.people)
    set_destinations(user_ids[: args.people], ports)
    drop_queued_jobs()

    # 1. The ingest's cost, with and without destinations; no worker runs.
    ratios, timed, jobs = [], {"with": [], "without": []}, []
    for round_number in range(args.rounds + 1):
        spent_with, spent_without = interleaved_round(people=args.people, replies=args.replies, batch=args.batch,
                                                      tag=f"r{round_number}")  # fmt: skip
        left = drop_queued_jobs()
        if round_number == 0:
            print(f"warm-up ingest to commit: with {spent_with:5.2f} s, without {spent_without:5.2f} s (not counted)")
            continue
        ratios.append(spent_with / spent_without)
        timed["with"].append(spent_with)
        timed["without"].append(spent_without)
        jobs.append(left)
        print(f"round {round_number} ingest to commit: with {spent_with:5.2f} s, without {spent_without:5.2f} s "
              f"= {ratios[-1]:.3f}; {left} jobs left on the broker")

    # 2. The latency, with the worker sending.
    store.delete(READY_KEY)
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": broker, "DB_CONN_MAX_AGE": "60"}
    worker = subprocess.Popen([sys.executable, __file__, "--worker", "--worker-concurrency",
                               str(args.worker_concurrency)], cwd=REPO_ROOT, env=env)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not store.get(READY_KEY):
            if time.monotonic() > deadline or worker.poll() is not None:
                raise SystemExit("the worker never became ready")
            time.sleep(0.05)
        cpu_before, arrived_before = cpu_seconds(worker.pid, children=True), received.value
        committed_at = paced_round(people=args.people, replies=args.replies, batch=args.batch, rate=args.rate,
                                   tag="latency")  # fmt: skip
        expected = len(committed_at) * len(ports)
        deadline = time.monotonic() + 300
        while received.value - arrived_before < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        worker_cpu = cpu_seconds(worker.pid, children=True) - cpu_before
    finally:
        worker.terminate()
        worker.wait(30)
    bare = bare_posts(ports, 1000)  # before the peers stop
    stop.set()
    arrivals = arrivals_queue.get(timeout=30)
    latencies = [seen[name] - at for seen in arrivals for name, at in committed_at.items() if name in seen]
    missing = expected - len(latencies)

    ratio = median(ratios)
    print(f"\nreply commit -> destination received: p50 {percentile(latencies, 50) * 1000:7.1f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:7.1f} ms ({len(latencies)} of {expected} deliveries, "
          f"{args.rate:g} replies/s, worker concurrency {args.worker_concurrency}, worker CPU {worker_cpu:.1f} s)")
    print(f"bare HTTP POST (baseline):           p50 {percentile(bare, 50) * 1000:7.1f} ms, "
          f"p99 {percentile(bare, 99) * 1000:7.1f} ms")
    print(f"ingest with destinations / without: {median(timed['with']):.2f} s / {median(timed['without']):.2f} s, "
          f"median ratio {ratio:.3f}  (goal <= {GOAL}) {verdict(ratio <= GOAL)}")
    print(f"jobs left on the broker per round: {median(jobs):g} (one per batch with destinations: "
          f"{args.replies // args.batch})")
    print(f"every reply reached all {len(ports)} destinations: {verdict(missing == 0)} ({missing} missing)")


if __name__ == "__main__":
    main()
