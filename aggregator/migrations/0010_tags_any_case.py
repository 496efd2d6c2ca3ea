"""Tags are one whatever their case: a person's "Tech" and "tech" become the spelling they gave first (the
oldest row's), a subscription carrying both keeps one, and the database then refuses a second case of a tag."""

import django.db.models.functions.text
from django.db import migrations, models


def merge_tags_differing_in_case(apps, schema_editor):
    SubscriptionTag = apps.get_model("aggregator", "SubscriptionTag")
    first: dict[tuple[int, str], str] = {}  # (person, folded name) -> the spelling given first
    kept: set[tuple[int, str]] = set()  # (subscription, folded name) already carried
    rows = SubscriptionTag.objects.order_by("id").values_list("id", "subscription_id", "subscription__user_id", "name")
    duplicates, renames = [], {}
    for pk, subscription_id, user_id, name in rows.iterator(chunk_size=2000):
        folded = name.casefold()
        spelling = first.setdefault((user_id, folded), name)
        if (subscription_id, folded) in kept:
            duplicates.append(pk)
            continue
        kept.add((subscription_id, folded))
        if name != spelling:
            renames.setdefault(spelling, []).append(pk)
    for start in range(0, len(duplicates), 1000):
        SubscriptionTag.objects.filter(pk__in=duplicates[start:start + 1000]).delete()
    for spelling, ids in renames.items():
        SubscriptionTag.objects.filter(pk__in=ids).update(name=spelling)


class Migration(migrations.Migration):

    dependencies = [
        ("aggregator", "0009_post_language"),
    ]

    operations = [
        migrations.RunPython(merge_tags_differing_in_case, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="subscriptiontag",
            name="unique_tag_per_subscription",
        ),
        migrations.AddConstraint(
            model_name="subscriptiontag",
            constraint=models.UniqueConstraint(models.F("subscription"), django.db.models.functions.text.Lower("name"),
                                               name="unique_tag_per_subscription_any_case"),
        ),
    ]
