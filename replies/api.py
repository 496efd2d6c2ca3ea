"""API: replies (``/replies``), identities (``/identities``) and blocks (``/blocks``)."""

from datetime import datetime

from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from timelines.serializers import post_json

from . import blocks, identities, selectors, services

router = Router(tags=["replies"])


class RepliesFilters(Schema):
    limit: int = Field(50, ge=1, le=selectors.MAX_LIMIT)
    before: str | None = Field(None, max_length=64, description="the `next` cursor of the previous page")
    after: str | None = Field(None, max_length=64, description="catch up: newer than this cursor, oldest first")
    unread: bool = False


class RepliesOut(Schema):
    items: list[dict] = Field(description="post objects, each with `reason` (mention|reply), `read`, and "
                                          "`answers`: the post it answers when Chorus has it, else null")
    next: str | None
    unread: int


class ReadIn(Schema):
    post_ids: list[int] = Field(default_factory=list, max_length=services.MAX_IDS)
    read: bool = True
    all: bool = False


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
def replies(request, filters: Query[RepliesFilters]):
    page = selectors.replies_for(user=request.user, before=filters.before, after=filters.after, limit=filters.limit,
                                 unread_only=filters.unread)  # fmt: skip
    return {"items": [reply_json(r, page.answered) for r in page.replies], "next": page.next_cursor,
            "unread": selectors.unread_replies_count(user=request.user)}  # fmt: skip


@router.post("/replies/read")
def replies_read(request, payload: ReadIn):
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
def identity_verify(request, identity_id: int):
    identity = next((i for i in identities.identities_for(user=request.user) if i.pk == identity_id), None)
    if identity is None:
        raise HttpError(404, "no such identity")
    profile_url = request.build_absolute_uri(reverse("profile", args=[request.user.get_username()]))
    try:
        identities.verify_url_identity(identity=identity, profile_url=profile_url)
    except identities.IdentityError as error:
        raise HttpError(400, str(error)) from error
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
