"""Two Chorus hubs on loopback: a post on hub A -> on its followers' timelines on hub B (COMMIT) and -> a follower's
socket on B.

    .venv/bin/python bench/federation.py [--followers 500] [--connected 50] [--rate 20] [--seconds 15]
                                         [--warmup 10] [--baseline-seconds 5] [--senders 8]
                                         [--worker-concurrency 2]

Each hub in the production shape, on its own PostgreSQL database (``chorus_bench_federation_a`` and ``_b``),
started as ``bench/live.py`` and ``bench/websub.py`` start theirs (``bench/live_parts/processes``):
- hub A: web (uvicorn, ``aggregator.asgi``) and a Celery worker of the project's app (prefork pool of
  ``--worker-concurrency``); the person ``bench-fed-alice`` posts through A's API (``POST /api/v1/posts``, her
  API token); each post's transaction owes B's subscription a delivery, queued after the commit, and A's worker
  delivers the posts owed to B's callback (a signed fat ping of those entries only: one, or several written
  while a delivery to B was queued or in flight);
- hub B: web, where the callback checks and queues a delivery (202), and a Celery worker that stores it
  (``pipeline.ingest``: fan-out to ``--followers`` timelines and ``post.new`` events); a clients process holds
  the sockets of the first ``--connected`` followers (follower 0 is "bob");
- this process: sets B up (its followers, and B's subscription at A's hub made by the protocol itself: B's worker
  asks A's hub, A's worker checks B's intent at B's callback), plays alice (``--senders`` threads, one
  keep-alive connection each, paced at ``--rate`` posts/s) and computes the figures.

The hubs share one Redis database (``BENCH_REDIS_URL``, default db 9), each in its own ``CHORUS_REDIS_NAMESPACE``
(its Celery queue, cache keys and channel names). Settings changed from production: B's ``CHORUS_WEBSUB_DELIVERIES_PER_MINUTE`` (60 per subscription
by default: 20 posts/s from one person would be refused with 429 and retried by A after its back-off), and
``CHORUS_FETCH_ALLOW_PRIVATE`` (the hubs reach each other on loopback).

How the times are taken (``time.time()`` of one host):
- post: just before alice's API request is written;
- COMMIT: in B's worker, the COMMIT of the INSERT of her post (its GUID, the post's permalink on A), by the
  statement wrapper of ``live_parts.stamps``;
- frame: the clients process stamps each ``post.new`` frame as it arrives.

Baselines, same run: the bare HTTP round trip between the hubs, a fat ping of one of A's entries POSTed to B's
callback with an unknown token (410 after one indexed lookup: no parse, no transaction), at the same rate;
and A's own answer to the post (201), from the timed run.

Checked after the run: every post answered 201, stored on B exactly once, on exactly ``--followers`` timelines,
one frame in each connected follower's socket. Goal (issue 18): p99 post on A -> COMMIT on B and -> bob's socket
<= 500 ms at 20 posts/s with 500 followers on B.
"""

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from _setup import REPO_ROOT, banner, bench_database_url, percentile, setup_django, verdict
from live_parts import common

HUB_ENV = "BENCH_FEDERATION_HUB"
HUB = os.environ.get(HUB_ENV, "b")  # this process's hub: the parent is B's (its database, its queue)
NAMESPACE = "chorus-bench-federation-{}"  # each hub's CHORUS_REDIS_NAMESPACE: its queue, cache keys, channels
common.PREFIX = NAMESPACE.format(HUB)  # what live_parts sets as the channel-layer prefix: the same
common.DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"

from live_parts.pacing import PacedSender  # noqa: E402
from live_parts.processes import protocol_out, started  # noqa: E402
from live_parts.report import cpu_line, latency_line  # noqa: E402
from live_parts.stamps import commits as stamp_times  # noqa: E402
from live_parts.stamps import stamp_commits, wait_for_commits  # noqa: E402

