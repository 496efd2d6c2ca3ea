"""Write paths of tracks: save and remove a track, read state of its matches."""

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef

from aggregator.models import Post
from timelines.search.selectors import SearchQueryError, matching_post_ids
from tracks.matching import post_tokens, store_matches
from tracks.models import Track, TrackMatch
from tracks.selectors import unread_matches_changed
from tracks.text import TrackQuery, TrackQueryError, matches, parse_track

MAX_TRACKS = 200  # per person
MAX_IDS = 1000
HISTORY = 500  # stored posts a new track shows at once, newest first


class TrackError(ValueError):
    pass


def track_create(*, user: AbstractBaseUser, query: str) -> Track:
    """Save a track (a word, a #hashtag, a "quoted phrase", or several: all required). New posts that match it,
    from anything Chorus ingests, appear from now on. Raises TrackError with a message for the person."""
    try:
        parsed = parse_track(query)
    except TrackQueryError as error:
        raise TrackError(str(error)) from error
    if Track.objects.filter(user=user).count() >= MAX_TRACKS:
        raise TrackError(f"at most {MAX_TRACKS} tracks per person: remove one first")
    try:
        with transaction.atomic():
            track = Track.objects.create(user=user, query=query.strip(), normalized=parsed.normalized,
                                         terms=[list(term) for term in parsed.terms], key_token=parsed.key)  # fmt: skip
            match_history(track=track, parsed=parsed)
            return track
    except IntegrityError:
        raise TrackError(f"you already track {parsed.normalized}") from None


def _search_words(parsed: TrackQuery) -> str:
    """The track as a search: its words, its phrases quoted, a #tag as its word (the search index has no tags)."""
    return " ".join(f'"{" ".join(term)}"' if len(term) > 1 else term[0].lstrip("#") for term in parsed.terms)


def match_history(*, track: Track, parsed: TrackQuery) -> int:
    """The stored posts a new track matches, from the search index, checked with the track's own rules (whole
    words, tags, no stems) and stored as its matches, read: history, not news. Returns how many."""
    try:
        candidates = matching_post_ids(q=_search_words(parsed), limit=HISTORY)
    except SearchQueryError:
        return 0
    posts = Post.objects.filter(id__in=candidates).only("id", "title", "text", "published")
    found = [post for post in posts if matches(parsed.terms, post_tokens(post))]
    store_matches(matches=[(track.pk, post) for post in found])
    mine = TrackMatch.objects.filter(track=track)
    mine.update(is_read=True)
    # a post another of the person's tracks showed already stays that track's row in their river
    others = TrackMatch.objects.filter(user_id=track.user_id, post_id=OuterRef("post_id")).exclude(track=track)
    mine.filter(Exists(others)).update(first=False)
    unread_matches_changed(user_ids=[track.user_id])
    return len(found)
def track_set_alert(*, user: AbstractBaseUser, track_id: int, alert: str) -> Track | None:
    """How this track's matches reach the person's notification destinations: each, hourly or daily."""
    if alert not in Track.Alert.values:
        raise TrackError(f"alert is one of {', '.join(Track.Alert.values)}")
    track = Track.objects.filter(user=user, pk=track_id).first()
    if track is not None and track.alert != alert:
        track.alert = alert
        track.save(update_fields=["alert"])  # a save: every process's index hears of it
    return track


def track_delete(*, user: AbstractBaseUser, track_id: int) -> bool:
    """Remove a track and its matches. A post another of the person's tracks matched too stays in their river:
    that track's row becomes the post's ``first``."""
    with transaction.atomic():
        deleted, _ = Track.objects.filter(user=user, pk=track_id).delete()
        if deleted:
            rows = TrackMatch.objects.filter(user=user, post_id=OuterRef("post_id"))
            has_first = Exists(rows.filter(first=True))
            lower = Exists(rows.filter(track_id__lt=OuterRef("track_id")))
            TrackMatch.objects.filter(user=user, first=False).exclude(has_first).exclude(lower).update(first=True)
            unread_matches_changed(user_ids=[user.pk])
    return bool(deleted)


def mark_matches_read(*, user: AbstractBaseUser, post_ids: list[int], read: bool = True) -> int:
    """Mark these matched posts of the person read (or unread), in every track; returns how many changed."""
    rows = TrackMatch.objects.filter(user=user, post_id__in=post_ids[:MAX_IDS]).exclude(is_read=read)
    changed = rows.filter(first=True).count()  # one row per post
    if rows.update(is_read=read):
        unread_matches_changed(user_ids=[user.pk])
    return changed


def mark_all_matches_read(*, user: AbstractBaseUser, track_id: int | None = None) -> int:
    """Mark every unread post of the person's tracks (or of one track) read, in every track; returns how many."""
    unread = TrackMatch.objects.filter(user=user, is_read=False)
    unread_matches_changed(user_ids=[user.pk])
    if track_id is None:
        changed = unread.filter(first=True).count()
        unread.update(is_read=True)
        return changed
    posts = unread.filter(track_id=track_id).values("post_id")
    changed = posts.count()
    unread.filter(post_id__in=posts).update(is_read=True)
    return changed
