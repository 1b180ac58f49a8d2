from django.core.management.base import BaseCommand, CommandError

from protokolle import exchange
from protokolle.models import Meeting


class Command(BaseCommand):
    help = "Export one meeting's minutes as a werkstatt-protokoll/1 document."

    def add_arguments(self, parser):
        parser.add_argument("meeting", type=int, help="the meeting's id")
        parser.add_argument("--format", choices=["json"], default="json")
        parser.add_argument("-o", "--output", help="file to write (default: standard output)")

    def handle(self, *args, meeting, output, **options):
        try:
            loaded = exchange.meeting_for_export(meeting)
        except Meeting.DoesNotExist as exc:
            raise CommandError(f"there is no meeting with id {meeting}") from exc
        text = exchange.dumps(exchange.export_document(loaded))
        if output:
            try:
                with open(output, "w", encoding="utf-8") as handle:
                    handle.write(text)
            except OSError as exc:
                raise CommandError(f"{output}: {exc.strerror}") from exc
        else:
            self.stdout.write(text, ending="")
