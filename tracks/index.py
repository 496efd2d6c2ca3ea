"""Every track by its key token, held in each process: matching a batch of posts asks no database for tracks.

The index is the whole ``Track`` table (id, owner, query, terms), an ``aggregator.db.snapshots.Snapshot``: read
once, and again whenever it changed. Every write of a track renews it (apps.py; ``tracks_changed`` for writes
past the signals, such as bulk inserts); a batch's ``candidates`` reads the version at most once a second.
A track deleted in a way that bypassed all of this cannot produce a match: storing a match checks that its track
still exists.
"""

from collections.abc import Iterator
from itertools import chain
from typing import NamedTuple

from aggregator.db.snapshots import Snapshot
from tracks.models import Track

VERSION_KEY = "chorus:tracks:index-version"


class IndexedTrack(NamedTuple):  # (a tuple: ten thousand of them are made at every reload)
    id: int
    user_id: int
    query: str
    terms: tuple[tuple[str, ...], ...]
    key: str  # the track's key token (``Track.key_token``)
    required: frozenset[str]  # every token of every term
    phrases: bool  # a term of several words: the words' order is checked too (else holding them all matches)


class Index(NamedTuple):
    """All tracks by key token: those that need no other token (``alone``), and the others by a second token
    they need (their longest other one), so that a batch without that second token skips them with one set
    operation (``seconds``: each key's second tokens)."""

    alone: dict[str, list[IndexedTrack]]
    by_second: dict[str, dict[str, list[IndexedTrack]]]
    seconds: dict[str, frozenset[str]]
    alerts: dict[int, str]  # track id -> ``Track.alert``, for the tracks whose matches wait for a digest


def _load() -> Index:
    alone: dict[str, list[IndexedTrack]] = {}
    by_second: dict[str, dict[str, list[IndexedTrack]]] = {}
    alerts: dict[int, str] = {}
    rows = Track.objects.values_list("id", "user_id", "query", "key_token", "terms", "alert").iterator(chunk_size=5000)
    for track_id, user_id, query, key, terms, alert in rows:
        if alert != Track.Alert.EACH:
            alerts[track_id] = alert
        terms = tuple(map(tuple, terms))
        required = frozenset(chain.from_iterable(terms))
        track = IndexedTrack(track_id, user_id, query, terms, key, required, max(map(len, terms)) > 1)
        if len(required) == 1:
            alone.setdefault(key, []).append(track)
        else:
            others = sorted(required - {key})
            by_second.setdefault(key, {}).setdefault(max(others, key=len), []).append(track)
    return Index(alone, by_second, {key: frozenset(groups) for key, groups in by_second.items()}, alerts)


tracks_by_key = Snapshot(key=VERSION_KEY, load=_load)


def alert_of(track_id: int) -> str:
    """How this track's matches reach the person's destinations (``Track.Alert``)."""
    return tracks_by_key.get().alerts.get(track_id, Track.Alert.EACH)


def candidates(tokens: set[str]) -> Iterator[IndexedTrack]:
    """The tracks whose key token and second token (if they need one) are both among ``tokens`` (the tokens of
    a batch of posts): a loop over the batch's tokens and, for each key, a set intersection, never over all
    tracks nor all tracks of a key."""
    index = tracks_by_key.get()
    for key in tokens:
        if key in index.alone:
            yield from index.alone[key]
        if key in index.seconds:
            groups = index.by_second[key]
            for second in index.seconds[key] & tokens:
                yield from groups[second]


def tracks_changed() -> None:
    """A track was written: every process reloads its index (see ``Snapshot.changed``)."""
    tracks_by_key.changed()
