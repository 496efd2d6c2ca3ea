"""API: replies (``/replies``), identities (``/identities``), blocks (``/blocks``) and how new replies are
told (``/notification-settings``; ``/notifications`` is the Mastodon client API's)."""

from datetime import datetime, time

from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from accounts import identities, verification
from accounts.models import Identity
from replies import notification_settings, selectors, services
from timelines import blocks
from timelines.api import MarkReadIn, PageFilters
from timelines.serializers import post_json

router = Router(tags=["replies"])


class RepliesOut(Schema):
    items: list[dict] = Field(description="post objects, each with `reason` (mention|reply), `read`, and "
                                          "`answers`: the post it answers when Chorus has it, else null")
    next: str | None
    unread: int


class IdentityIn(Schema):
    kind: str = Field(..., description="x, fediverse, bluesky, xmpp or url")
    value: str = Field(..., min_length=1, max_length=2048)


class IdentityOut(Schema):
    id: int
    kind: str
    value: str
    verified: bool
    verified_at: datetime | None
    last_check_error: str
    code_sent_at: datetime | None = Field(description="XMPP: when the hub last sent a code to the address")


class VerifyIn(Schema):
    code: str = Field("", max_length=64, description="XMPP: the code the hub sent to the address")


class NotificationSettingsIn(Schema):
    method: str = Field(..., description="none, xmpp (chat message to a verified JID), email, digest (daily)")
    time_zone: str = Field("UTC", max_length=64, description="IANA name, e.g. Europe/Paris")
    quiet_start: time | None = Field(None, description="local time; nothing is sent until quiet_end")
    quiet_end: time | None = None
    digest_hour: int = Field(8, ge=0, le=23, description="local hour of the daily digest")
    xmpp_jid: str = Field("", max_length=2048, description="one of your verified JIDs; blank: the first one")


class NotificationSettingsOut(NotificationSettingsIn):
    last_digest_at: datetime | None


class BlockIn(Schema):
    kind: str = Field(..., description="author (a handle or URI), source (its id) or word")
    value: str = Field(..., min_length=1, max_length=2048)


class BlockOut(Schema):
    id: int
    kind: str
    value: str
    created_at: datetime


def reply_json(reply, answered: dict) -> dict:
    answers = answered.get(reply.post_id)
    return {**post_json(reply.post), "reason": reply.reason, "read": reply.is_read,
            "answers": post_json(answers) if answers else None}  # fmt: skip


@router.get("/replies", response=RepliesOut)
def replies(request, filters: Query[PageFilters]):
    page = selectors.replies_for(user=request.user, before=filters.before, after=filters.after, limit=filters.limit,
                                 unread_only=filters.unread)  # fmt: skip
    return {"items": [reply_json(r, page.answered) for r in page.replies], "next": page.next_cursor,
            "unread": selectors.unread_replies_count(user=request.user)}  # fmt: skip


@router.post("/replies/read")
def replies_read(request, payload: MarkReadIn):
    if payload.all:
        return {"updated": services.mark_all_replies_read(user=request.user)}
    return {"updated": services.mark_replies_read(user=request.user, post_ids=payload.post_ids, read=payload.read)}


@router.get("/identities", response=list[IdentityOut])
def identity_list(request):
    return identities.identities_for(user=request.user)


@router.post("/identities", response={201: IdentityOut})
def identity_add(request, payload: IdentityIn):
    try:
        return 201, identities.identity_create(user=request.user, kind=payload.kind, value=payload.value)
    except identities.IdentityError as error:
        raise HttpError(400, str(error)) from error


@router.post("/identities/{identity_id}/verify", response=IdentityOut)
def identity_verify(request, identity_id: int, payload: VerifyIn | None = None):
    """Check the handle now (URL, fediverse, Bluesky), or confirm an XMPP address with the code it was sent."""
    identity = _own_identity(request, identity_id)
    try:
        if identity.kind == Identity.Kind.XMPP:
            verification.confirm_xmpp_code(identity=identity, code=payload.code if payload else "")
        else:
            profile_url = request.build_absolute_uri(reverse("profile", args=[request.user.get_username()]))
            verification.verify_identity(identity=identity, profile_url=profile_url)
    except identities.IdentityError as error:
        raise HttpError(400, str(error)) from error
    identity.refresh_from_db()
    return identity


@router.post("/identities/{identity_id}/code", response={202: IdentityOut})
def identity_send_code(request, identity_id: int):
    """XMPP: the hub's account sends a code to the address; post it to ``/verify``."""
    identity = _own_identity(request, identity_id)
    try:
        verification.request_xmpp_code(identity=identity)
    except identities.IdentityError as error:
        raise HttpError(400, str(error)) from error
    return 202, identity


def _own_identity(request, identity_id: int) -> Identity:
    identity = Identity.objects.filter(user=request.user, pk=identity_id).first()
    if identity is None:
        raise HttpError(404, "no such identity")
    return identity


@router.delete("/identities/{identity_id}", response={204: None})
def identity_remove(request, identity_id: int):
    if not identities.identity_delete(user=request.user, identity_id=identity_id):
        raise HttpError(404, "no such identity")
    return 204, None


@router.get("/blocks", response=list[BlockOut])
def block_list(request):
    return blocks.blocks_for(user=request.user)


@router.post("/blocks", response={201: list[BlockOut]})
def block_add(request, payload: BlockIn):
    try:
        return 201, blocks.block_create(user=request.user, kind=payload.kind, value=payload.value)
    except blocks.BlockError as error:
        raise HttpError(400, str(error)) from error


@router.delete("/blocks/{block_id}", response={204: None})
def block_remove(request, block_id: int):
    if not blocks.block_delete(user=request.user, block_id=block_id):
        raise HttpError(404, "no such block")
    return 204, None


@router.get("/notification-settings", response=NotificationSettingsOut)
def notifications_get(request):
    return notification_settings.notification_settings_for(user=request.user)


@router.put("/notification-settings", response=NotificationSettingsOut)
def notifications_put(request, payload: NotificationSettingsIn):
    try:
        return notification_settings.notification_settings_update(user=request.user, **payload.dict())
    except notification_settings.NotificationSettingsError as error:
        raise HttpError(400, str(error)) from error
