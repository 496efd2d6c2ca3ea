"""Blocks and mutes: services (create, undo), and the two ways they are applied.

- At read time, ``blocked(user=)`` is an EXCLUDE (NOT EXISTS) for any query over posts or rows that point to
  posts, in the same statement: the rows stay, so undoing a block brings them back.
- Before a live event leaves, ``BlockSet.hides(post)`` (``blocks_of``: one query for the recipients who block
  anything, none when no recipient does: who blocks anything is held in each process, see ``blockers``).

Kinds: ``author`` hides posts whose ``author_handle`` (case-insensitive) or ``author_uri`` is the value;
``source`` hides a source's posts (value: its id); ``word`` hides posts whose title or text contains the word
(lowercased). Blocking an author whose handle is a verified identity of someone Chorus knows blocks every
verified identity of that person, on every network.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Cast, Lower, StrIndex

from accounts.identities import author_handle_forms, owner_of_author
from accounts.models import Identity
from aggregator import events
from aggregator.content.mentions import Mention
from aggregator.db.snapshots import Snapshot
from aggregator.models import Post, Source
from timelines import kept_counts, unread_cache
from timelines.models import Block

MAX_BLOCKS = 1000


class BlockError(ValueError):
    pass


@dataclass
class BlockSet:
    """One person's blocks, to test posts against in Python (live events, matching)."""

    authors: set[str] = field(default_factory=set)  # lowercased
    sources: set[int] = field(default_factory=set)
    words: list[str] = field(default_factory=list)  # lowercased

    def hides(self, post) -> bool:
        if post.source_id in self.sources:
            return True
        if self.authors and (post.author_handle.lower() in self.authors or post.author_uri.lower() in self.authors):
            return True
        if self.words:
            haystack = f"{post.title}\n{post.text}".lower()
            return any(word in haystack for word in self.words)
        return False


def posts_to_test(post_ids: Iterable[int]) -> QuerySet:
    """These posts (not retracted) with only what ``BlockSet.hides`` reads of them."""
    return Post.objects.filter(pk__in=list(post_ids), retracted_at__isnull=True).only(
        "source_id", "title", "text", "author_handle", "author_uri")  # fmt: skip


def _load_blockers() -> frozenset[int]:
    return frozenset(Block.objects.values_list("user_id", flat=True).distinct())


# The people who block anything (a few of a hub's people): most events' recipients block nothing, and knowing
# that in the process spares a query per live batch. Renewed on every write of a block (apps.py).
blockers = Snapshot(key="chorus:blocks:blockers-version", load=_load_blockers)


def blocks_anything(*, user: AbstractBaseUser) -> bool:
    """Whether the person blocks anything (from the per-process snapshot: a block made in another process is
    seen within ``CHORUS_SNAPSHOT_CHECK_MS``). Most people block nothing: their reads skip the EXISTS."""
    return user.pk in blockers.get()


def blocks_of(*, user_ids: Iterable[int]) -> dict[int, BlockSet]:
    """The blocks of these people, in one query (none if none of them blocks anything); people without blocks
    are left out."""
    anyone = blockers.get()
    wanted = [user_id for user_id in user_ids if user_id in anyone]
    if not wanted:
        return {}
    found: dict[int, BlockSet] = defaultdict(BlockSet)
    for user_id, kind, value in Block.objects.filter(user_id__in=wanted).values_list("user_id", "kind", "value"):
        if kind == Block.Kind.AUTHOR and value:
            found[user_id].authors.add(value.lower())
        elif kind == Block.Kind.SOURCE and value.isdigit():
            found[user_id].sources.add(int(value))
        elif kind == Block.Kind.WORD and value:
            found[user_id].words.append(value)
    return dict(found)


def blocked(*, user: AbstractBaseUser, post: str = "post__", source: str | None = None) -> Exists:
    """True for rows whose post the person blocked: an EXISTS over their blocks, part of the same statement
    (no extra query; a person without blocks costs one index probe per row read). ``post`` is the path to the
    post's columns (``""`` on posts themselves), ``source`` a source column of the row itself (timeline rows
    have one). Use as ``rows.exclude(blocked(user=...))``."""
    source = source or f"{post}source_id"
    rows = Block.objects.filter(user_id=user.pk).alias(
        in_text=StrIndex(Lower(OuterRef(f"{post}text")), F("value")),
        in_title=StrIndex(Lower(OuterRef(f"{post}title")), F("value")),
    )
    return Exists(rows.filter(
        Q(kind=Block.Kind.SOURCE, value=Cast(OuterRef(source), CharField()))
        | Q(kind=Block.Kind.AUTHOR, value=Lower(OuterRef(f"{post}author_handle")))
        | Q(kind=Block.Kind.AUTHOR, value=Lower(OuterRef(f"{post}author_uri")))
        | Q(kind=Block.Kind.WORD, in_text__gt=0)
        | Q(kind=Block.Kind.WORD, in_title__gt=0)
    ))  # fmt: skip


