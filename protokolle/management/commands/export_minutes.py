import sys

from django.core.management.base import BaseCommand, CommandError

from protokolle import exchange, pdf
from protokolle.models import ArchivedPdf, Meeting


class Command(BaseCommand):
    help = "Export one meeting's minutes: the werkstatt-protokoll/1 document, the PDF or the HTML."

    def add_arguments(self, parser):
        parser.add_argument("meeting", type=int, help="the meeting's id")
        parser.add_argument("--format", choices=["json", "pdf", "html"], default="json")
        parser.add_argument(
            "--public",
            action="store_true",
            help="the public version: without non-public agenda items",
        )
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, meeting, format, public, output, **options):
        try:
            loaded = Meeting.objects.for_minutes().get(pk=meeting)
        except Meeting.DoesNotExist as exc:
            raise CommandError(f"there is no meeting with id {meeting}") from exc
        if format == "json":
            data = exchange.dumps(exchange.export_document(loaded, public_only=public))
            data = data.encode("utf-8")
        elif format == "html":
            data = pdf.render_html(loaded, public_only=public).encode("utf-8")
        else:
            try:
                data = self.pdf(loaded, public)
            except pdf.RenderError as error:
                raise CommandError(str(error)) from error
        if output:
            try:
                with open(output, "wb") as handle:
                    handle.write(data)
            except OSError as exc:
                raise CommandError(f"{output}: {exc.strerror}") from exc
        elif format == "pdf":
            sys.stdout.buffer.write(data)
        else:
            self.stdout.write(data.decode("utf-8"), ending="")

    def pdf(self, meeting, public):
        """Confirmed minutes: the stored archival copy, never a new rendering.

        Copies that were never stored (their render failed after the confirmation)
        are rendered and stored first, as the download does.
        """
        if not meeting.is_confirmed:
            return pdf.render_pdf(meeting, public_only=public)
        variant = ArchivedPdf.Variant.PUBLIC if public else ArchivedPdf.Variant.MEMBERS
        copies = pdf.ensure_archived(meeting)
        copy = next((c for c in copies if c.variant == variant), None)
        if copy is None:
            raise CommandError(f"meeting {meeting.pk} has no archived PDF ({variant})")
        with copy.file.open("rb") as handle:
            return handle.read()
