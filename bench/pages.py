"""The timeline page: server time to render it (50 posts) for a person with 1,000 sources and 1,000,000 rows.

    .venv/bin/python bench/pages.py [--iterations 200] [--reload]

Data: bench/timeline.py's loader, in this script's own database ``chorus_bench_pages`` (1,000 sources,
1,000,000 posts, ``bench-heavy`` following all of them with 1,000,000 timeline rows, a third of them read).
Cases, each timed over ``--iterations`` calls after a warm-up, p50/p95 wall and CPU (this thread's)
milliseconds in this process (its garbage collector settled as the web process's, ``aggregator/garbage.py``):
- the page: ``GET /`` through Django's whole stack (middleware, the view, the templates), signed in as
  ``bench-heavy``, 50 posts a page, as the server renders it for a browser, its unread counts kept
  (``timelines/unread_cache.py``): a reload with nothing new;
- the same page after a new post arrived (one post ingested, untimed, into one of the reader's sources before
  each call, through the ingest pipeline): the kept counts took it, nothing is counted;
- the same page after marking a post read (untimed before each call, alternately read and unread again): the
  kept counts took it too;
- the same page after "mark all read" of one source (untimed before each call, alternately its unread posts all
  marked read and marked unread again): the kept counts took that too;
- the same page for the reader once they mute a source, block an author and mute a word (``#tag3``, in a tenth
  of the posts): the river leaves out what they hide, and so do the kept counts (``unread_cache``: the hidden
  posts are kept apart; counted once after the blocks were made, as a worker does, untimed);
- with no kept counts (dropped before each call: the person's first page, or after Redis lost its data): the
  page waits for a ``COUNT ... GROUP BY source`` over the 666,667 unread rows; and the same for a reader with
  the default reading preferences but 1,000 unread posts (the rest read). Old counts are not this case: they are
  shown while a worker counts again (``timelines/unread_cache.py``);
- baseline, in the same run: the bare selector (``timeline_for``, 50 posts) the page is built on.
The posts the script ingested are deleted at its end (the data stays as loaded).
The cache is Redis, as in production (``BENCH_REDIS_URL``, else database 5; keys prefixed ``chorus-bench-pages``).
Goal: p95 of the page <= 25 ms, whatever was written before it. The pages with no kept counts are printed beside
it, not in it: a person meets one once, after which every write keeps their counts. Then the page's own CSS and
JavaScript (what its <link> and <script> tags name), compressed with gzip -9 as a server would send them: goal
<= 60 KB.
"""

import argparse
import gzip
import os
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from _setup import REPO_ROOT, banner, bench_redis_url, percentile, setup_django, verdict
from timeline import PAGE, POSTS, SOURCES, ensure_data

GOAL_P95_MS = 25.0
GOAL_ASSETS_KB = 60.0
FEW_UNREAD = 1_000
COLD = "GET /*"  # the cases with no kept counts, printed beside the goal
NEW_GUID = "bench-pages-new-"  # the posts the script ingests, deleted at its end


def timed(call: Callable[[], object], *, iterations: int, warmup: int = 10,
          before: Callable[[], object] = lambda: None) -> tuple[list[float], list[float]]:  # fmt: skip
    """Wall and CPU (this thread's) milliseconds of each call; ``before`` runs untimed before each."""
    for _ in range(warmup):
        before()
        call()
    walls, cpus = [], []
    for _ in range(iterations):
        before()
        started, started_cpu = time.perf_counter(), time.thread_time()
        call()
        walls.append((time.perf_counter() - started) * 1000)
        cpus.append((time.thread_time() - started_cpu) * 1000)
    return walls, cpus


def page_call(client, page_size: int) -> Callable[[], object]:
    def get():
        response = client.get("/")
        assert response.status_code == 200, response.status_code
        assert response.content.count(b'<article class="post') == page_size
        return response

    return get


