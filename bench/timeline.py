"""Timeline reads: one 50-post page for a person following 1,000 sources over 1,000,000 posts.

    .venv/bin/python bench/timeline.py [--iterations 300] [--reload] [--plans]

Loads (once; kept between runs while the row counts match) 1,000 sources and 1,000,000 posts with SQL
``INSERT ... SELECT generate_series``, a reader ``bench-heavy`` subscribed to all 1,000 sources with their
1,000,000 timeline rows, and a reader ``bench-light`` following 100 of them (100,000 rows), so the table is
not single-user. Then times ``timeline_for`` for the first page and for a deep page (the cursor after
500,000 posts):
- database time: the SQL the selector issues, timed around ``cursor.execute`` (execute_wrapper: server
  time plus the round trip and result transfer), p50/p95;
- server execution time from ``EXPLAIN (ANALYZE, BUFFERS)`` of the same captured SQL, p50/p95;
- the whole selector's wall time (query plus building the model objects), p50/p95;
- baseline: a bare primary-key lookup of the same 50 posts (``WHERE id IN (...)``), timed the same way.
Goals: p95 database time under 10 ms, deep page within 2x of the first. Two informational rows (no goal)
time the first page of a tag covering 1 and 10 of the 1,000 sources.
"""

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

from _setup import QueryTimer, banner, percentile, setup_django, verdict

SOURCES = 1_000
POSTS = 1_000_000
LIGHT_SOURCES = 100  # the second reader follows the first 100 sources
DEEP_OFFSET = 500_000
PAGE = 50
GOAL_P95_MS = 10.0
GOAL_DEEP_RATIO = 2.0
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
LOADED_TABLES = ("timelines_timelineentry", "aggregator_post", "aggregator_subscriptiontag",
                 "aggregator_subscription", "aggregator_source")


# --- data ---------------------------------------------------------------------------------------------------


def readers():
    """The two benchmark readers: (heavy: all sources, light: the first 100)."""
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    heavy, _ = user_model.objects.get_or_create(username="bench-heavy")
    light, _ = user_model.objects.get_or_create(username="bench-light")
    return heavy, light


def data_loaded(heavy, light) -> bool:
    """True when the tables hold exactly what ``load`` writes, so a rerun can skip loading."""
    from aggregator.models import Post, Source
    from timelines.models import TimelineEntry

    return (
        Source.objects.count() == SOURCES
        and Post.objects.count() == POSTS
        and TimelineEntry.objects.filter(user=heavy).count() == POSTS
        and TimelineEntry.objects.filter(user=light).count() == POSTS * LIGHT_SOURCES // SOURCES
    )


