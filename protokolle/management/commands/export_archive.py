import os
import sys

from django.core.management.base import BaseCommand, CommandError

from protokolle import archive
from protokolle.models import Body


class Command(BaseCommand):
    help = (
        "Write a body's confirmed minutes of one year to a ZIP: the stored PDFs, their "
        "werkstatt-protokoll/1 documents and a manifest (CSV and JSON) with every SHA-256."
    )

    def add_arguments(self, parser):
        parser.add_argument("--body", required=True, help="the body's exact name")
        parser.add_argument("--year", type=int, help="only minutes of this year")
        parser.add_argument("-o", "--output", required=True, help="the ZIP file to write")

    def handle(self, *args, body, year, output, **options):
        try:
            found = Body.objects.get(name=body)
        except Body.DoesNotExist as exc:
            names = ", ".join(Body.objects.values_list("name", flat=True)) or "none"
            raise CommandError(f"there is no body named {body!r} (bodies: {names})") from exc
        meetings = archive.confirmed_meetings(body=found, year=year)
        if not meetings.exists():
            raise CommandError(f"{body} has no confirmed minutes" + (f" in {year}" if year else ""))

        def progress(index, total, meeting):
            self.stderr.write(f"[{index}/{total}] {meeting}")
            sys.stderr.flush()

        partial = f"{output}.part"
        try:
            with open(partial, "wb") as target:
                rows = archive.write_zip(meetings, target, progress)
            os.replace(partial, output)  # no half-written ZIP under the real name
        except archive.ArchiveError as error:
            raise CommandError(str(error)) from error
        except OSError as exc:
            raise CommandError(f"{output}: {exc.strerror}") from exc
        finally:
            if os.path.exists(partial):
                os.remove(partial)
        self.stdout.write(f"wrote {output}: {len(rows)} files, manifest.csv and manifest.json")
