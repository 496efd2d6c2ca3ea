"""A person's microblog on this hub, and who outside it listens.

- ``Microblog``: the person's own ``Source`` (kind ``local``): their posts are stored as posts of it, through
  the same ingest as everything followed, so followers on this hub get them as they get any post.
- ``HubSubscription``: a remote subscriber of a person's feed (Chorus as a WebSub hub): its callback, secret,
  lease and the deliveries it still owes.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Microblog(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="microblog")  # fmt: skip
    source = models.OneToOneField("aggregator.Source", on_delete=models.CASCADE, related_name="microblog")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"microblog of {self.user}"


class HubSubscription(models.Model):
    """One WebSub subscriber of one topic (a person's feed). Active once its intent was verified; ``pending``
    carries the deliveries it has not taken yet (retried with backoff)."""

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
    # deliveries: one content push owed at a time (the feed's newest entries as they are then); its retries
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
