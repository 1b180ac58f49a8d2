from django.core.management.base import BaseCommand, CommandError

from protokolle.backup import BackupError, backup


class Command(BaseCommand):
    help = "Write a portable backup: the database as JSON, every stored file, a SHA-256 manifest."

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", required=True, help="a new or empty folder")

    def handle(self, *args, output, **options):
        try:
            manifest = backup(output)
        except (BackupError, OSError) as error:
            raise CommandError(str(error)) from error
        counts = ", ".join(f"{value} {name}" for name, value in manifest["counts"].items())
        self.stdout.write(f"backup written to {output}: {counts}, {len(manifest['files'])} files")
