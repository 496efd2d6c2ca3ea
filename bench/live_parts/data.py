"""What a run needs in its database (``chorus_bench_live``): users ``bench-live-NNNN`` with fresh API tokens, the
stream sources with their followers, the fan-out source followed by everyone; and no posts."""

from collections import defaultdict

from live_parts.common import FANOUT_SOURCE, STREAM_SOURCE, USERNAME


def prepare_data(*, clients: int, followers: int, sources: int, follows: int) -> dict:
    """``tokens`` (client index -> token), ``stream_sources`` and ``fanout`` (source ids), ``follow_map`` (source
    id -> the client indexes following it). Client ``i`` follows ``follows`` stream sources, round-robin."""
    from django.db import transaction

    with transaction.atomic():
        users, tokens = _users_with_tokens(max(clients, followers))
        stream_sources = [_source(STREAM_SOURCE.format(j), f"stream {j}") for j in range(sources)]
        fanout = _source(FANOUT_SOURCE, "fan-out")
        follow_map = _subscribe(
            users, stream_sources, fanout, clients=clients, followers=followers, follows=follows
        )
        _empty_posts()
    _vacuum()
    return {"tokens": tokens, "stream_sources": [s.pk for s in stream_sources], "fanout": fanout.pk,
            "follow_map": follow_map}  # fmt: skip


def _vacuum() -> None:
    """Clears the rows this set-up replaced (tokens, subscriptions) and the sources' updated rows. The machine's
    PostgreSQL runs without autovacuum, so they would stay as dead rows that the next runs' scans step over, and
    a run would measure how many ran before it."""
    from django.db import connection

    from accounts.models import ApiToken
    from aggregator.models import Source, Subscription

    with connection.cursor() as cursor:
        for model in (ApiToken, Subscription, Source):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def _users_with_tokens(count: int) -> tuple[list, list[str]]:
    from django.contrib.auth import get_user_model

    from accounts.models import ApiToken
    from accounts.tokens import issue_token

    User = get_user_model()
    wanted = [USERNAME.format(i) for i in range(count)]
    existing = set(User.objects.filter(username__in=wanted).values_list("username", flat=True))
    User.objects.bulk_create(User(username=name) for name in wanted if name not in existing)
    by_name = {u.username: u for u in User.objects.filter(username__in=wanted)}
    users = [by_name[name] for name in wanted]
    ApiToken.objects.filter(user__in=users).delete()
    return users, [issue_token(user=user, name="bench/live.py") for user in users]


def _source(address: str, title: str):
    from aggregator.models import Source

    source, _ = Source.objects.get_or_create(address=address, defaults={"url": address, "title": title})
    return source


def _subscribe(
    users: list, stream_sources: list, fanout, *, clients: int, followers: int, follows: int
) -> dict:
    """Replaces every subscription of these users and sources; returns the follow map."""
    from aggregator.models import Subscription

    Subscription.objects.filter(source__in=[*stream_sources, fanout]).delete()
    Subscription.objects.filter(user__in=users).delete()
    follow_map: dict[int, list[int]] = defaultdict(list)
    rows = []
    for i in range(clients):
        for k in range(follows):
            source = stream_sources[(i * follows + k) % len(stream_sources)]
            if i not in follow_map[source.pk]:
                follow_map[source.pk].append(i)
                rows.append(Subscription(user=users[i], source=source))
    rows += [Subscription(user=users[i], source=fanout) for i in range(followers)]
    Subscription.objects.bulk_create(rows)
    follow_map[fanout.pk] = list(range(followers))
    return follow_map


def _empty_posts() -> None:
    """This benchmark's own database: every run starts from no posts (and so no timeline rows or search entries,
    which have no database foreign key to cascade through: left alone they would pile up run after run)."""
    from django.db import connection

    from aggregator.models import Post
    from timelines.models import SearchEntry, TimelineEntry

    tables = ", ".join(model._meta.db_table for model in (TimelineEntry, SearchEntry, Post))
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} CASCADE")
