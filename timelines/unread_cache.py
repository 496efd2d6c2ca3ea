"""A person's unread counts per source, kept in the cache between the writes that change them.

Counting is a ``COUNT ... GROUP BY source`` over the person's unread rows: it costs by how much is unread (tens of
milliseconds over hundreds of thousands of rows), and every timeline page, unread API call and ``unread.counts``
event asks for it. So the counts are kept in the Django cache (Redis in production: every process shares them)
under the person's version token, and every write that changes a person's unread rows calls ``changed()``: the
token is dropped at once (the writer's own transaction recounts) and again after the commit (a count another
process made meanwhile, from before the commit, is under the old token and never read again). A new token is
made by the next reader. Counts are also dropped after ``MAX_AGE`` seconds whatever happened, so a write that
bypassed ``changed()`` (SQL by hand) is seen within that time.

The writers: fan-out, backfill and withdrawal (``timelines/delivery.py``), read state (``timelines/services.py``).
Retention deletes only rows no one has unread. Blocks do not go through here: the counts of people who block
anything are not cached (``selectors.unread_counts_for``).
"""

import uuid
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction

MAX_AGE = 60  # seconds


def _token_key(user_id: int) -> str:
    return f"unread-counts-token:{user_id}"


def counts(*, user_id: int, count: Callable[[], dict[int, int]]) -> dict[int, int]:
    """The person's counts as of their current token: from the cache, or ``count()`` kept there."""
    key = _token_key(user_id)
    token = cache.get(key)
    if token is None:
        cache.add(key, uuid.uuid4().hex, timeout=None)
        token = cache.get(key)
    counts_key = f"unread-counts:{user_id}:{token}"
    found = cache.get(counts_key)
    if found is None:
        found = count()
        cache.set(counts_key, found, timeout=MAX_AGE)
    return found


def changed(*, user_ids: Iterable[int]) -> None:
    """These people's unread rows changed (or will, when the transaction commits): count them again."""
    keys = [_token_key(user_id) for user_id in user_ids]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)