def _secondary_indexes(cursor, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of the indexes on ``table`` that back no constraint."""
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "WHERE x.indrelid = %s::regclass AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)",
        [table],
    )
    return cursor.fetchall()


def _insert_posts(cursor, source_ids: list[int]) -> None:
    """1,000,000 microblog-sized posts, round-robin over the sources, one every ~30 s going back a year.

    Pairs of posts share a timestamp, so the (published, post id) tie-break of the cursor is exercised.
    """
    cursor.execute(
        """
        INSERT INTO aggregator_post (source_id, guid, url, title, author_name, author_handle, author_uri,
            content_html, text, in_reply_to, published, updated, fetched_at, content_hash, retracted_at)
        SELECT (%(sources)s::bigint[])[1 + g %% %(n_sources)s],
               'tag:bench.example,2026:' || g,
               'https://social' || g %% %(n_sources)s || '.example/@user/' || g,
               '', 'User ' || g %% %(n_sources)s, '@user' || g %% %(n_sources)s, '',
               '<p><a href="https://social' || g %% 97 || '.example/@friend">@friend</a> post ' || g
                   || ' about <a href="https://news.example.com/' || md5(g::text) || '">this</a> #tag'
                   || g %% 10 || '</p>',
               '@friend post ' || g || ' about this #tag' || g %% 10,
               '', %(now)s - (g / 2) * interval '61 seconds', NULL, %(now)s, md5(g::text), NULL
        FROM generate_series(0, %(last)s) AS g
        """,
        {"sources": source_ids, "n_sources": len(source_ids), "now": NOW, "last": POSTS - 1},
    )


def _fan_out(cursor, *, user_id: int, source_ids: list[int] | None = None) -> None:
    """The timeline rows ``deliver_posts`` would have written; a third of them read."""
    where = "WHERE source_id = ANY(%(sources)s)" if source_ids else ""
    cursor.execute(
        "INSERT INTO timelines_timelineentry (user_id, post_id, source_id, published, is_read) "
        f"SELECT %(user)s, id, source_id, published, id %% 3 = 0 FROM aggregator_post {where}",
        {"user": user_id, "sources": source_ids},
    )


def load(heavy, light) -> None:
    """Replace the benchmark data. Secondary indexes are dropped during the bulk insert and rebuilt after."""
    from django.db import connection, transaction

    from aggregator.models import Source, Subscription

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        cursor.execute(f"TRUNCATE {', '.join(LOADED_TABLES)} RESTART IDENTITY CASCADE")
        sources = Source.objects.bulk_create(
            Source(address=f"https://social{n}.example/@user{n}.rss", url=f"https://social{n}.example/@user{n}.rss",
                   title=f"User {n}", status=Source.Status.OK)
            for n in range(SOURCES)
        )
        source_ids = [source.pk for source in sources]
        Subscription.objects.bulk_create(
            [Subscription(user=heavy, source_id=pk) for pk in source_ids]
            + [Subscription(user=light, source_id=pk) for pk in source_ids[:LIGHT_SOURCES]]
        )
        dropped = []
        for table in ("aggregator_post", "timelines_timelineentry"):
            for name, definition in _secondary_indexes(cursor, table):
                cursor.execute(f'DROP INDEX "{name}"')
                dropped.append(definition)
        _insert_posts(cursor, source_ids)
        _fan_out(cursor, user_id=heavy.pk)
        _fan_out(cursor, user_id=light.pk, source_ids=source_ids[:LIGHT_SOURCES])
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # run the deferred foreign-key checks before indexing
        for definition in dropped:
            cursor.execute(definition)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(LOADED_TABLES)}")


def ensure_tags(heavy) -> None:
    """Tags on the heavy reader's subscriptions for the informational tag cases: "one" (1 source), "ten"."""
    from aggregator.models import Subscription, SubscriptionTag

    subscriptions = list(Subscription.objects.filter(user=heavy).order_by("source_id")[:10])
    wanted = [("one", subscriptions[0])] + [("ten", subscription) for subscription in subscriptions]
    for name, subscription in wanted:
        SubscriptionTag.objects.get_or_create(subscription=subscription, name=name)


def ensure_data(*, reload: bool):
    """Load the data unless it is already there. Returns (heavy reader, light reader)."""
    heavy, light = readers()
    if not reload and data_loaded(heavy, light):
        print("   data: already loaded, kept")
        ensure_tags(heavy)
        return heavy, light
    started = time.perf_counter()
    load(heavy, light)
    assert data_loaded(heavy, light), "the load did not produce the expected row counts"
    print(f"   data: loaded in {time.perf_counter() - started:.0f} s")
    ensure_tags(heavy)
    return heavy, light


# --- measuring ----------------------------------------------------------------------------------------------


def measure(call: Callable[[], object], *, iterations: int, warmup: int = 20) -> dict:
    """Run ``call`` repeatedly; returns wall and database milliseconds per call and the SQL it issued."""
    from django.db import connection

    for _ in range(warmup):
        call()
    walls, db_times = [], []
    for _ in range(iterations):
        timer = QueryTimer()
        with connection.execute_wrapper(timer):
            started = time.perf_counter()
            call()
            walls.append((time.perf_counter() - started) * 1000)
        db_times.append(timer.seconds * 1000)
    return {"wall": walls, "db": db_times, "queries": [(sql, params) for sql, params, _ in timer.queries]}


def explain(sql: str, params, *, iterations: int) -> tuple[list[float], list[float], str]:
    """Server-side execution times (ms) and planning times (ms) of ``sql`` by EXPLAIN ANALYZE, and its plan."""
    from django.db import connection

    executions, plannings = [], []
    with connection.cursor() as cursor:
        for _ in range(iterations):
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql, params)
            report = cursor.fetchone()[0]
            report = (json.loads(report) if isinstance(report, str) else report)[0]
            executions.append(report["Execution Time"])
            plannings.append(report["Planning Time"])
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    return executions, plannings, plan


def deep_cursor(heavy) -> str:
    """A real cursor: the position of the 500,000th entry of the heavy reader's timeline."""
    from timelines.cursor import encode_cursor
    from timelines.models import TimelineEntry

    published, post_id = (
        TimelineEntry.objects.filter(user=heavy).order_by("-published", "-post_id")
        .values_list("published", "post_id")[DEEP_OFFSET - 1]
    )  # fmt: skip
    return encode_cursor(published, post_id)


