import sys

from django.core.management.base import BaseCommand, CommandError

from protokolle import exchange, pdf, workflow


class Command(BaseCommand):
    help = (
        "Import one meeting's minutes from a werkstatt-protokoll/1 JSON file, or from one of "
        "our PDFs, which carry that document and the attachments' files ('-' reads standard "
        "input)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="path of the JSON or PDF file, or - for standard input")

    def handle(self, *args, file, **options):
        try:
            if file == "-":
                data = sys.stdin.buffer.read()
            else:
                with open(file, "rb") as handle:
                    data = handle.read()
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}") from exc
        try:
            files = None
            if data.startswith(b"%PDF-"):
                # The attachments' files travel in the PDF beside the document.
                files = pdf.embedded_files(data)
                data = pdf.embedded_document(data)
            meeting = workflow.import_minutes(exchange.parse(data), files=files)
        except workflow.WorkflowError as error:
            raise CommandError(f"{file}: {error}; nothing imported") from error
        except exchange.DocumentError as error:
            for problem in error.problems:
                self.stderr.write(problem)
            raise CommandError(
                f"{file}: nothing imported ({len(error.problems)} problem(s))"
            ) from error
        self.stdout.write(f"imported meeting {meeting.pk}")
