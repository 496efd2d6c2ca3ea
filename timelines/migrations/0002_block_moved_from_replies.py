"""Block moves from replies to timelines: state only, the table stays ``replies_block``."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('replies', '0003_reply_rows_without_database_keys'),
        ('timelines', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='Block',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('author', 'author'), ('source', 'source'), ('word', 'word')], max_length=8)),
                        ('value', models.CharField(help_text='author: handle or URI; source: source id; word: casefolded', max_length=2048)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='blocks', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'replies_block',
                        'constraints': [models.UniqueConstraint(fields=('user', 'kind', 'value'), name='one_block_per_value')],
                    },
                ),
        ]),
    ]
