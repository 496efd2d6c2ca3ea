"""Ingest with mention and track matching loaded: 10,000 verified identities and 10,000 tracks vs. none.

    .venv/bin/python bench/mentions.py [--feeds 200] [--entries 20] [--rounds 5] [--people 2000]

The corpus is bench/ingest.py's (same seed: Mastodon-like RSS and Atom notes with @mentions, hashtags,
replies). Each round ingests it twice, into fresh sources, in alternating order: once with no identities and
no tracks (baseline), once with 10,000 verified identities and 10,000 tracks spread over ``--people`` people
(loaded, not timed, before that half; what each process holds in memory of them, see aggregator/db/snapshots.py,
is loaded before the timing too, as in a running hub, and its load time printed). Both halves run the same
code path (``parse()`` + ``pipeline.ingest()``, which matches mentions and tracks inside the transaction); only
the rows differ.

The loaded set is shaped like a hub, not like a worst case chosen to look good or bad:
- identities: 120 of the corpus' 600 mentioned fediverse accounts (so about a fifth of the posts are someone's
  reply), the rest handles of every kind that the corpus never mentions;
- tracks: 5 hashtag and 5 word tracks the corpus contains (its vocabulary is small: each is in 13-20% of its
  posts), 300 phrases whose key word is common in the corpus but whose phrase never occurs (candidates that must
  be checked and rejected), 9,690 rare words and phrases.
Goal: matching adds at most 10% to ingest time (loaded/baseline time <= 1.10).

A third half per round, printed apart and labelled "few matches", has the same identities and tracks except
that the 10 tracks hitting 13-20% of the posts are replaced by 10 rare words: about 2 stored matches per post
(the loaded set) is far more than a hub's tracks usually find, and the cost grows with the matches stored.
It says what matching itself costs (tokenizing, the index, candidates, identities, replies); it does not
replace the loaded figure, which stays the goal's figure.
"""

import argparse
import functools
import random
import time

from _setup import banner, median, setup_django, verdict
from ingest import PEOPLE, TAGS, WORDS, fresh_sources, make_corpus, reset_tables, time_ingest

GOAL = 1.10
IDENTITIES = 10_000
TRACKS = 10_000


def people(count: int) -> list[int]:
    from django.contrib.auth import get_user_model
    from django.db import connection

    User = get_user_model()  # noqa: N806
    missing = {f"bench-person-{n:05d}" for n in range(count)} - set(
        User.objects.filter(username__startswith="bench-person-").values_list("username", flat=True)
    )
    User.objects.bulk_create([User(username=name) for name in sorted(missing)])
    with connection.cursor() as cursor:  # a hub's tables have statistics (autovacuum): plans that join the
        cursor.execute(f"ANALYZE {User._meta.db_table}")  # people then use its index, as they would there
    return sorted(User.objects.filter(username__startswith="bench-person-").values_list("id", flat=True))[:count]


def identity_rows(user_ids: list[int], rng: random.Random):
    from accounts.models import Identity

    real = [f"{who}@social{n}.example" for who in PEOPLE for n in range(1, 51)]
    values = [("fediverse", value) for value in rng.sample(real, 120)]
    kinds = ("x", "fediverse", "bluesky", "xmpp", "url")
    for n in range(IDENTITIES - len(values)):
        kind = kinds[n % len(kinds)]
        value = {"x": f"person{n}", "fediverse": f"person{n}@town{n % 97}.example",
                 "bluesky": f"person{n}.bsky.social", "xmpp": f"person{n}@chat{n % 31}.example",
                 "url": f"https://blog{n}.example/"}[kind]  # fmt: skip
        values.append((kind, value))
    return [Identity(user_id=user_ids[i % len(user_ids)], kind=kind, value=value, verified=True)
            for i, (kind, value) in enumerate(values)]  # fmt: skip


def track_rows(user_ids: list[int], rng: random.Random, *, hot: bool = True):
    from tracks.models import Track
    from tracks.text import parse_track

    common = [w for w in WORDS if len(w) >= 5]
    queries = [f"#{tag}" for tag in TAGS[:5]]  # 5 hashtags the corpus has (each in ~20% of its posts)
    queries += rng.sample(common, 5)  # 5 of its words (each in ~13% of its posts)
    queries += [f'"{rng.choice(common)} zq{n}"' for n in range(300)]  # a common key, a phrase never written
    letters = "abcdefghijklmnopqrstuvwxyz"
    while len(queries) < TRACKS:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(5, 10)))
        queries.append(word if rng.random() < 0.7 else f'"{word} {rng.choice(WORDS)}"')
    if not hot:  # "few matches": the 10 tracks the corpus hits often become rare words (the rest is the same)
        queries[:10] = [f"zqrare{n}" for n in range(10)]
    rows, seen = [], set()
    for i, query in enumerate(queries):
        user_id, parsed = user_ids[i % len(user_ids)], parse_track(query)
        if (user_id, parsed.normalized) in seen:
            continue
        seen.add((user_id, parsed.normalized))
        rows.append(Track(user_id=user_id, query=query, normalized=parsed.normalized, key_token=parsed.key,
                          terms=[list(term) for term in parsed.terms]))  # fmt: skip
    return rows


