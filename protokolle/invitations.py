"""Before the meeting: the invitation (Einladung), the members' replies, the attendance.

A meeting is planned with the same „Neue Sitzung“ proposal as before: a draft whose
date lies ahead. Until its minutes are circulated the body's minute-takers send the
invitation from it (``send``): one mail per member with an address, the agenda in
the text, the invitation PDF and the calendar entry (``calendar``) attached, and a
personal reply link ``/rsvp/<token>/``.

Tokens: ``secrets.token_urlsafe(32)``, only their SHA-256 is stored
(``InvitationToken``); one token per mail, each bound to one member and meeting, all
valid until the meeting has ended. Replies can change until the meeting begins.

What the last mail said is kept (``Invitation.sent_state``): a change of date, time,
place or agenda offers „Änderung versenden“, which raises the calendar SEQUENCE; the
PDF marks new items as „Nachtrag zur Tagesordnung“. Cancelling sends a cancellation.

Mails go out after the commit in a background task (``send_invitation_mails``, with
the retries of ``jobs``), one at a time: each member whose mail went out is recorded
as sent for that sequence, and only they; those whose mail failed are named on the
page with the reason and can be sent again.

The replies become the attendance of the draft minutes (``apply_reply``): declined is
„entschuldigt“, accepted is proposed „anwesend“, a stand-in appears as such.

Each sending (not a reminder) of a public meeting also stores the public invitation PDF
(``store_public_pdf``, issue 16): public items only, no reply link, an embedded document
with the public agenda and no attendance or results; the last one per meeting, with its
size, SHA-256 and SHA-512, for OParl's ``Meeting.invitation`` and the public pages.
"""

import datetime
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Max, Prefetch
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tasks import task

from . import calendar, exchange, jobs, pdf
from .access import can_write, current
from .models import (
    AgendaItem,
    Invitation,
    InvitationPdf,
    InvitationToken,
    Invitee,
    Meeting,
    Membership,
    Participant,
    build_agenda,
    flatten_agenda,
)

logger = logging.getLogger(__name__)

TEMPLATE = "protokolle/pdf/invitation.html"
TOKEN_MAX_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything far longer is made up
WEEKDAYS = ["Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"]
MONTHS = [
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
]


class InvitationError(Exception):
    """A step that is not possible now; the message tells the user why."""


class ShortNotice(InvitationError):
    """Sending now is within the notice period: ask the sender to confirm."""


# --- German forms of the date and the meeting ------------------------------------------


def german_long_date(day):
    """„Montag, 21. März 2022“"""
    return f"{WEEKDAYS[day.weekday()]}, {day.day}. {MONTHS[day.month - 1]} {day.year}"


def time_line(meeting):
    """„10:00 – 12:00 Uhr“, „10:00 Uhr“ or „“."""
    if meeting.start and meeting.end:
        return f"{meeting.start:%H:%M} – {meeting.end:%H:%M} Uhr"
    if meeting.start:
        return f"{meeting.start:%H:%M} Uhr"
    return ""


def meeting_name(meeting):
    """„9. Sitzung der Werkstatt“"""
    name = f"{meeting.number}. Sitzung" if meeting.number else (meeting.title or "Sitzung")
    return f"{name} der {meeting.body.name}"


# --- when ----------------------------------------------------------------------------------


def has_begun(meeting, now=None):
    return (now or timezone.now()) >= calendar.starts_at(meeting)


def has_ended(meeting, now=None):
    """Whether the meeting is over: its reply links have expired."""
    return (now or timezone.now()) >= calendar.ends_at(meeting)


def days_ahead(meeting, today=None):
    return (meeting.date - (today or timezone.localdate())).days


def is_short_notice(meeting, today=None):
    """Sending today is later than the body's notice period (Ladungsfrist) allows."""
    return days_ahead(meeting, today) < meeting.body.notice_days


def default_reply_by(meeting, today=None):
    today = today or timezone.localdate()
    return max(today, meeting.date - datetime.timedelta(days=3))


