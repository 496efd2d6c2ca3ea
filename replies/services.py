"""Read state of replies (the other write paths live with their subject: identities.py, blocks.py)."""

from django.contrib.auth.models import AbstractBaseUser

from replies.models import Reply

MAX_IDS = 1000


def mark_replies_read(*, user: AbstractBaseUser, post_ids: list[int], read: bool = True) -> int:
    """Mark these replies of the person read (or unread); returns how many rows changed."""
    return Reply.objects.filter(user=user, post_id__in=post_ids[:MAX_IDS]).exclude(is_read=read).update(is_read=read)


def mark_all_replies_read(*, user: AbstractBaseUser) -> int:
    return Reply.objects.filter(user=user, is_read=False).update(is_read=True)
