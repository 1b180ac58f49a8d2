from django.core.management.base import BaseCommand, CommandError

from protokolle import workflow


class Command(BaseCommand):
    help = (
        "Confirm circulated minutes whose deadline for confirmation by circulation passed "
        "without an objection (for cron; running it again changes nothing more)."
    )

    def handle(self, *args, **options):
        try:
            confirmed, objected = workflow.close_circulations()
        except workflow.WorkflowError as error:  # e.g. no seal certificate configured
            raise CommandError(str(error)) from error
        for meeting in confirmed:
            self.stdout.write(f"confirmed: {meeting} (id {meeting.pk})")
        for meeting in objected:
            self.stdout.write(f"not confirmed, objections: {meeting} (id {meeting.pk})")
        self.stdout.write(f"{len(confirmed)} confirmed, {len(objected)} with objections")
