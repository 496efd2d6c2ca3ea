"""Every track by its key token, held in each process: matching a batch of posts asks no database for tracks.

The index is the whole ``Track`` table (id, owner, query, terms), an ``aggregator.snapshots.Snapshot``: read
once, and again whenever it changed. Every write of a track renews it (apps.py; ``tracks_changed`` for writes
past the signals, such as bulk inserts); a batch's ``candidates`` reads the version at most once a second.
A track deleted in a way that bypassed all of this cannot produce a match: storing a match checks that its track
still exists.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from aggregator.snapshots import Snapshot

from .models import Track

VERSION_KEY = "chorus:tracks:index-version"


@dataclass(frozen=True)
class IndexedTrack:
    id: int
    user_id: int
    query: str
    terms: tuple[tuple[str, ...], ...]
    required: frozenset[str]  # every token of every term: most candidates fail this set test, in C
    phrases: bool  # a term of several words: the words' order is checked too (else holding them all matches)


def _load() -> dict[str, list[IndexedTrack]]:
    by_key: dict[str, list[IndexedTrack]] = defaultdict(list)
    rows = Track.objects.values_list("id", "user_id", "query", "key_token", "terms").iterator(chunk_size=5000)
    for track_id, user_id, query, key, terms in rows:
        terms = tuple(tuple(term) for term in terms)
        required = frozenset(token for term in terms for token in term)
        phrases = any(len(term) > 1 for term in terms)
        by_key[key].append(IndexedTrack(track_id, user_id, query, terms, required, phrases))
    return dict(by_key)


tracks_by_key = Snapshot(key=VERSION_KEY, load=_load)


def candidates(keys: Iterable[str]) -> dict[str, list[IndexedTrack]]:
    """The tracks whose key token is among ``keys`` (the tokens of a batch of posts), by key."""
    by_key = tracks_by_key.get()
    return {key: by_key[key] for key in keys if key in by_key}


def tracks_changed() -> None:
    """A track was written: every process reloads its index (see ``Snapshot.changed``)."""
    tracks_by_key.changed()
