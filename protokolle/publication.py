"""What the public sees (issue 16): the one place that decides it.

A body is published when its switch "Öffentlich zugänglich" is on. Of a published
body the public sees

- its confirmed minutes of public meetings, in the public version: public agenda
  items only (an item's children go with it), their results, the people as printed;
- its upcoming meetings (a public meeting from today on whose minutes are a draft and
  whose invitation was sent): date, time, place and the titles of the public agenda
  items, nothing else; a cancelled one as cancelled;
- the public invitation PDF as last sent (``invitation_pdf``: public items only).

Never drafts or circulated minutes, non-public meetings or items, e-mail addresses,
members' responses or the audit trail. The public pages, OParl and the feeds all ask
here. A body that was published and no longer is, is "withdrawn": OParl answers its
objects as deleted, the pages as unknown.
"""

import hashlib
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Max, Prefetch, Q
from django.utils import timezone

from .models import AgendaItem, ArchivedPdf, Body, Meeting, Presenter, build_agenda

CONFIRMED = Meeting.Status.CONFIRMED


def today():
    return timezone.localdate()


def published_bodies():
    return Body.objects.filter(published=True)


def withdrawn_bodies():
    return Body.objects.filter(published=False, published_changed_at__isnull=False)


def _upcoming_q(prefix=""):
    """Planned meetings: from today on, minutes not begun, the invitation sent. A draft
    whose invitation has not gone out is work in progress and stays private."""
    return Q(
        **{
            f"{prefix}status": Meeting.Status.DRAFT,
            f"{prefix}date__gte": today(),
            f"{prefix}invitation__sent_at__isnull": False,
        }
    )


def _visible_q(prefix=""):
    """Meetings the public sees: public ones of published bodies, confirmed or upcoming."""
    return Q(**{f"{prefix}body__published": True, f"{prefix}public": True}) & (
        Q(**{f"{prefix}status": CONFIRMED}) | _upcoming_q(prefix)
    )


def visible_meetings():
    return Meeting.objects.filter(_visible_q())


def confirmed_minutes():
    """The published minutes: confirmed, public, of a published body."""
    return Meeting.objects.filter(body__published=True, public=True, status=CONFIRMED)


def upcoming_meetings():
    return Meeting.objects.filter(_upcoming_q(), body__published=True, public=True)


def withdrawn_meetings():
    """Minutes that were public and whose body is no longer published."""
    return Meeting.objects.filter(
        body__published=False,
        body__published_changed_at__isnull=False,
        public=True,
        status=CONFIRMED,
    )


def is_upcoming(meeting):
    """For a meeting the public sees: whether it is still ahead (not yet minutes)."""
    return meeting.status == Meeting.Status.DRAFT and meeting.date >= today()


def public_pdfs():
    return ArchivedPdf.objects.filter(variant=ArchivedPdf.Variant.PUBLIC)


def with_public_parts(queryset):
    """Meetings with what the public version shows, in a fixed number of queries:
    the body, the agenda with presenters and results, the attendance, the public PDF
    (``public_pdfs``, a list of at most one)."""
    return queryset.select_related("body", "invitation", "invitation__public_pdf").prefetch_related(
        Prefetch(
            "agenda_items",
            queryset=AgendaItem.objects.prefetch_related("presenters", "results"),
        ),
        "participants",
        Prefetch("archived_pdfs", queryset=public_pdfs(), to_attr="public_pdfs"),
    )


def public_items(meeting):
    """The meeting's public agenda items in reading order, numbered as printed; an item
    below a non-public one is left out with it. Uses the prefetched items (no query)."""

    def walk(items):
        for item in items:
            if not item.public:
                continue
            yield item
            yield from walk(item.child_items)

    return list(walk(build_agenda(meeting.agenda_items.all())))


def invitation_of(meeting):
    """The meeting's invitation as sent (loaded ``with_public_parts``), or None."""
    try:
        invitation = meeting.invitation
    except ObjectDoesNotExist:
        return None
    return invitation if invitation.sent_at else None


def is_cancelled(meeting):
    """An upcoming meeting whose invitation was called off."""
    invitation = invitation_of(meeting)
    return bool(invitation and invitation.cancelled_at) and is_upcoming(meeting)


