"""Retention: read, unstarred posts older than the operator's limit leave the hub, in batches.

A post is removed when it was published more than ``CHORUS_KEEP_READ_DAYS`` ago, nobody starred it and it is
unread in nobody's timeline, replies or tracks (``search.scopes``). Its timeline, reply and track rows and its
index entry are deleted; the post row itself is emptied like a retraction and kept (a GUID and a date), so a feed
or a node's history that still carries the entry does not bring it back as new.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from aggregator.models import Post
from timelines.models import SearchEntry, Star
from timelines.search.scopes import scopes

_EMPTIED = {"title": "", "content_html": "", "text": "", "url": "", "author_name": "", "in_reply_to": ""}


def removable(*, before: datetime):
    posts = Post.objects.filter(published__lt=before, retracted_at__isnull=True)
    posts = posts.exclude(Exists(Star.objects.filter(post_id=OuterRef("pk"))))
    for scope in scopes():
        posts = posts.exclude(Exists(scope.model.objects.filter(post_id=OuterRef("pk"), is_read=False)))
    return posts


def prune_history(*, now: datetime | None = None, keep_days: int | None = None, batch_size: int | None = None,
                  max_batches: int = 100) -> int:  # fmt: skip
    """Remove one run's worth of old read posts (at most ``max_batches`` batches, each one transaction); returns
    how many. ``keep_days`` 0 keeps everything."""
    keep_days = settings.CHORUS_KEEP_READ_DAYS if keep_days is None else keep_days
    batch_size = batch_size or settings.CHORUS_RETENTION_BATCH
    if keep_days <= 0:
        return 0
    now = now or timezone.now()
    before = now - timedelta(days=keep_days)
    removed = 0
    for _ in range(max_batches):
        with transaction.atomic():
            ids = list(removable(before=before).order_by("published").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            for scope in scopes():
                scope.model.objects.filter(post_id__in=ids).delete()
            SearchEntry.objects.filter(post_id__in=ids).delete()
            Post.objects.filter(id__in=ids).update(retracted_at=now, **_EMPTIED)
        removed += len(ids)
        if len(ids) < batch_size:
            break
    return removed
