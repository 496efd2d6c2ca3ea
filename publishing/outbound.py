"""After a post is written or deleted: what leaves the hub for it (the hub's WebSub deliveries)."""

from aggregator.models import Post
from publishing import hub
from publishing.models import Microblog


def announce(*, post_id: int) -> int:
    """Queue what the world must hear of this post; returns the deliveries owed."""
    post = Post.objects.filter(pk=post_id).only("source_id").first()
    if post is None:
        return 0
    microblog = Microblog.objects.filter(source_id=post.source_id).first()
    if microblog is None:
        return 0
    return hub.announce(microblog=microblog)