GOAL_P99_MS = 500.0
ALICE = "bench-fed-alice"
STAMPS_ENV = "BENCH_FEDERATION_STAMPS"
WEB_WORKERS_ENV = "BENCH_FEDERATION_WEB_WORKERS"  # --web-workers, for the web children
MARKER_ENV = "BENCH_FEDERATION_MARKER"  # the start of alice's permalinks on A: the GUIDs B stores
RATE_CAP = 1_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hidden = argparse.SUPPRESS  # how live_parts.processes starts the children
    parser.add_argument("--role", choices=["main", "web", "celery", "clients", "prepare-a"], default="main",
                        help=hidden)  # fmt: skip
    parser.add_argument("--port", type=int, default=0, help=hidden)
    parser.add_argument("--url", default="", help=hidden)
    parser.add_argument("--profile-out", default="", help=hidden)
    parser.add_argument("--followers", type=int, default=500, help="people on B following alice")
    parser.add_argument("--connected", type=int, default=50, help="of them, with an open socket (bob first)")
    parser.add_argument("--rate", type=int, default=20, help="alice's posts per second")
    parser.add_argument("--seconds", type=float, default=15.0, help="how long alice posts")
    parser.add_argument("--warmup", type=int, default=10, help="untimed posts first")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--senders", type=int, default=8, help="alice's concurrent connections")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="processes of each hub's Celery pool")
    parser.add_argument("--web-workers", type=int, default=1, help="uvicorn processes of each hub's web")
    return parser.parse_args()


def main() -> None:
    from live_parts import clients

    args = parse_args()
    {"main": run, "web": web, "celery": worker, "clients": clients.run, "prepare-a": prepare_a}[args.role](args)


# -- the children: each hub's web process and Celery worker (B's stamp their COMMITs), A's preparation


def web(args) -> None:
    from live_parts import web as live_web

    if HUB == "b":
        stamp_commits(marker=os.environ[MARKER_ENV], path_env=STAMPS_ENV)
    args.web_workers = int(os.environ.get(WEB_WORKERS_ENV, "1"))
    live_web.run(args)


def worker(args) -> None:
    from live_parts import celery_worker
    from live_parts.common import setup_child_django

    out = protocol_out()
    setup_child_django()
    if HUB == "b":
        stamp_commits(marker=os.environ[MARKER_ENV], path_env=STAMPS_ENV)
    celery_worker.run(args.worker_concurrency, purge=True, on_ready=lambda: print('{"ready": true}', file=out))


def prepare_a(args) -> None:
    """On A's database: alice with a fresh API token and her microblog, none of a previous run's posts or
    subscribers. Prints her token, feed and hub."""
    out = protocol_out()
    setup_django(default_db="chorus_bench_federation_a", allow_private_fetch=True)
    from django.contrib.auth import get_user_model
    from django.db import connection

    from accounts.models import ApiToken
    from accounts.tokens import issue_token
    from aggregator.models import Post
    from publishing import addresses
    from publishing.microblogs import microblog_for
    from publishing.models import HubSubscription
    from timelines.models import SearchEntry, TimelineEntry

    alice, _ = get_user_model().objects.get_or_create(username=ALICE)
    ApiToken.objects.filter(user=alice).delete()
    token = issue_token(user=alice, name="bench/federation.py")
    HubSubscription.objects.filter(microblog=microblog_for(alice)).delete()
    with connection.cursor() as cursor:  # A's own database: nothing but this benchmark's posts
        tables = (TimelineEntry, SearchEntry, Post)
        cursor.execute(f"TRUNCATE {', '.join(model._meta.db_table for model in tables)} CASCADE")
    print(json.dumps({"token": token, "feed": addresses.feed_url(ALICE), "hub": addresses.hub_url()}), file=out)


# -- the run


