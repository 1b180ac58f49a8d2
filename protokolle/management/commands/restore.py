from django.core.management.base import BaseCommand, CommandError

from protokolle.backup import BackupError, restore


class Command(BaseCommand):
    help = (
        "Restore a backup (from the backup command) into an empty, migrated database. "
        "The backup's signature, every file's SHA-256 and the archive's hashes are checked "
        "first; a backup that does not pass is refused and nothing is written."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", help="the backup's folder")
        parser.add_argument(
            "--trust-unsigned",
            action="store_true",
            help=(
                "accept a backup without a signature (made before backups were signed); "
                "its hashes are still checked, a signature that is there must still match"
            ),
        )

    def handle(self, *args, folder, trust_unsigned, **options):
        try:
            manifest = restore(folder, trust_unsigned=trust_unsigned)
        except (BackupError, OSError) as error:
            raise CommandError(f"nothing restored: {error}") from error
        if "signature" not in manifest:
            self.stderr.write("restored an unsigned backup (--trust-unsigned)")
        counts = ", ".join(f"{value} {name}" for name, value in manifest["counts"].items())
        self.stdout.write(f"restored {counts}; run verify_archive to check the archive")
