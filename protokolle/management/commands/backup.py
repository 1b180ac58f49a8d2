from django.core.management.base import BaseCommand, CommandError

from protokolle.backup import BackupError, backup, backup_key, key_source


class Command(BaseCommand):
    help = (
        "Write a portable backup: the database as JSON, every stored file, a SHA-256 manifest "
        "signed with the backup key (DJANGO_BACKUP_KEY, else SECRET_KEY)."
    )

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True, help="a new or empty folder")

    def handle(self, *args, output, **options):
        try:
            manifest = backup(output)
        except (BackupError, OSError) as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{value} {name}" for name, value in manifest["counts"].items())
        self.stdout.write(
            f"backup written to {output}: {counts}, {len(manifest['files'])} files; "
            f"signed with {key_source()}, which restore needs"
        )
        if backup_key().startswith("django-insecure"):
            self.stderr.write(
                "warning: the backup key is the development SECRET_KEY, which anyone can "
                "read; set DJANGO_BACKUP_KEY (or DJANGO_SECRET_KEY) for backups that matter"
            )
