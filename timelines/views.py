"""The reading page: server-rendered, readable without JavaScript."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from timelines import selectors, services
from timelines.cursor import BadCursor
from timelines.stars import starred_ids

PAGE_SIZE = 30


def _filters(params) -> dict:
    source = params.get("source", "")
    return {
        "tag": params.get("tag", "")[:100] or None,
        "source_id": int(source) if source.isdigit() else None,
        "unread_only": params.get("unread") == "1",
    }


def _query(**params) -> str:
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return "?" + urlencode(kept) if kept else ""


@login_required
def timeline(request):
    filters = _filters(request.GET)
    try:
        page = selectors.timeline_for(user=request.user, before=request.GET.get("before") or None, limit=PAGE_SIZE,
                                      **filters)  # fmt: skip
    except BadCursor:
        return HttpResponseBadRequest("That page link is broken; go back to the first page.")
    starred = starred_ids(user=request.user, post_ids=[entry.post_id for entry in page.entries])
    for entry in page.entries:
        entry.post.starred = entry.post_id in starred
    subscriptions = selectors.subscriptions_for(user=request.user)
    per_source = selectors.unread_counts_for(user=request.user)
    tag_counts = selectors.tag_unread_counts(user=request.user, per_source=per_source)
    base = {"tag": filters["tag"], "source": filters["source_id"], "unread": "1" if filters["unread_only"] else ""}
    scope_title = filters["tag"] or next(
        (s.display_title for s in subscriptions if s.source_id == filters["source_id"]), "All posts"
    )
    return render(request, "timelines/timeline.html", {
        "page": page,
        "subscriptions": subscriptions,
        "per_source": per_source,
        "tags": [(name, tag_counts.get(name, 0)) for name in selectors.tags_for(user=request.user)],
        "total_unread": sum(per_source.values()),
        "filters": filters,
        "scope_title": scope_title,
        "newest_cursor": selectors.cursor_of(page.entries[0]) if page.entries else "",
        "tag_source_ids": [s.source_id for s in subscriptions if any(t.name == filters["tag"] for t in s.tags.all())],
        "source_tags": {s.source_id: [t.name for t in s.tags.all()] for s in subscriptions},  # live.js counts
        "next_url": _query(**base, before=page.next_cursor) if page.next_cursor else "",
        "here": request.get_full_path(),
    })  # fmt: skip


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect(reverse("timeline"))


@login_required
@require_POST
def mark_read(request):
    post_id = request.POST.get("post_id", "")
    if post_id.isdigit():
        services.mark_read(user=request.user, post_ids=[int(post_id)], read=request.POST.get("read", "1") == "1")
    return _back(request)


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
    return _back(request)
