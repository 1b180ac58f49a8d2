"""Confirmed minutes never change: database triggers (see protokolle/immutability.py).

They are created anew after every migrate as well (apps.py), because SQLite drops
a table's triggers when a later migration rebuilds the table.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    from protokolle import immutability

    immutability.ensure(schema_editor.connection)


def backwards(apps, schema_editor):
    from protokolle import immutability

    immutability.drop(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("protokolle", "0003_workflow")]

    operations = [migrations.RunPython(forwards, backwards)]
