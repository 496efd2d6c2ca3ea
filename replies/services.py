"""Read state of replies (the other write paths live with their subject: identities.py, blocks.py)."""

from django.contrib.auth.models import AbstractBaseUser

from replies.models import Reply
from timelines.cursor import decode_cursor
from timelines.selectors import older_than

MAX_IDS = 1000


def mark_replies_read(*, user: AbstractBaseUser, post_ids: list[int], read: bool = True) -> int:
    """Mark these replies of the person read (or unread); returns how many rows changed."""
    return Reply.objects.filter(user=user, post_id__in=post_ids[:MAX_IDS]).exclude(is_read=read).update(is_read=read)


def mark_all_replies_read(*, user: AbstractBaseUser) -> int:
    return Reply.objects.filter(user=user, is_read=False).update(is_read=True)


def mark_replies_read_up_to(*, user: AbstractBaseUser, up_to: str) -> int:
    """Mark read every reply at or before this position (a cursor): what an app's read marker covers.
    Raises ``BadCursor``."""
    position = older_than(*decode_cursor(up_to), inclusive=True)
    return Reply.objects.filter(position, user=user, is_read=False).update(is_read=True)
