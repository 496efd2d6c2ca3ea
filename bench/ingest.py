"""Ingest throughput: posts stored per second, end to end, beside raw feedparser on the same bytes.

    .venv/bin/python bench/ingest.py [--feeds 200] [--entries 20] [--rounds 5] [--poll-rounds 5]

Part 1 generates a corpus of microblog-like feeds (RSS 2.0 and Atom: short HTML bodies with links,
@mentions, hashtags, an image, relative URLs, authors, replies) and, each round, times
- the baseline: ``feedparser.parse(body)`` with default options, entries per second;
- ingest: ``parse()`` + ``pipeline.ingest()`` into freshly created sources with one subscriber each,
  posts per second (bytes -> parse -> sanitize -> upsert -> timeline fan-out, in PostgreSQL).
Goal: ingest >= 0.5x the raw parse rate.

Part 2 serves the same corpus from a local HTTP server (a separate process) that answers 304 to a matching
If-None-Match, and times ``poll_source`` on sources whose ETag is current (every poll a 304) beside bare
conditional GETs through the same ``fetch`` helper. feedparser is wrapped to count calls: a 304 must not
parse anything.
"""

import argparse
import hashlib
import multiprocessing
import random
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _setup import QueryTimer, banner, median, setup_django, verdict

GOAL_RATIO = 0.5
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
_PROSE = (
    "the a of to and in is it you that for on was with as are this be at have from or one had by but not what all "
    "were when we there can an your which their said if do will each about how up out them then she many some so "
    "these would other into has more her two like him see time could no make than first been its who now people "
    "feed river timeline federation instance server relay hub reader poll push comet telescope coffee bike train"
)
WORDS = _PROSE.split()
TAGS = ("fediverse", "rss", "indieweb", "astronomy", "coffee", "cycling", "python", "django", "music", "photo")
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory", "trent")


# --- corpus -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Feed:
    path: str  # where the local server serves it: /feeds/<n>.xml
    url: str  # where it would live on the web; the base URL its relative links resolve against
    body: bytes
    content_type: str
    etag: str


def _sentence(rng: random.Random, low: int = 6, high: int = 18) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def _post_html(rng: random.Random, *, host: str) -> str:
    """A Mastodon-like status: a paragraph with a mention, a link, hashtags, sometimes a relative image."""
    who, other_host = rng.choice(PEOPLE), f"social{rng.randint(1, 50)}.example"
    tags = rng.sample(TAGS, rng.randint(1, 3))
    mention = (f'<span class="h-card"><a href="https://{other_host}/@{who}" class="u-url mention">'
               f"@<span>{who}</span></a></span>")
    link = (f'<a href="https://news.example.com/{rng.randint(1, 10**6)}" rel="nofollow noopener noreferrer" '
            f'target="_blank"><span class="invisible">https://</span>news.example.com/{rng.randint(1, 999)}</a>')
    hashtags = " ".join(f'<a href="https://{host}/tags/{t}" class="mention hashtag" rel="tag">#<span>{t}</span></a>'
                        for t in tags)
    html = f"<p>{mention} {escape(_sentence(rng))} {link}</p><p>{escape(_sentence(rng, 3, 10))} {hashtags}</p>"
    if rng.random() < 0.5:  # relative media URL: resolves against the feed's base
        html += f'<p><img src="/media/{rng.randint(1, 10**6):x}.jpg" alt="{escape(_sentence(rng, 2, 5))}"></p>'
    if rng.random() < 0.1:  # noise the sanitizer must remove
        html += '<script>alert(1)</script><p style="color:red" onclick="x()">styled</p>'
    return html


def _rss_feed(rng: random.Random, n: int, entries: int) -> tuple[str, bytes]:
    host = f"social{n}.example"
    home = f"https://{host}/@user{n}"
    url = f"{home}.rss"
    items = []
    for i in range(entries):
        when = NOW - timedelta(minutes=n * 7 + i * 37)
        link = f"{home}/{10**15 + n * 1000 + i}"
        items.append(
            f"<item><guid isPermaLink=\"true\">{link}</guid><link>{link}</link>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description>{escape(_post_html(rng, host=host))}</description>"
            f"<category>{rng.choice(TAGS)}</category></item>"
        )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<rss version="2.0" xmlns:webfeeds="http://webfeeds.org/rss/1.0" xmlns:media="http://search.yahoo.com/mrss/">'
        f"<channel><title>User {n}</title><description>Public posts from @user{n}@{host}</description>"
        f"<link>{home}</link><lastBuildDate>{format_datetime(NOW, usegmt=True)}</lastBuildDate>"
        f"{''.join(items)}</channel></rss>"
    )
    return url, body.encode()