def reply_by_problem(meeting, reply_by, today=None):
    """Why ``reply_by`` cannot be the invitation's reply date, or "": it lies between
    today and the meeting day."""
    today = today or timezone.localdate()
    if reply_by and reply_by > meeting.date:
        return _(
            "The reply date lies after the meeting on %(date)s: choose a day up to the meeting day."
        ) % {"date": f"{meeting.date:%d.%m.%Y}"}
    if reply_by and reply_by < today:
        return _("The reply date has passed: choose today or a later day.")
    return ""


def can_invite(meeting):
    """Invitations go out for minutes not yet circulated, before the meeting has ended."""
    return meeting.status == Meeting.Status.DRAFT and not has_ended(meeting)


# --- who is invited ------------------------------------------------------------------------


def address_of(person):
    return person.email or (person.user.email if person.user_id and person.user else "")


def members(meeting):
    """The body's members on the meeting's day, each person once, by name."""
    memberships = (
        Membership.objects.filter(current(meeting.date), body=meeting.body)
        .select_related("person__user")
        .order_by("person__name", "person_id")
    )
    seen, people = set(), []
    for membership in memberships:
        if membership.person_id not in seen:
            seen.add(membership.person_id)
            people.append(membership.person)
    return people


def stand_in_choices(meeting, person):
    """The members a member may name as stand-in: everyone of the body but themselves."""
    return [p for p in members(meeting) if p.pk != person.pk]


# --- what was sent, what changed -----------------------------------------------------------


def _agenda(meeting):
    items = AgendaItem.objects.filter(meeting=meeting).prefetch_related("presenters")
    return list(flatten_agenda(build_agenda(list(items))))


def state_of(meeting, items=None):
    """What an invitation says of ``meeting``: date, times, place, agenda titles."""
    items = _agenda(meeting) if items is None else items
    return {
        "date": meeting.date.isoformat(),
        "start": meeting.start.isoformat() if meeting.start else None,
        "end": meeting.end.isoformat() if meeting.end else None,
        "location": meeting.location or "",
        "items": [[item.printed_number, item.title] for item in items],
    }


@dataclass
class Changes:
    """What changed since the last invitation that went out."""

    time: bool = False
    place: bool = False
    agenda: bool = False
    new_items: list = field(default_factory=list)

    def __bool__(self):
        return self.time or self.place or self.agenda

    def words(self):
        """What changed, in words for a sentence: „Termin oder Uhrzeit“, „Ort“, …"""
        words = [
            (self.time, _("date or time")),
            (self.place, _("place")),
            (self.agenda, _("agenda")),
        ]
        return [word for changed, word in words if changed]


def changes(invitation, state):
    if invitation is None or not invitation.sent_state:
        return Changes()
    sent = invitation.sent_state
    sent_titles = {title for _number, title in sent.get("items", [])}
    return Changes(
        time=any(sent.get(key) != state[key] for key in ("date", "start", "end")),
        place=sent.get("location", "") != state["location"],
        agenda=sent.get("items") != state["items"],
        new_items=[title for _number, title in state["items"] if title not in sent_titles],
    )


def invitation_of(meeting):
    return Invitation.objects.filter(meeting=meeting).first()


# --- tokens --------------------------------------------------------------------------------


def _digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(invitee):
    """A fresh reply token for ``invitee``; only its SHA-256 is stored."""
    token = secrets.token_urlsafe(32)
    InvitationToken.objects.create(invitee=invitee, token_hash=_digest(token))
    return token


class TokenExpired(Exception):
    """The token was real, but its meeting has ended."""


def invitee_for_token(token):
    """The invitee a reply token belongs to, or None for a made-up one.

    Raises TokenExpired once the meeting has ended.
    """
    if not token or len(token) > TOKEN_MAX_LENGTH:
        return None
    digest = _digest(token)
    row = (
        InvitationToken.objects.select_related("invitee__meeting__body", "invitee__person")
        .filter(token_hash=digest)
        .first()
    )
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if has_ended(row.invitee.meeting):
        raise TokenExpired()
    return row.invitee


