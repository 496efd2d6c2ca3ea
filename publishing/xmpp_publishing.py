"""A person's posts on XMPP: each post is an XEP-0277 item (its Atom entry, id = the post's slug) on the hub
account's node for the person (``addresses.xmpp_node``), retracted when the post is deleted; the person's feed
names the node, so hubs that follow by XMPP get pushes."""

from django.conf import settings

from aggregator.models import Post
from aggregator.networks.xmpp.publish import publish_item, retract_item
from publishing import addresses
from publishing.feed import entry_element
from publishing.models import Microblog


def enabled() -> bool:
    return bool(settings.CHORUS_XMPP_JID)


def publish_post(*, post_id: int) -> str:
    """Publish or retract the post's item; returns what was done. Raises ``XmppSendError`` (the task logs it)."""
    post = Post.objects.filter(pk=post_id).first()
    microblog = None if post is None else Microblog.objects.filter(source_id=post.source_id).select_related(
        "user").first()  # fmt: skip
    if microblog is None or not enabled():
        return ""
    username = microblog.user.get_username()
    node = addresses.xmpp_node(username)
    if post.retracted_at is not None:
        retract_item(node=node, item_id=post.guid)
        return "retracted"
    publish_item(node=node, item_id=post.guid, payload=entry_element(post, username))
    return "published"
