"""WebSub fat pings: a hub's POST -> the post committed on the followers' timelines, and -> a follower's socket.

    .venv/bin/python bench/websub.py [--sources 10] [--followers 100] [--connected 100] [--rate 100]
                                     [--seconds 10] [--window 5] [--baseline-seconds 5] [--senders 16]
                                     [--worker-concurrency 2] [--conn-max-age N]

Production shape, separate processes besides Redis and PostgreSQL (the web and clients processes of
``bench/live.py``, started through ``bench/live_parts/processes``):
- web: uvicorn serving ``aggregator.asgi:application``; the hub's POSTs reach the real callback
  (``/websub/<token>/``, taken in front of Django by ``websub_callback.LeanDeliveries``: size cap,
  per-subscription rate cap, ``X-Hub-Signature`` check, then the verified body left waiting in Redis for its
  subscription, an ``aggregator.tasks.drain_websub_deliveries`` task queued unless ``CHORUS_WEBSUB_DRAINERS``
  already hold a slot, and 202 answered);
- worker: a Celery worker of the project's app (``celery -A aggregator worker``, prefork pool of
  ``--worker-concurrency``, run by this script's ``--role celery`` through ``live_parts.celery_worker``, as
  ``bench/xmpp_push.py`` runs its worker) on the same Redis as broker: a drainer takes the runnable subscriptions
  in turn, parses a batch of what waits for one and runs ``pipeline.ingest`` (one for the deliveries that queued
  up) with its fan-out to every follower's timeline and its ``post.new`` events;
- clients: one asyncio process holding the connected followers' WebSockets;
- this process: sets up the database, plays the hub (a pool of ``--senders`` threads, one keep-alive
  ``http.client`` connection each, paced at ``--rate`` POSTs/s) and computes the figures.

Data: ``--sources`` sources followed by ``--followers`` people each (10 x 100 = 1,000 people: ``bench-live-NNNN``
users, made by ``live_parts.data``), each source with a WebSubSubscription (fresh token and secret) that the run
makes active through the callback's own intent check (GET with a challenge). A delivery is what a hub sends: the
source's feed document (Atom) with its newest ``--window`` entries, the new one first (the others were delivered
before and must be recognized, not stored again), signed ``X-Hub-Signature: sha256=...`` with the subscription's
secret. Deliveries go round-robin over the sources. The untimed warm-up deliveries must be committed before the
timed ones start (the worker's pool connected and warmed up).

How the times are taken (``time.time()`` of one host: one clock for every process):
- hub POST: just before the request is written (the hub's own queueing, if any, is printed apart as its lag);
- COMMIT: in the worker (and in the web process, where nothing is stored now), a statement wrapper (installed on
  every new database connection through Django's ``connection_created`` signal; nothing of the project is
  replaced) sees the INSERT of the delivery's new post (its GUID carries the delivery's key) and registers an
  ``on_commit`` hook, which runs right after the COMMIT, ahead of the pipeline's own events hook, and appends
  ``key time`` to a file this process reads afterwards;
- frame: the clients process stamps each ``post.new`` frame as it arrives (``live_parts.clients``);
- response: when the hub has read the callback's answer (202, queued: before the COMMIT).

Baseline, same run, same server, same connections: the same signed body POSTed at the same rate to the callback
with an unknown token, which the callback answers 410 after one indexed lookup (no parse, no transaction).

Checked after the run, from the database and the sockets: every delivery answered 202, its post stored exactly
once (one row per GUID), on exactly ``--followers`` timelines, and one frame in each connected follower's socket.
Goal (issue 17): p99 hub POST -> COMMIT <= 100 ms at 100 deliveries/s, no delivery lost or stored twice.

Settings changed from production, in every process: ``CHORUS_WEBSUB_DELIVERIES_PER_MINUTE`` (60 per
subscription by default; 100/s over 10 sources is 600 a minute each) and the channel-layer prefix
(``chorus_bench_websub``, so nothing reaches another run's sockets). ``DB_CONN_MAX_AGE`` is left to the project:
0 in the web process (``aggregator/asgi.py``; 60 there held one connection per request thread and exhausted
PostgreSQL's ``max_connections`` at 100 deliveries/s), 60 in the worker; ``--conn-max-age N`` sets it for both.

Redis: ``BENCH_REDIS_URL`` (default db 3, as ``bench/live.py``) carries the broker's queue and the waiting
deliveries too. On a shared machine give the run a database of its own: a FLUSHDB there by someone else's run
empties them, and those deliveries are lost to the run (the run then waits 60 s and reports them missing).
"""