def _atom_feed(rng: random.Random, n: int, entries: int) -> tuple[str, bytes]:
    host = f"notes{n}.example"
    home = f"https://{host}/"
    url = f"{home}atom.xml"
    items = []
    for i in range(entries):
        when = NOW - timedelta(minutes=n * 7 + i * 41)
        stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        reply = ""
        if rng.random() < 0.3:
            target = f"https://social{rng.randint(1, 50)}.example/@{rng.choice(PEOPLE)}/{rng.randint(1, 10**9)}"
            reply = f'<thr:in-reply-to ref="{target}" href="{target}"/>'
        items.append(
            f"<entry><id>tag:{host},2026:note-{i}</id><title>{escape(_sentence(rng, 3, 8))}</title>"
            f'<link rel="alternate" type="text/html" href="notes/{i}"/>'  # relative: resolves against xml:base
            f"<published>{stamp}</published><updated>{stamp}</updated>"
            f"<author><name>Writer {n}</name><uri>{home}</uri></author>{reply}"
            f'<content type="html">{escape(_post_html(rng, host=host))}</content></entry>'
        )
    body = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0" '
        f'xml:base="{home}"><title>Notes of writer {n}</title><subtitle>short notes</subtitle>'
        f'<link rel="alternate" href="{home}"/><id>tag:{host},2026:feed</id>'
        f"<updated>{NOW:%Y-%m-%dT%H:%M:%SZ}</updated>{''.join(items)}</feed>"
    )
    return url, body.encode()


def make_corpus(*, feeds: int, entries: int, seed: int = 2026) -> list[Feed]:
    """Half RSS 2.0 (Mastodon-shaped), half Atom (notes with replies); deterministic for a given seed."""
    rng = random.Random(seed)
    corpus = []
    for n in range(feeds):
        url, body = (_rss_feed if n % 2 == 0 else _atom_feed)(rng, n, entries)
        content_type = "application/rss+xml; charset=utf-8" if n % 2 == 0 else "application/atom+xml; charset=utf-8"
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        corpus.append(Feed(path=f"/feeds/{n}.xml", url=url, body=body, content_type=content_type, etag=etag))
    return corpus


# --- part 1: parse and ingest throughput -------------------------------------------------------------------


def reset_tables() -> None:
    """Empty the tables ingest writes, so every round starts from the same state."""
    from django.db import connection

    with connection.cursor() as cursor:
        # the search index, tracks_trackmatch and replies_reply by name: no database foreign key for CASCADE to follow (see their
        # models)
        cursor.execute("TRUNCATE timelines_timelineentry, timelines_searchentry, tracks_trackmatch, replies_reply, aggregator_post, "
                       "aggregator_subscriptiontag, aggregator_subscription, aggregator_source RESTART IDENTITY CASCADE")


def fresh_sources(corpus: list[Feed], *, server: str | None = None):
    """One new Source per feed, each with one subscriber (the same reader). Not timed.

    With ``server`` the sources point at the local feed server, else at the feeds' own (unreachable) URLs.
    """
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from aggregator.models import Source, Subscription

    reader, _ = get_user_model().objects.get_or_create(username="bench-reader")
    urls = [f"{server}{feed.path}" if server else feed.url for feed in corpus]
    sources = Source.objects.bulk_create(Source(address=url, url=url, next_poll_at=timezone.now()) for url in urls)
    Subscription.objects.bulk_create(Subscription(user=reader, source=source) for source in sources)
    return sources


def time_feedparser(corpus: list[Feed]) -> tuple[float, int]:
    """Baseline: feedparser with its default options on the same bytes. Returns (seconds, entries)."""
    import feedparser

    entries = 0
    started = time.perf_counter()
    for feed in corpus:
        entries += len(feedparser.parse(feed.body).entries)
    return time.perf_counter() - started, entries


@dataclass
class IngestRun:
    seconds: float
    parse_seconds: float  # in parse()
    db_seconds: float  # in cursor.execute, inside pipeline.ingest
    created: int


