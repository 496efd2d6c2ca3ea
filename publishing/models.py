"""A person's microblog on this hub, and who outside it listens.

- ``Microblog``: the person's own ``Source`` (kind ``local``): their posts are stored as posts of it, through
  the same ingest as everything followed, so followers on this hub get them as they get any post.
- ``HubSubscription``: a remote subscriber of a person's feed (Chorus as a WebSub hub): its callback, secret,
  lease and the delivery it still owes; ``HubOwedPost``: the posts that delivery is to carry.
- ``ReceivedWebmention``, ``SentWebmention``, ``XmppPublication``: work owed to the world for one mention or
  post (``due_at``: owed from then; ``attempts``: failures so far, retried with back-off, see ``outbox``).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Microblog(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="microblog")  # fmt: skip
    source = models.OneToOneField("aggregator.Source", on_delete=models.CASCADE, related_name="microblog")
    created_at = models.DateTimeField(auto_now_add=True)
    xmpp_subscribers = models.PositiveIntegerField(default=0, help_text="JIDs subscribed to the person's XMPP "
                                                   "node, as its last publish or retraction found them")  # fmt: skip

    def __str__(self) -> str:
        return f"microblog of {self.user}"


class HubSubscription(models.Model):
    """One WebSub subscriber of one topic (a person's feed). Active once its intent was verified; ``due_at``
    says a delivery is owed (its posts: ``HubOwedPost``), retried with backoff."""

    class State(models.TextChoices):
        VERIFYING = "verifying", "checking the subscriber's intent"
        ACTIVE = "active", "active"

    microblog = models.ForeignKey(Microblog, on_delete=models.CASCADE, related_name="hub_subscriptions")
    callback = models.CharField(max_length=2048)
    callback_host = models.CharField(max_length=255, help_text="for the per-host cap")
    secret = models.CharField(max_length=200, blank=True)
    pending_secret = models.CharField(max_length=200, blank=True, help_text="asked for, not yet confirmed")
    pending_lease = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.VERIFYING)
    lease_seconds = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # deliveries: one content push owed at a time (the posts changed since the last one taken); its retries
    due_at = models.DateTimeField(null=True, blank=True, help_text="a delivery is owed from then")
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["microblog", "callback"], name="one_hub_subscription_per_callback")]
        indexes = [models.Index(fields=["due_at"], name="hub_delivery_due_idx", condition=Q(due_at__isnull=False)),
                   models.Index(fields=["callback_host"], name="hub_subscription_host_idx")]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.callback} ({self.state})"


class HubOwedPost(models.Model):
    """A post a subscriber has not been sent since it was written or deleted: the next delivery carries it (as
    it is then: an entry or a tombstone). A row is removed once a delivery that carried it was taken; a post
    changed again while its delivery is in flight has a newer row, which stays owed."""

    subscription = models.ForeignKey(HubSubscription, on_delete=models.CASCADE, related_name="owed_posts")
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"post {self.post_id} owed to {self.subscription_id}"


class ReceivedWebmention(models.Model):
    """Someone's page says it links to a person's page here. Checked in a worker (the source must link to the
    target); what it says is stored as a post of ``origin`` (one per source host), so matching makes it a reply."""

    class State(models.TextChoices):
        QUEUED = "queued", "waiting for its check"
        VERIFIED = "verified", "the source links here; stored"
        REFUSED = "refused", "the source does not link here"
        DELETED = "deleted", "the source is gone or no longer links here"

    source = models.CharField(max_length=2048)
    target = models.CharField(max_length=2048)
    source_host = models.CharField(max_length=255)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="webmentions")
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    origin = models.ForeignKey("aggregator.Source", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")  # fmt: skip
    last_error = models.CharField(max_length=500, blank=True)
    received_at = models.DateTimeField(auto_now=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="a check is owed from then (a lease while it runs)")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="checks that failed in a row (retried)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "target"], name="one_webmention_per_link")]
        indexes = [models.Index(fields=["due_at"], name="webmention_check_due_idx", condition=Q(due_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.state})"


class SentWebmention(models.Model):
    """One of a person's posts links to ``target``: the Webmention owed to it (sent again on deletion)."""

    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")
    target = models.CharField(max_length=2048)
    endpoint = models.CharField(max_length=2048, blank=True)
    status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="the endpoint's answer")
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="a send is owed from then (a lease while it runs)")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="sends that failed in a row (retried)")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "target"], name="one_sent_webmention_per_target")]
        indexes = [models.Index(fields=["due_at"], name="webmention_send_due_idx", condition=Q(due_at__isnull=False))]

    def __str__(self) -> str:
        return f"{self.post_id} -> {self.target}"


class XmppPublication(models.Model):
    """One of a person's posts as an item on their XMPP node: published from ``due_at`` (retracted, once the post
    is deleted); a failed session is retried with back-off."""

    post = models.OneToOneField("aggregator.Post", on_delete=models.CASCADE, primary_key=True, related_name="+")
    due_at = models.DateTimeField(null=True, blank=True, help_text="owed from then (a lease while it runs)")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="sessions that failed in a row (retried)")
    last_error = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["due_at"], name="xmpp_publication_due_idx", condition=Q(due_at__isnull=False))]

    def __str__(self) -> str:
        return f"XMPP item of post {self.post_id}"