import argparse
import hashlib
import hmac
import http.client
import os
import secrets
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

from _setup import banner, percentile, setup_django, verdict
from live_parts import common

common.PREFIX = "chorus_bench_websub"  # before anything reads it: this benchmark's own channel-layer prefix

from live_parts.pacing import PacedSender  # noqa: E402
from live_parts.processes import started  # noqa: E402
from live_parts.report import cpu_line, latency_line  # noqa: E402
from live_parts.stamps import commits as stamp_times  # noqa: E402
from live_parts.stamps import wait_for_commits  # noqa: E402

GOAL_P99_MS = 100.0
MARKER = "bench-websub:"  # GUIDs of this benchmark's entries: MARKER + "<source>:<seq>"
TOPIC = "https://bench-websub.example/feed/{}"
STAMPS_ENV = "BENCH_WEBSUB_STAMPS"
RATE_CAP = 1_000_000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    hidden = argparse.SUPPRESS  # how live_parts.processes starts the children
    parser.add_argument("--role", choices=["main", "web", "celery", "clients"], default="main", help=hidden)
    parser.add_argument("--port", type=int, default=0, help=hidden)
    parser.add_argument("--url", default="", help=hidden)
    parser.add_argument("--profile-out", default="", help=hidden)
    parser.add_argument("--sources", type=int, default=10, help="pushed sources, deliveries round-robin over them")
    parser.add_argument("--followers", type=int, default=100, help="people following each source")
    parser.add_argument("--connected", type=int, default=100,
                        help="followers with an open socket, spread evenly over the sources")  # fmt: skip
    parser.add_argument("--rate", type=int, default=100, help="deliveries per second")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long the hub delivers")
    parser.add_argument("--window", type=int, default=5, help="entries in each delivered feed document")
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--senders", type=int, default=16, help="the hub's concurrent connections")
    parser.add_argument("--worker-concurrency", type=int, default=2, help="processes of the Celery worker's pool")
    parser.add_argument("--conn-max-age", default="",
                        help="DB_CONN_MAX_AGE of every process; unset: the project's defaults (web 0, workers 60)")  # fmt: skip
    return parser.parse_args()


def main() -> None:
    from live_parts import clients

    args = parse_args()
    {"main": run, "web": web, "celery": worker, "clients": clients.run}[args.role](args)


# -- the web process (bench/live.py's) and the Celery worker, both with the COMMIT stamps


def web(args) -> None:
    from live_parts import web as live_web

    stamp_commits()
    live_web.run(args)


def worker(args) -> None:
    """A Celery worker of the project's app (``celery -A aggregator worker``), where the deliveries are stored."""
    from live_parts import celery_worker
    from live_parts.common import setup_child_django
    from live_parts.processes import protocol_out

    out = protocol_out()
    setup_child_django()
    stamp_commits()
    celery_worker.run(args.worker_concurrency, purge=True, on_ready=lambda: print('{"ready": true}', file=out))


def stamp_commits() -> None:
    """Every new database connection of this process (and of the processes it forks) stamps the COMMIT of a
    delivery's new post (``live_parts.stamps``)."""
    from live_parts.stamps import stamp_commits as stamp

    stamp(marker=MARKER, path_env=STAMPS_ENV)


# -- the hub


