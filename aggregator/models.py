"""Sources, who follows them, and the posts they carry.

A Source is stored once per canonical address and fetched once for all of its subscribers. Its polling state
lives on it, with small behaviours in ``aggregator.scheduler``.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Source(models.Model):
    class Kind(models.TextChoices):
        RSS = "rss", "RSS/Atom feed"

    class Status(models.TextChoices):
        NEW = "new", "waiting for its first fetch"
        OK = "ok", "ok"
        ERROR = "error", "failing"
        GONE = "gone", "gone (410): no longer polled"

    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RSS)
    address = models.CharField(max_length=2048, unique=True, help_text="canonical address, one row per source")
    url = models.CharField(max_length=2048, help_text="where the next fetch goes")
    title = models.CharField(max_length=500, blank=True)
    site_url = models.CharField(max_length=2048, blank=True)
    description = models.TextField(blank=True)

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.NEW)
    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    last_fetch_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    next_poll_at = models.DateTimeField(null=True, blank=True, help_text="null: not polled (gone)")
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a worker holds this source until then")
    error_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    pending_redirect_url = models.CharField(max_length=2048, blank=True)
    pending_redirect_count = models.PositiveSmallIntegerField(default=0)
    posts_per_day = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["next_poll_at"], name="source_due_idx", condition=Q(next_poll_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.title or self.address

    @property
    def display_title(self) -> str:
        return self.title or self.address


class Subscription(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="subscriptions")
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="subscriptions")
    title = models.CharField(max_length=500, blank=True, help_text="the person's own name for the source")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "source"], name="one_subscription_per_source")]

    def __str__(self) -> str:
        return f"{self.user} -> {self.source}"

    @property
    def display_title(self) -> str:
        return self.title or self.source.display_title


class SubscriptionTag(models.Model):
    """A label on a subscription; a subscription carries any number of them (not one folder per feed)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["subscription", "name"], name="unique_tag_per_subscription")]
        indexes = [models.Index(fields=["name"])]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """One entry of one source. ``(source, guid)`` is unique: the same entry arriving twice is one post."""

    id = models.BigAutoField(primary_key=True)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="posts")
    guid = models.CharField(max_length=512)
    url = models.CharField(max_length=2048, blank=True)
    title = models.CharField(max_length=1000, blank=True)
    author_name = models.CharField(max_length=300, blank=True)
    author_handle = models.CharField(max_length=300, blank=True)
    author_uri = models.CharField(max_length=2048, blank=True)
    content_html = models.TextField(blank=True)
    text = models.TextField(blank=True, help_text="plain text of the content, for search and mentions")
    in_reply_to = models.CharField(max_length=2048, blank=True)
    published = models.DateTimeField()
    updated = models.DateTimeField(null=True, blank=True)
    fetched_at = models.DateTimeField()
    content_hash = models.CharField(max_length=40, help_text="detects a changed entry")
    retracted_at = models.DateTimeField(null=True, blank=True, help_text="tombstone: never comes back")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "guid"], name="one_post_per_guid")]
        indexes = [
            models.Index(fields=["source", "-published", "-id"], name="post_source_recent_idx"),
            models.Index(fields=["source", "url"], name="post_source_url_idx"),
            models.Index(fields=["source", "content_hash"], name="post_source_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.url or self.guid