def load(user_ids: list[int], *, loaded: bool, seed: int, hot: bool = True) -> tuple[int, int]:
    """Empty the identities and tracks; with ``loaded``, store the bench's set (``hot=False``: the "few matches"
    one). Returns their counts."""
    from django.db import connection

    from accounts.identities import verified_handles
    from accounts.models import Identity
    from tracks.index import tracks_changed
    from tracks.models import Track

    with connection.cursor() as cursor:  # no per-row signals (the snapshots are told once, below), and no dead
        # rows: with autovacuum off (as on the machines here) a DELETE left 1.4 million of them after a few runs,
        # which every later load and every probe of the tracks' primary key walked through
        cursor.execute(f"TRUNCATE {Track._meta.db_table}, {Identity._meta.db_table}")
    tracks_changed()
    verified_handles.changed()
    if not loaded:
        return 0, 0
    rng = random.Random(seed)
    identities = Identity.objects.bulk_create(identity_rows(user_ids, rng), batch_size=2000)
    tracks = Track.objects.bulk_create(track_rows(user_ids, rng, hot=hot), batch_size=2000)
    tracks_changed()  # bulk_create sends no signals: tell the processes' snapshots
    verified_handles.changed()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE replies_identity; ANALYZE tracks_track")
    return len(identities), len(tracks)


def warm_snapshots() -> float:
    """Load what each process holds (aggregator/db/snapshots.py: the tracks index, the verified handles, who
    blocks, who wants notifications), as a running hub has it; not timed with the ingest, but returned (seconds)
    and printed: a process pays it once after every change of those tables."""
    from aggregator.db import snapshots

    started = time.perf_counter()
    snapshots.load_all()
    return time.perf_counter() - started


class Timed:
    """Wraps a function or method ingest calls, to say how much of the time it took."""

    def __init__(self, owner, name: str):
        real, self.seconds = getattr(owner, name), 0.0

        @functools.wraps(real)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        setattr(owner, name, timed)


def one_half(corpus, user_ids, *, loaded: bool, seed: int, timers: list[Timed], hot: bool = True) -> dict:
    from replies.models import Reply
    from tracks.models import TrackMatch

    reset_tables()
    identities, tracks = load(user_ids, loaded=loaded, seed=seed, hot=hot)
    sources = fresh_sources(corpus)
    warm_seconds = warm_snapshots()
    for timer in timers:
        timer.seconds = 0.0
    run = time_ingest(corpus, sources)
    return {"seconds": run.seconds, "created": run.created, "identities": identities, "tracks": tracks,
            "replies": Reply.objects.count(), "matches": TrackMatch.objects.count(),
            "mentions_s": timers[0].seconds, "tracks_s": timers[1].seconds, "store_s": timers[2].seconds,
            "warm_s": warm_seconds}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--entries", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--people", type=int, default=2000)
    args = parser.parse_args()

    corpus = make_corpus(feeds=args.feeds, entries=args.entries)
    database_url = setup_django(default_db="chorus_bench_mentions")
    import aggregator.db.bulk_rows
    import aggregator.ingest.pipeline

    banner("bench/mentions.py: ingest with 10,000 identities and 10,000 tracks vs. none", database_url)
    user_ids = people(args.people)
    timers = [Timed(aggregator.ingest.pipeline, "match_new_posts"), Timed(aggregator.ingest.pipeline, "track_new_posts"),
              Timed(aggregator.db.bulk_rows.WriteBatch, "flush")]  # fmt: skip
    print(f"\n-- {len(corpus)} feeds x {args.entries} entries, {args.rounds} rounds "
          f"(median shown; the halves take turns going first)")
    runs: dict[str, list[dict]] = {"baseline": [], "loaded": [], "few": []}
    for n in range(args.rounds):
        kinds = ("baseline", "loaded", "few")
        for kind in kinds[n % 3 :] + kinds[: n % 3]:  # each kind goes first, second and last in turn
            runs[kind].append(one_half(corpus, user_ids, loaded=kind != "baseline", hot=kind != "few", seed=n,
                                       timers=timers))  # fmt: skip
    empty, full, few = runs["baseline"], runs["loaded"], runs["few"]
    rate = lambda runs: [r["created"] / r["seconds"] for r in runs]  # noqa: E731
    ratios = [f["seconds"] / e["seconds"] for e, f in zip(empty, full, strict=True)]
    few_ratios = [f["seconds"] / e["seconds"] for e, f in zip(empty, few, strict=True)]
    for label, half in (("baseline  no identities, no tracks", empty), ("loaded    10,000 + 10,000        ", full),
                        ("few matches (not the goal's figure)", few)):  # fmt: skip
        last = half[-1]
        print(f"   {label}  {median(rate(half)):6.0f} posts/s   rounds: {' '.join(f'{r:.0f}' for r in rate(half))}")
        print(f"             {last['identities']} identities, {last['tracks']} tracks -> {last['replies']} replies, "
              f"{last['matches']} track matches stored; in mention matching "
              f"{median([r['mentions_s'] / r['created'] * 1e6 for r in half]):.0f} µs/post, in track matching "
              f"{median([r['tracks_s'] / r['created'] * 1e6 for r in half]):.0f} µs/post, storing their rows (one "
              f"statement) {median([r['store_s'] / r['created'] * 1e6 for r in half]):.0f} µs/post; snapshots loaded "
              f"before timing {median([r['warm_s'] for r in half]) * 1000:.0f} ms")
    ratio = median(ratios)
    print(f"   ratio loaded/baseline ingest time {ratio:.3f}x (+{(ratio - 1) * 100:.1f}%; per round: "
          f"{' '.join(f'{r:.3f}' for r in ratios)})   goal <= {GOAL:.2f}x: {verdict(ratio <= GOAL)}")
    few_ratio = median(few_ratios)
    print(f"   few matches: ratio few-matches/baseline {few_ratio:.3f}x (+{(few_ratio - 1) * 100:.1f}%; per round: "
          f"{' '.join(f'{r:.3f}' for r in few_ratios)})   (beside the goal, not instead of it)")


if __name__ == "__main__":
    main()
