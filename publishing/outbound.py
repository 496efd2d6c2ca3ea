"""After a post is written or deleted, in the same transaction: what the hub owes the world for it (its WebSub
subscribers' deliveries, Webmentions, the XMPP item), recorded in rows and queued after the commit."""

from aggregator.models import Post
from publishing import hub, webmention_send, xmpp_publishing
from publishing.models import Microblog


def announce(*, post: Post, microblog: Microblog) -> int:
    """Owe (and queue, after the commit) what the world must hear of ``post`` (as stored or retracted just now,
    one of ``microblog``'s); returns the WebSub subscribers that owe it."""
    webmention_send.queue_sends(post=post)
    if xmpp_publishing.enabled():
        xmpp_publishing.owe(post=post)
    return hub.announce(microblog=microblog, post=post)
