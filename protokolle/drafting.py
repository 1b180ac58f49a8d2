"""Drafting minutes: a new meeting proposed from the records.

The agenda a new meeting starts with, its number, times and people, and the
snapshot of a chair or minute-taker taken from the body's members. The editor
that drafts the minutes afterwards lives in ``editor``.
"""

import hashlib
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from . import tasks, wording, workflow
from .models import AgendaItem, Membership, Person, Result

STANDING_LAST_ITEM = "Sonstiges"
OPEN_TASKS = "Offene Aufgaben"


WELCOME_MAX_LENGTH = AgendaItem._meta.get_field("title").max_length


def _minutes_name(meeting):
    return "der " + wording.meeting_name(meeting.number, meeting.date)


def welcome_title(waiting):
    """„Begrüßung und Bestätigung des Protokolls der 6. Sitzung vom 07.12.2021“, from records.

    With many minutes waiting, the list gives way to their count and time span, so
    that the title always fits an agenda item's title.
    """
    if not waiting:
        return "Begrüßung und Bestätigung der Tagesordnung"
    if len(waiting) == 1:
        return f"Begrüßung und Bestätigung des Protokolls {_minutes_name(waiting[0])}"
    parts = [_minutes_name(m) for m in waiting]
    title = "Begrüßung und Bestätigung der Protokolle " + ", ".join(parts[:-1])
    title += " und " + parts[-1]
    if len(title) <= WELCOME_MAX_LENGTH:
        return title
    first, last = waiting[0], waiting[-1]
    return (
        f"Begrüßung und Bestätigung der Protokolle von {len(waiting)} Sitzungen "
        f"vom {first.date:%d.%m.%Y} bis {last.date:%d.%m.%Y}"
    )


@dataclass
class ProposedItem:
    """One agenda item of a new meeting as proposed, with its result bullets."""

    title: str
    results: list = field(default_factory=list)


def proposed_agenda(body, date):
    """The agenda a new meeting of ``body`` on ``date`` starts with: what the page shows
    and exactly what ``create_meeting`` writes."""
    agenda = [ProposedItem(welcome_title(list(workflow.awaiting_confirmation(body, date))))]
    open_tasks = tasks.open_tasks(body, before=date)
    if open_tasks:
        agenda.append(ProposedItem(OPEN_TASKS, [tasks.summary(task) for task in open_tasks]))
    agenda.append(ProposedItem(STANDING_LAST_ITEM))
    return agenda


def agenda_fingerprint(agenda):
    """A short digest of a proposed agenda: tells whether the page showed this one."""
    text = "\n".join(item.title + "\t" + "\t".join(item.results) for item in agenda)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def proposal(body):
    """Initial values for a body's next meeting: number, times, place, chair, minute-taker."""
    last = body.meetings.order_by("-date", "-number").first()
    members = {m.role: m.person for m in body.memberships.select_related("person")}
    today = timezone.localdate()
    initial = {"number": next_number(body), "date": today}
    chair = members.get(Membership.Role.CHAIR)
    minute_taker = members.get(Membership.Role.MINUTE_TAKER)
    if last:
        initial.update(start=last.start, end=last.end, location=last.location)
        if last.next_meeting_date and last.next_meeting_date > last.date:
            # What the last minutes announced: „Die nächste Sitzung findet am … statt“.
            initial["date"] = last.next_meeting_date
            initial["start"] = last.next_meeting_time or last.start
            initial["location"] = last.next_meeting_location or last.location
        elif last.date >= today:
            # The last meeting is still ahead: the next one is after it, on a day only
            # the writer knows. Today would come before it.
            initial["date"] = None
    initial["chair_name"] = chair.name if chair else (last.chair_name if last else None)
    initial["minute_taker_name"] = (
        minute_taker.name if minute_taker else (last.minute_taker_name if last else None)
    )
    return initial


def snapshot_from_members(meeting, role):
    """Fill a chair's or minute-taker's snapshot from the member of that name."""
    name = getattr(meeting, f"{role}_name")
    if not name:
        setattr(meeting, f"{role}_person", None)
        return
    person = Person.objects.filter(memberships__body=meeting.body, name=name).order_by("pk").first()
    setattr(meeting, f"{role}_person", person)
    if person:
        if not getattr(meeting, f"{role}_organisation"):
            setattr(meeting, f"{role}_organisation", person.organisation)
        if not getattr(meeting, f"{role}_function"):
            setattr(meeting, f"{role}_function", person.function)


class NumberTaken(Exception):
    """Someone created a meeting with this number between the form's check and our save."""

    def __init__(self, number, next_free):
        super().__init__(number)
        self.number = number
        self.next_free = next_free


def next_number(body):
    highest = body.meetings.aggregate(highest=Max("number"))["highest"]
    return (highest or 0) + 1


def create_meeting(form, agenda=None):
    """Save a NewMeetingForm with the proposed agenda (``proposed_agenda`` for its date).

    Writes all or nothing. Raises NumberTaken when a concurrent "Neue Sitzung" took
    the number after the form checked it (the database's unique constraint says so).
    """
    meeting = form.save(commit=False)
    body = meeting.body
    for role in ("chair", "minute_taker"):
        snapshot_from_members(meeting, role)
    meeting.closing_place = None
    if agenda is None:
        agenda = proposed_agenda(body, meeting.date)
    try:
        with transaction.atomic():
            meeting.save()
            for position, proposed in enumerate(agenda):
                item = AgendaItem.objects.create(
                    meeting=meeting, position=position, title=proposed.title
                )
                Result.objects.bulk_create(
                    Result(agenda_item=item, position=index, kind=Result.Kind.NOTE, text=text)
                    for index, text in enumerate(proposed.results)
                )
    except IntegrityError as exc:
        if meeting.number is None or not body.meetings.filter(number=meeting.number).exists():
            raise
        raise NumberTaken(meeting.number, next_number(body)) from exc
    return meeting
