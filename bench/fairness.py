"""Fair claiming of due sources: does one person's huge follow list delay another person's polls?

    .venv/bin/python bench/fairness.py [--heavy 20000] [--light 20] [--ticks 60]

Two people on PostgreSQL: ``bench-fair-heavy`` follows ``--heavy`` feeds, all due at once (a follow list just
imported), ``bench-fair-light`` follows ``--light`` feeds whose polls fall due spread over one poll interval.
The scheduler is driven on a virtual clock exactly as celery beat drives it in production: every 15 s one
``scheduler.claim_due_sources(limit=100)`` (``schedule_due_polls``'s defaults), and each claimed source is then
"polled" at once (lease released, next poll one interval later; the workers are assumed to keep up with what
is claimed, so only the order of the claims is measured). For each of the light person's due polls it records
how long after its due time it was claimed.

Runs, each from fresh rows:
- **baseline**: only the light person exists;
- **fair**: both people, ``claim_due_sources`` as it is;
- **global order** (for information: the claim before turns across people, one query ordered by due time).

Goal: with the heavy person present, every light poll is claimed within its interval (at most one interval
late), as in the baseline. Also printed: the claim query's wall time with the heavy backlog present.
"""

import argparse
import os
import time
from datetime import timedelta

from _setup import banner, median, percentile, setup_django, verdict

TICK = timedelta(seconds=15)  # celery beat's schedule-due-polls
CLAIM_LIMIT = 100  # schedule_due_polls' default
INTERVAL = timedelta(seconds=300)  # CHORUS_POLL_MIN_SECONDS' default: the shortest interval, the hardest case
PREFIX = "https://bench-fair.example/"


def people():
    from django.contrib.auth import get_user_model

    User = get_user_model()  # noqa: N806
    heavy, _ = User.objects.get_or_create(username="bench-fair-heavy")
    light, _ = User.objects.get_or_create(username="bench-fair-light")
    return heavy, light


def reset(*, heavy_user, light_user, heavy: int, light: int, start) -> set[int]:
    """Fresh sources and subscriptions; returns the light person's source ids."""
    from django.db import connection

    from aggregator.models import Source, Subscription

    Source.objects.filter(address__startswith=PREFIX).delete()
    rows = [Source(address=f"{PREFIX}heavy/{n}", url=f"{PREFIX}heavy/{n}", next_poll_at=start) for n in range(heavy)]
    rows += [Source(address=f"{PREFIX}light/{n}", url=f"{PREFIX}light/{n}",
                    next_poll_at=start + INTERVAL * (n + 0.5) / max(light, 1)) for n in range(light)]  # fmt: skip
    Source.objects.bulk_create(rows, batch_size=5000)
    by_address = dict(Source.objects.filter(address__startswith=PREFIX).values_list("address", "id"))
    Subscription.objects.bulk_create(
        [Subscription(user=heavy_user, source_id=by_address[f"{PREFIX}heavy/{n}"]) for n in range(heavy)]
        + [Subscription(user=light_user, source_id=by_address[f"{PREFIX}light/{n}"]) for n in range(light)],
        batch_size=5000,
    )
    with connection.cursor() as cursor:  # a hub's tables have statistics (autovacuum)
        cursor.execute(f"ANALYZE {Source._meta.db_table}")
        cursor.execute(f"ANALYZE {Subscription._meta.db_table}")
    return {by_address[f"{PREFIX}light/{n}"] for n in range(light)}


def claim_in_global_order(*, limit: int, now) -> list[int]:
    """The claim as it was before turns across people: the oldest due first, whoever follows them."""
    from aggregator.ingest import scheduler
    from aggregator.models import Source

    free = Source.objects.filter(next_poll_at__lte=now).filter(scheduler._free(now))
    candidates = list(free.order_by("next_poll_at").values_list("id", flat=True)[:limit])
    return [pk for pk in candidates if scheduler.claim_source(source_id=pk, now=now, due_only=True)]


def simulate(*, claim, light_ids: set[int], start, ticks: int) -> dict:
    """Drive ``claim`` every TICK on a virtual clock; returns the light person's claim delays and query times."""
    from aggregator.models import Source

    delays, claim_seconds, claimed_total = [], [], 0
    now = start
    for _ in range(ticks):
        due_light = dict(Source.objects.filter(pk__in=light_ids, next_poll_at__lte=now).values_list("id", "next_poll_at"))
        started = time.perf_counter()
        claimed = claim(limit=CLAIM_LIMIT, now=now)
        claim_seconds.append(time.perf_counter() - started)
        claimed_total += len(claimed)
        delays += [(now - due_light[pk]).total_seconds() for pk in claimed if pk in due_light]
        # the poll itself: done at once; the next one is due an interval later
        Source.objects.filter(pk__in=claimed).update(lease_until=None, next_poll_at=now + INTERVAL)
        now += TICK
    waiting = dict(Source.objects.filter(pk__in=light_ids, next_poll_at__lte=now - TICK).values_list("id", "next_poll_at"))
    still_late = [(now - due).total_seconds() for due in waiting.values()]  # due, never claimed
    return {"delays": delays, "still_late": still_late, "claim_seconds": claim_seconds, "claimed": claimed_total}


