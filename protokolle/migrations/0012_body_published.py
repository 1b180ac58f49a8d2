from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("protokolle", "0011_quorum"),
    ]

    operations = [
        migrations.AddField(
            model_name="body",
            name="published",
            field=models.BooleanField(
                default=False,
                help_text=(
                    "Show the public version of confirmed minutes and the upcoming meetings "
                    "on the public pages, in OParl and in the feeds, without login."
                ),
                verbose_name="publicly accessible",
            ),
        ),
        migrations.AddField(
            model_name="body",
            name="published_changed_at",
            field=models.DateTimeField(
                blank=True, editable=False, null=True, verbose_name="publication changed at"
            ),
        ),
    ]