def block_create(*, user: AbstractBaseUser, kind: str, value: str) -> list[Block]:
    """Block an author, mute a source or a word. Returns the rows made (an author known by verified identities
    makes one per handle). Open pages are told to take what is now hidden away (``block.new``)."""
    values = _values_to_block(kind=kind, value=value)
    if Block.objects.filter(user=user).count() + len(values) > MAX_BLOCKS:
        raise BlockError(f"at most {MAX_BLOCKS} blocks per person")
    with transaction.atomic():
        for item in values:
            Block.objects.get_or_create(user=user, kind=kind, value=item)
        rows = list(Block.objects.filter(user=user, kind=kind, value__in=values))
        events.send_on_commit(user_ids=[user.pk], event={"type": "block.new", "blocks": [block_json(b) for b in rows]})
        unread_cache.recount_after_commit(user_id=user.pk)  # the counts leave out what is hidden now
        kept_counts.changed(kept_counts.UNREAD_TRACK_MATCHES, user_ids=[user.pk])
    return rows


def block_delete(*, user: AbstractBaseUser, block_id: int) -> bool:
    """Undo a block: what it hid shows again (nothing was deleted)."""
    with transaction.atomic():
        deleted, _ = Block.objects.filter(user=user, pk=block_id).delete()
        if deleted:
            events.send_on_commit(user_ids=[user.pk], event={"type": "block.removed", "block_id": block_id})
            unread_cache.recount_after_commit(user_id=user.pk)  # what it hid counts again
            kept_counts.changed(kept_counts.UNREAD_TRACK_MATCHES, user_ids=[user.pk])
    return bool(deleted)


def blocks_for(*, user: AbstractBaseUser) -> list[Block]:
    return list(Block.objects.filter(user=user).order_by("-created_at", "-id"))


def source_blocks_for(*, user: AbstractBaseUser, before_id: int | None = None, limit: int) -> list[Block]:
    """The person's blocks of whole sources, newest first, older than the block ``before_id`` if given."""
    rows = Block.objects.filter(user=user, kind=Block.Kind.SOURCE).order_by("-id")
    if before_id is not None:
        rows = rows.filter(id__lt=before_id)
    return list(rows[:limit])


def labelled(rows: list[Block]) -> list[Block]:
    """The blocks, each with ``label``: what a person reads for it (a muted source's title, not its id)."""
    ids = {int(b.value) for b in rows if b.kind == Block.Kind.SOURCE and b.value.isdigit()}
    titles = {source.pk: source.display_title for source in Source.objects.filter(pk__in=ids)} if ids else {}
    for block in rows:
        is_source = block.kind == Block.Kind.SOURCE and block.value.isdigit()
        block.label = titles.get(int(block.value), f"source {block.value}") if is_source else block.value
    return rows


def done_message(rows: list[Block]) -> str:
    """What was just done, in words: "Muted Example blog.", "Blocked @bob@example.org.", "Muted the word …"."""
    if not rows:
        return "Nothing new to block."
    rows = labelled(rows)
    kind = rows[0].kind
    if kind == Block.Kind.SOURCE:
        return f"Muted {rows[0].label}."
    if kind == Block.Kind.WORD:
        return f"Muted the word “{rows[0].label}”."
    return f"Blocked {rows[0].label}" + (f" and {len(rows) - 1} more of their handles." if len(rows) > 1 else ".")


def block_json(block: Block) -> dict:
    return {"id": block.pk, "kind": block.kind, "value": block.value, "created_at": block.created_at.isoformat()}


def _values_to_block(*, kind: str, value: str) -> list[str]:
    value = value.strip()
    if not value or len(value) > 2048:
        raise BlockError("say what to block")
    if kind == Block.Kind.WORD:
        return [value.lower()]
    if kind == Block.Kind.SOURCE:
        if not value.isdigit():
            raise BlockError("a source is muted by its id")
        return [value]
    if kind != Block.Kind.AUTHOR:
        raise BlockError(f"unknown kind {kind!r}: one of author, source, word")
    owner = owner_of_author(handle=value, uri=value if "://" in value or value.startswith("xmpp:") else "")
    forms = [value]
    if owner is not None:  # known on several networks: block them on all
        for kind_, handle in Identity.objects.filter(user_id=owner, verified=True).values_list("kind", "value"):
            forms.extend(author_handle_forms(Mention(kind_, handle)))
    return list(dict.fromkeys(form.lower() for form in forms))
