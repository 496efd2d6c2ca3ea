"""Per-person timeline rows: which posts reach whom, and whether they were read.

Posts fan out on write to one row per subscriber. The merged timeline is then one index range scan
(``user, published, post``) however many sources a person follows, and read state has a natural home.

``Block``: an author, a source or a word the person never wants to see again (until they undo it); applied
when reading (``timelines.blocks``), so undoing it brings back what it hid.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class TimelineEntry(models.Model):
    """A post on a person's timeline. The fan-out writes one row per follower, so whatever the table checks or
    indexes is paid per follower per post. The database therefore checks no foreign key here (PostgreSQL runs a
    query per row and key at the commit: three per row, a fifth of its work for a pushed post in
    bench/websub.py), and it keeps only the indexes reads use (none on ``user`` alone: the unique constraint's
    first column serves; none on ``source`` alone: no query reads rows by source only). Rows still go with the
    person, source or post deleted through Django (``on_delete``; a source's go with its posts, every row's post
    being of the row's source); posts are not deleted anyway (retention and retractions empty them), and the
    fan-out takes the ids it writes from the rows it joins."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             db_constraint=False, db_index=False)  # fmt: skip
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+", db_constraint=False)
    source = models.ForeignKey("aggregator.Source", on_delete=models.DO_NOTHING, related_name="+",
                               db_constraint=False, db_index=False)  # fmt: skip
    published = models.DateTimeField(help_text="copied from the post: the timeline's sort key")
    is_read = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_timeline_entry_per_post")]
        indexes = [
            models.Index(fields=["user", "-published", "-post"], name="timeline_user_recent_idx"),
            models.Index(fields=["user", "source", "-published", "-post"], name="timeline_user_source_idx"),
            models.Index(fields=["user", "source"], name="timeline_unread_idx", condition=Q(is_read=False)),
        ]


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
        db_table = "replies_block"  # made by the replies app, before blocks were the timeline's
        constraints = [models.UniqueConstraint(fields=["user", "kind", "value"], name="one_block_per_value")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"


class SearchEntry(models.Model):
    """A post in the search index (``timelines.search``). The words themselves live beside it: a ``document``
    tsvector column with a GIN index on PostgreSQL, the FTS5 table ``timelines_searchtext`` on SQLite (both made
    by the migration, written with SQL by ``timelines.search.backends``)."""

    post = models.OneToOneField("aggregator.Post", on_delete=models.CASCADE, primary_key=True, related_name="+",
                                db_constraint=False)  # fmt: skip
    published = models.DateTimeField(help_text="copied from the post")
    lang = models.CharField(max_length=8, blank=True, help_text="the post's language (primary subtag), if known")


class Star(models.Model):
    """A post a person starred: kept forever (retention skips it), paged like the timeline by the post's time."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    post = models.ForeignKey("aggregator.Post", on_delete=models.CASCADE, related_name="+")
    published = models.DateTimeField(help_text="copied from the post: the sort key")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "post"], name="one_star_per_post")]
        indexes = [models.Index(fields=["user", "-published", "-post"], name="star_user_recent_idx")]


class ReadingPrefs(models.Model):
    """How a person reads their river, remembered across visits and devices. A person without a row reads
    with the defaults (``reading_prefs.prefs_for``)."""

    class View(models.TextChoices):
        EXPANDED = "expanded", "expanded"
        TITLES = "titles", "titles only"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True,
                                related_name="reading_prefs")  # fmt: skip
    view = models.CharField(max_length=8, choices=View.choices, default=View.EXPANDED)
    oldest_first = models.BooleanField(default=False)
    unread_only = models.BooleanField(default=False)
    read_on_move = models.BooleanField(default=True, help_text="moving on with j marks the post left behind read")
    read_on_scroll = models.BooleanField(default=False, help_text="a post scrolled past the top is marked read")
