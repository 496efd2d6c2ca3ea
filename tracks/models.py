"""What people track, and the posts that matched.

- ``Track``: a person's saved words, hashtags or phrases (``query`` as typed, ``terms`` normalized, see text.py)
  and its ``key_token``, indexed: matching asks for the tracks whose key token is in a batch of posts.
- ``TrackMatch``: one row per (person, post) that matched any of their tracks, with the read state;
  ``published`` is copied from the post so a track view is one index range scan, as the timeline is.
- ``TrackHit``: which of the person's tracks a match came from (a post can match several).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Track(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tracks")
    query = models.CharField(max_length=200, help_text="as the person typed it")
    normalized = models.CharField(max_length=1000, help_text="the terms, normalized: one track per person each")
    terms = models.JSONField(help_text='every term is required: ["#tag"] or a list of consecutive words')
    key_token = models.CharField(max_length=101, help_text="a token every matching post contains")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "normalized"], name="one_track_per_query")]
        indexes = [models.Index(fields=["key_token"], name="track_key_token_idx")]

    def __str__(self) -> str:
        return self.query


class TrackMatch(models.Model):
    id = models.BigAutoField(primary_key=True)
    # no index of its own on user: ``one_track_match_per_post`` (user, post) starts with it
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")
    published = models.DateTimeField(help_text="copied from the post: the sort key")
    is_read = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    tracks = models.ManyToManyField(Track, through="TrackHit", related_name="matches")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_track_match_per_post")]
        indexes = [
            models.Index(fields=["user", "-published", "-post"], name="trackmatch_user_recent_idx"),
            models.Index(fields=["user"], name="trackmatch_unread_idx", condition=Q(is_read=False)),
        ]


class TrackHit(models.Model):
    id = models.BigAutoField(primary_key=True)
    # no index of its own on track: ``one_hit_per_track`` (track, match) starts with it
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="hits", db_index=False)
    match = models.ForeignKey(TrackMatch, on_delete=models.CASCADE, related_name="hits")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["track", "match"], name="one_hit_per_track")]
