"""A person's posts on XMPP: each post is an XEP-0277 item (its Atom entry; the item id is the entry's id, the
post's permalink, so a follower that reads both the feed and the node holds one post) on the hub account's node
for the person (``addresses.xmpp_node``), retracted when the post is deleted; the person's feed and profile
name the node, so hubs that follow by XMPP get pushes. Each publication is owed in an ``XmppPublication`` row:
a failed session is tried again after a back-off (``outbox``). Every session also counts the node's
subscribers: the person's followers by XMPP."""

import logging

from django.conf import settings
from django.utils import timezone

from aggregator.models import Post
from aggregator.networks.xmpp.chat import XmppSendError
from aggregator.networks.xmpp.publish import publish_item, retract_item
from publishing import addresses, outbox
from publishing.feed import entry_element
from publishing.models import Microblog, XmppPublication

log = logging.getLogger(__name__)


def enabled() -> bool:
    return bool(settings.CHORUS_XMPP_JID)


def owe(*, post: Post) -> None:
    """The post was written or deleted: its item is owed to the node (now, and again after failures)."""
    XmppPublication.objects.update_or_create(post=post, defaults={"due_at": timezone.now(), "attempts": 0})
    outbox.queue(outbox.XMPP_TASK, post.pk, swept=False)  # no request here waits on this hub's own pages


def publish_post(*, post_id: int) -> str:
    """Publish or retract the post's item if it is owed; returns what was done ("" when nothing, "failed" when
    it will be tried again or was given up)."""
    lease = outbox.claim(XmppPublication, post_id)
    if lease is None:
        return ""  # done already, or being done
    attempts = XmppPublication.objects.filter(pk=post_id).values_list("attempts", flat=True).first() or 0
    post = Post.objects.get(pk=post_id)
    microblog = Microblog.objects.filter(source_id=post.source_id).select_related("user").first()
    if microblog is None or not enabled():
        outbox.succeeded(XmppPublication, post_id, lease=lease)
        return ""
    username = microblog.user.get_username()
    node, item_id = addresses.xmpp_node(username), addresses.post_url(username, post.guid)
    try:
        if post.retracted_at is not None:
            done, subscribers = "retracted", retract_item(node=node, item_id=item_id)
        else:
            payload = entry_element(post, username, author_uri=f"xmpp:{settings.CHORUS_XMPP_JID.split('/', 1)[0]}")
            done, subscribers = "published", publish_item(node=node, item_id=item_id, payload=payload)
    except XmppSendError as error:
        again = outbox.failed(XmppPublication, post_id, lease=lease, attempts=attempts + 1, retry=True,
                              last_error=str(error)[:500])  # fmt: skip
        log.warning("XMPP publication of post %s failed (%s): %s", post_id, "tried again later" if again else "given up",
                    error)  # fmt: skip
        return "failed"
    outbox.succeeded(XmppPublication, post_id, lease=lease, last_error="", done_at=timezone.now())
    Microblog.objects.filter(pk=microblog.pk).update(xmpp_subscribers=len(subscribers))
    return done
