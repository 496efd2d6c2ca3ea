"""Search: the first page of 50 results for a person following 1,000 sources over 1,000,000 posts, and what
keeping the index costs ingest.

    .venv/bin/python bench/search.py [--iterations 100] [--rounds 5] [--skip-ingest]

Reads: bench/timeline.py's data (its loader, in this script's own database ``chorus_bench_search``: 1,000
sources, 1,000,000 posts, ``bench-heavy`` following all of them), indexed once by ``timelines.search.index.reindex`` (kept while
the counts match). ``search_for`` is timed (wall and database time, p50/p95) for a one-word, a two-word, a phrase
and a ``source:`` query, beside a bare GIN match of the same words on the same index (the newest 50 matching
posts, nobody's scope), timed the same way in the same run. Goal: p95 <= 50 ms.

Ingest: bench/ingest.py's corpus and helpers (database ``chorus_bench_search_ingest``), ingested in alternating
halves with the index kept and without (``pipeline.index_posts`` replaced by a no-op for that half only); the
median ratio, as bench/mentions.py prints its own. Goal: <= 1.10x.

Sizes: what a timeline row, a post and its index entry take on disk (table, TOAST and indexes over rows), and
what a year costs for 10,000 people following 300 sources that post 5 times a day, with and without retention.
"""

import argparse
import os
import subprocess
import sys
import time

from _setup import banner, median, percentile, setup_django, verdict
from ingest import fresh_sources, make_corpus, reset_tables, time_ingest
from timeline import ensure_data, measure

GOAL_P95_MS = 50.0
GOAL_INGEST = 1.10
QUERIES = {
    "one word": "tag3",
    "two words": "friend tag7",
    "phrase": '"this tag5"',
    "source:": 'source:"user 42" friend',
}
BARE = {"one word": "'tag3'", "two words": "'friend' & 'tag7'", "phrase": "'this' <-> 'tag5'",
        "source:": "'friend'"}  # fmt: skip
PEOPLE, SOURCES_EACH, POSTS_A_DAY, SOURCES_ALL = 10_000, 300, 5, 30_000


def ensure_index() -> None:
    from aggregator.models import Post
    from timelines.models import SearchEntry
    from timelines.search.index import reindex

    if SearchEntry.objects.count() == Post.objects.count():
        print("   index: already built, kept")
        return
    started = time.perf_counter()
    for _ in reindex(batch_size=5000, only_missing=True):
        pass
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE timelines_searchentry")
    print(f"   index: built in {time.perf_counter() - started:.0f} s")


def bare_match(tsquery: str):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            cursor.execute("SELECT post_id FROM timelines_searchentry WHERE document @@ %s::tsquery "
                           "ORDER BY published DESC LIMIT 50", [tsquery])  # fmt: skip
            return cursor.fetchall()

    return run


def reads(heavy, iterations: int) -> bool:
    from timelines.search.selectors import search_for

    ok = True
    print(f"\n-- first page of 50, {iterations} runs each: wall / database ms, p50 p95   (beside: a bare GIN match of "
          "the same words, newest 50 of all posts, nobody's scope)")
    for label, q in QUERIES.items():
        found = len(search_for(user=heavy, q=q).results)
        ours = measure(lambda q=q: search_for(user=heavy, q=q, limit=50), iterations=iterations, warmup=5)
        bare = measure(bare_match(BARE[label]), iterations=iterations, warmup=5)
        p95 = percentile(ours["wall"], 95)
        ok &= p95 <= GOAL_P95_MS
        print(f"   {label:9} {q!r:26} {found:2} results  search {median(ours['wall']):6.1f} {p95:6.1f} "
              f"(db {median(ours['db']):6.1f} {percentile(ours['db'], 95):6.1f})   bare {median(bare['wall']):6.1f} "
              f"{percentile(bare['wall'], 95):6.1f}   goal p95 <= {GOAL_P95_MS:.0f}: {verdict(p95 <= GOAL_P95_MS)}")
    return ok


