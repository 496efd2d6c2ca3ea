"""After a post is written or deleted, in the same transaction: what the hub owes the world for it (its WebSub
subscribers' deliveries, Webmentions, the XMPP item), recorded in rows and queued after the commit."""

from aggregator.models import Post
from publishing import hub, webmention_send, xmpp_publishing
from publishing.models import Microblog


def announce(*, post_id: int) -> int:
    """Owe (and queue, after the commit) what the world must hear of this post; returns the deliveries owed."""
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        return 0
    microblog = Microblog.objects.filter(source_id=post.source_id).first()
    if microblog is None:
        return 0
    webmention_send.queue_sends(post=post)
    if xmpp_publishing.enabled():
        xmpp_publishing.owe(post=post)
    return hub.announce(microblog=microblog)
