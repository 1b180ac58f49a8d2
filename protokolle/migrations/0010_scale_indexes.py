"""Indexes for the archive at scale (issue 17, bench/archive), on both databases.

- ``search_entry_date_id`` (date, id): the search reads its 1,000 newest hits and
  pages older ones by keyset from this index (protokolle/search.py), instead of
  sorting every hit of a common word.
- ``result_task_due`` (due, id) over tasks only: the tasks page reads a page of
  tasks in due order without sorting every open task.

Unknown to the models, like the search vector of migration 0006: plain SQL that
PostgreSQL and SQLite both understand, so the model state (and makemigrations)
stay as they are.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("protokolle", "0009_archival_record")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX search_entry_date_id ON protokolle_searchentry (date, id)",
            "DROP INDEX IF EXISTS search_entry_date_id",
        ),
        migrations.RunSQL(
            "CREATE INDEX result_task_due ON protokolle_result (due, id) WHERE kind = 'task'",
            "DROP INDEX IF EXISTS result_task_due",
        ),
    ]
