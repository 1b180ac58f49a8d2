"""The archive at scale, second part (issue 17, bench/archive).

- ``meeting_date_number`` (date, number): the archive list reads a page of
  confirmed minutes newest first from this index instead of sorting all of them.
- On PostgreSQL, statistics on ``upper(people)`` of the search entries: the person
  filter of the search (``people__icontains``) had no statistics, so PostgreSQL
  took it for a rare match (34 rows instead of 101,605) and sorted every hit of a
  common word instead of reading the newest ones from ``search_entry_date_id``:
  1.15 s against 12 ms.

Unknown to the models, like the indexes of migration 0010.
"""

from django.db import migrations

STATISTICS = "search_entry_people_upper"


def create_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {STATISTICS} "
            "ON (upper(people)) FROM protokolle_searchentry"
        )


def drop_statistics(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {STATISTICS}")


class Migration(migrations.Migration):
    dependencies = [("protokolle", "0014_invitee_mail_state")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX meeting_date_number ON protokolle_meeting (date, number)",
            "DROP INDEX IF EXISTS meeting_date_number",
        ),
        migrations.RunPython(create_statistics, drop_statistics),
    ]