def feed_document(source: int, seqs: list[int], *, hub: str, base: datetime) -> bytes:
    """The source's Atom feed with these entries (newest first), as a hub's fat ping carries it."""
    topic = TOPIC.format(source)
    entries = []
    for seq in seqs:
        when = (base + timedelta(milliseconds=10 * seq)).isoformat()
        html = (f'<p>Delivery {seq} of source {source}: a <a href="https://example.org/read/{seq}">link</a>, '
                f"#websub and #bench{source}.</p>")  # fmt: skip
        entries.append(
            f"<entry><id>{MARKER}{source}:{seq}</id><title>post {seq}</title>"
            f'<link href="https://bench-websub.example/{source}/{seq}"/><published>{when}</published>'
            f"<updated>{when}</updated><author><name>Source {source}</name></author>"
            f'<content type="html">{escape(html)}</content></entry>'
        )
    newest = (base + timedelta(milliseconds=10 * seqs[0])).isoformat()
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        f'<title>bench source {source}</title><id>{topic}</id><link rel="self" href="{topic}"/>'
        f'<link rel="hub" href="{hub}"/><updated>{newest}</updated>{"".join(entries)}</feed>'
    ).encode()


def signed(body: bytes, secret: str) -> dict:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/atom+xml", "X-Hub-Signature": f"sha256={digest}"}


def deliveries(subs: list, *, first: int, count: int, window: int, hub: str, base: datetime) -> list[tuple]:
    """Deliveries ``first`` .. ``first + count - 1``, round-robin over the subscriptions: (key, request)."""
    out = []
    for seq in range(first, first + count):
        j = seq % len(subs)
        mine = [s for s in range(seq, -1, -len(subs))][:window]  # this source's newest entries, the new one first
        body = feed_document(j, mine, hub=hub, base=base)
        out.append((f"{MARKER}{j}:{seq}", (f"/websub/{subs[j].callback_token}/", body, signed(body, subs[j].secret))))
    return out


# -- the run


def run(args) -> None:
    started_at = time.monotonic()
    os.environ["REDIS_URL"] = common.redis_url()
    database_url = setup_django(default_db="chorus_bench_websub")
    banner("bench/websub.py: WebSub fat ping -> COMMIT and -> WebSocket frame", database_url)
    print(f"   load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    from live_parts.data import prepare_data

    people = args.sources * args.followers
    data = prepare_data(clients=people, followers=0, sources=args.sources, follows=1)
    stamps_path = Path(tempfile.mkstemp(prefix="chorus-bench-websub-", suffix=".stamps")[1])
    env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": common.redis_url(),
           "DJANGO_SETTINGS_MODULE": "aggregator.settings", "PYTHONUNBUFFERED": "1", STAMPS_ENV: str(stamps_path),
           "CHORUS_WEBSUB_DELIVERIES_PER_MINUTE": str(RATE_CAP)}  # fmt: skip
    env.pop("DB_CONN_MAX_AGE", None)  # setup_django's 0: the processes take the project's defaults unless asked
    if args.conn_max_age:
        env["DB_CONN_MAX_AGE"] = args.conn_max_age
    celery = ("--worker-concurrency", str(args.worker_concurrency))
    try:
        with started(script=str(Path(__file__).resolve()), env=env, workers=0, profile_web=False,
                     celery=celery) as processes:  # fmt: skip
            print(f"   processes: web = uvicorn aggregator.asgi:application (pid {processes.web.proc.pid}), worker = "
                  f"celery -A aggregator worker, prefork pool of {args.worker_concurrency} (pid "
                  f"{processes.celery[0].proc.pid}), clients = one asyncio process (pid {processes.clients.proc.pid}), "
                  f"hub = {args.senders} threads here; broker and channel layer on {common.redis_url()} (prefix "
                  f"{common.PREFIX}); DB_CONN_MAX_AGE {args.conn_max_age or 'unset (web 0, worker 60)'}")  # fmt: skip
            measure(args, processes, data, stamps_path)
    finally:
        stamps_path.unlink(missing_ok=True)
    print(f"\n   whole run {time.monotonic() - started_at:.0f} s")


