"""API: the follow list and source status."""

from datetime import datetime
from urllib.parse import urlencode

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, File, Query, Router, Schema
from ninja.errors import HttpError
from ninja.files import UploadedFile

from aggregator.following import avatars, imports
from aggregator.following import subscriptions as services
from aggregator.following.follow_box import FollowBoxError
from aggregator.following.follow_lists import MAX_IMPORT_BYTES as MAX_LIST_BYTES
from aggregator.following.follow_lists import FollowListError
from aggregator.following.preview import preview
from aggregator.models import FollowImport, Source, Subscription
from aggregator.networks.rss.discover import DiscoveryError
from timelines.cursor import BadCursor
from timelines.selectors import subscriptions_page, unread_counts_for
from timelines.serializers import websub_status_json

router = Router(tags=["subscriptions"])
MAX_PAGE = 500


class WebSubOut(Schema):
    """The source's WebSub push, when its feed names a hub."""

    hub: str
    topic: str
    state: str = Field(description="off (no CHORUS_PUBLIC_URL), pending, active, denied, silent, error, unsubscribing")
    reason: str
    active_until: datetime | None
    last_delivery_at: datetime | None


class PushOut(Schema):
    """The source's push path (XMPP PubSub), when it has one."""

    jid: str
    node: str
    state: str = Field(description="pending, subscribed, error, or empty when nobody needs the push")
    error: str
    last_push_at: datetime | None


class SourceOut(Schema):
    id: int
    kind: str
    title: str
    url: str
    site_url: str
    status: str
    last_fetch_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime | None
    last_error: str
    error_count: int
    push: PushOut | None
    websub: WebSubOut | None = None
    avatar: str = Field(description="the source's picture (avatar, feed or site icon, else generated initials), "
                                    "served by Chorus")  # fmt: skip


class SubscriptionOut(Schema):
    id: int
    title: str
    tags: list[str]
    unread: int
    source: SourceOut


class SubscriptionIn(Schema):
    address: str = Field(..., min_length=1, max_length=2048, description="anything the follow box accepts")
    tags: list[str] = Field(default_factory=list, max_length=20)


class SubscriptionPatch(Schema):
    tags: list[str] | None = Field(None, max_length=20)
    title: str | None = Field(None, max_length=500)


class RefreshOut(Schema):
    queued: bool
    detail: str


def _source_out(source: Source) -> SourceOut:
    return SourceOut(
        id=source.pk, kind=source.kind, title=source.display_title, url=source.url, site_url=source.site_url,
        status=source.status, last_fetch_at=source.last_fetch_at, last_success_at=source.last_success_at,
        next_poll_at=source.next_poll_at, last_error=source.last_error, error_count=source.error_count,
        push=PushOut(jid=source.push_jid, node=source.push_node, state=source.push_state, error=source.push_error,
                     last_push_at=source.last_push_at) if source.has_push else None,
        websub=WebSubOut(**websub) if (websub := websub_status_json(source)) else None,
        avatar=reverse("source_avatar", args=[source.pk]),
    )  # fmt: skip


def _subscription_out(subscription: Subscription, unread: dict[int, int]) -> SubscriptionOut:
    return SubscriptionOut(
        id=subscription.pk,
        title=subscription.display_title,
        tags=sorted((tag.name for tag in subscription.tags.all()), key=str.casefold),
        unread=unread.get(subscription.source_id, 0),
        source=_source_out(subscription.source),
    )


class SubscriptionPageQuery(Schema):
    limit: int = Field(MAX_PAGE, ge=1, le=MAX_PAGE, description="subscriptions per page")
    cursor: str | None = Field(None, max_length=4096, description="the `next` cursor of the previous page")


@router.get("/subscriptions", response=list[SubscriptionOut])
def list_subscriptions(request, response: HttpResponse, page: Query[SubscriptionPageQuery]):
    """The follow list by title, a page at a time (a plain list, as before paging). When more follow, the
    ``Link`` header has ``rel="next"`` and ``X-Next-Cursor`` the cursor to pass as ``?cursor=``."""
    try:
        found = subscriptions_page(user=request.user, after=page.cursor, limit=page.limit)
    except BadCursor as error:
        raise HttpError(400, str(error)) from error
    if found.next_cursor:
        query = urlencode({"limit": page.limit, "cursor": found.next_cursor})
        response["Link"] = f'<{request.build_absolute_uri(request.path)}?{query}>; rel="next"'
        response["X-Next-Cursor"] = found.next_cursor
    unread = unread_counts_for(user=request.user)
    return [_subscription_out(s, unread) for s in found.subscriptions]


@router.post("/subscriptions", response={201: SubscriptionOut})
def create_subscription(request, payload: SubscriptionIn):
    try:
        subscription = services.subscribe(user=request.user, address=payload.address, tags=payload.tags)
    except (DiscoveryError, services.SubscriptionError) as error:
        raise HttpError(400, str(error)) from error
    subscription = Subscription.objects.select_related("source").get(pk=subscription.pk)
    return 201, _subscription_out(subscription, unread_counts_for(user=request.user))


@router.patch("/subscriptions/{subscription_id}", response=SubscriptionOut)
def update_subscription(request, subscription_id: int, payload: SubscriptionPatch):
    try:
        subscription = services.update_subscription(user=request.user, subscription_id=subscription_id,
                                                    tags=payload.tags, title=payload.title)  # fmt: skip
    except services.SubscriptionNotFound as error:
        raise HttpError(404, str(error)) from error
    except services.SubscriptionError as error:
        raise HttpError(400, str(error)) from error
    subscription = Subscription.objects.select_related("source").get(pk=subscription.pk)
    return _subscription_out(subscription, unread_counts_for(user=request.user))


