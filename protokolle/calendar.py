"""Calendar entries of meetings (RFC 5545), written with the ``icalendar`` library.

One VEVENT per meeting, with a UID that never changes for the meeting, start and
end in Europe/Berlin with its VTIMEZONE, the place, the agenda in the description
and the meeting's address. ``SEQUENCE`` is the invitation's: it goes up with every
change sent (``invitations``). A mail carries ``METHOD:REQUEST`` (or ``CANCEL`` for a
cancelled meeting); a download or a feed carries no method.

Used by the invitations and the members' private feeds; the public pages may use
``meeting_event`` for their feeds too.
"""

import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import icalendar
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from .models import build_agenda, flatten_agenda

ZONE = ZoneInfo("Europe/Berlin")
PRODUCT = "-//Werkstatt-Protokolle//Einladungen//DE"
# A meeting without an end time is entered with this length.
DEFAULT_LENGTH = datetime.timedelta(hours=2)


def uid(meeting):
    """The meeting's UID: the same for every entry of the meeting, whatever changes."""
    host = urlsplit(settings.SITE_URL).hostname or "localhost"
    return f"meeting-{meeting.pk}@{host}"


def meeting_url(meeting):
    return settings.SITE_URL.rstrip("/") + reverse("protokolle:meeting_detail", args=[meeting.pk])


def starts_at(meeting):
    """The meeting's start as an aware datetime in Europe/Berlin (midnight without a time)."""
    return datetime.datetime.combine(meeting.date, meeting.start or datetime.time(0), ZONE)


def ends_at(meeting):
    """The meeting's end: its end time, two hours after its start, or the end of its day."""
    if meeting.end:
        return datetime.datetime.combine(meeting.date, meeting.end, ZONE)
    if meeting.start:
        return starts_at(meeting) + DEFAULT_LENGTH
    return datetime.datetime.combine(
        meeting.date + datetime.timedelta(days=1), datetime.time(0), ZONE
    )


def summary(meeting):
    """„9. Sitzung der Werkstatt“ (the document's language: German)."""
    name = f"{meeting.number}. Sitzung" if meeting.number else (meeting.title or "Sitzung")
    return f"{name} – {meeting.body.name}"


def agenda_lines(meeting, *, public_only=False):
    """„TOP 1: Begrüßung (Anna Muster)“ for each item, in reading order."""
    lines = []
    for item in flatten_agenda(build_agenda(list(meeting.agenda_items.all()))):
        if public_only and not item.public:
            continue
        presenters = ", ".join(p.name for p in item.presenters.all())
        line = f"TOP {item.printed_number}: {item.title}"
        lines.append(f"{line} ({presenters})" if presenters else line)
    return lines


def meeting_event(
    meeting, *, sequence=0, cancelled=False, tentative=False, public_only=False, url=None
):
    """The VEVENT of ``meeting`` (agenda items with their presenters prefetched, ideally).

    ``tentative``: planned, but not yet invited to (STATUS:TENTATIVE)."""
    event = icalendar.Event()
    event.add("uid", uid(meeting))
    event.add("dtstamp", timezone.now())
    event.add("sequence", sequence)
    event.add("summary", summary(meeting))
    if meeting.start:
        event.add("dtstart", starts_at(meeting))
        event.add("dtend", ends_at(meeting))
    else:  # a day without a time: an all-day entry
        event.add("dtstart", meeting.date)
        event.add("dtend", meeting.date + datetime.timedelta(days=1))
    if meeting.location:
        event.add("location", meeting.location)
    lines = agenda_lines(meeting, public_only=public_only)
    if lines:
        event.add("description", "Tagesordnung:\n" + "\n".join(lines))
    event.add("url", url or meeting_url(meeting))
    event.add("status", "CANCELLED" if cancelled else "TENTATIVE" if tentative else "CONFIRMED")
    return event


def calendar(events, *, method=None, name=None):
    """A VCALENDAR of ``events`` with the VTIMEZONE they need, as bytes."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODUCT)
    cal.add("version", "2.0")
    if method:
        cal.add("method", method)
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(event)
    cal.add_missing_timezones()
    return cal.to_ical()


def invitation_ics(meeting, *, sequence=0, cancelled=False, method=None):
    """The calendar entry of one meeting: ``method`` "REQUEST" or "CANCEL" in mails."""
    event = meeting_event(meeting, sequence=sequence, cancelled=cancelled)
    return calendar([event], method=method)


def filename(meeting):
    number = meeting.number or meeting.pk
    return f"einladung-{number}-{meeting.date:%Y-%m-%d}.ics"