def reply_url(token):
    return settings.SITE_URL.rstrip("/") + reverse("protokolle:rsvp", args=[token])


# --- replies and the attendance --------------------------------------------------------


def reply(invitee, answer, *, reason="", stand_in_name="", stand_in_person=None, now=None):
    """Record ``invitee``'s answer and bring the draft's attendance in line with it."""
    meeting = invitee.meeting
    if answer not in Invitee.Reply.values:
        raise InvitationError(_("Please choose an answer."))
    if invitation_of(meeting) and invitation_of(meeting).cancelled_at:
        raise InvitationError(_("This meeting has been cancelled."))
    if has_begun(meeting, now):
        raise InvitationError(_("The meeting has begun: the answer can no longer be changed."))
    if answer == Invitee.Reply.STAND_IN:
        if stand_in_person is not None:
            stand_in_name = stand_in_person.name
        stand_in_name = (stand_in_name or "").strip()
        if not stand_in_name:
            raise InvitationError(_("Please choose or type who stands in for you."))
    else:
        stand_in_name, stand_in_person = "", None
    with transaction.atomic():
        invitee = Invitee.objects.select_for_update().select_related("person").get(pk=invitee.pk)
        invitee.reply = answer
        invitee.reason = (reason or "").strip() if answer != Invitee.Reply.ACCEPT else ""
        invitee.stand_in_name = stand_in_name
        invitee.stand_in_person = stand_in_person
        invitee.replied_at = now or timezone.now()
        invitee.save()
        apply_reply(invitee, meeting)
    return invitee


def apply_reply(invitee, meeting):
    """The reply in the draft's attendance: the member's row, and a stand-in's row.

    Declined or represented: the member is „entschuldigt“; accepted: proposed
    „anwesend“ (the minute-taker corrects it with one click in the editor). A stand-in
    is present „in Vertretung für“ the member. Minutes already circulated keep theirs.
    """
    meeting = Meeting.objects.select_related("body").get(pk=meeting.pk)
    if meeting.status != Meeting.Status.DRAFT:
        return
    person = invitee.person
    rows = Participant.objects.filter(meeting=meeting)
    own = rows.filter(person=person, substitute_for__isnull=True).order_by("position").first()
    stand_in = rows.filter(substitute_for=person.name).order_by("position").first()
    voting = (
        Membership.objects.filter(current(meeting.date), body=meeting.body, person=person)
        .values_list("voting", flat=True)
        .first()
    )
    status = (
        Participant.Status.PRESENT
        if invitee.reply == Invitee.Reply.ACCEPT
        else Participant.Status.EXCUSED
    )
    next_position = (rows.aggregate(last=Max("position"))["last"] or 0) + 1
    if own is None:
        own = Participant(
            meeting=meeting,
            person=person,
            name=person.name,
            organisation=person.organisation,
            function=person.function,
            position=next_position,
            voting=voting,
        )
        next_position += 1
    own.status = status
    own.save()
    if invitee.reply == Invitee.Reply.STAND_IN:
        substitute = invitee.stand_in_person
        if stand_in is None:
            stand_in = Participant(meeting=meeting, substitute_for=person.name)
            stand_in.position = next_position
        stand_in.name = invitee.stand_in_name
        stand_in.person = substitute
        stand_in.organisation = substitute.organisation if substitute else None
        stand_in.function = substitute.function if substitute else None
        stand_in.status = Participant.Status.PRESENT
        stand_in.voting = voting
        stand_in.save()
    elif stand_in is not None:
        stand_in.delete()


# --- the PDF -------------------------------------------------------------------------------


