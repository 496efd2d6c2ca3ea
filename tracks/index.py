"""Every track by its key token, held in each process: matching a batch of posts asks no database for tracks.

The index is the whole ``Track`` table (id, owner, query, terms), read once and again whenever it changed: a
write of a track (``post_save``/``post_delete``, cascades included; see apps.py) calls ``tracks_changed``, which
puts a new version token in the Django cache (Redis in production, so every web and worker process sees it) at
once and again after the commit. Each batch reads that token (one cache GET) and reloads when it differs, when
it is missing (an evicted or flushed cache) or after ``MAX_AGE`` seconds whatever it says. A track deleted in a
way that bypassed all of this cannot produce a match: matching checks that the tracks it matched still exist.
"""

import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from .models import Track

VERSION_KEY = "chorus:tracks:index-version"
MAX_AGE = 30.0  # seconds


@dataclass(frozen=True)
class IndexedTrack:
    id: int
    user_id: int
    query: str
    terms: tuple[tuple[str, ...], ...]
    required: frozenset[str]  # every token of every term: most candidates fail this set test, in C


@dataclass(frozen=True)
class _Index:
    version: str
    loaded_at: float
    by_key: dict[str, list[IndexedTrack]]


_current: _Index | None = None
_lock = threading.Lock()


def candidates(keys: Iterable[str]) -> dict[str, list[IndexedTrack]]:
    """The tracks whose key token is among ``keys`` (the tokens of a batch of posts), by key."""
    by_key = _index().by_key
    return {key: by_key[key] for key in keys if key in by_key}


def tracks_changed() -> None:
    """Tell every process to reload its index: now (this process, inside the transaction) and after the commit
    (the others, who only then see the change)."""
    cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None)
    transaction.on_commit(lambda: cache.set(VERSION_KEY, uuid.uuid4().hex, timeout=None), robust=True)


def _index() -> _Index:
    global _current
    version = cache.get(VERSION_KEY)
    if version is None:  # never set, evicted or flushed: start a version everyone will agree on
        cache.add(VERSION_KEY, uuid.uuid4().hex, timeout=None)
        version = cache.get(VERSION_KEY) or ""
    index = _current
    if index is None or index.version != version or time.monotonic() - index.loaded_at > MAX_AGE:
        with _lock:
            by_key: dict[str, list[IndexedTrack]] = defaultdict(list)
            rows = Track.objects.values_list("id", "user_id", "query", "key_token", "terms").iterator(chunk_size=5000)
            for track_id, user_id, query, key, terms in rows:
                terms = tuple(tuple(term) for term in terms)
                required = frozenset(token for term in terms for token in term)
                by_key[key].append(IndexedTrack(track_id, user_id, query, terms, required))
            index = _current = _Index(version=version, loaded_at=time.monotonic(), by_key=dict(by_key))
    return index
