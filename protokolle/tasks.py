"""Action items: the tasks handed out in minutes, followed up across meetings."""

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import wording
from .models import Meeting, Result, TaskDone

OPEN, OVERDUE, DONE = "open", "overdue", "done"


def task_results(bodies):
    """Every task of the bodies' circulated or confirmed minutes, newest meeting first."""
    return (
        Result.objects.filter(
            kind=Result.Kind.TASK,
            agenda_item__meeting__body__in=bodies,
            agenda_item__meeting__status__in=[
                Meeting.Status.CIRCULATED,
                Meeting.Status.CONFIRMED,
            ],
        )
        .select_related("agenda_item__meeting__body", "done__done_by")
        .order_by("due", "-agenda_item__meeting__date", "pk")
    )


def filter_state(results, state, today=None):
    today = today or timezone.localdate()
    # EXISTS, not a LEFT JOIN tested for NULL: PostgreSQL estimates the anti-join
    # well and reads a page of open tasks from the index (due, id) (bench/archive).
    done = Exists(TaskDone.objects.filter(result=OuterRef("pk")))
    if state == OPEN:
        return results.filter(~done)
    if state == OVERDUE:
        return results.filter(~done, due__lt=today)
    if state == DONE:
        return results.filter(done)
    return results


def open_tasks(body, before):
    """Open tasks of a body's minutes from before ``before``, oldest first."""
    return list(
        Result.objects.filter(
            Q(agenda_item__meeting__body=body),
            kind=Result.Kind.TASK,
            done__isnull=True,
            agenda_item__meeting__date__lt=before,
        )
        .exclude(agenda_item__meeting__status=Meeting.Status.DRAFT)
        .select_related("agenda_item__meeting")
        .order_by("agenda_item__meeting__date", "due", "pk")
    )


def mark_done(result, user):
    """Mark a task done (idempotent)."""
    try:
        with transaction.atomic():
            return TaskDone.objects.get_or_create(result=result, defaults={"done_by": user})[0]
    except IntegrityError:
        return TaskDone.objects.get(result=result)


def mark_open(result):
    TaskDone.objects.filter(result=result).delete()


def summary(result):
    """„Steckbrief überarbeiten (WRL, bis 30.06.2022) – aus der 8. Sitzung vom 21.03.2022“"""
    meeting = result.agenda_item.meeting
    details = ", ".join(
        part
        for part in (result.responsible, f"bis {result.due:%d.%m.%Y}" if result.due else "")
        if part
    )
    text = result.text.strip().splitlines()[0][:200]
    origin = "aus der " + wording.meeting_name(meeting.number, meeting.date)
    return f"{text} ({details}) – {origin}" if details else f"{text} – {origin}"
