"""TrackMatch + TrackHit -> one TrackMatch row per (track, post), step 2 (see 0002): the hits table, filled,
becomes TrackMatch, without database foreign keys (see the model)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    dependencies = [
        ("aggregator", "0004_follow_import_lease"),
        ("tracks", "0002_one_row_per_track_and_post"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="trackhit", name="one_hit_per_track"),
        migrations.RemoveField(model_name="trackhit", name="match"),
        migrations.DeleteModel(name="TrackMatch"),
        migrations.RenameModel(old_name="TrackHit", new_name="TrackMatch"),
        migrations.AlterField(model_name="trackmatch", name="track", field=models.ForeignKey(
            db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
            related_name="matches", to="tracks.track")),
        migrations.AlterField(model_name="trackmatch", name="user", field=models.ForeignKey(
            db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+",
            to=settings.AUTH_USER_MODEL)),
        migrations.AlterField(model_name="trackmatch", name="post", field=models.ForeignKey(
            db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="+",
            to="aggregator.post")),
        migrations.AlterField(model_name="trackmatch", name="published",
                              field=models.DateTimeField(help_text="copied from the post: the sort key")),
        migrations.AlterField(model_name="trackmatch", name="first", field=models.BooleanField(
            help_text="the one row of this (person, post) their river of all tracks shows")),
        migrations.AddConstraint(model_name="trackmatch", constraint=models.UniqueConstraint(
            fields=("track", "published", "post"), name="one_match_per_track_and_post")),
        migrations.AddIndex(model_name="trackmatch", index=models.Index(
            fields=["user", "-published", "-post"], name="trackmatch_user_recent_idx")),
        migrations.AddIndex(model_name="trackmatch", index=models.Index(
            condition=Q(is_read=False), fields=["user"], name="trackmatch_unread_idx")),
    ]