def run(args) -> None:
    started_at = time.monotonic()
    port_a, port_b = free_ports(2)
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    redis_url = common.redis_url()
    url_a = bench_database_url("chorus_bench_federation_a") if not os.environ.get("BENCH_DATABASE_URL") else \
        os.environ["BENCH_DATABASE_URL"] + "_a"  # fmt: skip
    marker = f"{base_a}/people/{ALICE}/posts/"
    stamps_path = Path(tempfile.mkstemp(prefix="chorus-bench-federation-", suffix=".stamps")[1])
    shared = {"REDIS_URL": redis_url, "DJANGO_SETTINGS_MODULE": "aggregator.settings", "PYTHONUNBUFFERED": "1",
              "CHORUS_FETCH_ALLOW_PRIVATE": "true"}  # fmt: skip
    env_a = {**os.environ, **shared, HUB_ENV: "a", "CHORUS_PUBLIC_URL": base_a, "DATABASE_URL": url_a,
             "BENCH_DATABASE_URL": url_a, "CHORUS_REDIS_NAMESPACE": NAMESPACE.format("a")}  # fmt: skip
    os.environ.update(shared, CHORUS_PUBLIC_URL=base_b, CHORUS_WEBSUB_DELIVERIES_PER_MINUTE=str(RATE_CAP),
                      CHORUS_REDIS_NAMESPACE=NAMESPACE.format("b"))  # fmt: skip
    url_b = setup_django(default_db="chorus_bench_federation_b", allow_private_fetch=True)
    env_b = {**os.environ, HUB_ENV: "b", "DATABASE_URL": url_b, STAMPS_ENV: str(stamps_path), MARKER_ENV: marker}
    for env in (env_a, env_b):
        env.pop("DB_CONN_MAX_AGE", None)  # setup_django's 0: the processes take the project's defaults (web: its
        # pool of DB_POOL_MAX_SIZE connections, aggregator/asgi.py; workers: 60 s)
    banner("bench/federation.py: a post on hub A -> COMMIT on hub B and -> a follower's socket on B", url_b)
    print(f"   hub A's database {url_a}; load average at the start: {load()}; uptime: {uptime()}")
    alice = json.loads(subprocess.run([sys.executable, __file__, "--role", "prepare-a"], env=env_a, cwd=REPO_ROOT,
                                      capture_output=True, check=True, timeout=300).stdout)  # fmt: skip
    source_id, data = prepare_b(args, feed=alice["feed"])
    celery = ("--worker-concurrency", str(args.worker_concurrency))
    env_a[WEB_WORKERS_ENV] = env_b[WEB_WORKERS_ENV] = str(args.web_workers)
    script = str(Path(__file__).resolve())
    try:
        with started(script=script, env=env_a, workers=0, profile_web=False, celery=celery, port=port_a) as a, \
                started(script=script, env=env_b, workers=0, profile_web=False, celery=celery, port=port_b) as b:  # fmt: skip
            print(f"   hub A: web pid {a.web.proc.pid} (uvicorn x {args.web_workers}), celery pid {a.celery[0].proc.pid}; hub B: web pid "
                  f"{b.web.proc.pid}, celery pid {b.celery[0].proc.pid}, clients pid {b.clients.proc.pid}; each "
                  f"Celery pool prefork x {args.worker_concurrency}; Redis {redis_url} (namespaces "
                  f"{NAMESPACE.format('a')}, {NAMESPACE.format('b')}); database connections: the project's (web: "
                  f"its pool, workers: 60 s)")  # fmt: skip
            subscribe_b_at_a(source_id=source_id, alice=alice, url_a=url_a)
            measure(args, a, b, data=data, alice=alice, stamps_path=stamps_path, port_a=port_a)
    finally:
        stamps_path.unlink(missing_ok=True)
    print(f"\n   load average at the end: {load()}; whole run {time.monotonic() - started_at:.0f} s")


def free_ports(count: int) -> list[int]:
    from live_parts.processes import free_port

    ports: set[int] = set()
    while len(ports) < count:
        ports.add(free_port())
    return sorted(ports)


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def prepare_b(args, *, feed: str) -> tuple[int, dict]:
    """B's followers of alice's feed (``bench-live-NNNN`` users with API tokens, made by ``live_parts.data``) and
    no posts; returns her source's id on B and the data."""
    from live_parts.data import prepare_data

    from aggregator.models import Source, WebSubSubscription

    data = prepare_data(clients=args.followers, followers=0, sources=1, follows=1)
    source_id = data["stream_sources"][0]
    # her feed's source of previous runs (A listened on another port): gone, with its WebSub subscription
    Source.objects.filter(address__endswith=f"/people/{ALICE}/feed.atom").exclude(pk=source_id).delete()
    WebSubSubscription.objects.filter(source_id=source_id).delete()
    Source.objects.filter(pk=source_id).update(address=feed, url=feed, kind=Source.Kind.RSS, next_poll_at=None,
                                               title=f"{ALICE} on hub A")  # fmt: skip
    return source_id, data


def subscribe_b_at_a(*, source_id: int, alice: dict, url_a: str) -> None:
    """B subscribes to alice's feed at A's hub as a poll that found the hub would (``websub.adopt_hub``): B's
    worker sends the request, A's worker checks B's intent at B's callback. Waits until both say active."""
    import psycopg

    from aggregator.ingest import websub
    from aggregator.models import WebSubSubscription
    from aggregator.networks.websub.discover import WebSubLinks

    websub.adopt_hub(source_id=source_id, links=WebSubLinks(hubs=(alice["hub"],), topic=alice["feed"]))
    deadline = time.monotonic() + 60
    with psycopg.connect(url_a, autocommit=True) as a:
        while True:
            on_b = WebSubSubscription.objects.filter(source_id=source_id).values_list("state", flat=True).first()
            on_a = a.execute("SELECT state FROM publishing_hubsubscription").fetchall()
            if on_b == "active" and on_a == [("active",)]:
                return
            if time.monotonic() > deadline:
                raise SystemExit(f"B's subscription at A's hub is not active after 60 s (B: {on_b}, A: {on_a})")
            time.sleep(0.1)