def public_pdf(meeting):
    """The archived public PDF of confirmed minutes (prefetched), or None."""
    if meeting.status != CONFIRMED:
        return None
    return next(iter(getattr(meeting, "public_pdfs", [])), None)


def invitation_pdf(meeting):
    """The stored public invitation PDF of a meeting the public sees (loaded
    ``with_public_parts``: no query), or None: before the invitation went out, and once
    an item it printed is no longer public (or gone) until the next sending replaces it."""
    invitation = invitation_of(meeting)
    if invitation is None:
        return None
    try:
        record = invitation.public_pdf
    except ObjectDoesNotExist:
        return None
    if not set(record.items or []) <= {item.pk for item in public_items(meeting)}:
        return None
    return record


def changed_at(meeting):
    """When what the public sees of a meeting last changed."""
    moments = [meeting.updated_at, meeting.confirmed_at, meeting.body.published_changed_at]
    invitation = invitation_of(meeting) if "invitation" in meeting._state.fields_cache else None
    if invitation is not None:
        moments += [invitation.sent_at, invitation.updated_at, invitation.cancelled_at]
        record = invitation._state.fields_cache.get("public_pdf")  # loaded, or None
        if record is not None:
            moments.append(record.updated_at)
    return max(moment for moment in moments if moment)


def body_state(body_pk):
    """For the conditional pages: (last change, count) of what a body shows."""
    state = Meeting.objects.filter(_visible_q(), body_id=body_pk).aggregate(
        changed=Max("updated_at"),
        invited=Max("invitation__updated_at"),
        cancelled=Max("invitation__cancelled_at"),
        stored=Max("invitation__public_pdf__updated_at"),
        count=models.Count("pk"),
    )
    moments = [state.pop("invited"), state.pop("cancelled"), state.pop("stored"), state["changed"]]
    state["changed"] = max((moment for moment in moments if moment), default=None)
    return state


# --- people, as printed in the published minutes ----------------------------------------


def person_key(name):
    """A stable identifier of a person as printed: the name, case and spacing aside."""
    normal = " ".join(name.split()).casefold()
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()[:20]


@dataclass
class PrintedPerson:
    """Someone named in published minutes: the name and function printed last."""

    key: str
    name: str
    function: str | None = None
    last_date: object = None
    created: object = None
    modified: object = None
    # body pk -> whether that body is published now (False: withdrawn)
    bodies: dict = field(default_factory=dict)

    @property
    def withdrawn(self):
        return not any(self.bodies.values())


def _appearances(meetings):
    """(meeting, name, function) of everyone printed in the public version of
    ``meetings`` (loaded ``with_public_parts``)."""
    for meeting in meetings:
        for participant in meeting.participants.all():
            yield meeting, participant.name, participant.function
        yield meeting, meeting.chair_name, meeting.chair_function
        yield meeting, meeting.minute_taker_name, meeting.minute_taker_function
        for item in public_items(meeting):
            for presenter in item.presenters.all():
                yield meeting, presenter.name, presenter.function


def printed_people():
    """Everyone named in published minutes, and those named only in withdrawn ones,
    by ``person_key``, in a fixed number of queries."""
    meetings = list(
        Meeting.objects.filter(
            Q(body__published=True) | Q(body__published_changed_at__isnull=False),
            public=True,
            status=CONFIRMED,
        )
        .select_related("body")
        .prefetch_related(
            Prefetch(
                "agenda_items",
                queryset=AgendaItem.objects.only(
                    "pk", "meeting_id", "parent_id", "position", "number", "public", "title"
                ).prefetch_related(
                    Prefetch(
                        "presenters",
                        queryset=Presenter.objects.only("pk", "agenda_item_id", "name", "function"),
                    )
                ),
            ),
            "participants",
        )
        .order_by("date", "pk")
    )
    people = {}
    for meeting, name, function in _appearances(meetings):
        if not name or not name.strip():
            continue
        key = person_key(name)
        person = people.get(key)
        moment = changed_at(meeting)
        if person is None:
            person = people[key] = PrintedPerson(key=key, name=name, created=moment)
        person.bodies[meeting.body_id] = meeting.body.published
        if meeting.body.published:
            # Meetings come oldest first: the last published printing wins.
            person.name, person.function = " ".join(name.split()), function or None
        person.created = min(person.created, moment)
        person.modified = max(person.modified or moment, moment)
    return people