def active_subscriptions(port: int, sources: list[int]) -> list:
    """One WebSubSubscription per source, made active by the callback's own intent check."""
    from aggregator.models import WebSubSubscription
    from aggregator.networks.websub import new_secret

    WebSubSubscription.objects.filter(source_id__in=sources).delete()
    subs = WebSubSubscription.objects.bulk_create(
        WebSubSubscription(source_id=pk, hub_url=f"http://127.0.0.1:{port}/bench-hub", topic_url=TOPIC.format(j),
                           callback_token=secrets.token_urlsafe(32), secret=new_secret(), mode="subscribe",
                           state=WebSubSubscription.State.PENDING)
        for j, pk in enumerate(sources)
    )  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for sub in subs:
        challenge = secrets.token_hex(8)
        conn.request("GET", f"/websub/{sub.callback_token}/?hub.mode=subscribe&hub.topic={sub.topic_url}"
                            f"&hub.challenge={challenge}&hub.lease_seconds=86400")  # fmt: skip
        response = conn.getresponse()
        if response.status != 200 or response.read().decode() != challenge:
            raise SystemExit(f"intent check of {sub.topic_url} failed: {response.status}")
    conn.close()
    states = Counter(WebSubSubscription.objects.filter(pk__in=[s.pk for s in subs]).values_list("state", flat=True))
    if states != {"active": len(subs)}:
        raise SystemExit(f"subscriptions not active after the intent check: {dict(states)}")
    return subs


def measure(args, processes, data: dict, stamps_path: Path) -> None:
    sources = data["stream_sources"]
    subs = active_subscriptions(processes.port, sources)
    per_source = Counter(i % args.sources for i in range(args.connected))
    tokens = [(i, data["tokens"][i]) for i in range(args.connected)]  # client i follows source i % sources
    connect = processes.clients.request({"cmd": "connect", "tokens": tokens}, timeout=300)
    print(f"   {args.sources} sources x {args.followers} followers = {args.sources * args.followers} people, "
          f"{connect['connected']} connected ({min(per_source.values(), default=0)}-{max(per_source.values(), default=0)} "
          f"per source; {connect['failed']} failed, {connect['seconds']:.1f} s); subscriptions active through the "
          f"callback's intent check; each delivery an Atom document of {args.window} entries (1 new), "
          f"{args.rate}/s for {args.seconds:g} s, round-robin")  # fmt: skip

    hub = PacedSender(processes.port, args.senders)
    hub_url = f"http://127.0.0.1:{processes.port}/bench-hub"
    base = datetime.now(UTC) - timedelta(hours=1)
    warm = deliveries(subs, first=0, count=2 * args.sources, window=args.window, hub=hub_url, base=base)
    timed = deliveries(subs, first=len(warm), count=int(args.rate * args.seconds), window=args.window, hub=hub_url,
                       base=base)  # fmt: skip
    unknown = f"/websub/{secrets.token_urlsafe(32)}/"
    bare = [(unknown, body, headers) for _, (_, body, headers) in timed[: int(args.rate * args.baseline_seconds)]]

    base_results = hub.run(bare, args.rate)
    hub.run([request for _, request in warm], args.rate)
    if not wait_for_commits(stamps_path, [key for key, _ in warm]):  # the worker's pool connected and warmed up
        raise SystemExit("the warm-up deliveries were not stored within 60 s; see the celery log")
    before = processes.cpu()
    results = hub.run([request for _, request in timed], args.rate)
    cpu = processes.cpu(since=before)
    wait_for_commits(stamps_path, [key for key, _ in timed])  # the worker's backlog, if any (missing ones are reported)
    time.sleep(1.0)  # the last commits' frames
    whole = processes.cpu(since=before)
    report(args, processes, data, stamps_path, keys=[key for key, _ in warm + timed], timed=timed, results=results,
           base_results=base_results, cpu=cpu, whole=whole)  # fmt: skip


