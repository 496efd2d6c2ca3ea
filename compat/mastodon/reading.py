"""Reading through a Mastodon app: timelines (home, tag, list), statuses, notifications, markers, lists."""

import hashlib

from django.http import HttpRequest
from django.utils import timezone

from aggregator.models import Post, Source
from compat.mastodon import ids
from compat.mastodon.endpoint import ApiError, endpoint, scope_granted
from compat.mastodon.paging import newest_first, page_ask, paged_response
from compat.mastodon.serializers import iso, notification_json, self_account_json, status_json
from publishing import posting
from publishing import selectors as publishing_selectors
from replies import selectors as replies_selectors
from replies import services as replies_services
from timelines import selectors, services, stars
from timelines.models import TimelineEntry


def _timeline(request: HttpRequest, *, tag: str | None = None, source_id: int | None = None):
    ask = page_ask(request)
    page = selectors.timeline_for(user=request.user, before=ask.before, after=ask.after, limit=ask.limit, tag=tag,
                                  source_id=source_id)  # fmt: skip
    entries = newest_first(page.entries, ask, id_of=lambda e: ids.status_id(e.published, e.post_id))
    items = statuses_json(request, [e.post for e in entries])
    return paged_response(request, items, has_older=bool(ask.after) or page.next_cursor is not None)


@endpoint("GET", scope="read:statuses")
def home(request):
    return _timeline(request)


@endpoint("GET", scope="read:statuses")
def tag_timeline(request, hashtag: str):
    """A hashtag is one of the person's tags (the sources they labelled so)."""
    return _timeline(request, tag=hashtag[:100])


@endpoint("GET", scope="read:lists")
def list_timeline(request, list_id: str):
    return _timeline(request, tag=_tag_of_list(request, list_id))


def list_id_of(name: str) -> str:
    """Our tags are Mastodon lists; a list's id is a number derived from the tag's name."""
    return str(int(hashlib.sha256(name.encode()).hexdigest()[:12], 16))


def _tag_of_list(request, list_id: str) -> str:
    for name in selectors.tags_for(user=request.user):
        if list_id_of(name) == list_id:
            return name
    raise ApiError(404, "Record not found: no such list")


@endpoint("GET", scope="read:lists")
def lists(request):
    return [{"id": list_id_of(name), "title": name, "replies_policy": "list", "exclusive": False}
            for name in selectors.tags_for(user=request.user)]  # fmt: skip


@endpoint("GET", scope="read:lists")
def list_detail(request, list_id: str):
    name = _tag_of_list(request, list_id)
    return {"id": list_id, "title": name, "replies_policy": "list", "exclusive": False}


def statuses_json(request: HttpRequest, posts: list) -> list[dict]:
    """Posts as statuses: what each answers (when stored), and the person's own posts under their own account."""
    answered = replies_selectors.answered_posts(user=request.user, posts=posts)
    # Only a hub person's microblog is a local source: most pages hold none, and ask nothing more.
    any_local = any(p.source.kind == Source.Kind.LOCAL for p in posts)
    own = publishing_selectors.microblog_of(request.user) if any_local else None
    me = None
    if own is not None and any(p.source_id == own.source_id for p in posts):
        me = self_account_json(request, request.user, following_count=selectors.subscription_count(user=request.user))
    starred = stars.starred_ids(user=request.user, post_ids=[p.pk for p in posts])
    return [status_json(request, p, answers=answered.get(p.pk), starred=p.pk in starred,
                        account=me if own and p.source_id == own.source_id else None) for p in posts]  # fmt: skip


def _visible_post(request, status_id: str):
    """A post in the person's timeline, replies or own microblog; another's posts are not found."""
    post_id = ids.post_id_of(status_id)
    entry = TimelineEntry.objects.filter(user=request.user, post_id=post_id).select_related("post__source").first()
    if entry is not None:
        return entry.post
    reply = replies_selectors.reply_for(user=request.user, post_id=post_id)
    if reply is not None:
        return reply.post
    own = publishing_selectors.microblog_of(request.user)
    post = None if own is None else Post.objects.filter(
        pk=post_id, source_id=own.source_id, retracted_at__isnull=True).select_related("source").first()  # fmt: skip
    if post is None:
        raise ApiError(404, "Record not found")
    return post


@endpoint("GET", "DELETE", scope="read:statuses")
def status(request, status_id: str):
    post = _visible_post(request, status_id)
    found = statuses_json(request, [post])[0]
    if request.method == "DELETE":
        _require(request, "write:statuses")
        try:
            posting.post_delete(user=request.user, post_id=post.pk)
        except posting.PostNotFound:
            raise ApiError(404, "Record not found: not one of your statuses") from None
        found["text"] = post.text  # Mastodon gives the source text back, for "delete and redraft"
    return found


MAX_ANCESTORS = 20
MAX_DESCENDANTS = 60


@endpoint("GET", scope="read:statuses")
def context(request, status_id: str):
    """Ancestors: the chain of stored posts each answers; descendants: the answers the person can see."""
    post = _visible_post(request, status_id)
    chain, current = [], post
    for _ in range(MAX_ANCESTORS):
        parent = replies_selectors.answered_posts(user=request.user, posts=[current]).get(current.pk)
        if parent is None or parent in chain:
            break
        chain.append(parent)
        current = parent
    chain.reverse()
    below = publishing_selectors.answers_visible_to(user=request.user, post=post, limit=MAX_DESCENDANTS)
    return {"ancestors": statuses_json(request, chain), "descendants": statuses_json(request, below)}


