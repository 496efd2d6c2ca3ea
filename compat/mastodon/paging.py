"""Mastodon's paging (``max_id``, ``since_id``, ``min_id``, ``limit``, ``Link``) over our keyset cursors."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, JsonResponse

from compat.mastodon.ids import cursor_of

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


@dataclass
class PageAsk:
    before: str | None  # our cursors
    after: str | None
    since: str | None  # a status id: keep only what is newer
    limit: int


def page_ask(request: HttpRequest, *, default: int = DEFAULT_LIMIT, most: int = MAX_LIMIT) -> PageAsk:
    """``max_id``: older than; ``min_id``: the page just newer than; ``since_id``: the newest page, cut at it."""
    params = request.params
    max_id, min_id, since_id = params.get("max_id"), params.get("min_id"), params.get("since_id")
    return PageAsk(
        before=cursor_of(max_id) if max_id else None,
        after=cursor_of(min_id) if min_id and not max_id else None,
        since=since_id if since_id and not min_id else None,
        limit=params.int("limit", default, low=1, high=most),
    )  # fmt: skip


def newest_first(rows: list, ask: PageAsk, *, id_of) -> list:
    """Rows of a page in Mastodon's order (newest first), cut at ``since_id``."""
    if ask.after:
        rows = list(reversed(rows))
    if ask.since:
        cursor_of(ask.since)  # refuse a malformed id before comparing
        rows = [row for row in rows if id_of(row) > ask.since]
    return rows


def paged_response(request: HttpRequest, items: list[dict], *, has_older: bool) -> JsonResponse:
    """The JSON list with Mastodon's ``Link`` header: ``next`` (older) and ``prev`` (newer)."""
    response = JsonResponse(items, safe=False)
    if not items:
        return response
    kept = {k: v for k, v in request.GET.items() if k not in ("max_id", "min_id", "since_id")}
    base = request.build_absolute_uri(request.path)
    links = []
    if has_older:
        links.append(f'<{base}?{urlencode({**kept, "max_id": items[-1]["id"]})}>; rel="next"')
    links.append(f'<{base}?{urlencode({**kept, "min_id": items[0]["id"]})}>; rel="prev"')
    response["Link"] = ", ".join(links)
    return response
