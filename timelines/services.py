"""Read state: the write paths of a person's timeline."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser

from .cursor import decode_cursor
from .models import TimelineEntry
from .selectors import entries_in_scope, older_than

MAX_IDS = 1000


def mark_read(*, user: AbstractBaseUser, post_ids: Iterable[int], read: bool = True) -> int:
    """Mark posts read (or unread again) on this person's timeline; others' rows are never touched."""
    ids = list(post_ids)[:MAX_IDS]
    return TimelineEntry.objects.filter(user=user, post_id__in=ids).exclude(is_read=read).update(is_read=read)


def mark_all_read(*, user: AbstractBaseUser, up_to: str, tag: str | None = None, source_id: int | None = None) -> int:
    """Mark read everything in scope at or older than ``up_to`` (the newest post the person was shown),
    so posts that arrived after the page was drawn stay unread. Raises ``BadCursor``.
    """
    published, post_id = decode_cursor(up_to)
    entries = entries_in_scope(user=user, tag=tag, source_id=source_id).filter(is_read=False)
    return entries.filter(older_than(published, post_id, inclusive=True)).update(is_read=True)
