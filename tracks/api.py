"""API: tracks (``/tracks``) and the posts that matched them (``/tracks/matches``)."""

from datetime import datetime

from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from timelines.api import MarkReadIn, PageFilters
from timelines.serializers import post_json
from tracks import selectors, services
from tracks.text import MAX_QUERY_LENGTH

router = Router(tags=["tracks"])


class TrackIn(Schema):
    query: str = Field(..., min_length=1, max_length=MAX_QUERY_LENGTH,
                       description='a word, a #hashtag, a "quoted phrase", or several of them (all required)')  # fmt: skip


class TrackAlertIn(Schema):
    alert: str = Field(..., description="how matches reach your notification destinations: each, hourly, daily")


class TrackOut(Schema):
    id: int
    query: str
    normalized: str
    alert: str
    created_at: datetime
    unread: int = 0


class MatchesFilters(PageFilters):
    track: int | None = Field(None, ge=1, description="only the matches of this track")


class MatchesOut(Schema):
    items: list[dict] = Field(description="post objects, each with `read` and `tracks`: the ids of the tracks it matched")
    next: str | None
    unread: int


class ReadIn(MarkReadIn):
    track: int | None = Field(None, ge=1, description="with `all`: only this track's matches")


@router.get("/tracks", response=list[TrackOut])
def track_list(request):
    return selectors.tracks_for(user=request.user)


@router.post("/tracks", response={201: TrackOut})
def track_add(request, payload: TrackIn):
    try:
        return 201, services.track_create(user=request.user, query=payload.query)
    except services.TrackError as error:
        raise HttpError(400, str(error)) from error


@router.get("/tracks/matches", response=MatchesOut)
def track_matches(request, filters: Query[MatchesFilters]):
    if filters.track is not None and selectors.track_of(user=request.user, track_id=filters.track) is None:
        raise HttpError(404, "no such track")
    page = selectors.matches_for(user=request.user, track_id=filters.track, before=filters.before,
                                 after=filters.after, limit=filters.limit, unread_only=filters.unread)  # fmt: skip
    return {"items": [{**post_json(m.post), "read": m.is_read, "tracks": m.track_ids} for m in page.matches],
            "next": page.next_cursor,
            "unread": selectors.unread_matches_count(user=request.user, track_id=filters.track)}  # fmt: skip


@router.post("/tracks/read")
def tracks_read(request, payload: ReadIn):
    if payload.all:
        return {"updated": services.mark_all_matches_read(user=request.user, track_id=payload.track)}
    return {"updated": services.mark_matches_read(user=request.user, post_ids=payload.post_ids, read=payload.read)}


@router.patch("/tracks/{track_id}", response=TrackOut)
def track_alert(request, track_id: int, payload: TrackAlertIn):
    try:
        track = services.track_set_alert(user=request.user, track_id=track_id, alert=payload.alert)
    except services.TrackError as error:
        raise HttpError(400, str(error)) from error
    if track is None:
        raise HttpError(404, "no such track")
    return track


@router.delete("/tracks/{track_id}", response={204: None})  # last: its path would take /tracks/matches, /read
def track_remove(request, track_id: int):
    if not services.track_delete(user=request.user, track_id=track_id):
        raise HttpError(404, "no such track")
    return 204, None
