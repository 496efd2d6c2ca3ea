"""Sources, who follows them, and the posts they carry.

A Source is stored once per canonical address and fetched once for all of its subscribers. Its polling state
lives on it, with small behaviours in ``aggregator.ingest.scheduler``.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from aggregator.content.sanitize import safe_url


class Source(models.Model):
    class Kind(models.TextChoices):
        RSS = "rss", "RSS/Atom feed"
        XMPP = "xmpp", "XMPP microblog / PubSub node"
        X = "x", "X (Twitter) account over the X API"
        LOCAL = "local", "a person's microblog on this hub (never polled: its posts are stored as they are written)"

    class PushState(models.TextChoices):
        NONE = "", "no push"
        PENDING = "pending", "subscription pending"
        SUBSCRIBED = "subscribed", "subscribed"
        ERROR = "error", "push failing"

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
    # Sources read through a network's API (X) rather than a feed: who they are there, and where polling got to.
    remote_id = models.CharField(
        max_length=100, blank=True, help_text="the account's id on its network (X user id; @user@host for a feed)"
    )
    poll_cursor = models.CharField(max_length=100, blank=True, help_text="X: newest post id seen (since_id)")
    avatar_url = models.CharField(max_length=2048, blank=True, help_text="the account's picture, if known")
    # The picture Chorus shows for the source, learned after a poll (following/avatars.py): the first usable one
    # of the account's avatar, the feed's icon or logo, the site's icon links and its /favicon.ico.
    picture_url = models.CharField(max_length=2048, blank=True, help_text="'': none usable, a generated one shows")
    picture_checked_at = models.DateTimeField(null=True, blank=True, help_text="null: not looked for yet")

    # Push (XMPP PubSub): the node this source is pushed over, if any, and how that push path is doing.
    push_jid = models.CharField(max_length=1023, blank=True, help_text="PubSub service (a person's JID for PEP)")
    push_node = models.CharField(max_length=500, blank=True)
    push_state = models.CharField(max_length=12, choices=PushState.choices, blank=True, default=PushState.NONE)
    push_error = models.TextField(blank=True)
    push_state_at = models.DateTimeField(null=True, blank=True)
    last_push_at = models.DateTimeField(null=True, blank=True, help_text="last item pushed to the hub")
    history_synced_at = models.DateTimeField(
        null=True, blank=True, help_text="last fetch of the node's items; null: the listener fetches them next"
    )

    PICTURE_RECHECK = timedelta(days=7)  # a source's picture is looked for again this long after the last look

    class Meta:
        indexes = [
            models.Index(fields=["next_poll_at"], name="source_due_idx", condition=Q(next_poll_at__isnull=False)),
            models.Index(fields=["push_jid", "push_node"], name="source_push_idx", condition=~Q(push_jid="")),
        ]

    def __str__(self) -> str:
        return self.title or self.address

    @property
    def display_title(self) -> str:
        return self.title or self.address

    @property
    def has_push(self) -> bool:
        return bool(self.push_jid)

    def picture_due(self, now: datetime) -> bool:
        """The source's picture was never looked for, or not for ``PICTURE_RECHECK``; local sources have none."""
        checked = self.picture_checked_at
        return self.kind != self.Kind.LOCAL and (checked is None or checked <= now - self.PICTURE_RECHECK)

    @property
    def is_polled(self) -> bool:
        """A person's own microblog on this hub is stored as it is written, never fetched."""
        return self.kind != self.Kind.LOCAL


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
    """A label on a subscription; a subscription carries any number of them (not one folder per feed). A tag is
    one whatever its case: a person's tags keep the spelling first given (``subscriptions.spelled_as_before``)."""

    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [models.UniqueConstraint("subscription", Lower("name"), name="unique_tag_per_subscription_any_case")]
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
    language = models.CharField(max_length=35, blank=True, db_default="", help_text="as its feed says (BCP 47), if it does")

    class Meta:
        # guid and url lead their indexes: ingest looks them up with the source (equality on both, any order
        # serves), and the replies' thread view finds the post a reply answers by either alone, whatever its source
        constraints = [models.UniqueConstraint(fields=["guid", "source"], name="one_post_per_guid")]
        indexes = [
            models.Index(fields=["source", "-published", "-id"], name="post_source_recent_idx"),
            models.Index(fields=["url", "source"], name="post_url_source_idx"),
            models.Index(fields=["source", "content_hash"], name="post_source_hash_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.url or self.guid

    # Links as pages, feeds and APIs give them: ingest keeps only http(s) ones, and they are checked again here,
    # so a row written before a fix, by hand, or by a path that skipped ingest's checks links to no script.
    @property
    def shown_url(self) -> str:
        return safe_url(self.url)

    @property
    def shown_author_uri(self) -> str:
        return safe_url(self.author_uri, allow_xmpp=True)

    @property
    def shown_in_reply_to(self) -> str:
        """What the post answers as a link (http(s), or an XMPP item's URI), else "": ``in_reply_to`` itself is
        any identifier (an Atom ``tag:`` id, the guid of the post answered) and is matched as stored."""
        return safe_url(self.in_reply_to, allow_xmpp=True)


class FollowImport(models.Model):
    """A follow list (OPML, Mastodon CSV, X following.js) imported in the background; progress goes to the
    person's pages as ``import.progress`` events."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follow_imports")
    kind = models.CharField(max_length=16, help_text="opml, mastodon or x")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    body = models.BinaryField(blank=True, help_text="the uploaded file, kept until the import ends")
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    followed = models.JSONField(default=list, blank=True)
    already_followed = models.JSONField(default=list, blank=True)
    failed = models.JSONField(default=list, blank=True, help_text="[address, reason] pairs")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a running import's worker renews this; "
                                       "past it, the worker is taken for dead and the import is resumed")
    restarts = models.PositiveSmallIntegerField(default=0, help_text="times it was resumed after its worker died")
    queued_at = models.DateTimeField(default=timezone.now, help_text="when it was last queued; a sweep queues "
                                     "it again when no worker took it within a grace period (a lost message)")

    class Meta:
        constraints = [
            # one import under way per person: a second waits its turn instead of doubling the load
            models.UniqueConstraint(fields=["user"], condition=Q(status__in=["queued", "running"]),
                                    name="one_import_under_way_per_person"),
        ]
        indexes = [models.Index(fields=["queued_at"], name="import_queued_idx", condition=Q(status="queued"))]

    def __str__(self) -> str:
        return f"{self.kind} import of {self.user} ({self.status})"


class WebSubSubscription(models.Model):
    """The hub's push of one source (WebSub): one subscription for all its followers, with its own secret and
    unguessable callback path. The row exists from the moment a poll finds a hub; ``state`` says how it goes."""

    class State(models.TextChoices):
        OFF = "off", "off: CHORUS_PUBLIC_URL is not set, so hubs cannot reach Chorus"
        PENDING = "pending", "subscription pending"
        ACTIVE = "active", "active"
        DENIED = "denied", "denied by the hub"
        SILENT = "silent", "silent: polled normally until the hub delivers again"
        ERROR = "error", "failing"
        UNSUBSCRIBING = "unsubscribing", "unsubscribing"

    source = models.OneToOneField(Source, on_delete=models.CASCADE, related_name="websub")
    hub_url = models.CharField(max_length=2048)
    topic_url = models.CharField(max_length=2048)
    callback_token = models.CharField(max_length=64, unique=True)
    secret = models.CharField(max_length=128)
    mode = models.CharField(max_length=12, default="subscribe", help_text="what Chorus last asked the hub for")
    state = models.CharField(max_length=14, choices=State.choices, default=State.PENDING)
    reason = models.TextField(blank=True, help_text="why it is denied, silent or failing")
    state_at = models.DateTimeField(auto_now_add=True)
    requested_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="end of the lease the hub granted")
    next_action_at = models.DateTimeField(null=True, blank=True, help_text="renew, retry or give up then")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="failed requests in a row")
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0, help_text="deliveries refused: bad or missing signature")

    class Meta:
        indexes = [models.Index(fields=["next_action_at"], name="websub_due_idx",
                                condition=Q(next_action_at__isnull=False))]  # fmt: skip

    def __str__(self) -> str:
        return f"{self.topic_url} at {self.hub_url} ({self.state})"