def report(args, processes, data, stamps_path, *, keys, timed, results, base_results, cpu, whole) -> None:
    from django.db.models import Count

    from aggregator.models import Post
    from timelines.models import TimelineEntry

    commits = stamp_times(stamps_path)
    rows = Post.objects.filter(source_id__in=data["stream_sources"], guid__startswith=MARKER)
    posts = dict(rows.values_list("guid", "id"))
    per_guid = Counter(rows.values_list("guid", flat=True))
    on_timelines = dict(TimelineEntry.objects.filter(post_id__in=posts.values()).values("post_id")
                        .annotate(n=Count("id")).values_list("post_id", "n"))  # fmt: skip
    followers = data["follow_map"]
    source_of = {key: data["stream_sources"][int(key[len(MARKER):].split(":")[0])] for key in keys}
    connected = {pk: [i for i in members if i < args.connected] for pk, members in followers.items()}
    expect = {posts[k]: len(connected[source_of[k]]) for k in keys if k in posts and connected[source_of[k]]}
    frames = processes.clients.request({"cmd": "wait", "expect": expect, "timeout": 10.0}, timeout=60)["frames"]
    frames = {int(pid): got for pid, got in frames.items()}

    to_commit, to_frame, to_answer, lag, commit_to_frame = [], [], [], [], []
    for (key, _), (due, sent, answered, status) in zip(timed, results, strict=True):
        lag.append(sent - due)
        if 200 <= status < 300:
            to_answer.append(answered - sent)
        if key in commits:
            to_commit.append(commits[key] - sent)
        for _, received in frames.get(posts.get(key, -1), []):
            to_frame.append(received - sent)
            if key in commits:
                commit_to_frame.append(received - commits[key])
    base_answers = [answered - sent for _, sent, answered, status in base_results if status == 410]
    statuses = Counter(status for *_, status in results)

    missing_posts = sum(1 for k in keys if k not in posts)
    twice = sum(n - 1 for n in per_guid.values() if n > 1)
    short_timelines = sum(1 for k in keys if k in posts and on_timelines.get(posts[k], 0) != args.followers)
    frame_counts = [(k, Counter(i for i, _ in frames.get(posts.get(k, -1), []))) for k in keys if k in posts]
    frames_lost = sum(len(connected[source_of[k]]) - len(got) for k, got in frame_counts)
    frames_twice = sum(n - 1 for _, got in frame_counts for n in got.values() if n > 1)
    no_stamp = sum(1 for k in keys if k in posts and k not in commits)
    n = len(timed)

    print(f"\n-- {n} deliveries at {args.rate}/s (after {len(keys) - n} untimed warm-up deliveries)")
    print(latency_line("baseline: POST -> 410, unknown token", base_answers,
                       f"of {len(base_results)}, {args.rate}/s for {args.baseline_seconds:g} s before the deliveries"))  # fmt: skip
    print(latency_line("chorus: hub POST -> COMMIT", to_commit))
    print(latency_line("chorus: hub POST -> 2xx answer (202: queued)", to_answer))
    print(latency_line("chorus: hub POST -> frame in a follower's socket", to_frame))
    print(latency_line("        (COMMIT -> frame)", commit_to_frame))
    print(f"   hub: answers {dict(sorted(statuses.items()))}; lag behind its schedule p99 {percentile(lag, 99) * 1000:.1f}"
          f" ms, max {max(lag) * 1000:.1f} ms; {n / (results[-1][1] - results[0][1]):.0f} POSTs/s sent")  # fmt: skip
    print(f"   CPU seconds during the deliveries: {cpu_line(cpu)}")
    per = ", ".join(f"{name} {seconds / n * 1000:.1f}" for name, seconds in whole.items() if name not in ("wall", "machine"))
    print(f"   CPU ms per delivery, from the first delivery to 1 s after the last COMMIT ({whole['wall']:.1f} s): {per}")
    if any(status >= 500 or status < 0 for status in statuses):
        print("   the web process's log ends with:\n" + processes.web.tail()[-1500:])
    print(f"   checked over all {len(keys)} deliveries: {missing_posts} posts missing, {twice} stored twice, "
          f"{short_timelines} not on exactly {args.followers} timelines, {no_stamp} without a COMMIT stamp; "
          f"frames: {frames_lost} lost, {frames_twice} twice (of {sum(expect.values())} expected)")  # fmt: skip
    p99 = percentile(to_commit, 99) * 1000 if to_commit else float("inf")
    intact = not (missing_posts or twice or short_timelines or frames_lost or frames_twice) and statuses == {202: n}
    print(f"   p99 POST -> COMMIT vs bare POST p99: {p99:.1f} ms vs {percentile(base_answers, 99) * 1000:.1f} ms")
    print(f"\n   goal p99 hub POST -> COMMIT <= {GOAL_P99_MS:.0f} ms: {p99:.1f} ms: {verdict(p99 <= GOAL_P99_MS)}")
    print(f"   goal no delivery lost or stored twice: {verdict(intact)}")


if __name__ == "__main__":
    main()