def bench_case(name: str, call: Callable[[], object], *, iterations: int, explains: int) -> dict:
    """Measure one case (db time sums all its statements) and EXPLAIN ANALYZE its page statement (the last)."""
    result = measure(call, iterations=iterations)
    assert 1 <= len(result["queries"]) <= 2, f"{name}: expected at most two statements, got {len(result['queries'])}"
    if len(result["queries"]) > 1:
        name += f" ({len(result['queries'])} stmts)"
    sql, params = result["queries"][-1]
    result["exec"], result["plan_ms"], result["plan"] = explain(sql, params, iterations=explains)
    result["name"] = name
    return result


def _p(values: list[float]) -> str:
    return f"{percentile(values, 50):6.2f} {percentile(values, 95):6.2f}"


def report(cases: list[dict], *, iterations: int, explains: int) -> None:
    print(f"\n   {'case':38} {'db ms p50  p95':>15}   {'exec ms p50  p95':>17}   {'wall ms p50  p95':>17}")
    for case in cases:
        print(f"   {case['name']:38} {_p(case['db'])}   {_p(case['exec']):>17}   {_p(case['wall']):>17}")
    print(f"   (db: {iterations} timed cursor.execute calls; exec: {explains} EXPLAIN ANALYZE runs, server only; "
          "wall: the whole selector call)")


def goals(first: dict, deep: dict, baseline: dict) -> None:
    p95 = max(percentile(first["db"], 95), percentile(deep["db"], 95))
    ratio = percentile(deep["db"], 95) / percentile(first["db"], 95)
    vs_base = percentile(first["db"], 50) / percentile(baseline["db"], 50)
    print(f"\n   goal p95 db time < {GOAL_P95_MS:.0f} ms: worst p95 {p95:.2f} ms: {verdict(p95 < GOAL_P95_MS)}")
    print(f"   goal deep/first p95 <= {GOAL_DEEP_RATIO:.0f}x: {ratio:.2f}x: {verdict(ratio <= GOAL_DEEP_RATIO)}")
    print(f"   first page p50 vs bare pk lookup p50: {vs_base:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--explains", type=int, default=50)
    parser.add_argument("--reload", action="store_true", help="reload the data even if it is there")
    parser.add_argument("--plans", action="store_true", help="print the EXPLAIN ANALYZE plans")
    args = parser.parse_args()

    database_url = setup_django(default_db="chorus_bench_timeline")
    banner("bench/timeline.py: one page of a 1,000-source, 1,000,000-post timeline", database_url)
    heavy, light = ensure_data(reload=args.reload)

    from aggregator.models import Post
    from timelines.selectors import timeline_for

    before = deep_cursor(heavy)
    first_page = timeline_for(user=heavy, limit=PAGE)
    deep_page = timeline_for(user=heavy, before=before, limit=PAGE)
    assert len(first_page.entries) == PAGE == len(deep_page.entries)
    page_ids = [entry.post_id for entry in first_page.entries]
    print(f"   reader bench-heavy: {SOURCES} subscriptions, {POSTS:,} timeline rows; deep page starts after "
          f"entry {DEEP_OFFSET:,} ({deep_page.entries[0].published:%Y-%m-%d})")

    kwargs = {"iterations": args.iterations, "explains": args.explains}
    cases = [
        bench_case("baseline: 50 posts by primary key", lambda: list(Post.objects.filter(id__in=page_ids)), **kwargs),
        bench_case("timeline_for, first page", lambda: timeline_for(user=heavy, limit=PAGE), **kwargs),
        bench_case("timeline_for, deep page (500,000)", lambda: timeline_for(user=heavy, before=before, limit=PAGE),
                   **kwargs),
    ]
    informational = [
        bench_case("(info) tag of 1 source, first page", lambda: timeline_for(user=heavy, tag="one", limit=PAGE),
                   **kwargs),
        bench_case("(info) tag of 10 sources, first page", lambda: timeline_for(user=heavy, tag="ten", limit=PAGE),
                   **kwargs),
    ]
    report(cases + informational, **kwargs)
    goals(first=cases[1], deep=cases[2], baseline=cases[0])
    if args.plans:
        for case in cases + informational:
            print(f"\n-- plan: {case['name']}\n{case['plan']}")


if __name__ == "__main__":
    main()
