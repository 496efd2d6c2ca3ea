"""Notification destinations: 1,000 replies to 100 people with 3 destinations each, on loopback HTTP servers.

    .venv/bin/python bench/notify.py [--people 100] [--replies 1000] [--batch 10] [--rounds 3]

Each person has a verified fediverse handle and three json:// destinations, one on each of three loopback HTTP
servers (threads of this process) that note when each message arrives. Replies are ingested through
``pipeline.ingest`` in batches of ``--batch`` posts, each mentioning one person; tasks run in-process, after the
commit, as in the embedded hub (the sends are Apprise's own HTTP POSTs through the connection guard).

Figures:
- latency: from a batch's commit to each destination receiving each of its replies, p50/p99, beside a bare
  HTTP POST (urllib3, a fresh connection each, to the same servers) in the same run;
- ingest: the time to the commit with destinations (the jobs enqueued, not yet run) over the same ingest with
  none, alternating halves, median of ``--rounds``. Goal: <= 1.05.
"""

import argparse
import http.server
import os
import threading
import time

from _setup import banner, median, percentile, setup_django, verdict

GOAL = 1.05


class Peer:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                now = time.perf_counter()
                for word in body.decode().split():
                    if word.startswith("bench-reply-"):
                        peer.arrivals.setdefault(word.strip('",.\\n'), now)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def setup_people(count: int, peers: list[Peer]) -> list[int]:
    from django.contrib.auth import get_user_model

    from accounts.identities import identity_create

    User = get_user_model()  # noqa: N806
    from aggregator.models import Source

    Source.objects.filter(address__startswith="https://carol.example/").delete()  # and their posts
    User.objects.filter(username__startswith="bench-notify-").delete()
    users = User.objects.bulk_create([User(username=f"bench-notify-{n:03d}") for n in range(count)])
    for n, user in enumerate(users):
        identity_create(user=user, kind="fediverse", value=f"@p{n}@bench.example", verified=True)
    return [u.pk for u in users]


def add_destinations(user_ids: list[int], peers: list[Peer]) -> None:
    from django.contrib.auth import get_user_model

    from replies.destinations import destination_create
    from replies.models import Destination

    Destination.objects.all().delete()
    for user in get_user_model().objects.filter(pk__in=user_ids):
        for n, peer in enumerate(peers):
            destination_create(user=user, name=f"d{n}", url=f"json://127.0.0.1:{peer.port}/hook", events=["reply"])


def ingest_round(*, people: int, replies: int, batch: int, tag: str) -> tuple[float, dict[str, float]]:
    """Ingest the replies; returns (seconds to the commits, summed) and each reply's commit moment."""
    from django.db import transaction

    from aggregator.content.entry import Entry
    from aggregator.ingest.pipeline import ingest
    from aggregator.models import Source

    source = Source.objects.create(address=f"https://carol.example/{tag}", url=f"https://carol.example/{tag}")
    committed_at: dict[str, float] = {}
    spent = 0.0
    for start in range(0, replies, batch):
        names = [f"bench-reply-{tag}-{n}" for n in range(start, min(start + batch, replies))]
        entries = [Entry(guid=name, url=f"https://carol.example/{name}", author_name="Carol",
                         content_html=f"<p>@p{n % people}@bench.example {name} what do you think?</p>",
                         base_url=source.url) for n, name in zip(range(start, start + batch), names, strict=False)]  # fmt: skip
        began = time.perf_counter()
        with transaction.atomic():
            marks: list[float] = []
            transaction.on_commit(lambda marks=marks: marks.append(time.perf_counter()))  # first: before the jobs
            ingest(source, entries)
        spent += marks[0] - began
        committed_at.update(dict.fromkeys(names, marks[0]))
    return spent, committed_at


def bare_posts(peers: list[Peer], count: int) -> list[float]:
    import urllib3

    times = []
    for n in range(count):
        peer = peers[n % len(peers)]
        began = time.perf_counter()
        with urllib3.HTTPConnectionPool("127.0.0.1", peer.port, maxsize=1) as pool:
            pool.request("POST", "/hook", body=b'{"message": "bare"}', headers={"content-type": "application/json"})
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--replies", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name in ("CHORUS_NOTIFY_PER_MINUTE", "CHORUS_NOTIFY_PERSON_PER_MINUTE", "CHORUS_NOTIFY_HOST_PER_MINUTE"):
        os.environ[name] = "1000000"  # the limits are not what is measured here
    url = setup_django(default_db="chorus_bench_notify", allow_private_fetch=True)
    banner("notification destinations (Apprise json:// on loopback)", url)

    peers = [Peer() for _ in range(3)]
    user_ids = setup_people(args.people, peers)
    with_times, without_times, latencies = [], [], []
    for round_number in range(args.rounds):
        for half in (("with", "without") if round_number % 2 == 0 else ("without", "with")):
            if half == "with":
                add_destinations(user_ids, peers)
            else:
                from replies.models import Destination

                Destination.objects.all().delete()
            spent, committed_at = ingest_round(people=args.people, replies=args.replies, batch=args.batch,
                                               tag=f"{round_number}-{half}")  # fmt: skip
            (with_times if half == "with" else without_times).append(spent)
            if half == "with":
                for peer in peers:
                    missing = [name for name in committed_at if name not in peer.arrivals]
                    assert not missing, f"{len(missing)} replies never reached a destination"
                    latencies += [peer.arrivals[name] - at for name, at in committed_at.items()]
            print(f"round {round_number + 1} {half:8} ingest to commit {spent:6.2f} s")
    bare = bare_posts(peers, 1000)
    ratio = median(with_times) / median(without_times)
    print(f"\nreply commit -> destination received: p50 {percentile(latencies, 50) * 1000:7.1f} ms, "
          f"p99 {percentile(latencies, 99) * 1000:7.1f} ms ({len(latencies)} deliveries)")
    print(f"bare HTTP POST (baseline):           p50 {percentile(bare, 50) * 1000:7.1f} ms, "
          f"p99 {percentile(bare, 99) * 1000:7.1f} ms")
    print(f"ingest with destinations / without: {median(with_times):.2f} s / {median(without_times):.2f} s = "
          f"{ratio:.3f}  (goal <= {GOAL}) {verdict(ratio <= GOAL)}")


if __name__ == "__main__":
    main()
