"""TrackMatch (person, post) + TrackHit (track, match) become one TrackMatch row per (track, post), step 1:
each hit gets its match's person, post, date and read state; ``first`` goes to the hit of the lowest track id
of its match. Step 2 (0003, its own transaction: PostgreSQL refuses to alter a table with pending deferred key
checks from these updates) drops the old table and keys and renames."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Exists, OuterRef, Subquery


def hits_to_rows(apps, schema_editor):
    TrackHit = apps.get_model("tracks", "TrackHit")  # noqa: N806
    TrackMatch = apps.get_model("tracks", "TrackMatch")  # noqa: N806
    if schema_editor.connection.vendor == "postgresql":  # key checks now, not at commit: the indexes this
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # migration makes after us need none pending
    match = TrackMatch.objects.filter(pk=OuterRef("match_id"))
    TrackHit.objects.update(
        user_id=Subquery(match.values("user_id")[:1]), post_id=Subquery(match.values("post_id")[:1]),
        published=Subquery(match.values("published")[:1]), is_read=Subquery(match.values("is_read")[:1]),
    )  # fmt: skip
    lower = TrackHit.objects.filter(match_id=OuterRef("match_id"), track_id__lt=OuterRef("track_id"))
    TrackHit.objects.update(first=~Exists(lower))


class Migration(migrations.Migration):
    dependencies = [
        ("aggregator", "0004_follow_import_lease"),
        ("tracks", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveField(model_name="trackmatch", name="tracks"),
        migrations.RemoveIndex(model_name="trackmatch", name="trackmatch_user_recent_idx"),
        migrations.RemoveIndex(model_name="trackmatch", name="trackmatch_unread_idx"),
        migrations.AddField(model_name="trackhit", name="user", field=models.ForeignKey(
            null=True, db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE,
            related_name="+", to=settings.AUTH_USER_MODEL)),
        migrations.AddField(model_name="trackhit", name="post", field=models.ForeignKey(
            null=True, db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name="+",
            to="aggregator.post")),
        migrations.AddField(model_name="trackhit", name="published", field=models.DateTimeField(null=True)),
        migrations.AddField(model_name="trackhit", name="is_read", field=models.BooleanField(default=False)),
        migrations.AddField(model_name="trackhit", name="first", field=models.BooleanField(default=False)),
        migrations.RunPython(hits_to_rows, migrations.RunPython.noop),
    ]
