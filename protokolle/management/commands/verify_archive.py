from django.core.management.base import BaseCommand, CommandError

from protokolle import pdf
from protokolle.models import ArchivedPdf


class Command(BaseCommand):
    help = "Re-hash every archived PDF; report each one that is missing or changed."

    def handle(self, *args, **options):
        problems = checked = 0
        copies = ArchivedPdf.objects.select_related("meeting__body").order_by("pk")
        for copy in copies.iterator():
            checked += 1
            problem = pdf.verify(copy)
            if problem:
                problems += 1
                self.stderr.write(
                    f"{problem}: {copy.file.name} (meeting {copy.meeting_id}, {copy.meeting}, "
                    f"expected SHA-256 {copy.sha256})"
                )
            elif options["verbosity"] > 1:
                self.stdout.write(f"ok: {copy.file.name} {copy.sha256}")
        if problems:
            raise CommandError(f"{problems} of {checked} archived PDF(s) are missing or changed")
        self.stdout.write(f"all {checked} archived PDF(s) are present and unchanged")
