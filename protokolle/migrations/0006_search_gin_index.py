"""The German full-text index of the archive search, on PostgreSQL.

An expression index: the search filters on exactly this expression (see
protokolle/search.py), so the planner uses it. SQLite searches without it.
"""

from django.db import migrations

CREATE = (
    "CREATE INDEX search_entry_text_german ON protokolle_searchentry "
    "USING gin (to_tsvector('german'::regconfig, COALESCE(text, '')))"
)
DROP = "DROP INDEX IF EXISTS search_entry_text_german"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("protokolle", "0005_search_and_tasks")]

    operations = [migrations.RunPython(forwards, backwards)]
