"""What people track, and the posts that matched.

- ``Track``: a person's saved words, hashtags or phrases (``query`` as typed, ``terms`` normalized, see text.py)
  and its ``key_token``, indexed: matching asks for the tracks whose key token is in a batch of posts.
- ``TrackMatch``: one row per (track, post) that matched, with the read state (see the class).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Track(models.Model):
    class Alert(models.TextChoices):
        EACH = "each", "each match"
        HOURLY = "hourly", "an hourly digest"
        DAILY = "daily", "a daily digest"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracks")
    query = models.CharField(max_length=200, help_text="as the person typed it")
    normalized = models.CharField(max_length=1000, help_text="the terms, normalized: one track per person each")
    terms = models.JSONField(help_text='every term is required: ["#tag"] or a list of consecutive words')
    key_token = models.CharField(max_length=101, help_text="a token every matching post contains")
    alert = models.CharField(max_length=8, choices=Alert.choices, default=Alert.EACH,
                             help_text="how its matches reach the person's notification destinations")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "normalized"], name="one_track_per_query")]
        indexes = [models.Index(fields=["key_token"], name="track_key_token_idx")]

    def __str__(self) -> str:
        return self.query


class TrackMatch(models.Model):
    """One row per (track, post) that matched, with the read state. ``user`` (the track's owner) and
    ``published`` (the post's) are copied so a track view and the person's river are one index range scan each,
    as the timeline is. ``first`` marks one row per (person, post), that of the person's lowest matching track id:
    the river of all their tracks reads only those, so a post two of their tracks matched shows once.

    No database foreign keys (``db_constraint=False``): these rows are written in bulk inside every ingest
    batch, where the deferred key checks cost as much as the rows (the tracks, people and posts referenced are
    read by the very statement that writes the rows; deletes still cascade, through the ORM)."""

    id = models.BigAutoField(primary_key=True)
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="matches", db_index=False,
                              db_constraint=False)  # fmt: skip
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False,
                             db_constraint=False)  # fmt: skip
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    published = models.DateTimeField(help_text="copied from the post: the sort key")
    is_read = models.BooleanField(default=False)
    first = models.BooleanField(help_text="the one row of this (person, post) their river of all tracks shows")

    class Meta:
        # (track, post) is unique; ``published`` in the middle (one value per post) makes the same index a
        # track view's range scan (read backwards, newest first): one index fewer to write per match
        constraints = [models.UniqueConstraint(fields=["track", "published", "post"], name="one_match_per_track_and_post")]
        indexes = [
            models.Index(fields=["user", "-published", "-post"], name="trackmatch_user_recent_idx"),
            models.Index(fields=["user"], name="trackmatch_unread_idx", condition=Q(is_read=False)),
        ]