@endpoint("POST", scope="write:statuses")
def post_status(request):
    """Our compose: the same length limit and replies (``in_reply_to_id``, a status the person can see)."""
    params = request.params
    if params.getlist("media_ids"):
        raise ApiError(422, "Chorus posts carry no media attachments")
    if params.get("poll[expires_in]") or params.getlist("poll[options]"):
        raise ApiError(422, "Chorus posts carry no polls")
    reply_to = params.get("in_reply_to_id")
    in_reply_to = _visible_post(request, reply_to).pk if reply_to else None
    try:
        post = posting.post_create(user=request.user, text=params.get("status", ""), in_reply_to=in_reply_to)
    except posting.PostError as error:
        raise ApiError(422, f"Validation failed: {error}") from None
    return statuses_json(request, [Post.objects.select_related("source").get(pk=post.pk)])[0]


def _star(request, status_id: str, *, undo: bool) -> dict:
    """Favourite and bookmark are both our star (and their undoing both unstar): one state, two names."""
    post = _visible_post(request, status_id)
    if undo:
        stars.unstar(user=request.user, post_id=post.pk)
    else:
        try:
            stars.star(user=request.user, post_id=post.pk)
        except stars.StarError:
            raise ApiError(404, "Record not found") from None
    return statuses_json(request, [post])[0]


@endpoint("POST", scope="write:favourites")
def favourite(request, status_id: str, undo: str = ""):
    return _star(request, status_id, undo=bool(undo))


@endpoint("POST", scope="write:bookmarks")
def bookmark(request, status_id: str, undo: str = ""):
    return _star(request, status_id, undo=bool(undo))


def _starred(request):
    """The person's stars, newest post first, paged like home."""
    ask = page_ask(request)
    rows, next_cursor = stars.starred_for(user=request.user, before=ask.before, after=ask.after, limit=ask.limit)
    rows = newest_first(rows, ask, id_of=lambda s: ids.status_id(s.published, s.post_id))
    items = statuses_json(request, [s.post for s in rows])
    return paged_response(request, items, has_older=bool(ask.after) or next_cursor is not None)


@endpoint("GET", scope="read:favourites")
def favourites(request):
    return _starred(request)


@endpoint("GET", scope="read:bookmarks")
def bookmarks(request):
    return _starred(request)


NOTIFICATION_TYPE = "mention"  # a reply or a mention: the only kind Chorus tells


@endpoint("GET", scope="read:notifications")
def notifications(request):
    params = request.params
    types, excluded = set(params.getlist("types")), set(params.getlist("exclude_types"))
    if (types and NOTIFICATION_TYPE not in types) or NOTIFICATION_TYPE in excluded:
        return []
    ask = page_ask(request, default=40, most=80)
    page = replies_selectors.replies_for(user=request.user, before=ask.before, after=ask.after, limit=ask.limit)
    replies = newest_first(page.replies, ask, id_of=lambda r: ids.status_id(r.published, r.post_id))
    items = [notification_json(request, r, answers=page.answered.get(r.post_id)) for r in replies]
    return paged_response(request, items, has_older=bool(ask.after) or page.next_cursor is not None)


@endpoint("GET", scope="read:notifications")
def notification(request, notification_id: str):
    reply = replies_selectors.reply_for(user=request.user, post_id=ids.post_id_of(notification_id))
    if reply is None:
        raise ApiError(404, "Record not found")
    return notification_json(request, reply)


@endpoint("POST", scope="write:notifications")
def notifications_clear(request):
    """Clearing marks every reply read: nothing is deleted."""
    replies_services.mark_all_replies_read(user=request.user)
    return {}


@endpoint("POST", scope="write:notifications")
def notification_dismiss(request, notification_id: str):
    replies_services.mark_replies_read(user=request.user, post_ids=[ids.post_id_of(notification_id)])
    return {}


@endpoint("GET", scope="read:notifications")
def unread_notifications(request):
    return {"count": replies_selectors.unread_replies_count(user=request.user)}


@endpoint("GET", "POST", scope="read:statuses")
def markers(request):
    """``home``: everything up to ``last_read_id`` is read in our timeline; ``notifications``: those replies.
    Read back, a marker is the newest post read."""
    params = request.params
    if request.method == "POST":
        _require(request, "write:statuses")
        home_id, replies_id = params.nested("home", "last_read_id"), params.nested("notifications", "last_read_id")
        if home_id:
            services.mark_all_read(user=request.user, up_to=ids.cursor_of(home_id))
        if replies_id:
            replies_services.mark_replies_read_up_to(user=request.user, up_to=ids.cursor_of(replies_id))
        wanted = [name for name, value in (("home", home_id), ("notifications", replies_id)) if value]
    else:
        wanted = params.getlist("timeline")
    now = iso(timezone.now())
    found = {}
    for name in wanted:
        newest = (selectors.newest_read(user=request.user) if name == "home"
                  else replies_selectors.newest_read_reply(user=request.user) if name == "notifications" else None)  # fmt: skip
        if name in ("home", "notifications"):
            found[name] = {"last_read_id": ids.status_id(*newest) if newest else "0", "version": 1, "updated_at": now}
    return found


def _require(request, scope: str) -> None:
    """A second scope for a method the endpoint's own scope does not cover (our API tokens carry every scope)."""
    token = getattr(request, "oauth_token", None)
    if token is not None and not scope_granted(set(token.scope.split()), scope):
        raise ApiError(403, f"This action is outside the authorized scopes (needs {scope})")
