"""The replies found for a person, the posts they wrote that replies may answer, and how they hear of them.

- ``Reply``: one row per (person, post) that mentions or answers them; ``published`` is copied from the post so
  the replies view is one index range scan, as the timeline is.
- ``KnownPost``: the link and GUID of every stored post written under a verified identity, hashed and indexed,
  so a reply (``in_reply_to``) is matched to the person it answers without searching all posts.
- ``NotificationSettings``: how a person wants to hear of new replies (XMPP, email now or as a digest, none) and
  their quiet hours; ``Notification``: one row per reply to tell, made with the reply, whose ``sent_at`` is the
  marker that it was handled (sent, or dropped because blocked/retracted/turned off): never told twice.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Reply(models.Model):
    class Reason(models.TextChoices):
        MENTION = "mention", "mentions you"
        REPLY = "reply", "answers your post"

    id = models.BigAutoField(primary_key=True)
    # No database foreign keys, as on tracks.TrackMatch: ingest writes these rows in bulk with a statement that
    # checks the people (the posts are that very transaction's); deletes cascade through the ORM. No index of
    # its own on user either: ``one_reply_per_post`` (user, post) starts with it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False,
                             db_constraint=False)  # fmt: skip
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    published = models.DateTimeField(help_text="copied from the post: the sort key")
    reason = models.CharField(max_length=8, choices=Reason.choices, default=Reason.MENTION)
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_reply_per_post")]
        indexes = [
            models.Index(fields=["user", "-published", "-post"], name="reply_user_recent_idx"),
            models.Index(fields=["user"], name="reply_unread_idx", condition=Q(is_read=False)),
        ]


class KnownPost(models.Model):
    id = models.BigAutoField(primary_key=True)
    key_hash = models.CharField(max_length=40, help_text="sha1 of the post's url or guid")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key_hash", "user", "post"], name="one_known_post_key")]


class NotificationSettings(models.Model):
    class Method(models.TextChoices):
        NONE = "none", "no notifications"
        XMPP = "xmpp", "an XMPP chat message to my verified address"
        EMAIL = "email", "an email for each new reply"
        DIGEST = "digest", "a daily email digest"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="notification_settings")  # fmt: skip
    method = models.CharField(max_length=8, choices=Method.choices, default=Method.NONE)
    xmpp_jid = models.CharField(max_length=2048, blank=True, help_text="one of the person's verified JIDs; "
                                                                        "blank: the first verified one")  # fmt: skip
    time_zone = models.CharField(max_length=64, default="UTC")
    quiet_start = models.TimeField(null=True, blank=True, help_text="local time; held until quiet_end")
    quiet_end = models.TimeField(null=True, blank=True)
    digest_hour = models.PositiveSmallIntegerField(default=8, help_text="local hour the daily digest leaves")
    last_digest_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)


class Notification(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "", "not yet"
        SENT = "sent", "sent"
        BLOCKED = "blocked", "not sent: blocked"
        RETRACTED = "retracted", "not sent: the post is gone"
        OFF = "off", "not sent: turned off, or no address"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=8, choices=Reply.Reason.choices, default=Reply.Reason.MENTION)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True, help_text="a sender is on it (a lease)")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="handled: never sent again")
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default=Outcome.PENDING)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_notification_per_reply")]
        indexes = [models.Index(fields=["user", "created_at"], name="notification_pending_idx",
                                condition=Q(sent_at__isnull=True))]  # fmt: skip


class Destination(models.Model):
    """A place a person asked to be told things (an Apprise URL). ``url`` holds secrets (tokens, passwords):
    it is only ever handed to the sender; pages, the API and logs show ``masked``."""

    class Event(models.TextChoices):
        REPLY = "reply", "new replies and mentions"
        TRACK = "track", "track matches"
        SOURCE_FAILING = "source_failing", "a followed source failing for a day"
        IMPORT_DONE = "import_done", "a follow-list import finished"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    url = models.TextField()
    masked = models.CharField(max_length=500, help_text="the URL with its secrets hidden")
    host = models.CharField(max_length=255, blank=True, help_text="what is contacted, for per-host limits")
    events = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    failures = models.PositiveIntegerField(default=0, help_text="failed sends in a row")
    last_error = models.CharField(max_length=500, blank=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.CharField(max_length=500, blank=True)
    last_test_at = models.DateTimeField(null=True, blank=True)
    last_test_result = models.CharField(max_length=500, blank=True, help_text="'sent', or why not")

    class Meta:
        indexes = [models.Index(fields=["user"], name="destination_user_idx")]


class DestinationMessage(models.Model):
    """One thing to tell one destination. ``key`` makes an event told once per destination (a reply, a track
    match, a source's failure since its last success); ``due_at`` holds it through quiet hours and digests and
    moves on after a failed send (the back-off); ``sent_at`` marks it handled."""

    id = models.BigAutoField(primary_key=True)
    destination = models.ForeignKey(Destination, on_delete=models.CASCADE, related_name="messages")
    event = models.CharField(max_length=16)
    key = models.CharField(max_length=200)
    title = models.CharField(max_length=300)
    body = models.TextField()
    link = models.URLField(max_length=2048, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["destination", "key"], name="one_message_per_event")]
        indexes = [models.Index(fields=["due_at"], name="destination_message_due_idx",
                                condition=Q(sent_at__isnull=True))]  # fmt: skip
