"""API: replies (``/replies``), identities (``/identities``), blocks (``/blocks``) and how new replies are
told (``/notifications``, and the destinations: ``/destinations``)."""

from datetime import datetime, time

from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from accounts import identities, verification
from accounts.models import Identity
from replies import destinations, notification_settings, selectors, services
from replies.models import Destination
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


@router.get("/notifications", response=NotificationSettingsOut)
def notifications_get(request):
    return notification_settings.notification_settings_for(user=request.user)


@router.put("/notifications", response=NotificationSettingsOut)
def notifications_put(request, payload: NotificationSettingsIn):
    try:
        return notification_settings.notification_settings_update(user=request.user, **payload.dict())
    except notification_settings.NotificationSettingsError as error:
        raise HttpError(400, str(error)) from error


class DestinationIn(Schema):
    name: str = Field(..., min_length=1, max_length=100)
    url: str = Field(..., min_length=1, max_length=2048, description="an Apprise URL (json://, ntfys://, mailto://, "
                                                                      "tgram://, ...); never shown back in full")  # fmt: skip
    events: list[str] = Field(default_factory=lambda: ["reply"], max_length=8,
                              description="among reply, track, source_failing, import_done")  # fmt: skip


class DestinationPatch(Schema):
    name: str | None = Field(None, min_length=1, max_length=100)
    url: str | None = Field(None, min_length=1, max_length=2048)
    events: list[str] | None = Field(None, max_length=8)
    paused: bool | None = Field(None, description="false resumes a paused destination")


class DestinationOut(Schema):
    id: int
    name: str
    url: str = Field(description="the URL with its secrets hidden")
    events: list[str]
    paused: bool
    pause_reason: str
    failures: int
    last_error: str
    last_sent_at: datetime | None
    last_test_at: datetime | None
    last_test_result: str


def destination_json(destination) -> dict:
    return {"id": destination.pk, "name": destination.name, "url": destination.masked, "events": destination.events,
            "paused": destination.paused_at is not None, "pause_reason": destination.pause_reason,
            "failures": destination.failures, "last_error": destination.last_error,
            "last_sent_at": destination.last_sent_at, "last_test_at": destination.last_test_at,
            "last_test_result": destination.last_test_result}  # fmt: skip


@router.get("/destinations", response=list[DestinationOut])
def destination_list(request):
    return [destination_json(d) for d in destinations.destinations_for(user=request.user)]


@router.post("/destinations", response={201: DestinationOut})
def destination_add(request, payload: DestinationIn):
    try:
        made = destinations.destination_create(user=request.user, **payload.dict())
    except destinations.DestinationProblem as error:
        raise HttpError(400, str(error)) from error
    return 201, destination_json(made)


@router.patch("/destinations/{destination_id}", response=DestinationOut)
def destination_change(request, destination_id: int, payload: DestinationPatch):
    try:
        changed = destinations.destination_update(user=request.user, destination_id=destination_id,
                                                  **payload.dict())  # fmt: skip
    except destinations.DestinationProblem as error:
        raise HttpError(400, str(error)) from error
    except Destination.DoesNotExist:
        raise HttpError(404, "no such destination") from None
    return destination_json(changed)


@router.delete("/destinations/{destination_id}", response={204: None})
def destination_remove(request, destination_id: int):
    if not destinations.destination_delete(user=request.user, destination_id=destination_id):
        raise HttpError(404, "no such destination")
    return 204, None


@router.post("/destinations/{destination_id}/test", response={202: DestinationOut})
def destination_send_test(request, destination_id: int):
    """Queue a test message; ``last_test_result`` says "sent" or why not once a worker has tried."""
    try:
        destination = destinations.destination_test(user=request.user, destination_id=destination_id)
    except Destination.DoesNotExist:
        raise HttpError(404, "no such destination") from None
    return 202, destination_json(destination)
