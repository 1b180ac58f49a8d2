from django.core.management.base import BaseCommand, CommandError

from protokolle.backup import BackupError, restore


class Command(BaseCommand):
    help = "Restore a backup (from the backup command) into an empty, migrated database."

    def add_arguments(self, parser):
        parser.add_argument("folder", help="the backup's folder")

    def handle(self, *args, folder, **options):
        try:
            manifest = restore(folder)
        except (BackupError, OSError) as error:
            raise CommandError(f"nothing restored: {error}") from error
        counts = ", ".join(f"{value} {name}" for name, value in manifest["counts"].items())
        self.stdout.write(f"restored {counts}; run verify_archive to check the archive")
