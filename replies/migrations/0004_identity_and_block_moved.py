"""Identity and Block leave the replies app's state (accounts and timelines own them now); no table changes."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('timelines', '0002_block_moved_from_replies'),
        ('accounts', '0002_identity_moved_from_replies'),
        ('replies', '0003_reply_rows_without_database_keys'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(state_operations=[
                migrations.RemoveField(
                    model_name='identity',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='Block',
                ),
                migrations.DeleteModel(
                    name='Identity',
                ),
        ]),
    ]