def pdf_context(meeting, invitation=None, *, items=None, sent=None, public=False):
    """What the Einladung template shows.

    ``public``: the public version (``items`` its public agenda, new ones marked
    against ``sent``, what the last public copy printed): no reply link, no reply date.
    """
    items = _agenda(meeting) if items is None else items
    state = state_of(meeting, items)
    changed = changes(invitation if sent is None else _Sent(sent), state)
    new_titles = set(changed.new_items)
    for item in items:
        item.is_new = item.title in new_titles
    return {
        "meeting": meeting,
        "name": meeting_name(meeting),
        "long_date": german_long_date(meeting.date),
        "time_line": time_line(meeting),
        "items": [item for item in items if not item.is_new],
        "new_items": [item for item in items if item.is_new],
        "attachments": list(meeting.attachments.all()),
        "invitation": invitation,
        "reply_by": (invitation.reply_by if invitation else None) or default_reply_by(meeting),
        "short_notice": bool(invitation and invitation.short_notice)
        or (invitation is None and is_short_notice(meeting)),
        "changes": changed,
        "cancelled": bool(invitation and invitation.cancelled_at),
        "rendered_at": timezone.localtime(),
        "public": public,
    }


def render_html(meeting, invitation=None, *, previous=None):
    with translation.override("de"):
        return render_to_string(TEMPLATE, pdf_context(meeting, invitation, sent=previous))


def render_pdf(meeting, invitation=None, *, timeout=None, previous=None):
    """The Einladung as PDF (the same typesetting as the minutes: fonts, static fetcher).

    The draft's exchange document is embedded, as in the minutes: the agenda it will
    become. ``previous``: what the invitation said before an update (its earlier
    ``sent_state``), so that the update marks what changed („Nachtrag zur
    Tagesordnung“). Raises ``pdf.RenderError`` (or its timeout) like ``pdf.render_pdf``.
    """
    meeting = Meeting.objects.for_export().get(pk=meeting.pk)
    html = render_html(meeting, invitation, previous=previous)
    document = exchange.export_document(meeting)
    return pdf.write_pdf(html, exchange.dumps(document).encode("utf-8"), timeout=timeout)


def pdf_filename(meeting):
    number = meeting.number or meeting.pk
    return f"einladung-{number}-{meeting.date:%Y-%m-%d}.pdf"


# --- the public PDF (issue 16) -------------------------------------------------------------


@dataclass
class _Sent:
    """A stand-in for an invitation in ``changes``: what an earlier copy printed."""

    sent_state: dict | None


def public_agenda(meeting):
    """The public agenda items in reading order; an item below a non-public one goes
    with it (as in the public minutes)."""

    def walk(tree):
        for item in tree:
            if item.public:
                yield item
                yield from walk(item.child_items)

    items = AgendaItem.objects.filter(meeting=meeting).prefetch_related("presenters")
    return list(walk(build_agenda(list(items))))


def public_document(meeting):
    """The exchange document embedded in the public invitation: the public agenda
    (titles, numbers, presenters), none of the draft's attendance (the replies), results,
    declarations of interest or approvals."""
    document = exchange.export_document(meeting, public_only=True)

    def clean(item):
        return {
            "number": item["number"],
            "title": item["title"],
            "public": item["public"],
            "presenters": item["presenters"],
            "results": [],
            "children": [clean(child) for child in item["children"]],
        }

    data = document["meeting"]
    data["agenda"] = [clean(item) for item in data["agenda"]]
    data["participants"] = []
    data["approves_minutes_of"] = []
    return document


def render_public_pdf(meeting, invitation, sent=None, *, timeout=None):
    """The public Einladung: (PDF bytes, the pks of the items printed, its state).

    Public items only, no reply link; items that the last public copy (``sent``, its
    state) did not print are marked „Nachtrag zur Tagesordnung“.
    """
    meeting = Meeting.objects.for_export().get(pk=meeting.pk)
    items = public_agenda(meeting)
    with translation.override("de"):
        html = render_to_string(
            TEMPLATE, pdf_context(meeting, invitation, items=items, sent=sent, public=True)
        )
    document = public_document(meeting)
    data = pdf.write_pdf(html, exchange.dumps(document).encode("utf-8"), timeout=timeout)
    return data, [item.pk for item in items], state_of(meeting, items)


