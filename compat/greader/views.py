"""The Google Reader API endpoints: thin translations onto our follow, timeline and read-state services.

Every endpoint but ClientLogin goes through ``guard.endpoint``. Reads answer JSON whatever ``output`` says
(every app asks for JSON); writes answer ``OK``.
"""

import contextlib
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from accounts.app_passwords import SignInLimited, app_sign_in
from aggregator.fetch import FetchError, normalize_url
from aggregator.following import subscriptions as following
from aggregator.models import Source
from aggregator.networks.rss.discover import DiscoveryError
from compat.greader import streams
from compat.greader.guard import endpoint, ok, refusal, session_key, write_token
from compat.greader.items import items_json, subscription_json
from compat.greader.streams import GReaderError, Scope
from timelines import selectors, services, stars
from timelines.cursor import encode_cursor

MAX_IDS_PER_PAGE = 10_000
MAX_ITEMS_PER_REQUEST = 1_000
MAX_TIMESTAMP = 10**11  # seconds: beyond the year 5000, refused rather than overflowing a date

FOLLOW_ERRORS = (following.SubscriptionError, DiscoveryError, FetchError)


@csrf_exempt
def client_login(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return refusal("use POST with Email and Passwd", status=405, Allow="POST")
    try:
        session = app_sign_in(request, login=request.POST.get("Email", "").strip(), secret=request.POST.get("Passwd", ""))
    except SignInLimited as error:
        return refusal(str(error) or "too many failed sign-ins: try again later", status=429)
    if session is None:
        return refusal("wrong login or password (use an app password if you sign in with OpenID)", status=401)
    if request.POST.get("output", request.GET.get("output")) == "json":
        return JsonResponse({"SID": session.key, "LSID": session.key, "Auth": session.key})
    return HttpResponse(f"SID={session.key}\nLSID={session.key}\nAuth={session.key}\n",
                        content_type="text/plain; charset=utf-8")  # fmt: skip


@endpoint("GET", "POST")
def token(request: HttpRequest) -> HttpResponse:
    return HttpResponse(write_token(session_key(request)), content_type="text/plain; charset=utf-8")


@endpoint("GET")
def user_info(request: HttpRequest) -> HttpResponse:
    user = request.user
    return JsonResponse({"userId": str(user.pk), "userName": user.get_username(), "userProfileId": str(user.pk),
                         "userEmail": user.email})  # fmt: skip


@endpoint("GET")
def tag_list(request: HttpRequest) -> HttpResponse:
    tags = [{"id": streams.STARRED}]
    tags += [{"id": streams.label_id(name), "label": name, "type": "folder"} for name in selectors.tags_for(user=request.user)]
    return JsonResponse({"tags": tags})


@endpoint("GET")
def subscription_list(request: HttpRequest) -> HttpResponse:
    page = selectors.subscriptions_page(user=request.user, limit=settings.CHORUS_MAX_SUBSCRIPTIONS_PER_PERSON)
    return JsonResponse({"subscriptions": [subscription_json(s) for s in page.subscriptions]})


@endpoint("POST", write=True)
def subscription_edit(request: HttpRequest) -> HttpResponse:
    action = request.POST.get("ac", "edit")
    adds = [name for name in map(streams.label_name, request.POST.getlist("a")) if name]
    removes = [name for name in map(streams.label_name, request.POST.getlist("r")) if name]
    title = request.POST.get("t")
    feeds = request.POST.getlist("s")
    if not feeds:
        raise GReaderError("say which subscription: s=feed/<id>")
    try:
        with transaction.atomic():
            for feed in feeds:
                _edit_one(request, action=action, feed=feed, adds=adds, removes=removes, title=title)
    except following.SubscriptionNotFound as error:
        raise GReaderError(str(error), status=404) from error
    except FOLLOW_ERRORS as error:
        raise GReaderError(str(error)) from error
    return ok()


def _edit_one(request, *, action: str, feed: str, adds: list[str], removes: list[str], title: str | None) -> None:
    user = request.user
    if action == "subscribe":
        address = feed[len(streams.FEED):] if feed.startswith(streams.FEED) else feed
        subscription = following.subscribe(user=user, address=address, tags=adds)
        if title:
            following.update_subscription(user=user, subscription_id=subscription.pk, title=title)
        return
    subscription = following.subscription_of_source(user=user, source_id=_source_id(request, feed))
    if action == "unsubscribe":
        following.unsubscribe(user=user, subscription_id=subscription.pk)
    elif action == "edit":
        current = list(subscription.tags.values_list("name", flat=True))
        tags = [name for name in current if name not in removes] + adds if adds or removes else None
        following.update_subscription(user=user, subscription_id=subscription.pk, tags=tags, title=title)
    else:
        raise GReaderError(f"unknown action ac={action[:50]!r}: subscribe, unsubscribe or edit")


@endpoint("POST", write=True)
def quickadd(request: HttpRequest) -> HttpResponse:
    query = request.POST.get("quickadd", request.GET.get("quickadd", "")).strip()
    address = query[len(streams.FEED):] if query.startswith(streams.FEED) else query
    try:
        subscription = following.subscribe(user=request.user, address=address)
    except FOLLOW_ERRORS as error:
        return JsonResponse({"numResults": 0, "query": query, "error": str(error), "detail": str(error)}, status=400)
    return JsonResponse({"numResults": 1, "query": query, "streamId": streams.feed_id(subscription.source_id),
                         "streamName": subscription.display_title})  # fmt: skip


def _source_id(request: HttpRequest, feed: str) -> int:
    """A followed source from ``feed/<id>`` or ``feed/<url>`` (FreshRSS-style); 0 when the person follows none."""
    ref = feed[len(streams.FEED):] if feed.startswith(streams.FEED) else feed
    if ref.isdigit():
        return int(ref) if len(ref) < 19 else 0
    try:
        address = normalize_url(ref)
    except (FetchError, ValueError):
        return 0
    found = Source.objects.filter(subscriptions__user=request.user, url=address).values_list("pk", flat=True).first()
    return found or Source.objects.filter(subscriptions__user=request.user, address=address).values_list(
        "pk", flat=True).first() or 0  # fmt: skip


def _int(request: HttpRequest, name: str, default: int, *, low: int = 0, high: int = MAX_TIMESTAMP) -> int:
    raw = request.GET.get(name, request.POST.get(name))
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise GReaderError(f"{name} must be a whole number") from None
    if not low <= value <= high:
        raise GReaderError(f"{name} must be between {low} and {high}")
    return value


def _time(request: HttpRequest, name: str) -> datetime | None:
    seconds = _int(request, name, 0)
    return datetime.fromtimestamp(seconds, tz=UTC) if seconds else None


def _scope(request: HttpRequest, stream_id: str | None = None) -> Scope:
    params = request.GET if request.method == "GET" else request.POST
    return streams.scope_of(stream_id or params.get("s", ""), exclude=params.getlist("xt"), include=params.getlist("it"))


def _page(request: HttpRequest, scope: Scope, *, default: int, most: int) -> selectors.RefPage:
    """One page of positions of a stream, with ``n``, ``c``, ``ot``, ``nt`` and ``r=o``."""
    limit = _int(request, "n", default, low=1, high=most)
    cursor = request.GET.get("c", request.POST.get("c")) or None
    source_id = _source_id(request, streams.FEED + scope.feed) if scope.feed is not None else None
    if scope.empty or source_id == 0:
        return selectors.RefPage([], None)
    if scope.starred:
        source_ids = [source_id] if source_id else selectors.tagged_source_ids(user=request.user, tag=scope.tag) \
            if scope.tag else None
        return stars.starred_refs(
            user=request.user, limit=limit, cursor=cursor, source_ids=source_ids, read=scope.read,
            since=_time(request, "ot"), until=_time(request, "nt"), oldest_first=request.GET.get("r") == "o",
        )  # fmt: skip
    return selectors.timeline_refs(
        user=request.user, limit=limit, cursor=cursor, tag=scope.tag, source_id=source_id, read=scope.read,
        since=_time(request, "ot"), until=_time(request, "nt"), oldest_first=request.GET.get("r") == "o",
    )  # fmt: skip


@endpoint("GET", "POST")
def stream_item_ids(request: HttpRequest) -> HttpResponse:
    page = _page(request, _scope(request), default=20, most=MAX_IDS_PER_PAGE)
    refs = [{"id": str(post_id), "directStreamIds": [], "timestampUsec": str(int(published.timestamp() * 1_000_000))}
            for post_id, published in page.refs]  # fmt: skip
    return JsonResponse({"itemRefs": refs, **({"continuation": page.next_cursor} if page.next_cursor else {})})


@endpoint("GET", "POST")
def stream_items_contents(request: HttpRequest) -> HttpResponse:
    asked = request.POST.getlist("i") or request.GET.getlist("i")
    if len(asked) > MAX_ITEMS_PER_REQUEST:
        raise GReaderError(f"at most {MAX_ITEMS_PER_REQUEST} items per request")
    entries = selectors.entries_by_post(user=request.user, post_ids=[streams.post_id_of(i) for i in asked])
    return _contents(request, streams.READING_LIST, items_json(user=request.user, entries=entries), None)


@endpoint("GET")
def stream_contents(request: HttpRequest, stream_id: str = "") -> HttpResponse:
    stream_id = stream_id or request.GET.get("s", streams.READING_LIST)
    page = _page(request, _scope(request, stream_id), default=20, most=MAX_ITEMS_PER_REQUEST)
    entries = selectors.entries_by_post(user=request.user, post_ids=[post_id for post_id, _ in page.refs])
    return _contents(request, stream_id, items_json(user=request.user, entries=entries), page.next_cursor)


def _contents(request: HttpRequest, stream_id: str, items: list[dict], continuation: str | None) -> HttpResponse:
    body = {"direction": "ltr", "id": stream_id, "title": stream_id, "author": request.user.get_username(),
            "self": [{"href": request.build_absolute_uri()}], "updated": int(timezone.now().timestamp()),
            "items": items}  # fmt: skip
    if continuation:
        body["continuation"] = continuation
    return JsonResponse(body)


@endpoint("POST", write=True)
def edit_tag(request: HttpRequest) -> HttpResponse:
    adds = list(map(streams.normalized, request.POST.getlist("a")))
    removes = list(map(streams.normalized, request.POST.getlist("r")))
    asked = request.POST.getlist("i")
    if len(asked) > MAX_IDS_PER_PAGE:
        raise GReaderError(f"at most {MAX_IDS_PER_PAGE} items per request")
    post_ids = [streams.post_id_of(i) for i in asked]
    if streams.STARRED in adds and streams.STARRED in removes:
        raise GReaderError("an item cannot be starred and unstarred at once")
    if any(streams.label_name(name) for name in adds + removes):
        raise GReaderError("labels belong to subscriptions here, not to single items: use subscription/edit")
    to_read = streams.READ in adds or streams.KEPT_UNREAD in removes
    to_unread = streams.READ in removes or streams.KEPT_UNREAD in adds
    if to_read and to_unread:
        raise GReaderError("an item cannot be marked read and unread at once")
    if to_read or to_unread:
        with transaction.atomic():
            for start in range(0, len(post_ids), services.MAX_IDS):
                services.mark_read(user=request.user, post_ids=post_ids[start:start + services.MAX_IDS], read=to_read)
    if streams.STARRED in adds:
        for post_id in post_ids:
            with contextlib.suppress(stars.StarError):  # as marking read: items the person cannot see are left alone
                stars.star(user=request.user, post_id=post_id)
    elif streams.STARRED in removes:
        for post_id in post_ids:
            stars.unstar(user=request.user, post_id=post_id)
    return ok()


@endpoint("POST", write=True)
def mark_all_as_read(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    # ts: microseconds, the newest item the app had shown; what arrived after it stays unread
    until_us = _int(request, "ts", 0, high=MAX_TIMESTAMP * 1_000_000)
    up_to = datetime.fromtimestamp(until_us / 1_000_000, tz=UTC) if until_us else timezone.now()
    source_id = _source_id(request, streams.FEED + scope.feed) if scope.feed is not None else None
    if source_id != 0 and not scope.starred:
        services.mark_all_read(user=request.user, up_to=encode_cursor(up_to, streams.MAX_POST_ID), tag=scope.tag,
                               source_id=source_id)  # fmt: skip
    return ok()


@endpoint("GET")
def unread_count(request: HttpRequest) -> HttpResponse:
    summary = selectors.unread_summary(user=request.user)
    counts = [{"id": streams.feed_id(pk), "count": n} for pk, n in summary["sources"].items()]
    counts += [{"id": streams.label_id(name), "count": n} for name, n in summary["tags"].items()]
    counts.append({"id": streams.READING_LIST, "count": summary["total"]})
    return JsonResponse({"max": summary["total"], "unreadcounts": counts})


@endpoint("POST", write=True)
def rename_tag(request: HttpRequest) -> HttpResponse:
    old = streams.label_name(request.POST.get("s", "")) or request.POST.get("t", "")
    new = streams.label_name(request.POST.get("dest", ""))
    if not old or not new:
        raise GReaderError("rename needs s=user/-/label/<old> and dest=user/-/label/<new>")
    try:
        following.rename_tag(user=request.user, old=old, new=new)
    except following.SubscriptionError as error:
        raise GReaderError(str(error)) from error
    return ok()


@endpoint("POST", write=True)
def disable_tag(request: HttpRequest) -> HttpResponse:
    name = streams.label_name(request.POST.get("s", "")) or request.POST.get("t", "")
    if not name:
        raise GReaderError("say which tag: s=user/-/label/<name>")
    following.remove_tag(user=request.user, name=name)
    return ok()


@endpoint("GET", "POST")
def not_implemented(request: HttpRequest, rest: str = "") -> HttpResponse:
    return refusal(f"reader/api/0/{rest[:100]} is not part of this hub's Google Reader API", status=404)