@router.delete("/subscriptions/{subscription_id}", response={204: None})
def delete_subscription(request, subscription_id: int):
    try:
        services.unsubscribe(user=request.user, subscription_id=subscription_id)
    except services.SubscriptionError as error:
        raise HttpError(404, str(error)) from error
    return 204, None


def _followed_source(request, source_id: int) -> Source:
    """Sources are visible only to their subscribers: never another person's data."""
    return get_object_or_404(Source, pk=source_id, subscriptions__user=request.user)


@router.get("/sources/{source_id}", response=SourceOut)
def get_source(request, source_id: int):
    return _source_out(_followed_source(request, source_id))


@router.post("/sources/{source_id}/refresh", response={202: RefreshOut, 409: RefreshOut})
def refresh_source(request, source_id: int):
    source = _followed_source(request, source_id)
    if services.request_refresh(source_id=source.pk):
        return 202, RefreshOut(queued=True, detail="refresh queued")
    return 409, RefreshOut(queued=False, detail="this source is being fetched right now")


class ImportFailure(Schema):
    address: str
    reason: str


class PreviewPostOut(Schema):
    url: str
    title: str
    text: str
    published: datetime | None


class PreviewOut(Schema):
    kind: str
    title: str
    address: str = Field(description="what following would follow: a feed URL, an xmpp: URI or x:name")
    handle: str
    avatar_url: str = Field(description="the account's picture where its server has it (remote; do not hot-link)")
    avatar: str = Field(description="the account's or feed's picture, served by Chorus (a generated one when it "
                                    "has none)")  # fmt: skip
    posts: list[PreviewPostOut]
    problem: str = Field(description="why no posts are shown, when they could not be read")


@router.get("/follow-preview", response=PreviewOut)
def follow_preview(request, address: str = Query(..., min_length=1, max_length=2048)):
    """What ``POST /subscriptions`` with this address would follow — name, avatar, last posts — without following."""
    try:
        result = preview(address=address)
    except (DiscoveryError, services.SubscriptionError, FollowBoxError) as error:
        raise HttpError(400, str(error)) from error
    avatar = avatars.preview_path(avatar_url=result.avatar_url, feed_url=result.address if result.kind == "rss" else "",
                                  site_url=result.site_url, title=result.title)  # fmt: skip
    return PreviewOut(kind=result.kind, title=result.title, address=result.address, handle=result.handle,
                      avatar_url=result.avatar_url, avatar=avatar, problem=result.problem,
                      posts=[PreviewPostOut(**vars(post)) for post in result.posts])  # fmt: skip


class FollowImportOut(Schema):
    id: int
    kind: str = Field(description="opml, mastodon or x")
    status: str = Field(description="queued, running, done or failed")
    total: int
    done: int
    followed: int
    already_followed: int
    failed: int
    error: str
    failures: list[ImportFailure] = Field(default_factory=list, description="each failed account, once it ended")


@router.post("/follow-lists", response={202: FollowImportOut})
def import_follow_list(request, file: File[UploadedFile]):
    """Import OPML, a Mastodon following CSV or an X archive's ``following.js`` (multipart ``file``) in the
    background.

    The file is checked whole first (400 with the reason, nothing followed); then each account is looked up
    (WebFinger, the X API) and followed on its own. Progress arrives on ``/ws/stream/`` as ``import.progress``.
    """
    return _start_import(request, file, kinds=None)


@router.post("/opml", response={202: FollowImportOut})
def import_opml(request, file: File[UploadedFile]):
    """Import an OPML file (multipart ``file``): ``POST /follow-lists`` for OPML only; folders become tags.

    Feeds are followed in the background (the scheduler fetches them afterwards); follow the progress with
    ``GET /follow-lists/{id}`` or the ``import.progress`` events.
    """
    return _start_import(request, file, kinds=("opml",))


def _start_import(request, file: UploadedFile, *, kinds: tuple[str, ...] | None):
    if file.size and file.size > MAX_LIST_BYTES:
        raise HttpError(400, f"the file is larger than {MAX_LIST_BYTES // (1024 * 1024)} MiB")
    try:
        job = imports.start_import(user=request.user, body=file.read(MAX_LIST_BYTES + 1), kinds=kinds)
    except imports.ImportUnderWay as error:
        raise HttpError(409, str(error)) from error
    except FollowListError as error:
        raise HttpError(400, str(error)) from error
    return 202, imports.import_json(job)


@router.get("/follow-lists/{import_id}", response=FollowImportOut)
def get_follow_list_import(request, import_id: int):
    """How an import is going; once it ended, why each failed account failed."""
    job = get_object_or_404(FollowImport, pk=import_id, user=request.user)
    return imports.import_json(job, final=job.status in (FollowImport.Status.DONE, FollowImport.Status.FAILED))


@router.get("/opml", response={200: None}, openapi_extra={"responses": {200: {"content": {"text/x-opml": {}}}}})
def export_opml(request):
    """The follow list as OPML 2.0 (tags become outlines)."""
    response = HttpResponse(services.export_opml(user=request.user), content_type="text/x-opml; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="chorus-subscriptions.opml"'
    return response
