"""API: the merged timeline and read state."""

from datetime import datetime
from typing import Literal

from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from timelines import reading_prefs, selectors, services
from timelines.serializers import post_json

router = Router(tags=["timeline"])


class SourceRef(Schema):
    id: int
    kind: str
    title: str
    avatar: str = Field("", description="the source's picture, served by Chorus (generated initials when it has none)")


class Author(Schema):
    name: str
    handle: str
    uri: str


class PostOut(Schema):
    id: int
    url: str
    title: str
    source: SourceRef
    author: Author
    content_html: str
    text: str
    published: datetime
    updated: datetime | None
    in_reply_to: str | None
    read: bool


class TimelineOut(Schema):
    items: list[PostOut]
    next: str | None = Field(description="cursor for the next page (older; null at the end), or with `after` the tail cursor")


class PageFilters(Schema):
    """Keyset paging of a river (timeline, replies, track matches)."""

    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)
    before: str | None = Field(None, max_length=64, description="the `next` cursor of the previous page")
    after: str | None = Field(
        None, max_length=64,
        description="catch up: posts newer than this cursor, oldest first; `next` is then a tail cursor "
        "(past the newest returned, never null); an empty page means caught up",
    )  # fmt: skip
    unread: bool = False


class TimelineFilters(PageFilters):
    tag: str | None = Field(None, max_length=100)
    source: int | None = Field(None, ge=1)
    oldest_first: bool = Field(False, description="oldest posts first; `before` then pages forward in time")


class MarkReadIn(Schema):
    """Read state of a river: these posts (read or unread again), or ``all``."""

    post_ids: list[int] = Field(default_factory=list, max_length=services.MAX_IDS)
    read: bool = True
    all: bool = False


class ReadIn(MarkReadIn):
    all: bool = Field(False, description="mark everything in scope read, up to `up_to`")
    up_to: str | None = Field(None, max_length=64, description="cursor of the newest post the person was shown")
    tag: str | None = Field(None, max_length=100)
    source: int | None = Field(None, ge=1)


class ReadOut(Schema):
    updated: int


class UnreadOut(Schema):
    total: int
    sources: dict[int, int]
    tags: dict[str, int]


@router.get("/timeline", response=TimelineOut)
def timeline(request, filters: Query[TimelineFilters]):
    page = selectors.timeline_for(
        user=request.user, before=filters.before, after=filters.after, limit=filters.limit, tag=filters.tag,
        source_id=filters.source, unread_only=filters.unread, oldest_first=filters.oldest_first,
    )  # fmt: skip
    return {"items": [post_json(e.post, entry=e) for e in page.entries], "next": page.next_cursor}


@router.post("/read", response=ReadOut)
def mark_read(request, payload: ReadIn):
    if payload.all:
        if not payload.up_to:
            raise HttpError(400, "marking all read needs `up_to`: the cursor of the newest post shown")
        updated = services.mark_all_read(user=request.user, up_to=payload.up_to, tag=payload.tag,
                                         source_id=payload.source)  # fmt: skip
    else:
        updated = services.mark_read(user=request.user, post_ids=payload.post_ids, read=payload.read)
    return {"updated": updated}


@router.get("/unread", response=UnreadOut)
def unread(request):
    return selectors.unread_summary(user=request.user)


class ReadingPrefsOut(Schema):
    view: str = Field(description="`expanded` or `titles` (a dense list whose posts expand in place)")
    oldest_first: bool
    unread_only: bool
    read_on_move: bool = Field(description="moving on with `j` marks the post left behind read")
    read_on_scroll: bool = Field(description="a post scrolled past the top of the screen is marked read")


class ReadingPrefsPatch(Schema):
    view: Literal["expanded", "titles"] | None = None
    oldest_first: bool | None = None
    unread_only: bool | None = None
    read_on_move: bool | None = None
    read_on_scroll: bool | None = None


@router.get("/reading-prefs", response=ReadingPrefsOut)
def get_reading_prefs(request):
    return reading_prefs.prefs_json(reading_prefs.prefs_for(user=request.user))


@router.patch("/reading-prefs", response=ReadingPrefsOut)
def patch_reading_prefs(request, payload: ReadingPrefsPatch):
    changes = payload.dict(exclude_none=True)
    prefs = reading_prefs.update_prefs(user=request.user, **changes) if changes else reading_prefs.prefs_for(user=request.user)
    return reading_prefs.prefs_json(prefs)