def sizes() -> None:
    from django.db import connection

    def per_row(table: str) -> float:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT pg_total_relation_size('{table}'), (SELECT count(*) FROM {table})")
            total, rows = cursor.fetchone()
        return total / max(rows, 1)

    row, post, entry = (per_row(t) for t in ("timelines_timelineentry", "aggregator_post", "timelines_searchentry"))
    print(f"\n-- on disk per row (table, TOAST, indexes): timeline row {row:.0f} B, post {post:.0f} B, "
          f"index entry {entry:.0f} B")
    rows_a_day = PEOPLE * SOURCES_EACH * POSTS_A_DAY
    posts_a_day = SOURCES_ALL * POSTS_A_DAY
    day = rows_a_day * row + posts_a_day * (post + entry)
    print(f"   {PEOPLE:,} people x {SOURCES_EACH} sources x {POSTS_A_DAY} posts a day ({SOURCES_ALL:,} sources): "
          f"{rows_a_day * row / 1e9:.2f} GB of timeline rows + {posts_a_day * (post + entry) / 1e9:.3f} GB of posts "
          f"and index entries a day")
    print(f"   without retention: {365 * day / 1e12:.2f} TB after a year, {3 * 365 * day / 1e12:.2f} TB after three, "
          "growing for good")
    for keep in (365, 90, 30):
        print(f"   CHORUS_KEEP_READ_DAYS={keep}{' (default)' if keep == 365 else ''}: at most {keep * day / 1e12:.2f} TB "
              "once that many days are stored (read, unstarred rows older than that leave), plus starred and unread")


def ingest_ratio(rounds: int) -> bool:
    import aggregator.ingest.pipeline as pipeline

    corpus = make_corpus(feeds=200, entries=20)
    kept = pipeline.index_posts
    times: dict[str, list[float]] = {"without": [], "with": []}
    for n in range(rounds):
        for half in ("without", "with") if n % 2 == 0 else ("with", "without"):
            reset_tables()
            sources = fresh_sources(corpus)
            pipeline.index_posts = kept if half == "with" else (lambda **kwargs: None)
            try:
                times[half].append(time_ingest(corpus, sources).seconds)
            finally:
                pipeline.index_posts = kept
    ratios = [w / wo for w, wo in zip(times["with"], times["without"], strict=True)]
    ratio = median(ratios)
    print(f"\n-- ingest, {len(corpus)} feeds x 20 entries, {rounds} rounds: without the index "
          f"{median(times['without']):.2f} s, with it {median(times['with']):.2f} s")
    print(f"   ratio with/without {ratio:.3f}x (+{(ratio - 1) * 100:.1f}%; per round: "
          f"{' '.join(f'{r:.3f}' for r in ratios)})   goal <= {GOAL_INGEST:.2f}x: {verdict(ratio <= GOAL_INGEST)}")
    return ratio <= GOAL_INGEST


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--part", choices=("all", "reads", "ingest"), default="all")
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()
    if args.part == "ingest":  # its own database: bench/ingest.py's helpers empty the tables every round
        database_url = setup_django(default_db="chorus_bench_search_ingest")
        banner("bench/search.py: ingest with the search index kept vs. without", database_url)
        ingest_ratio(args.rounds)
        return
    database_url = setup_django(default_db="chorus_bench_search")
    banner("bench/search.py: search 1,000,000 posts", database_url)
    heavy, _ = ensure_data(reload=args.reload)
    ensure_index()
    reads(heavy, args.iterations)
    sizes()
    if args.part == "all":
        environment = {k: v for k, v in os.environ.items() if k != "BENCH_DATABASE_URL"}
        subprocess.run([sys.executable, __file__, "--part", "ingest", "--rounds", str(args.rounds)], check=True,
                       env=environment)  # fmt: skip


if __name__ == "__main__":
    main()