def time_ingest(corpus: list[Feed], sources) -> IngestRun:
    """parse() + pipeline.ingest() per feed, the way a poll does it."""
    from django.db import connection

    from aggregator.ingest.pipeline import ingest
    from aggregator.networks.rss import parse

    created = 0
    parse_seconds = 0.0
    timer = QueryTimer()
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        for feed, source in zip(corpus, sources, strict=True):
            t0 = time.perf_counter()
            parsed = parse(feed.body, base_url=feed.url, content_type=feed.content_type)
            parse_seconds += time.perf_counter() - t0
            created += len(ingest(source, parsed.entries).created)
    return IngestRun(time.perf_counter() - started, parse_seconds, timer.seconds, created)


def run_ingest(corpus: list[Feed], *, rounds: int) -> None:
    from timelines.models import TimelineEntry

    expected = sum(len(f.body) for f in corpus)
    print(f"\n-- ingest: {len(corpus)} feeds, {expected / 1e6:.2f} MB, {rounds} rounds (median shown)")
    base_rates, ingest_rates, ratios, parse_shares, db_shares = [], [], [], [], []
    for _ in range(rounds):
        reset_tables()
        sources = fresh_sources(corpus)
        base_seconds, base_entries = time_feedparser(corpus)
        run = time_ingest(corpus, sources)
        assert run.created == base_entries, f"stored {run.created} posts of {base_entries} entries"
        base_rates.append(base_entries / base_seconds)
        ingest_rates.append(run.created / run.seconds)
        ratios.append(ingest_rates[-1] / base_rates[-1])
        parse_shares.append(run.parse_seconds / run.seconds)
        db_shares.append(run.db_seconds / run.seconds)
    fanned_out = TimelineEntry.objects.count()
    print(f"   baseline  feedparser.parse (defaults)  {median(base_rates):8.0f} entries/s   rounds: {_rates(base_rates)}")
    print(f"   chorus    parse + pipeline.ingest      {median(ingest_rates):8.0f} posts/s     rounds: {_rates(ingest_rates)}")
    print(f"             time in parse() {median(parse_shares):.0%}, in database statements {median(db_shares):.0%}, "
          f"rest (sanitize, dedupe, ORM) {1 - median(parse_shares) - median(db_shares):.0%}; "
          f"{fanned_out} timeline rows fanned out per round")
    ratio = median(ratios)
    print(f"   ratio ingest/baseline {ratio:.2f}x (median of per-round ratios: {_ratios(ratios)})   "
          f"goal >= {GOAL_RATIO}x: {verdict(ratio >= GOAL_RATIO)}")


def _rates(rates: list[float]) -> str:
    return " ".join(f"{r:.0f}" for r in rates)


def _ratios(ratios: list[float]) -> str:
    return " ".join(f"{r:.2f}" for r in ratios)


# --- part 2: polls of unchanged feeds ------------------------------------------------------------------------


