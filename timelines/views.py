"""The reading page: server-rendered, readable without JavaScript."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from aggregator.hygiene.redirects import redirect_back
from timelines import reading_prefs, selectors, services
from timelines.cursor import RIVER_START, BadCursor
from timelines.stars import starred_ids

PAGE_SIZE = 30
SIDEBAR_SOURCES = 100
SIDEBAR_TAGS = 100


def _filters(params, *, prefs=None) -> dict:
    """The river's scope from the address; unread only and the order from the address when it says, else
    from the person's reading preferences."""
    source = params.get("source", "")
    unread = params.get("unread")
    return {
        "tag": params.get("tag", "")[:100] or None,
        "source_id": int(source) if source.isdigit() else None,
        "unread_only": unread == "1" if unread in ("0", "1") or prefs is None else prefs.unread_only,
    }


def _query(**params) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


@login_required
def timeline(request):
    prefs = reading_prefs.prefs_for(user=request.user)
    filters = _filters(request.GET, prefs=prefs)
    try:
        page = selectors.timeline_for(user=request.user, before=request.GET.get("before") or None, limit=PAGE_SIZE,
                                      oldest_first=prefs.oldest_first, with_stars=True, **filters)  # fmt: skip
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    # catch_up_from: where live.js catches up from when its socket opens (what was stored after this page was
    # drawn). An empty page (nothing unread) starts after the river's newest post, an empty river from its start.
    if prefs.oldest_first or request.GET.get("before"):
        newest_cursor = selectors.newest_cursor_in(user=request.user, tag=filters["tag"], source_id=filters["source_id"])
        catch_up_from = newest_cursor or RIVER_START
    else:
        newest_cursor = selectors.cursor_of(page.entries[0]) if page.entries else ""
        catch_up_from = newest_cursor or selectors.newest_cursor_in(
            user=request.user, tag=filters["tag"], source_id=filters["source_id"]) or RIVER_START  # fmt: skip
    # the sidebar is bounded: a person following thousands gets the first ones and a link to all of them
    subscriptions = selectors.subscriptions_for(user=request.user, limit=SIDEBAR_SOURCES + 1)
    more_sources = len(subscriptions) > SIDEBAR_SOURCES
    subscriptions = subscriptions[:SIDEBAR_SOURCES]
    per_source = selectors.unread_counts_for(user=request.user)
    tag_set = selectors.tag_set_for(user=request.user)
    tag_counts = tag_set.unread(per_source)
    tags = tag_set.names()
    base = {"tag": filters["tag"], "source": filters["source_id"], "unread": "1" if filters["unread_only"] else ""}
    scope_title = filters["tag"] or (selectors.subscription_title(user=request.user, source_id=filters["source_id"])
                                     if filters["source_id"] else None) or "All posts"  # fmt: skip
    return render(request, "timelines/timeline.html", {
        "page": page,
        "subscriptions": subscriptions,
        "more_sources": more_sources,
        "per_source": per_source,
        "tags": [(name, tag_counts.get(name, 0)) for name in tags[:SIDEBAR_TAGS]],
        "more_tags": len(tags) > SIDEBAR_TAGS,
        "max_chars": settings.CHORUS_POST_MAX_CHARS,  # the compose box (publishing/) on top of the river
        "total_unread": sum(per_source.values()),
        "scope_unread": tag_counts.get(filters["tag"], 0) if filters["tag"]
        else per_source.get(filters["source_id"], 0) if filters["source_id"] else sum(per_source.values()),
        "filters": filters,
        "scope_title": scope_title,
        "newest_cursor": newest_cursor,
        "catch_up_from": catch_up_from,
        "prefs": prefs,
        "tag_source_ids": selectors.tagged_source_ids(user=request.user, tag=filters["tag"]) if filters["tag"] else [],
        "source_tags": tag_set.by_source([s.source_id for s in subscriptions]),  # live.js: tag counts
        "next_url": _query(**base, before=page.next_cursor) if page.next_cursor else "",
        "river_url": reverse("timeline") + _query(tag=filters["tag"], source=filters["source_id"]),
        "here": request.get_full_path(),
    })  # fmt: skip


def _mark_starred(user, entries) -> None:
    starred = starred_ids(user=user, post_ids=[entry.post_id for entry in entries])
    for entry in entries:
        entry.post.starred = entry.post_id in starred


@login_required
@require_GET
def post_fragments(request):
    """``?ids=1,2,3``: the person's posts as the river shows them (``timelines/_post.jinja``), for the live page
    to insert: one rendering of a post, whether it came with the page or over the socket."""
    ids = [int(part) for part in request.GET.get("ids", "").split(",")[: services.MAX_IDS] if part.isdigit()]
    entries = selectors.entries_by_post(user=request.user, post_ids=ids)
    _mark_starred(request.user, entries)
    return render(request, "timelines/_posts.html", {"entries": entries, "here": reverse("timeline")})


@login_required
@require_POST
def mark_read(request):
    post_id = request.POST.get("post_id", "")
    if post_id.isdigit():
        services.mark_read(user=request.user, post_ids=[int(post_id)], read=request.POST.get("read", "1") == "1")
    return redirect_back(request, "timeline")


@login_required
@require_POST
def mark_all_read(request):
    filters = _filters(request.POST)
    try:
        count = services.mark_all_read(user=request.user, up_to=request.POST.get("up_to", ""), tag=filters["tag"],
                                       source_id=filters["source_id"])  # fmt: skip
    except BadCursor:
        messages.error(request, "Nothing to mark read.")
    else:
        messages.success(request, f"Marked {count} post{'s' if count != 1 else ''} read.")
    return redirect_back(request, "timeline")


@login_required
def reading_settings(request):
    """The reading preferences: the page's form (each field a hidden "0" then its checkbox "1": the last value
    sent wins) and the river's view buttons (one field each). Fields not sent stay as they were."""
    if request.method == "POST":
        changes = {}
        for name in reading_prefs.FIELDS:
            values = request.POST.getlist(name)
            if values:
                changes[name] = values[-1] if name == "view" else values[-1] == "1"
        try:
            reading_prefs.update_prefs(user=request.user, **changes)
        except ValueError as error:
            messages.error(request, str(error))
        else:
            if "next" not in request.POST:
                messages.success(request, "Reading preferences saved.")
        return redirect_back(request, "reading_settings")
    return render(request, "timelines/reading.html", {"prefs": reading_prefs.prefs_for(user=request.user)})
