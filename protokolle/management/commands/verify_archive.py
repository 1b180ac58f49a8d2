from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from protokolle import pdf
from protokolle.models import ArchivedPdf, Meeting


def _has(variant):
    return Exists(ArchivedPdf.objects.filter(meeting=OuterRef("pk"), variant=variant))


# The worker stores the copies within minutes of the confirmation, retries included
# (protokolle/jobs.py): until then they are being made, afterwards missing.
BEING_MADE = timedelta(hours=1)


def being_made(meeting, now):
    """Confirmed less than ``BEING_MADE`` ago: the worker may still be at it."""
    return meeting.confirmed_at is not None and now - meeting.confirmed_at < BEING_MADE


def without_copies():
    """Confirmed meetings that lack an archival copy: the members' always, the public
    one for public meetings. The worker is still making them, or their render failed."""
    return (
        Meeting.objects.filter(status=Meeting.Status.CONFIRMED)
        .filter(
            ~_has(ArchivedPdf.Variant.MEMBERS) | Q(public=True) & ~_has(ArchivedPdf.Variant.PUBLIC)
        )
        .select_related("body")
        .prefetch_related("archived_pdfs")
        .order_by("pk")
    )


class Command(BaseCommand):
    help = (
        "Re-hash every archived PDF and check its seal and embedded attachments; report each "
        "one that is missing or changed, and confirmed minutes that lack their archival "
        "copies an hour after their confirmation (--repair renders those); copies the "
        "worker is still making are listed as such."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--repair",
            action="store_true",
            help=(
                "render and store the archival copies that confirmed minutes lack "
                "(without it, nothing is written); missing or changed files stay problems"
            ),
        )

    def handle(self, *args, repair, **options):
        damaged = checked = unsealed = 0
        copies = ArchivedPdf.objects.select_related("meeting__body").order_by("pk")
        for copy in copies.iterator():
            checked += 1
            unsealed += not copy.sealed_by
            problem = pdf.verify(copy)
            if problem:
                damaged += 1
                self.stderr.write(
                    f"{problem}: {copy.file.name} (meeting {copy.meeting_id}, {copy.meeting}, "
                    f"expected SHA-256 {copy.sha256})"
                )
            elif options["verbosity"] > 1:
                self.stdout.write(f"ok: {copy.file.name} {copy.sha256}")
        lacking = failed = repaired = pending = 0
        now = timezone.now()
        for meeting in list(without_copies()):  # few, and written to while walked
            stored = {copy.variant for copy in meeting.archived_pdfs.all()}
            absent = ", ".join(v for v in pdf.variants(meeting) if v not in stored)
            if being_made(meeting, now):
                pending += 1
                self.stdout.write(
                    f"being made: meeting {meeting.pk}, {meeting}: confirmed at "
                    f"{timezone.localtime(meeting.confirmed_at):%d.%m.%Y %H:%M}, "
                    f"the worker stores its archived PDF ({absent})"
                )
                continue
            what = f"meeting {meeting.pk}, {meeting}: confirmed without its archived PDF ({absent})"
            if not repair:
                lacking += 1
                self.stderr.write(f"missing: {what}")
                continue
            try:
                made = pdf.ensure_archived(meeting)
            except pdf.RenderError as error:
                failed += 1
                self.stderr.write(f"not repaired: {what}: {error}")
                continue
            repaired += 1
            for copy in made:
                if copy.variant not in stored:
                    checked += 1
                    self.stdout.write(f"repaired: {copy.file.name} {copy.sha256}")
        if repaired:
            self.stdout.write(f"rendered the missing archived PDFs of {repaired} confirmed minutes")
        problems = []
        if damaged:
            problems.append(
                f"{damaged} of {checked} archived PDF(s) are missing, changed or wrongly sealed"
            )
        if lacking:
            problems.append(
                f"{lacking} confirmed minutes lack archived PDFs "
                "(verify_archive --repair renders and stores them)"
            )
        if failed:
            problems.append(
                f"the archived PDFs of {failed} confirmed minutes could not be rendered"
            )
        if pending:
            self.stdout.write(
                f"the archived PDFs of {pending} minutes confirmed within the hour are being "
                "made (is `manage.py db_worker` running?)"
            )
        if unsealed:
            self.stdout.write(
                f"{unsealed} archived PDF(s) were stored before archives were sealed: "
                "checked by their SHA-256 only"
            )
        if problems:
            raise CommandError("; ".join(problems))
        self.stdout.write(f"all {checked} archived PDF(s) are present and unchanged")
