"""Every track by its key token, held in each process: matching a batch of posts asks no database for tracks.

The index is the whole ``Track`` table (id, owner, query, terms), an ``aggregator.snapshots.Snapshot``: read
once, and again whenever it changed. Every write of a track renews it (apps.py; ``tracks_changed`` for writes
past the signals, such as bulk inserts); a batch's ``candidates`` reads the version at most once a second.
A track deleted in a way that bypassed all of this cannot produce a match: storing a match checks that its track
still exists.
"""

from collections import defaultdict
from collections.abc import Iterator
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
    key: str  # the track's key token (``Track.key_token``)
    required: frozenset[str]  # every token of every term
    phrases: bool  # a term of several words: the words' order is checked too (else holding them all matches)


@dataclass(frozen=True)
class KeyGroup:
    """The tracks of one key token: those that need no other token, and the others by a second token they need
    (their longest other one), so that a batch without that second token skips them with one set operation."""

    alone: tuple[IndexedTrack, ...]
    by_second: dict[str, tuple[IndexedTrack, ...]]
    seconds: frozenset[str]


def _load() -> dict[str, KeyGroup]:
    alone: dict[str, list[IndexedTrack]] = defaultdict(list)
    by_second: dict[str, dict[str, list[IndexedTrack]]] = defaultdict(lambda: defaultdict(list))
    rows = Track.objects.values_list("id", "user_id", "query", "key_token", "terms").iterator(chunk_size=5000)
    for track_id, user_id, query, key, terms in rows:
        terms = tuple(tuple(term) for term in terms)
        required = frozenset(token for term in terms for token in term)
        track = IndexedTrack(track_id, user_id, query, terms, key, required, any(len(term) > 1 for term in terms))
        others = required - {key}
        if others:
            by_second[key][max(others, key=lambda token: (len(token), token))].append(track)
        else:
            alone[key].append(track)
    return {
        key: KeyGroup(alone=tuple(alone.get(key, ())),
                      by_second={second: tuple(tracks) for second, tracks in by_second.get(key, {}).items()},
                      seconds=frozenset(by_second.get(key, ())))
        for key in alone.keys() | by_second.keys()
    }  # fmt: skip


tracks_by_key = Snapshot(key=VERSION_KEY, load=_load)


def candidates(tokens: set[str]) -> Iterator[IndexedTrack]:
    """The tracks whose key token and second token (if they need one) are both among ``tokens`` (the tokens of
    a batch of posts): a loop over the batch's tokens and, for each key, a set intersection, never over all
    tracks nor all tracks of a key."""
    by_key = tracks_by_key.get()
    for key in tokens:
        group = by_key.get(key)
        if group is None:
            continue
        yield from group.alone
        if group.seconds:
            for second in group.seconds & tokens:
                yield from group.by_second[second]


def tracks_changed() -> None:
    """A track was written: every process reloads its index (see ``Snapshot.changed``)."""
    tracks_by_key.changed()