def candidates_query_ms(*, now) -> float:
    """Wall time of the claim's select (``_DUE_IN_TURNS``) alone, without the conditional updates."""
    from django.db import connection

    from aggregator.ingest import scheduler
    from aggregator.models import Source, Subscription

    sql = scheduler._DUE_IN_TURNS.format(source=Source._meta.db_table, subscription=Subscription._meta.db_table)
    times = []
    with connection.cursor() as cursor:
        for _ in range(20):
            started = time.perf_counter()
            cursor.execute(sql, [now, now, CLAIM_LIMIT])
            cursor.fetchall()
            times.append((time.perf_counter() - started) * 1000)
    return median(times)


def pages(user) -> None:
    """The heavy person's pages and API list, each bounded now (best of 3, through Django's test client)."""
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    for path in ("/", "/subscriptions/", "/api/v1/subscriptions"):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            response = client.get(path)
            times.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
        print(f"   heavy person's {path:<24} {min(times) * 1000:6.0f} ms, {len(response.content) / 1e6:.2f} MB")


def report(label: str, result: dict, *, light: int, seconds: float) -> float:
    delays = result["delays"] + result["still_late"]
    worst = max(delays) if delays else 0.0
    p95 = percentile(delays, 95) if delays else 0.0
    queries = [s * 1000 for s in result["claim_seconds"]]
    print(f"   {label:<34} {len(result['delays']):>7} {len(result['still_late']):>4} {median(delays) if delays else 0:>8.0f}"
          f" {p95:>8.0f} {worst:>8.0f}   {median(queries):>7.1f} {percentile(queries, 95):>7.1f}"
          f"   {result['claimed']:>6}   ({seconds:.0f} s)")  # fmt: skip
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--heavy", type=int, default=20_000)
    parser.add_argument("--light", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=60, help="scheduler runs of 15 s simulated (60: 15 minutes)")
    args = parser.parse_args()
    url = setup_django(default_db="chorus_bench_fairness")

    from django.utils import timezone

    from aggregator.ingest import scheduler

    banner("bench/fairness.py: due sources claimed in turns across people", url)
    print(f"   load average at the start: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    heavy_user, light_user = people()
    print(f"   heavy person: {args.heavy} feeds, all due at the start; light person: {args.light} feeds due over one "
          f"interval; interval {INTERVAL.seconds} s, a claim of {CLAIM_LIMIT} every {TICK.seconds} s, "
          f"{args.ticks} ticks ({args.ticks * TICK.seconds // 60} simulated minutes)")  # fmt: skip
    print()
    print(f"   {'':<34} {'light polls':>12} {'light delay s':>26}   {'claim ms':>15}")
    print(f"   {'run':<34} {'claimed':>7} {'late':>4} {'p50':>8} {'p95':>8} {'max':>8}   {'p50':>7} {'p95':>7}"
          f"   {'claimed':>6}")  # fmt: skip
    runs = [("baseline: light person only", 0, scheduler.claim_due_sources),
            ("fair: heavy + light", args.heavy, scheduler.claim_due_sources),
            ("(info) global order: heavy + light", args.heavy, claim_in_global_order)]  # fmt: skip
    worst = {}
    for label, heavy, claim in runs:
        start = timezone.now().replace(microsecond=0)
        light_ids = reset(heavy_user=heavy_user, light_user=light_user, heavy=heavy, light=args.light, start=start)
        started = time.monotonic()
        result = simulate(claim=claim, light_ids=light_ids, start=start, ticks=args.ticks)
        worst[label] = report(label, result, light=args.light, seconds=time.monotonic() - started)
    start = timezone.now()
    reset(heavy_user=heavy_user, light_user=light_user, heavy=args.heavy, light=args.light, start=start)
    print(f"   the turns query alone, {args.heavy + args.light} due sources: "
          f"{candidates_query_ms(now=start + INTERVAL):.1f} ms p50 of 20 (no claim updates)")  # fmt: skip
    pages(heavy_user)
    reset(heavy_user=heavy_user, light_user=light_user, heavy=0, light=0, start=timezone.now())
    print("   (delay: simulated seconds from a light poll's due time to its claim, counting those due and never claimed"
          " (late) until the end; claim ms: each claim_due_sources call, its conditional updates included)")
    print()
    fair, base = worst["fair: heavy + light"], worst["baseline: light person only"]
    print(f"   goal: every light poll claimed within its interval ({INTERVAL.seconds} s) with the heavy person present: "
          f"worst {fair:.0f} s (baseline {base:.0f} s): {verdict(fair <= INTERVAL.total_seconds())}")  # fmt: skip


if __name__ == "__main__":
    main()