def store_public_pdf(meeting, invitation):
    """Render the public invitation PDF of this sending and store it (the last one per
    meeting: a new sending replaces the file), with its size, SHA-256 and SHA-512.

    Returns the ``InvitationPdf``. Raises ``pdf.RenderError`` like ``render_pdf``; the
    record and its file stay as they were then.
    """
    record = InvitationPdf.objects.filter(invitation=invitation).first()
    data, items, state = render_public_pdf(
        meeting, invitation, sent=record.state if record else None
    )
    name = f"einladung-{meeting.pk}-{meeting.date:%Y-%m-%d}-{invitation.sequence}.pdf"
    old_name = record.file.name if record else None
    if record is None:
        record = InvitationPdf(invitation=invitation)
    record.file.save(name, ContentFile(data), save=False)
    record.size = len(data)
    record.sha256 = hashlib.sha256(data).hexdigest()
    record.sha512 = hashlib.sha512(data).hexdigest()
    record.sequence = invitation.sequence
    record.items = items
    record.state = state
    record.updated_at = timezone.now()
    try:
        record.save()
    except Exception:
        record.file.storage.delete(record.file.name)  # no file without its record
        raise
    if old_name and old_name != record.file.name:
        try:
            record.file.storage.delete(old_name)
        except OSError:
            logger.warning("The replaced invitation PDF %s could not be deleted", old_name)
    return record


def _store_public_pdf(meeting, invitation, kind):
    """Store the public PDF of a sending (not of a reminder), once per SEQUENCE; a failed
    render is logged and keeps no mail from going out."""
    if not meeting.public:
        return
    record = InvitationPdf.objects.filter(invitation=invitation).only("sequence").first()
    if record is not None and (kind == REMIND or record.sequence == invitation.sequence):
        return
    try:
        store_public_pdf(meeting, invitation)
    except Exception:
        logger.exception("The public invitation PDF of meeting %s could not be stored", meeting.pk)


# --- sending -------------------------------------------------------------------------------

SEND, REMIND, CANCEL = "send", "remind", "cancel"


@dataclass
class Outcome:
    """What became of one sending: who got the mail, whose mail failed, who has no address."""

    kind: str = SEND
    sent: list = field(default_factory=list)
    failed: list = field(default_factory=list)
    queued: list = field(default_factory=list)
    without_address: list = field(default_factory=list)
    error: str = ""
    update: bool = False


@dataclass
class Plan:
    """What ``send`` would do now: which mail, to whom (the page shows it first)."""

    kind: str
    update: bool
    recipients: list  # (invitee or person, address)
    without_address: list
    short_notice: bool
    changes: Changes


def plan(meeting, kind=SEND):
    """Who gets which mail if ``kind`` is sent now, without changing anything."""
    invitation = invitation_of(meeting)
    state = state_of(meeting)
    changed = changes(invitation, state)
    issued = invitation is not None and invitation.sent_state is not None
    invitees = {i.person_id: i for i in Invitee.objects.filter(meeting=meeting)}
    recipients, without = [], []
    for person in members(meeting):
        invitee = invitees.get(person.pk)
        address = address_of(person)
        if kind == SEND:
            # A mail still queued for the background task is on its way: not again.
            on_its_way = invitee is not None and invitee.mail_queued_at and not invitee.mail_error
            wanted = not issued or changed or not (_has_current(invitee, invitation) or on_its_way)
        elif kind == REMIND:
            wanted = invitee is not None and invitee.sent_at is not None and not invitee.reply
        else:  # CANCEL: whoever was told of the meeting
            wanted = invitee is not None and invitee.sent_at is not None
        if not wanted:
            continue
        if address:
            recipients.append((person, address))
        else:
            without.append(person)
    return Plan(
        kind=kind,
        update=kind == SEND and issued and bool(changed),
        recipients=recipients,
        without_address=without,
        short_notice=kind == SEND and not issued and is_short_notice(meeting),
        changes=changed,
    )