def posts(token: str, *, first: int, count: int) -> list[tuple[str, bytes, dict]]:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return [("/api/v1/posts", json.dumps({"text": f"Federation bench post {n}: hello to hub B #bench"}).encode(),
             headers) for n in range(first, first + count)]  # fmt: skip


def measure(args, a, b, *, data: dict, alice: dict, stamps_path: Path, port_a: int) -> None:
    tokens = [(i, data["tokens"][i]) for i in range(args.connected)]
    connect = b.clients.request({"cmd": "connect", "tokens": tokens}, timeout=300)
    print(f"   B: {args.followers} followers of alice, {connect['connected']} connected ({connect['failed']} failed); "
          f"B's subscription at A's hub active (requested by B's worker, intent checked by A's); alice posts "
          f"{args.rate}/s for {args.seconds:g} s through A's API")  # fmt: skip

    alice_posts = PacedSender(port_a, args.senders, keep_bodies=True)
    alice_posts.run(posts(alice["token"], first=0, count=args.warmup), args.rate)
    warm = [json.loads(body)["url"] for body in alice_posts.bodies]
    if not wait_for_commits(stamps_path, warm):
        raise SystemExit("the warm-up posts did not reach B within 60 s; see the hubs' logs")
    b.clients.request({"cmd": "drain"})

    ping = fat_ping(port_a, alice["feed"])
    bare = PacedSender(b.port, args.senders)
    unknown = (f"/websub/{secrets.token_urlsafe(32)}/", ping, {"Content-Type": "application/atom+xml"})
    base_results = bare.run([unknown] * int(args.rate * args.baseline_seconds), args.rate)

    cpu = {"a": a.cpu(), "b": b.cpu()}
    deliveries = deliveries_to_b(data)
    results = alice_posts.run(posts(alice["token"], first=args.warmup, count=int(args.rate * args.seconds)),
                              args.rate)  # fmt: skip
    cpu = {"a": a.cpu(since=cpu["a"]), "b": b.cpu(since=cpu["b"])}
    keys = [json.loads(body)["url"] if status == 201 else "" for body, (*_, status) in
            zip(alice_posts.bodies, results, strict=True)]  # fmt: skip
    wait_for_commits(stamps_path, [key for key in keys if key])  # B's backlog, if any (missing ones are reported)
    deliveries = deliveries_to_b(data) - deliveries
    report(args, b, data=data, keys=keys, results=results, base_results=base_results, ping=ping, cpu=cpu,
           commits=stamp_times(stamps_path), deliveries=deliveries)  # fmt: skip


def deliveries_to_b(data: dict) -> int:
    """The deliveries B's worker stored so far for alice's feed (each carries one post or several)."""
    from aggregator.models import WebSubSubscription

    source_id = data["stream_sources"][0]
    return WebSubSubscription.objects.filter(source_id=source_id).values_list("deliveries", flat=True).first() or 0


