"""Small counts of a person's that every page's navigation shows (starred posts, unread track matches), kept in
the cache between the writes that change them.

Each person and count has a token; the count is kept beside the token it was counted under, and is used only
while that token is still the person's. A write that changes the count calls ``changed()``: the token is dropped
at once (the writer's own transaction counts again) and again after the commit, so a count made meanwhile from
before the commit is kept under a token no one holds any more. Counts are also dropped after ``MAX_AGE``
seconds whatever happened: a write that does not call ``changed()`` (a post retracted under someone's stars or
matches) is seen within that time.
"""

import uuid
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import transaction

MAX_AGE = 60  # seconds

# Unread track matches leave out what the person's blocks hide: a block made or undone changes them too, and
# ``timelines/blocks.py`` (below tracks/, which owns the count) drops it by this name.
UNREAD_TRACK_MATCHES = "unread-track-matches"


def _keys(name: str, user_id: int) -> tuple[str, str]:
    return f"kept-count-token:{name}:{user_id}", f"kept-count:{name}:{user_id}"


def kept(name: str, *, user_id: int, count: Callable[[], int]) -> int:
    """The person's count ``name``: kept, or ``count()`` kept from now on (one cache round trip when kept)."""
    token_key, count_key = _keys(name, user_id)
    found = cache.get_many([token_key, count_key])
    token = found.get(token_key)
    if token is not None and count_key in found and found[count_key][0] == token:
        return found[count_key][1]
    if token is None:
        cache.add(token_key, uuid.uuid4().hex, timeout=None)
        token = cache.get(token_key)
    number = count()
    cache.set(count_key, (token, number), timeout=MAX_AGE)
    return number


def changed(name: str, *, user_ids: Iterable[int]) -> None:
    """These people's count ``name`` changed (or will, when the transaction commits): count it again."""
    keys = [_keys(name, user_id)[0] for user_id in set(user_ids)]
    if keys:
        cache.delete_many(keys)
        transaction.on_commit(lambda: cache.delete_many(keys), robust=True)