def _has_current(invitee, invitation):
    return (
        invitee is not None
        and invitee.sent_at is not None
        and invitation is not None
        and invitee.sent_sequence == invitation.sequence
    )


def send(meeting_pk, user, kind=SEND, *, confirm_short_notice=False, reply_by=None):
    """Send the invitation, its update, a reminder or the cancellation; return an Outcome.

    ``SEND``: the first invitation; after a change of date, time, place or agenda the
    update („Änderung“, SEQUENCE + 1); otherwise the current one again to those it did
    not reach. Raises InvitationError (ShortNotice within the notice period unless
    ``confirm_short_notice``). The mails go out after the commit; sending never raises.
    """
    with transaction.atomic():
        try:
            meeting = (
                Meeting.objects.select_for_update(of=("self",))
                .select_related("body")
                .get(pk=meeting_pk)
            )
        except Meeting.DoesNotExist as exc:
            raise InvitationError(_("This meeting does not exist (any more).")) from exc
        if not can_write(user, meeting.body):
            raise InvitationError(_("Only the body's minute-takers may send invitations."))
        if not can_invite(meeting):
            raise InvitationError(
                _(
                    "Invitations are sent before the meeting ends and before its minutes "
                    "are circulated."
                )
            )
        if kind == SEND and (problem := reply_by_problem(meeting, reply_by)):
            raise InvitationError(problem)
        invitation, _created = Invitation.objects.select_for_update().get_or_create(meeting=meeting)
        if invitation.cancelled_at:
            raise InvitationError(_("This meeting has been cancelled."))
        intended = plan(meeting, kind)
        previous = None  # what an update changes: the state the last mail announced
        if kind == SEND:
            if intended.short_notice and not confirm_short_notice:
                raise ShortNotice(
                    _(
                        "The notice period of %(days)s days is not kept: please confirm "
                        "that the invitation goes out with a shortened notice period."
                    )
                    % {"days": meeting.body.notice_days}
                )
            if invitation.sent_state is None:
                invitation.short_notice = intended.short_notice
                invitation.reply_by = reply_by or default_reply_by(meeting)
            elif intended.update:
                invitation.sequence += 1
                if reply_by:
                    invitation.reply_by = reply_by
            if invitation.sent_state is not None and intended.update:
                previous = invitation.sent_state
            if invitation.sent_state is None or intended.update:
                invitation.sent_state = state_of(meeting)
        elif kind == REMIND:
            if invitation.sent_state is None:
                raise InvitationError(_("No invitation has been sent yet."))
        elif kind == CANCEL:
            invitation.sequence += 1
            invitation.cancelled_at = timezone.now()
        else:
            raise InvitationError(_("Unknown action."))
        invitation.save()
        queued_at = timezone.now()
        letters = []
        for person, address in intended.recipients:
            invitee, _new = Invitee.objects.get_or_create(meeting=meeting, person=person)
            letters.append([invitee.pk, address])
        Invitee.objects.filter(pk__in=[pk for pk, _address in letters]).update(
            mail_queued_at=queued_at, mail_error=""
        )
        for person in intended.without_address:
            Invitee.objects.get_or_create(meeting=meeting, person=person)
        if kind == SEND:  # everyone invited has a row, for the table of replies
            for person in members(meeting):
                Invitee.objects.get_or_create(meeting=meeting, person=person)
        if letters:
            sequence = invitation.sequence
            transaction.on_commit(lambda: _enqueue(meeting.pk, kind, sequence, letters, previous))
    outcome = Outcome(
        kind=kind,
        update=intended.update,
        without_address=[p.name for p in intended.without_address],
    )
    for invitee in Invitee.objects.filter(pk__in=[pk for pk, _address in letters]).select_related(
        "person"
    ):
        if invitee.mail_error:
            outcome.failed.append(invitee.person.name)
            outcome.error = invitee.mail_error
        elif invitee.mail_queued_at:
            outcome.queued.append(invitee.person.name)
        else:
            outcome.sent.append(invitee.person.name)
    return outcome


