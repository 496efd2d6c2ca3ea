"""Reads of a person's tracks and what matched them, newest first, blocks applied (in the same statement)."""

from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, QuerySet

from timelines import kept_counts
from timelines.blocks import blocked, blocks_anything
from timelines.cursor import BadCursor
from timelines.selectors import MAX_LIMIT as MAX_LIMIT  # the API validates `limit` against it
from timelines.selectors import keyset_page
from tracks.models import Track, TrackMatch


@dataclass
class MatchesPage:
    matches: list[TrackMatch]  # each with ``track_ids``: the person's tracks its post matched
    next_cursor: str | None


def tracks_for(*, user: AbstractBaseUser) -> list[Track]:
    """The person's tracks, each with ``unread``: its unread matches they did not block."""
    tracks = list(Track.objects.filter(user=user).order_by("query", "id"))
    unread = _shown(user=user).filter(is_read=False).values("track_id").annotate(n=Count("id"))
    counts = {row["track_id"]: row["n"] for row in unread}
    for track in tracks:
        track.unread = counts.get(track.pk, 0)
    return tracks


def track_of(*, user: AbstractBaseUser, track_id: int) -> Track | None:
    return Track.objects.filter(user=user, pk=track_id).first()


def matches_for(*, user: AbstractBaseUser, track_id: int | None = None, before: str | None = None,
                after: str | None = None, limit: int = 50, unread_only: bool = False) -> MatchesPage:  # fmt: skip
    """One page of posts that matched the person's tracks (or one of them), keyset-paged like the timeline
    (``before``: the previous page's ``next_cursor``; ``after``: catch up, oldest first, with a tail cursor).
    Raises ``BadCursor``."""
    if before and after:
        raise BadCursor("give either `before` or `after`, not both")
    rows = _visible(user=user, track_id=track_id)
    if unread_only:
        rows = rows.filter(is_read=False)
    page, next_cursor = keyset_page(rows, before=before, after=after, limit=limit)
    track_ids: dict[int, list[int]] = {match.post_id: [] for match in page}
    rows = TrackMatch.objects.filter(user=user, post_id__in=track_ids).values_list("post_id", "track_id")
    for post_id, matched_track in rows:
        track_ids[post_id].append(matched_track)
    for match in page:
        match.track_ids = sorted(track_ids[match.post_id])
    return MatchesPage(matches=page, next_cursor=next_cursor)


_UNREAD_MATCHES = kept_counts.UNREAD_TRACK_MATCHES  # the kept count of all tracks


def unread_matches_count(*, user: AbstractBaseUser, track_id: int | None = None) -> int:
    """Unread posts across the person's tracks (a post two tracks matched counts once), or of one track. The count
    of all tracks is kept between the writes that change it (``unread_matches_changed``; blocks made or undone:
    ``timelines/blocks.py``)."""
    def count() -> int:
        return _visible(user=user, track_id=track_id).filter(is_read=False).count()

    if track_id is not None:
        return count()
    return kept_counts.kept(_UNREAD_MATCHES, user_id=user.pk, count=count)


def unread_matches_changed(*, user_ids) -> None:
    """These people's unread matches changed (matches stored, read, unread, a track removed)."""
    kept_counts.changed(_UNREAD_MATCHES, user_ids=user_ids)


def visible_matches(*, user: AbstractBaseUser) -> QuerySet:
    """One row per post the person's tracks matched (not retracted, not blocked)."""
    return _visible(user=user, track_id=None)


def _visible(*, user: AbstractBaseUser, track_id: int | None) -> QuerySet:
    """One track's rows, or (``track_id`` None) one row per post over all the person's tracks."""
    rows = _shown(user=user)
    return rows.filter(track_id=track_id) if track_id is not None else rows.filter(first=True)


def _shown(*, user: AbstractBaseUser) -> QuerySet:
    """The person's rows of posts not retracted nor blocked (every track's)."""
    rows = TrackMatch.objects.filter(user=user, post__retracted_at__isnull=True)
    # Most people block nothing (a per-process snapshot says so): their reads skip the EXISTS and its compiling.
    return rows.exclude(blocked(user=user)) if blocks_anything(user=user) else rows
