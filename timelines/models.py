"""Per-person timeline rows: which posts reach whom, and whether they were read.

Posts fan out on write to one row per subscriber. The merged timeline is then one index range scan
(``user, published, post``) however many sources a person follows, and read state has a natural home.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class TimelineEntry(models.Model):
    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")
    source = models.ForeignKey("aggregator.Source", on_delete=models.CASCADE, related_name="+")
    published = models.DateTimeField(help_text="copied from the post: the timeline's sort key")
    is_read = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_timeline_entry_per_post")]
        indexes = [
            models.Index(fields=["user", "-published", "-post"], name="timeline_user_recent_idx"),
            models.Index(fields=["user", "source", "-published", "-post"], name="timeline_user_source_idx"),
            models.Index(fields=["user", "source"], name="timeline_unread_idx", condition=Q(is_read=False)),
        ]