def _enqueue(meeting_pk, kind, sequence, letters, previous=None):
    """Hand the mails to the background task; if even that fails, say so on each."""
    try:
        send_invitation_mails.enqueue(meeting_pk, kind, sequence, letters, previous)
    except Exception as error:  # the task queue's table, the backend: nothing goes out
        logger.exception("Invitation mails for meeting %s could not be queued", meeting_pk)
        Invitee.objects.filter(pk__in=[pk for pk, _address in letters]).update(
            mail_queued_at=None, mail_error=(str(error) or error.__class__.__name__)[:500]
        )


@task()
def send_invitation_mails(meeting_pk, kind, sequence, letters, previous=None, attempt=1):
    """Mail ``letters`` (``[invitee pk, address]``) of one sending; a background task.

    Each reply token is made here, so that it exists in plain text only in its mail.
    Each member whose mail went out is recorded (``sent_at``, ``sent_sequence`` for the
    invitation and its changes); a failed mail keeps its reason in ``mail_error`` and
    is tried again later (jobs' retries), only it. Mails of a sending that a newer one
    replaced (another SEQUENCE) are left to the newer one.
    """
    try:
        meeting = _with_agenda(meeting_pk)
        invitation = Invitation.objects.get(meeting=meeting)
    except (Meeting.DoesNotExist, Invitation.DoesNotExist):
        return 0  # deleted meanwhile: nobody to tell
    pks = [pk for pk, _address in letters]
    if kind != REMIND and invitation.sequence != sequence:
        Invitee.objects.filter(pk__in=pks).update(mail_queued_at=None)
        return 0
    _store_public_pdf(meeting, invitation, kind)
    invitees = {i.pk: i for i in Invitee.objects.filter(pk__in=pks).select_related("person")}
    failed, sent = [], 0
    try:
        files = _attachments(meeting, invitation, kind, previous)
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception as error:  # the render, the mail server: nothing was sent
        logger.exception("Invitation mails for meeting %s could not be prepared", meeting_pk)
        failed = [(letter, error) for letter in letters if letter[0] in invitees]
    else:
        try:
            for letter in letters:
                invitee = invitees.get(letter[0])
                if invitee is None:  # removed meanwhile
                    continue
                token = new_token(invitee) if kind != CANCEL else None
                message = _message(meeting, invitation, kind, invitee, letter[1], token, connection)
                for name, content, mimetype in files:
                    message.attach(name, content, mimetype)
                try:
                    message.send(fail_silently=False)
                except Exception as error:  # SMTP refused, a bad address, a timeout, ...
                    failed.append((letter, error))
                    continue
                sent += 1
                done = {"mail_queued_at": None, "mail_error": ""}
                if kind == SEND:
                    done.update(sent_at=timezone.now(), sent_sequence=sequence)
                elif kind == CANCEL:
                    done.update(sent_sequence=sequence)
                Invitee.objects.filter(pk=invitee.pk).update(**done)
        finally:
            try:
                connection.close()
            except Exception:  # closing a connection that broke
                logger.warning("Closing the mail connection failed", exc_info=True)
    if kind == SEND and sent:
        now = timezone.now()
        Invitation.objects.filter(pk=invitation.pk, sent_at__isnull=True).update(sent_at=now)
        Invitation.objects.filter(pk=invitation.pk).update(updated_at=now)
    if not failed:
        return sent
    for letter, error in failed:
        Invitee.objects.filter(pk=letter[0]).update(
            mail_error=(str(error) or error.__class__.__name__)[:500]
        )
    names = ", ".join(invitees[letter[0]].person.name for letter, _error in failed)
    error = jobs.MailNotSent(str(failed[0][1]) or failed[0][1].__class__.__name__)
    what = f"Invitation mail ({kind}) for {meeting} to {names}"
    retried = jobs.retry_or_report(
        send_invitation_mails,
        (meeting_pk, kind, sequence, [letter for letter, _error in failed], previous),
        attempt,
        what,
        error,
    )
    if not retried:  # for good: no longer queued, the page offers to send again
        Invitee.objects.filter(pk__in=[letter[0] for letter, _error in failed]).update(
            mail_queued_at=None
        )
    raise error