def few_unread_reader(heavy):
    """``bench-few-unread``: the heavy reader's sources and rows, all read but the newest ``FEW_UNREAD``."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from aggregator.models import Subscription
    from timelines.models import TimelineEntry

    reader, _ = get_user_model().objects.get_or_create(username="bench-few-unread")
    if TimelineEntry.objects.filter(user=reader).count() != POSTS:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM timelines_timelineentry WHERE user_id = %s", [reader.pk])
            Subscription.objects.filter(user=reader).delete()
            Subscription.objects.bulk_create(Subscription(user=reader, source_id=pk) for pk in
                                             Subscription.objects.filter(user=heavy).values_list("source_id", flat=True))  # fmt: skip
            cursor.execute(
                "INSERT INTO timelines_timelineentry (user_id, post_id, source_id, published, is_read) "
                "SELECT %s, id, source_id, published, row_number() OVER (ORDER BY published DESC, id DESC) > %s "
                "FROM aggregator_post", [reader.pk, FEW_UNREAD])  # fmt: skip
            cursor.execute("VACUUM ANALYZE timelines_timelineentry")
    return reader


def timed_blocking(reader, page: Callable[[], object], *, iterations: int) -> tuple[list[float], list[float]]:
    """``page`` timed while ``reader`` mutes a source, blocks an author and mutes a word (undone at the end)."""
    from aggregator.models import Subscription
    from timelines import blocks, unread_cache

    muted = Subscription.objects.filter(user=reader).order_by("source_id")[1].source_id
    made = [*blocks.block_create(user=reader, kind="source", value=str(muted)),
            *blocks.block_create(user=reader, kind="author", value="@user7"),
            *blocks.block_create(user=reader, kind="word", value="#tag3")]  # fmt: skip
    try:
        return timed(page, iterations=iterations)
    finally:
        for block in made:
            blocks.block_delete(user=reader, block_id=block.pk)
        unread_cache.changed(user_ids=[reader.pk])


def asset_sizes(html: str) -> list[tuple[str, int, int]]:
    """(path, bytes, gzip -9 bytes) of each stylesheet and script the page names from /static/."""
    paths = re.findall(r'(?:href|src)="/static/([^"?]+\.(?:css|js))"', html)
    sizes = []
    for path in dict.fromkeys(paths):
        body = (REPO_ROOT / "static" / path).read_bytes()
        sizes.append((path, len(body), len(gzip.compress(body, compresslevel=9))))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--reload", action="store_true", help="reload the data even if it is there")
    args = parser.parse_args()

    os.environ["REDIS_URL"] = bench_redis_url("redis://127.0.0.1:6379/5")  # the cache, as production's
    os.environ["CHORUS_REDIS_NAMESPACE"] = "chorus-bench-pages"  # its keys apart from anything else on that database
    database_url = setup_django(default_db="chorus_bench_pages")
    from aggregator.celery import app as celery_app

    celery_app.conf.task_always_eager = True  # no worker here: what a write queues (a recount) runs here, untimed
    banner("bench/pages.py: the timeline page of a 1,000-source, 1,000,000-row reader", database_url)
    heavy, _ = ensure_data(reload=args.reload)
    few = few_unread_reader(heavy)

    from django.test import Client

    from aggregator import garbage
    from aggregator.content.entry import Entry
    from aggregator.ingest.pipeline import ingest
    from aggregator.models import Post, Source
    from timelines import services, unread_cache, views
    from timelines.cursor import encode_cursor
    from timelines.models import TimelineEntry
    from timelines.selectors import timeline_for, unread_counts_for

    views.PAGE_SIZE = PAGE  # the page as measured: 50 posts (the hub's page shows PAGE_SIZE)
    clients = {}
    for reader in (heavy, few):
        clients[reader.username] = Client(HTTP_HOST="localhost")
        clients[reader.username].force_login(reader)
    print(f"   readers: {SOURCES} subscriptions, {POSTS:,} timeline rows each; unread: bench-heavy "
          f"{sum(unread_counts_for(user=heavy).values()):,}, bench-few-unread {FEW_UNREAD:,}; {PAGE} posts a page")

    def forget(reader):
        return lambda: unread_cache.changed(user_ids=[reader.pk])

    arrivals = Source.objects.filter(subscriptions__user=heavy).order_by("-id").first()  # not the light reader's
    arrived = iter(range(10**9))

    def new_post():
        n = next(arrived)
        ingest(arrivals, [Entry(guid=f"{NEW_GUID}{n}", title=f"arrived {n}", content_html=f"<p>new post {n}</p>",
                                published=datetime.now(UTC))])  # fmt: skip

    newest = timeline_for(user=heavy, limit=1, unread_only=True).entries[0].post_id  # left unread at the end
    toggles = iter(range(10**9))

    def read_a_post():
        services.mark_read(user=heavy, post_ids=[newest], read=next(toggles) % 2 == 0)

    scope = Source.objects.filter(subscriptions__user=heavy).order_by("id").first()
    scope_unread = list(TimelineEntry.objects.filter(user=heavy, source=scope, is_read=False)
                        .values_list("post_id", flat=True)[: services.MAX_IDS])  # fmt: skip
    scope_toggles = iter(range(10**9))

    def mark_a_source_read():
        if next(scope_toggles) % 2 == 0:
            services.mark_all_read(user=heavy, source_id=scope.pk, up_to=encode_cursor(datetime.now(UTC), 2**62))
        else:
            services.mark_read(user=heavy, post_ids=scope_unread, read=False)

    heavy_page = page_call(clients["bench-heavy"], PAGE)
    heavy_page()  # the page's code and templates loaded, as a web process has them after its first pages
    garbage.settle()  # then its garbage collector as aggregator/asgi.py settles it
    try:
        cases = [
            ("GET / (bench-heavy, counts kept)", timed(heavy_page, iterations=args.iterations)),
            ("GET / (bench-heavy, after a new post)", timed(heavy_page, iterations=args.iterations, before=new_post)),
            ("GET / (bench-heavy, after a read)", timed(heavy_page, iterations=args.iterations, before=read_a_post)),
            ("GET / (bench-heavy, after mark all read)", timed(heavy_page, iterations=args.iterations,
                                                               before=mark_a_source_read)),
            ("GET / (bench-heavy, blocking 3 things)", timed_blocking(heavy, heavy_page, iterations=args.iterations)),
            (f"{COLD} (bench-heavy, no kept counts)", timed(heavy_page, iterations=args.iterations,
                                                             before=forget(heavy))),
            (f"{COLD} (bench-few-unread, no kept counts)", timed(page_call(clients["bench-few-unread"], PAGE),
                                                                  iterations=args.iterations, before=forget(few))),
            ("baseline: timeline_for, 50 posts", timed(lambda: timeline_for(user=heavy, limit=PAGE),
                                                        iterations=args.iterations)),
        ]  # fmt: skip
    finally:
        Post.objects.filter(source=arrivals, guid__startswith=NEW_GUID).delete()
        services.mark_read(user=heavy, post_ids=[newest], read=False)
        services.mark_read(user=heavy, post_ids=scope_unread, read=False)
    print(f"\n   {'case':44} {'wall ms p50':>12} {'p95':>8} {'cpu ms p50':>11} {'p95':>8}")
    for name, (walls, cpus) in cases:
        print(f"   {name:44} {percentile(walls, 50):12.2f} {percentile(walls, 95):8.2f} "
              f"{percentile(cpus, 50):11.2f} {percentile(cpus, 95):8.2f}")
    print(f"   ({args.iterations} calls each, after 10 not timed)")

    pages = {name: percentile(walls, 95) for name, (walls, _) in cases[:-1] if not name.startswith(COLD)}
    print(f"\n   goal page p95 <= {GOAL_P95_MS:.0f} ms: " + ", ".join(f"{name.split('(')[1][:-1]} {p95:.2f} ms"
          for name, p95 in pages.items()) + f": {verdict(max(pages.values()) <= GOAL_P95_MS)}")
    cold = {name: percentile(walls, 95) for name, (walls, _) in cases if name.startswith(COLD)}
    print("   beside it, a person's first page (no kept counts): " + ", ".join(
          f"{name.split('(')[1][:-1]} p95 {p95:.2f} ms" for name, p95 in cold.items()))

    html = clients["bench-heavy"].get("/").content.decode()
    sizes = asset_sizes(html)
    for path, raw, packed in sizes:
        print(f"   {path:24} {raw / 1024:7.1f} KB, gzip -9 {packed / 1024:6.1f} KB")
    total = sum(packed for _, _, packed in sizes) / 1024
    print(f"   goal CSS + JS <= {GOAL_ASSETS_KB:.0f} KB compressed: {total:.1f} KB: {verdict(total <= GOAL_ASSETS_KB)}")


if __name__ == "__main__":
    main()
