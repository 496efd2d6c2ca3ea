"""Identity moves from replies to accounts: state only, the table stays ``replies_identity``."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('replies', '0003_reply_rows_without_database_keys'),
        ('accounts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.CreateModel(
                    name='Identity',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('x', 'X (Twitter) @name'), ('fediverse', 'Mastodon / fediverse @user@host'), ('bluesky', 'Bluesky handle'), ('xmpp', 'XMPP address (JID)'), ('url', 'blog or profile URL')], max_length=16)),
                        ('value', models.CharField(help_text='normalized: lowercased handle, bare JID, normalized URL', max_length=2048)),
                        ('verified', models.BooleanField(default=False)),
                        ('verified_at', models.DateTimeField(blank=True, null=True)),
                        ('last_check_error', models.CharField(blank=True, max_length=500)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('code_hash', models.CharField(blank=True, max_length=64)),
                        ('code_sent_at', models.DateTimeField(blank=True, null=True)),
                        ('code_attempts', models.PositiveSmallIntegerField(default=0)),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='identities', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'replies_identity',
                        'constraints': [models.UniqueConstraint(fields=('user', 'kind', 'value'), name='one_identity_per_handle'), models.UniqueConstraint(condition=models.Q(('verified', True)), fields=('kind', 'value'), name='one_owner_per_verified_handle')],
                    },
                ),
        ]),
    ]