def _with_agenda(meeting_pk):
    """The meeting with its body and agenda (items with presenters) loaded."""
    return (
        Meeting.objects.select_related("body")
        .prefetch_related(
            Prefetch("agenda_items", queryset=AgendaItem.objects.prefetch_related("presenters"))
        )
        .get(pk=meeting_pk)
    )


def _attachments(meeting, invitation, kind, previous=None):
    method = "CANCEL" if kind == CANCEL else "REQUEST"
    ics = calendar.invitation_ics(
        meeting, sequence=invitation.sequence, cancelled=kind == CANCEL, method=method
    )
    files = [
        (
            calendar.filename(meeting),
            ics.decode("utf-8"),
            f"text/calendar; charset=utf-8; method={method}",
        )
    ]
    if kind != CANCEL:
        data = render_pdf(meeting, invitation, previous=previous)
        files.append((pdf_filename(meeting), data, "application/pdf"))
    return files


def _one_line(text):
    return " ".join(str(text).split())


def _message(meeting, invitation, kind, invitee, address, token, connection):
    with translation.override(settings.LANGUAGE_CODE):
        name = meeting_name(meeting)
        subjects = {
            SEND: _("Invitation: %(meeting)s on %(date)s"),
            REMIND: _("Reminder: please reply to the invitation to the %(meeting)s"),
            CANCEL: _("Cancelled: %(meeting)s on %(date)s"),
        }
        subject = subjects[kind]
        if kind == SEND and invitation.sequence > 0:
            subject = _("Changed invitation: %(meeting)s on %(date)s")
        subject = subject % {"meeting": name, "date": f"{meeting.date:%d.%m.%Y}"}
        lines = [_("Dear %(name)s,") % {"name": invitee.person.name}, ""]
        if kind == CANCEL:
            lines.append(_("the %(meeting)s is cancelled.") % {"meeting": name})
        elif kind == REMIND:
            lines.append(
                _("you have not yet replied to the invitation to the %(meeting)s.")
                % {"meeting": name}
            )
        elif invitation.sequence > 0:
            lines.append(_("the invitation to the %(meeting)s has changed.") % {"meeting": name})
        else:
            lines.append(_("you are invited to the %(meeting)s.") % {"meeting": name})
        if invitation.short_notice and kind != CANCEL:
            lines.append(_("The invitation goes out with a shortened notice period."))
        lines += [
            "",
            _("Date: %(date)s") % {"date": german_long_date(meeting.date)},
        ]
        if time_line(meeting):
            lines.append(_("Time: %(time)s") % {"time": time_line(meeting)})
        if meeting.location:
            lines.append(_("Place: %(place)s") % {"place": meeting.location})
        if kind != CANCEL:
            lines += ["", _("Agenda:")]
            lines += ["  " + line for line in calendar.agenda_lines(meeting)]
            lines += [
                "",
                _("Please reply by %(date)s (accept, decline or name a stand-in):")
                % {"date": f"{invitation.reply_by:%d.%m.%Y}" if invitation.reply_by else "–"},
                reply_url(token),
            ]
        if meeting.chair_name:
            lines += ["", meeting.chair_name]
    return EmailMessage(
        subject=_one_line(subject),
        body="\n".join(str(line) for line in lines) + "\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        connection=connection,
    )


# --- the table of replies --------------------------------------------------------------


def replies(meeting):
    """Every invited member with their reply (and the members not yet invited)."""
    invitees = {
        i.person_id: i
        for i in Invitee.objects.filter(meeting=meeting).select_related(
            "person__user", "stand_in_person"
        )
    }
    rows = []
    for person in members(meeting):
        rows.append((person, invitees.pop(person.pk, None), address_of(person)))
    for invitee in invitees.values():  # invited, no longer a member on the day
        rows.append((invitee.person, invitee, address_of(invitee.person)))
    return rows
