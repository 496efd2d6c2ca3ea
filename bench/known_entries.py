"""Parsing WebSub fat pings when several worker processes share a source's deliveries: the whole parse, each
process's own memo of entries it parsed, and the memo with the shared tier in Redis.

    .venv/bin/python bench/known_entries.py [--deliveries 2000] [--sources 10] [--window 5] [--processes 2 4]

The documents are ``bench/websub.py``'s (Atom, the newest ``--window`` entries of a source, one new), delivered
round-robin over the sources; each delivery goes to one of ``--processes`` simulated worker processes at random
(as a freed pool process takes a drainer's next batch), each with a ``KnownEntries`` of its own. The shared
tier is the production one (``websub_deliveries``: Redis at ``BENCH_REDIS_URL``, default db 3), under a key
version of this run's own so no earlier run's entries count; each delivery is shared after its parse (a batch of
one: the worker shares once a batch). Printed: CPU (``process_time``) and wall ms a delivery, and how many
entries feedparser read a delivery. Baseline, same run: the whole parse without a memo.
"""

import argparse
import os
import random
import secrets
import time
from datetime import UTC, datetime

from _setup import REPO_ROOT, banner, bench_redis_url  # noqa: F401 - REPO_ROOT: the project on sys.path

CHUNK = 100  # deliveries each variant parses in its turn


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--sources", type=int, default=10)
    parser.add_argument("--window", type=int, default=5)
    parser.add_argument("--processes", type=int, nargs="+", default=[2, 4])
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    os.environ["REDIS_URL"] = bench_redis_url("redis://127.0.0.1:6379/3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "aggregator.settings")
    import django

    django.setup()
    import feedparser
    from websub import feed_document

    from aggregator.ingest.websub_deliveries import RedisEntries
    from aggregator.networks.rss import KnownEntries, parse, parser_version

    banner("bench/known_entries.py: fat pings parsed by several processes", os.environ["REDIS_URL"])
    base = datetime.now(UTC)
    documents = []
    for seq in range(args.deliveries):
        source = seq % args.sources
        window = list(range(seq, -1, -args.sources))[: args.window]
        documents.append((f"https://bench-websub.example/feed/{source}", feed_document(source, window, hub="h", base=base)))

    read = [0]  # entries feedparser read, counted through its own entry point
    real_parse = feedparser.parse

    def counting_parse(body, **kwargs):
        result = real_parse(body, **kwargs)
        read[0] += len(result.entries)
        return result

    feedparser.parse = counting_parse

    class Variant:
        """One way of parsing the stream, with its own processes' memos and its own random choice of process."""

        def __init__(self, label: str, memos: list | None, *, share: bool):
            self.label, self.memos, self.share = label, memos, share
            self.chooser = random.Random(7)
            self.cpu = self.wall = 0.0
            self.read = 0

        def parse_some(self, chunk: list) -> None:
            read[0] = 0
            cpu, wall = time.process_time(), time.perf_counter()
            for topic, body in chunk:
                memo = self.memos[self.chooser.randrange(len(self.memos))] if self.memos else None
                parse(body, base_url=topic, content_type="application/atom+xml", known=memo)
                if self.share:
                    memo.share()
            self.cpu += time.process_time() - cpu
            self.wall += time.perf_counter() - wall
            self.read += read[0]

    variants = [Variant("baseline: whole parse, no memo", None, share=False)]
    for processes in args.processes:
        version = f"{parser_version()}-bench-{secrets.token_hex(4)}"  # this run's entries only
        variants += [
            Variant(f"{processes} processes, each its own memo", [KnownEntries() for _ in range(processes)],
                    share=False),
            Variant(f"{processes} processes, own memo + shared tier (Redis)",
                    [KnownEntries(shared=RedisEntries(), version=version) for _ in range(processes)], share=True),
        ]  # fmt: skip
    # The machine's speed drifts within seconds: the variants take turns over chunks of the same stream.
    for start in range(0, len(documents), CHUNK):
        turn = start // CHUNK
        for variant in variants[turn % len(variants):] + variants[: turn % len(variants)]:
            variant.parse_some(documents[start : start + CHUNK])
    n = len(documents)
    print(f"   {args.deliveries} deliveries, {args.sources} sources, {args.window} entries each (1 new); each delivery to "
          f"one process at random; the variants in turns of {CHUNK} deliveries")  # fmt: skip
    for variant in variants:
        print(f"   {variant.label:<52} CPU {variant.cpu / n * 1000:5.2f} ms  wall {variant.wall / n * 1000:5.2f} ms "
              f"a delivery, {variant.read / n:4.2f} entries read by feedparser")  # fmt: skip


if __name__ == "__main__":
    main()
