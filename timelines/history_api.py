"""API: search what you can see, and your stars."""

from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from timelines import stars
from timelines.api import PostOut
from timelines.search.highlight import mark_html, mark_text
from timelines.search.query import MAX_QUERY_LENGTH
from timelines.search.selectors import SearchQueryError, search_for
from timelines.search.text import language
from timelines.selectors import MAX_LIMIT
from timelines.serializers import post_json

router = Router(tags=["history"])


class HistoryPostOut(PostOut):
    read: bool = False
    starred: bool


class Marked(Schema):
    title: str = Field(description="the title as HTML, the searched words in <mark>")
    content_html: str = Field(description="the content, the searched words in <mark>")


class SearchItemOut(HistoryPostOut):
    marked: Marked


class SearchOut(Schema):
    items: list[SearchItemOut]
    next: str | None = Field(description="cursor for the next page (older; null at the end)")


class SearchFilters(Schema):
    q: str = Field(..., min_length=1, max_length=MAX_QUERY_LENGTH, description="words, \"phrases\", -word, "
                   "author:, source:, tag:, is:unread, is:starred, before:/after: (YYYY-MM-DD), lang:")
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    before: str | None = Field(None, max_length=64, description="the `next` cursor of the previous page")


class StarIn(Schema):
    post: int = Field(..., ge=1)


class StarOut(Schema):
    post: int
    starred: bool
    count: int


class StarredOut(Schema):
    items: list[HistoryPostOut]
    next: str | None
    count: int


class StarredFilters(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    before: str | None = Field(None, max_length=64)


@router.get("/search", response=SearchOut)
def search(request, filters: Query[SearchFilters]):
    try:
        page = search_for(user=request.user, q=filters.q, before=filters.before, limit=filters.limit)
    except SearchQueryError as error:
        raise HttpError(400, str(error)) from None
    words = frozenset(page.query.highlighted())
    items = []
    for result in page.results:
        post, lang = result.post, language(result.post.language)
        items.append({**post_json(post), "read": result.is_read, "starred": result.starred,
                      "marked": {"title": mark_text(post.title, words, lang),
                                 "content_html": mark_html(post.content_html, words, lang)}})  # fmt: skip
    return {"items": items, "next": page.next_cursor}


@router.get("/starred", response=StarredOut)
def starred(request, filters: Query[StarredFilters]):
    rows, next_cursor = stars.starred_for(user=request.user, before=filters.before, limit=filters.limit)
    return {"items": [{**post_json(row.post), "starred": True} for row in rows], "next": next_cursor,
            "count": stars.starred_count(user=request.user)}  # fmt: skip


@router.post("/starred", response={201: StarOut})
def star(request, payload: StarIn):
    try:
        stars.star(user=request.user, post_id=payload.post)
    except stars.StarError as error:
        raise HttpError(404, str(error)) from None
    return 201, {"post": payload.post, "starred": True, "count": stars.starred_count(user=request.user)}


@router.delete("/starred/{post_id}", response=StarOut)
def unstar(request, post_id: int):
    stars.unstar(user=request.user, post_id=post_id)
    return {"post": post_id, "starred": False, "count": stars.starred_count(user=request.user)}
