"""A person's identities on other networks, the replies found for them, and what they blocked.

- ``Identity``: a handle a person says is theirs. Only a verified identity is used for matching, and a verified
  ``(kind, value)`` belongs to one person only; an unverified one is shown as such.
- ``Reply``: one row per (person, post) that mentions or answers them; ``published`` is copied from the post so
  the replies view is one index range scan, as the timeline is.
- ``KnownPost``: the link and GUID of every stored post written under a verified identity, hashed and indexed,
  so a reply (``in_reply_to``) is matched to the person it answers without searching all posts.
- ``Block``: an author, a source or a word the person never wants to see again (until they undo it).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Identity(models.Model):
    class Kind(models.TextChoices):
        X = "x", "X (Twitter) @name"
        FEDIVERSE = "fediverse", "Mastodon / fediverse @user@host"
        BLUESKY = "bluesky", "Bluesky handle"
        XMPP = "xmpp", "XMPP address (JID)"
        URL = "url", "blog or profile URL"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=2048, help_text="normalized: lowercased handle, bare JID, normalized URL")
    verified = models.BooleanField(default=False)
    verified_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "value"], name="one_identity_per_handle"),
            models.UniqueConstraint(fields=["kind", "value"], name="one_owner_per_verified_handle",
                                    condition=Q(verified=True)),  # fmt: skip
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}{'' if self.verified else ' (unverified)'}"


class Reply(models.Model):
    class Reason(models.TextChoices):
        MENTION = "mention", "mentions you"
        REPLY = "reply", "answers your post"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")
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


class Block(models.Model):
    class Kind(models.TextChoices):
        AUTHOR = "author", "author"
        SOURCE = "source", "source"
        WORD = "word", "word"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    value = models.CharField(max_length=2048, help_text="author: handle or URI; source: source id; word: casefolded")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind", "value"], name="one_block_per_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"
