"""The timeline page: server time to render it (50 posts) for a person with 1,000 sources and 1,000,000 rows.

    .venv/bin/python bench/pages.py [--iterations 200] [--reload]

Data: bench/timeline.py's loader, in this script's own database ``chorus_bench_pages`` (1,000 sources,
1,000,000 posts, ``bench-heavy`` following all of them with 1,000,000 timeline rows, a third of them read).
Cases, each timed over ``--iterations`` calls after a warm-up, p50/p95 wall milliseconds in this process:
- the page: ``GET /`` through Django's whole stack (middleware, the view, the template), signed in as
  ``bench-heavy``, 50 posts a page, as the server renders it for a browser;
- the same page of a reader with the default reading preferences but 1,000 unread posts (the rest read): the
  sidebar's unread counts are a ``COUNT ... GROUP BY source`` over the unread rows, so they cost by how much
  is unread (NOTES.md);
- baseline, in the same run: the bare selector (``timeline_for``, 50 posts) the page is built on.
Goal: p95 of the page <= 25 ms. Then the page's own CSS and JavaScript (what its <link> and <script> tags name),
compressed with gzip -9 as a server would send them: goal <= 60 KB.
"""

import argparse
import gzip
import re
import time
from collections.abc import Callable

from _setup import REPO_ROOT, banner, percentile, setup_django, verdict
from timeline import PAGE, POSTS, SOURCES, ensure_data

GOAL_P95_MS = 25.0
GOAL_ASSETS_KB = 60.0
FEW_UNREAD = 1_000


def timed(call: Callable[[], object], *, iterations: int, warmup: int = 10) -> list[float]:
    for _ in range(warmup):
        call()
    walls = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        walls.append((time.perf_counter() - started) * 1000)
    return walls


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

    database_url = setup_django(default_db="chorus_bench_pages")
    banner("bench/pages.py: the timeline page of a 1,000-source, 1,000,000-row reader", database_url)
    heavy, _ = ensure_data(reload=args.reload)
    few = few_unread_reader(heavy)

    from django.test import Client

    from timelines import views
    from timelines.selectors import timeline_for, unread_counts_for

    views.PAGE_SIZE = PAGE  # the page as measured: 50 posts (the hub's page shows PAGE_SIZE)
    clients = {}
    for reader in (heavy, few):
        clients[reader.username] = Client(HTTP_HOST="localhost")
        clients[reader.username].force_login(reader)
    print(f"   readers: {SOURCES} subscriptions, {POSTS:,} timeline rows each; unread: bench-heavy "
          f"{sum(unread_counts_for(user=heavy).values()):,}, bench-few-unread {FEW_UNREAD:,}; {PAGE} posts a page")

    cases = [
        ("GET / (bench-heavy)", timed(page_call(clients["bench-heavy"], PAGE), iterations=args.iterations)),
        ("GET / (bench-few-unread)", timed(page_call(clients["bench-few-unread"], PAGE), iterations=args.iterations)),
        ("baseline: timeline_for, 50 posts", timed(lambda: timeline_for(user=heavy, limit=PAGE), iterations=args.iterations)),
    ]  # fmt: skip
    print(f"\n   {'case':38} {'wall ms p50':>12} {'p95':>8}")
    for name, walls in cases:
        print(f"   {name:38} {percentile(walls, 50):12.2f} {percentile(walls, 95):8.2f}")
    print(f"   ({args.iterations} calls each, after 10 not timed)")

    worst = max(percentile(walls, 95) for name, walls in cases[:2])
    best = min(percentile(walls, 95) for name, walls in cases[:2])
    print(f"\n   goal page p95 <= {GOAL_P95_MS:.0f} ms: few unread {best:.2f} ms, heavy {worst:.2f} ms: "
          f"{verdict(worst <= GOAL_P95_MS)}")

    html = clients["bench-heavy"].get("/").content.decode()
    sizes = asset_sizes(html)
    for path, raw, packed in sizes:
        print(f"   {path:24} {raw / 1024:7.1f} KB, gzip -9 {packed / 1024:6.1f} KB")
    total = sum(packed for _, _, packed in sizes) / 1024
    print(f"   goal CSS + JS <= {GOAL_ASSETS_KB:.0f} KB compressed: {total:.1f} KB: {verdict(total <= GOAL_ASSETS_KB)}")


if __name__ == "__main__":
    main()