def fat_ping(port: int, feed: str) -> bytes:
    """What A's hub delivers for one post: alice's feed fetched from A, cut to its newest entry."""
    import http.client
    from urllib.parse import urlsplit
    from xml.etree import ElementTree as ET

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", urlsplit(feed).path)
    root = ET.fromstring(conn.getresponse().read())  # A's own feed, the hub's trusted peer here
    conn.close()
    for entry in root.findall("{http://www.w3.org/2005/Atom}entry")[1:]:
        root.remove(entry)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def report(args, b, *, data, keys, results, base_results, ping, cpu, commits, deliveries) -> None:
    from django.db.models import Count

    from aggregator.models import Post
    from timelines.models import TimelineEntry

    source_id = data["stream_sources"][0]
    rows = Post.objects.filter(source_id=source_id, guid__in=[key for key in keys if key])
    stored = dict(rows.values_list("guid", "id"))
    per_guid = Counter(rows.values_list("guid", flat=True))
    on_timelines = dict(TimelineEntry.objects.filter(post_id__in=stored.values()).values("post_id")
                        .annotate(n=Count("id")).values_list("post_id", "n"))  # fmt: skip
    expect = {stored[key]: args.connected for key in keys if key in stored}
    frames = b.clients.request({"cmd": "wait", "expect": expect, "timeout": 15.0}, timeout=60)["frames"]
    frames = {int(pid): got for pid, got in frames.items()}

    to_commit, to_bob, to_any, to_answer, commit_to_frame, answer_to_commit = [], [], [], [], [], []
    for key, (_due, sent, answered, status) in zip(keys, results, strict=True):
        if status == 201:
            to_answer.append(answered - sent)
        if key in commits:
            to_commit.append(commits[key] - sent)
            answer_to_commit.append(commits[key] - answered)
        for client, received in frames.get(stored.get(key, -1), []):
            to_any.append(received - sent)
            if client == 0:
                to_bob.append(received - sent)
            if key in commits:
                commit_to_frame.append(received - commits[key])
    base_answers = [answered - sent for _, sent, answered, status in base_results if status == 410]
    statuses = Counter(status for *_, status in results)
    n = len(results)
    missing = sum(1 for key in keys if key and key not in stored) + statuses.get(-1, 0)
    twice = sum(count - 1 for count in per_guid.values() if count > 1)
    short = sum(1 for pid in stored.values() if on_timelines.get(pid, 0) != args.followers)
    frame_counts = [Counter(client for client, _ in frames.get(pid, [])) for pid in stored.values()]
    lost = sum(args.connected - len(got) for got in frame_counts)
    doubled = sum(count - 1 for got in frame_counts for count in got.values() if count > 1)

    print(f"\n-- {n} posts at {args.rate}/s (after {args.warmup} untimed warm-up posts)")
    print(latency_line("baseline: bare POST A -> B, 410", base_answers,
                       f"({len(ping)} bytes: A's fat ping of one post; unknown token; {args.rate}/s before the posts)"))  # fmt: skip
    print(latency_line("baseline: alice's POST -> A's 201", to_answer))
    print(latency_line("chorus: post on A -> COMMIT on B", to_commit))
    print(latency_line("        (A's 201 -> COMMIT on B)", answer_to_commit))
    print(latency_line("chorus: post on A -> frame in bob's socket", to_bob))
    print(latency_line(f"chorus: post on A -> frame, {args.connected} sockets", to_any))
    print(latency_line("        (COMMIT on B -> frame)", commit_to_frame))
    sent_rate = n / (results[-1][1] - results[0][1])
    short_of_rate = " (short of the rate: A answers slower than --senders connections can keep up)" \
        if sent_rate < 0.9 * args.rate else ""  # fmt: skip
    print(f"   answers {dict(sorted(statuses.items()))}; {sent_rate:.1f} posts/s sent{short_of_rate}")
    print(f"   B stored {deliveries} deliveries for the {n} posts (A sends what was written while one was queued or in "
          f"flight with the next)")  # fmt: skip
    print(f"   CPU seconds during the posts: hub A: {cpu_line(cpu['a'])}")
    print(f"                                 hub B: {cpu_line(cpu['b'])}")
    print(f"   checked: {missing} posts missing on B, {twice} stored twice, {short} not on exactly {args.followers} "
          f"timelines; frames: {lost} lost, {doubled} twice (of {sum(expect.values())} expected)")  # fmt: skip
    p99_commit = percentile(to_commit, 99) * 1000 if to_commit else float("inf")
    p99_bob = percentile(to_bob, 99) * 1000 if to_bob else float("inf")
    print(f"   p99 post -> COMMIT on B vs bare POST A -> B p99: {p99_commit:.1f} ms vs "
          f"{percentile(base_answers, 99) * 1000:.1f} ms")  # fmt: skip
    intact = not (missing or twice or short or lost or doubled) and statuses == {201: n}
    print(f"\n   goal p99 post on A -> COMMIT on B <= {GOAL_P99_MS:.0f} ms: {p99_commit:.1f} ms: "
          f"{verdict(p99_commit <= GOAL_P99_MS)}")  # fmt: skip
    print(f"   goal p99 post on A -> bob's socket <= {GOAL_P99_MS:.0f} ms: {p99_bob:.1f} ms: "
          f"{verdict(p99_bob <= GOAL_P99_MS)}")  # fmt: skip
    print(f"   goal no post lost or stored twice: {verdict(intact)}")


if __name__ == "__main__":
    main()