def serve_corpus(corpus: list[Feed], port_out) -> None:
    """Run in a child process: serve the feeds, 304 to a matching If-None-Match. Never returns."""
    feeds = {feed.path: feed for feed in corpus}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, in case the client pools connections

        def do_GET(self):  # noqa: N802 (http.server's naming)
            feed = feeds.get(self.path)
            if feed is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.headers.get("If-None-Match") == feed.etag:
                self.send_response(304)
                self.send_header("ETag", feed.etag)
                self.end_headers()
            else:
                self.send_response(200)
                self.send_header("Content-Type", feed.content_type)
                self.send_header("ETag", feed.etag)
                self.send_header("Content-Length", str(len(feed.body)))
                self.end_headers()
                self.wfile.write(feed.body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port_out.send(server.server_address[1])
    server.serve_forever()


def start_server(corpus: list[Feed]) -> tuple[str, multiprocessing.Process]:
    """The feed server in its own process, so it does not share this process' GIL. Returns (base URL, process)."""
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    process = context.Process(target=serve_corpus, args=(corpus, child_end), daemon=True)
    process.start()
    return f"http://127.0.0.1:{parent_end.recv()}", process


class CountingParse:
    """Wraps ``feedparser.parse`` for the benchmark only, to prove a 304 parses nothing. Parses made while a
    source's picture is looked for (queued by a first poll, run eagerly here: it reads the feed's icons) are
    counted apart, in ``picture_calls``."""

    def __init__(self, real):
        self.real, self.calls, self.picture_calls, self.in_picture = real, 0, 0, False

    def __call__(self, *args, **kwargs):
        if self.in_picture:
            self.picture_calls += 1
        else:
            self.calls += 1
        return self.real(*args, **kwargs)

    def around_pictures(self, learn):
        def counted(**kwargs):
            self.in_picture = True
            try:
                return learn(**kwargs)
            finally:
                self.in_picture = False

        return counted


def time_bare_gets(urls_etags: list[tuple[str, str]]) -> float:
    """Baseline: conditional GETs through the project's fetch helper alone. Returns seconds."""
    from aggregator.fetch import fetch

    started = time.perf_counter()
    for url, etag in urls_etags:
        assert fetch(url, etag=etag).not_modified
    return time.perf_counter() - started


def time_polls(source_ids: list[int]) -> tuple[float, QueryTimer]:
    """poll_source on every source; each must come back not_modified. Returns (seconds, its statements)."""
    from django.db import connection

    from aggregator.ingest.polling import poll_source

    timer = QueryTimer()
    started = time.perf_counter()
    with connection.execute_wrapper(timer):
        for source_id in source_ids:
            outcome = poll_source(source_id=source_id)
            assert outcome.status == "not_modified", outcome
    return time.perf_counter() - started, timer


def prime_sources(corpus: list[Feed], server: str) -> list[int]:
    """Fresh sources pointing at the server; one real poll each stores the posts and learns the ETag."""
    from aggregator.ingest.polling import poll_source
    from aggregator.models import Source

    reset_tables()
    sources = fresh_sources(corpus, server=server)
    for source in sources:
        assert poll_source(source_id=source.pk).status == "stored"
    assert not Source.objects.filter(etag="").exists(), "a 200 left no ETag on its source"
    return [source.pk for source in sources]


def run_polls(corpus: list[Feed], *, rounds: int) -> None:
    import feedparser

    from aggregator.following import avatars
    from aggregator.models import Source

    server, process = start_server(corpus)
    real_learn = avatars.learn_picture
    try:
        counter = CountingParse(feedparser.parse)
        feedparser.parse = counter
        avatars.learn_picture = counter.around_pictures(real_learn)
        source_ids = prime_sources(corpus, server)
        primed_parses, counter.calls = counter.calls, 0
        urls_etags = list(Source.objects.filter(pk__in=source_ids).values_list("url", "etag"))
        print(f"\n-- polls of unchanged feeds: {len(source_ids)} sources, {rounds} rounds (median shown), "
              f"server {server} in its own process")
        base_rates, poll_rates, ratios, db_ms, statements = [], [], [], [], 0
        for _ in range(rounds):
            base_rates.append(len(urls_etags) / time_bare_gets(urls_etags))
            seconds, timer = time_polls(source_ids)
            poll_rates.append(len(source_ids) / seconds)
            ratios.append(poll_rates[-1] / base_rates[-1])
            db_ms.append(timer.seconds * 1000 / len(source_ids))
            statements = len(timer.queries) / len(source_ids)
        print(f"   baseline  fetch() conditional GET -> 304  {median(base_rates):7.0f} requests/s   "
              f"rounds: {_rates(base_rates)}")
        print(f"   chorus    poll_source -> not_modified     {median(poll_rates):7.0f} polls/s      "
              f"rounds: {_rates(poll_rates)}")
        print(f"             per poll: {statements:.0f} database statements, {median(db_ms):.2f} ms in them")
        print(f"   ratio polls/bare GETs {median(ratios):.2f}x (median of per-round ratios: {_ratios(ratios)})")
        print(f"   feedparser.parse calls: {primed_parses} while priming with 200s (control), "
              f"{counter.calls} during {rounds * len(source_ids)} polls answered 304: "
              f"{verdict(primed_parses == len(source_ids) and counter.calls == 0)}"
              f" ({counter.picture_calls} more by the picture look-ups the first polls queued)")
    finally:
        feedparser.parse = counter.real
        avatars.learn_picture = real_learn
        process.terminate()
        process.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--poll-rounds", type=int, default=5)
    args = parser.parse_args()

    corpus = make_corpus(feeds=args.feeds, entries=args.entries)
    database_url = setup_django(default_db="chorus_bench", allow_private_fetch=True)
    banner("bench/ingest.py: ingest and poll throughput", database_url)
    run_ingest(corpus, rounds=args.rounds)
    try:
        import aggregator.fetch  # noqa: F401
    except ImportError as error:
        print(f"\n-- polls of unchanged feeds: skipped, the fetch helper is not there yet ({error})")
        sys.exit(0)
    run_polls(corpus, rounds=args.poll_rounds)


if __name__ == "__main__":
    main()
