"""Every status change of minutes: draft → circulated → confirmed, and back to draft.

Each transition is one function. It runs in a transaction with the meeting's row
locked, checks the current status and the actor's role, records who did it
(django-auditlog, with the actor set explicitly so commands are recorded too),
and raises WorkflowError with a message a user can read.

The audit context: auditlog's ``set_actor`` replaces its middleware's context
instead of adding to it, so the client's address would be lost; the views pass it
as ``remote_addr`` (werkstatt.client_ip), commands leave it None.

Locks: only the meetings' own rows (``of=("self",)``: never the body's, which every
meeting of the body shares), and where one step locks two meetings, both in one
query in primary-key order, so two steps never wait for each other in a circle.
Confirming enqueues the archival PDFs (seconds of rendering for long minutes) as a
background task once the status change has committed (protokolle/jobs.py); every
e-mail is a background task too. No step waits on rendering or on the mail server.
"""

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field

from auditlog.context import set_actor
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import exchange, jobs, seal, search, versions, wording
from .access import can_write, membership_of
from .models import AgendaItem, Approval, Meeting, MinutesVersion, Response, Result

logger = logging.getLogger(__name__)


class WorkflowError(Exception):
    """A transition that is not allowed now; the message tells the user why."""


def _for_update():
    """Meetings with their body, locking the meetings' rows only, not the body's."""
    return Meeting.objects.select_for_update(of=("self",)).select_related("body")


def _locked(pk):
    try:
        return _for_update().get(pk=pk)
    except Meeting.DoesNotExist as exc:
        raise WorkflowError(_("These minutes do not exist (any more).")) from exc


def _locked_pair(first_pk, second_pk):
    """Lock two meetings in one query, in primary-key order as everywhere; return both."""
    found = {m.pk: m for m in _for_update().filter(pk__in=[first_pk, second_pk]).order_by("pk")}
    if first_pk not in found or second_pk not in found:
        raise WorkflowError(_("These minutes do not exist (any more)."))
    return found[first_pk], found[second_pk]


def _require_status(meeting, *allowed):
    if meeting.status not in allowed:
        raise WorkflowError(
            _("This is not possible while the minutes are %(status)s.")
            % {"status": meeting.get_status_display()}
        )


def _require_writer(user, meeting):
    if not can_write(user, meeting.body):
        raise WorkflowError(_("Only the body's minute-takers may do this."))


def _audited(user, remote_addr):
    """Record ``user`` (and the client's address, if known) on the step's audit entries."""
    return set_actor(user, remote_addr=remote_addr)


def current_version(meeting):
    return meeting.versions.order_by("-number").first()


# --- circulate, reopen -----------------------------------------------------------------


@dataclass
class Notice:
    """Who is told by e-mail that minutes are circulated, and what became of the mail.

    ``recipients``: (person, address) of the current members with an address;
    ``without_address``: the current members who have none and are not told.
    The mails are a background task enqueued after the commit: ``sent`` turns true
    once it is known that they went out (at once with the immediate backend), ``error``
    holds the reason when sending failed (the circulation stands all the same);
    neither while the task waits for the worker.
    ``number``: the version the mail announces, once it is known.
    """

    recipients: list = field(default_factory=list)
    without_address: list = field(default_factory=list)
    sent: bool = False
    error: str = ""
    number: int | None = None

    def sentences(self, failed_hint=""):
        """What became of the mail, in sentences for a message: who was told, who is
        being told, who not and why. ``failed_hint`` follows a failure (what the user
        can do). Returns (failed, sentences)."""
        count = len(self.recipients)
        parts = []
        if self.sent:
            parts.append(
                ngettext(
                    "%(count)s member was notified by e-mail.",
                    "%(count)s members were notified by e-mail.",
                    count,
                )
                % {"count": count}
            )
        elif self.error:
            parts.append(
                ngettext(
                    "The e-mail to %(count)s member could not be sent (%(error)s).",
                    "The e-mails to %(count)s members could not be sent (%(error)s).",
                    count,
                )
                % {"count": count, "error": self.error}
            )
            parts.append(failed_hint or _("Please tell them yourself."))
        elif count:  # the mail task waits for the worker
            parts.append(
                ngettext(
                    "The e-mail to %(count)s member is being sent.",
                    "The e-mails to %(count)s members are being sent.",
                    count,
                )
                % {"count": count}
            )
        if not count:
            parts.append(_("No member was notified by e-mail."))
        if self.without_address:
            names = ", ".join(person.name for person in self.without_address)
            parts.append(
                _("Without an e-mail address and not notified: %(names)s.") % {"names": names}
            )
        return bool(self.error) and not self.sent, [str(part) for part in parts]


def notice_for(meeting):
    """The current members of the meeting's body, split by whether they have an address.

    Current means on the day of circulating: only current members can respond.
    A person with two seats in the body is listed once.
    """
    today = timezone.localdate()
    notice = Notice()
    seen = set()
    memberships = meeting.body.memberships.select_related("person__user").order_by(
        "person__name", "person_id"
    )
    for membership in memberships:
        person = membership.person
        if person.pk in seen or not membership.is_active_on(today):
            continue
        seen.add(person.pk)
        address = person.email or (person.user.email if person.user else "")
        if address:
            notice.recipients.append((person, address))
        else:
            notice.without_address.append(person)
    return notice


def circulate(meeting_pk, user, *, remote_addr=None):
    """draft → circulated: freeze a numbered version and tell the members.

    Returns the version; ``version.notice`` says who is told by e-mail (a
    ``Notice``, filled in once the mails went out after the commit), or is None
    when circulating the corrected version confirmed the minutes at once (their
    archival PDFs are enqueued after the commit).
    """
    confirmed = False
    with transaction.atomic(), _audited(user, remote_addr):
        meeting = _locked(meeting_pk)
        _require_writer(user, meeting)
        _require_status(meeting, Meeting.Status.DRAFT)
        if not meeting.agenda_items.exists():
            raise WorkflowError(_("Minutes without any agenda item cannot be circulated."))
        number = (meeting.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        meeting.status = Meeting.Status.CIRCULATED
        meeting.circulation_deadline = None
        meeting.save()
        frozen = Meeting.objects.for_export().get(pk=meeting.pk)
        version = MinutesVersion.objects.create(
            meeting=meeting,
            number=number,
            document=exchange.export_document(frozen),
            identity=versions.identity(frozen),
            created_by=user,
        )
        # Approved "with changes" in a later meeting: this corrected version confirms them.
        pending = (
            Approval.objects.filter(
                approved_meeting=meeting, outcome=Approval.Outcome.APPROVED_WITH_CHANGES
            )
            .select_related("meeting")
            .first()
        )
        if pending:
            _confirm(meeting, deciding=pending.meeting)
            confirmed = True
            version.notice = None
        else:
            notice = notice_for(meeting)
            notice.number = number
            version.notice = notice
            # After the commit: a mail server that is down must not undo the circulation.
            transaction.on_commit(lambda: _notify_members(meeting.pk, notice))
    if confirmed:
        _archive(meeting)
    return version


def reopen(meeting_pk, user, *, remote_addr=None):
    """circulated → draft, to work in corrections; circulating again makes a new version."""
    with transaction.atomic(), _audited(user, remote_addr):
        meeting = _locked(meeting_pk)
        _require_writer(user, meeting)
        _require_status(meeting, Meeting.Status.CIRCULATED)
        meeting.status = Meeting.Status.DRAFT
        meeting.circulation_deadline = None
        meeting.save()
    return meeting


def notify_members(meeting_pk, user):
    """Send the current version's circulation mail again („erneut senden“); return the Notice.

    For the writers of circulated minutes, when the first mail failed (or someone
    lost it). It goes to the body's current members as of now, not as of circulating.
    The status is checked under the meeting's lock; the mail is enqueued after that
    transaction, so a slow or dead mail server holds no lock. ``sent`` and ``error``
    of the returned Notice say what became of it as far as known; this never raises.
    """
    with transaction.atomic():
        meeting = _locked(meeting_pk)
        _require_writer(user, meeting)
        _require_status(meeting, Meeting.Status.CIRCULATED)
        notice = notice_for(meeting)
        notice.number = current_version(meeting).number
    _notify_members(meeting.pk, notice)
    return notice


def _one_line(text):
    """Whitespace runs, line breaks included, as one space: a mail header has one line."""
    return " ".join(str(text).split())


def _notify_members(meeting_pk, notice):
    """Enqueue the mail to the members in ``notice`` of its version; never raise.

    Runs after the circulation's commit. ``notice`` records what is known when this
    returns (``jobs.outcome``): sent or failed (with the reason) when the task ran at
    once, neither while it waits for the worker, which retries and reports a failure
    to the administrators. Whatever fails here (a meeting deleted meanwhile, a queue
    that cannot be written) is reported in ``notice.error``; the status stands.
    A line break in the meeting's title or the body's name (the subject is a mail
    header, where Django refuses one) is folded into a space.
    """
    if not notice.recipients:
        return
    try:
        meeting = Meeting.objects.select_related("body").get(pk=meeting_pk)
        link = settings.SITE_URL.rstrip("/") + reverse(
            "protokolle:meeting_detail", args=[meeting.pk]
        )
        number = notice.number
        subject = _("Minutes for your review: %(meeting)s (version %(number)s)") % {
            "meeting": meeting,
            "number": number,
        }
        body = _(
            "The draft minutes of the %(meeting)s are circulated (version %(number)s).\n\n"
            "Please read them and agree or ask for corrections:\n%(link)s\n"
        ) % {"meeting": _one_line(meeting), "number": number, "link": link}
        sender = settings.DEFAULT_FROM_EMAIL
        addresses = sorted({address for _person, address in notice.recipients})
        messages = [(_one_line(subject), body, sender, [address]) for address in addresses]
        state, reason = jobs.outcome(jobs.mail_later(messages))
    except Exception as error:  # a meeting deleted meanwhile, a queue we cannot write, ...
        logger.exception("Circulation mail for meeting %s failed", meeting_pk)
        notice.error = str(error) or error.__class__.__name__
    else:
        notice.sent = state == "sent"
        notice.error = reason


# --- responses -------------------------------------------------------------------------


def respond(meeting_pk, user, kind, text="", agenda_item_pk=None, *, remote_addr=None):
    """A member agrees with the circulated version, or objects / asks for a correction.

    In a confirmation by circulation the last voting member's agreement confirms the
    minutes; their archival PDFs are enqueued after the commit.
    """
    confirmed = False
    with transaction.atomic(), _audited(user, remote_addr):
        meeting = _locked(meeting_pk)
        membership = membership_of(user, meeting.body)
        if membership is None:
            raise WorkflowError(_("Only members of the body can respond."))
        _require_status(meeting, Meeting.Status.CIRCULATED)
        if kind not in Response.Kind.values:
            raise WorkflowError(_("Please choose whether you agree or object."))
        text = (text or "").strip()
        if kind == Response.Kind.OBJECTION and not text:
            raise WorkflowError(_("Please say what should be corrected."))
        item = None
        if agenda_item_pk:
            item = AgendaItem.objects.filter(meeting=meeting, pk=agenda_item_pk).first()
            if item is None:
                raise WorkflowError(_("That agenda item is not part of these minutes."))
        response = Response.objects.create(
            meeting=meeting,
            version=current_version(meeting),
            person=membership.person,
            user=user,
            kind=kind,
            text=text,
            agenda_item=item,
        )
        if meeting.circulation_deadline and _all_voting_members_agree(meeting):
            _confirm(meeting, by_circulation=True)
            confirmed = True
    if confirmed:
        _archive(meeting)
    return response


def latest_responses(meeting, version=None):
    """Each person's latest response to ``version`` (default: the current one)."""
    version = version or current_version(meeting)
    latest = {}
    for response in meeting.responses.filter(version=version).order_by("created_at", "pk"):
        latest[response.person_id] = response
    return latest


def _all_voting_members_agree(meeting):
    voting = {
        m.person_id
        for m in meeting.body.memberships.filter(voting=True)
        if m.is_active_on(timezone.localdate())
    }
    if not voting:
        return False
    latest = latest_responses(meeting)
    return all(person in latest and latest[person].kind == Response.Kind.AGREE for person in voting)


# --- confirmation by circulation -------------------------------------------------------


def start_confirmation_by_circulation(meeting_pk, user, deadline, *, remote_addr=None):
    """Umlaufverfahren: members confirm in writing until ``deadline``."""
    confirmed = False
    with transaction.atomic(), _audited(user, remote_addr):
        meeting = _locked(meeting_pk)
        _require_writer(user, meeting)
        _require_status(meeting, Meeting.Status.CIRCULATED)
        if deadline <= timezone.localdate():
            raise WorkflowError(_("The deadline must lie in the future."))
        meeting.circulation_deadline = deadline
        meeting.save()
        if _all_voting_members_agree(meeting):
            _confirm(meeting, by_circulation=True)
            confirmed = True
    if confirmed:
        _archive(meeting)
    return meeting


def close_circulations(today=None):
    """Confirm circulated minutes whose deadline passed without an objection.

    Returns (confirmed, open_with_objections). Running it again changes nothing more.
    Each meeting is confirmed in a transaction of its own; its archival PDFs are
    enqueued after that commit.
    """
    today = today or timezone.localdate()
    confirmed, objected = [], []
    due = Meeting.objects.filter(
        status=Meeting.Status.CIRCULATED, circulation_deadline__lt=today
    ).values_list("pk", flat=True)
    for pk in list(due):
        with transaction.atomic():
            meeting = _locked(pk)
            if meeting.status != Meeting.Status.CIRCULATED or not meeting.circulation_deadline:
                continue
            latest = latest_responses(meeting)
            if any(r.kind == Response.Kind.OBJECTION for r in latest.values()):
                objected.append(meeting)
                continue
            _confirm(meeting, by_circulation=True)
            confirmed.append(meeting)
        # Reached only when this meeting was confirmed (every other case continues).
        _archive(meeting)
    return confirmed, objected


# --- approval in a later meeting -------------------------------------------------------


def awaiting_confirmation(body, before):
    """Minutes of ``body`` that a meeting on ``before`` confirms: circulated, and older.

    The one answer to "which minutes wait for this meeting": the new-meeting
    proposal writes item 1 from it, and the editor's decision section lists it.
    """
    return Meeting.objects.filter(
        body=body, status=Meeting.Status.CIRCULATED, date__lt=before
    ).order_by("date", "number")


def not_yet_met(deciding):
    """Why a meeting that has not taken place yet cannot decide on earlier minutes."""
    return _(
        "This meeting takes place on %(date)s: what it decides on earlier minutes can be "
        "recorded from that day on."
    ) % {"date": f"{deciding.date:%d.%m.%Y}"}


def waiting_minutes(deciding):
    """Minutes awaiting confirmation by ``deciding`` that it has not decided on yet,
    each with ``open_objections``: the objections to its current version that stand."""
    decided = deciding.approvals.exclude(approved_meeting=None).values("approved_meeting")
    waiting = list(awaiting_confirmation(deciding.body, deciding.date).exclude(pk__in=decided))
    objections = open_objections([meeting.pk for meeting in waiting])
    for meeting in waiting:
        meeting.open_objections = objections[meeting.pk]
    return waiting


def open_objections(meeting_pks):
    """For each meeting, the objections to its current version whose authors have not
    agreed since (each person's latest answer counts), oldest first. Two queries for
    any number of meetings."""
    current = dict(
        MinutesVersion.objects.filter(meeting__in=meeting_pks)
        .values("meeting")
        .annotate(number=Max("number"))
        .values_list("meeting", "number")
    )
    latest = {}
    responses = (
        Response.objects.filter(meeting__in=meeting_pks)
        .select_related("person", "version")
        .order_by("created_at", "pk")
    )
    for response in responses:
        if response.version.number == current.get(response.meeting_id):
            latest[response.meeting_id, response.person_id] = response
    found = {pk: [] for pk in meeting_pks}
    for response in latest.values():
        if response.kind == Response.Kind.OBJECTION:
            found[response.meeting_id].append(response)
    return found


BULLETS = {
    Approval.Outcome.APPROVED: "Das Protokoll der {minutes} wird angenommen und bestätigt.",
    Approval.Outcome.APPROVED_WITH_CHANGES: (
        "Das Protokoll der {minutes} wird mit Änderungen angenommen{note}. Es wird nach "
        "Einarbeitung der Änderungen bestätigt."
    ),
    Approval.Outcome.REJECTED: "Das Protokoll der {minutes} wird nicht bestätigt{note}.",
}


def approval_bullet(approval, approved):
    minutes = wording.meeting_name(approved.number, approved.date)
    note = f" ({approval.note})" if approval.note else ""
    return BULLETS[approval.outcome].format(minutes=minutes, note=note)


def record_approval(
    deciding_pk,
    approved_pk,
    outcome,
    user,
    vote=None,
    note="",
    *,
    objections_considered=False,
    remote_addr=None,
):
    """Record in a later meeting what it decided on earlier minutes.

    approved: confirms them at once, in their circulated version. approved with
    changes: reopens them; circulating the corrected version confirms them.
    rejected: reopens them. The decision bullet under the deciding meeting's
    first agenda item is written from this record. Only a meeting that has taken
    place decides; confirming minutes with open objections needs
    ``objections_considered``: the writer states that the meeting dealt with them.

    Both meetings are locked in one query, in primary-key order: a step that locks
    them the other way round could otherwise wait for this one while it waits.
    """
    if outcome not in Approval.Outcome.values:
        raise WorkflowError(_("Please choose the outcome."))
    try:
        with transaction.atomic(), _audited(user, remote_addr):
            # The earlier minutes are locked too: two approvals of them could race.
            deciding, approved = _locked_pair(deciding_pk, approved_pk)
            _require_writer(user, deciding)
            _require_status(deciding, Meeting.Status.DRAFT)
            if approved.body_id != deciding.body_id or approved.date >= deciding.date:
                raise WorkflowError(_("Only earlier minutes of the same body can be decided on."))
            if deciding.date > timezone.localdate():
                raise WorkflowError(not_yet_met(deciding))
            if outcome == Approval.Outcome.APPROVED and not objections_considered:
                count = len(open_objections([approved.pk])[approved.pk])
                if count:
                    raise WorkflowError(
                        ngettext(
                            "%(count)d objection to these minutes is open. Confirm that the "
                            "meeting dealt with it, or choose another decision.",
                            "%(count)d objections to these minutes are open. Confirm that the "
                            "meeting dealt with them, or choose another decision.",
                            count,
                        )
                        % {"count": count}
                    )
            if approved.status != Meeting.Status.CIRCULATED:
                raise WorkflowError(
                    _("The minutes of %(meeting)s are %(status)s and wait for no decision.")
                    % {"meeting": approved, "status": approved.get_status_display()}
                )
            if deciding.approvals.filter(approved_meeting=approved).exists():
                raise WorkflowError(_("This meeting has already decided on those minutes."))
            approval = Approval.objects.create(
                meeting=deciding,
                approved_meeting=approved,
                position=deciding.approvals.count(),
                number=approved.number,
                date=approved.date,
                outcome=outcome,
                note=(note or "").strip() or None,
                recorded_by=user,
                recorded_at=timezone.now(),
            )
            _write_bullet(deciding, approval, approved, vote or {})
            if outcome == Approval.Outcome.APPROVED:
                _confirm(approved, deciding=deciding)
            else:
                approved.status = Meeting.Status.DRAFT
                approved.circulation_deadline = None
                approved.save()
    except IntegrityError as exc:
        # The unique constraint caught a second approval racing this one.
        raise WorkflowError(_("These minutes were decided on at the same moment.")) from exc
    if outcome == Approval.Outcome.APPROVED:
        _archive(approved)
    return approval


def _write_bullet(deciding, approval, approved, vote):
    item = deciding.agenda_items.filter(parent=None).order_by(
        "position", "pk"
    ).first() or AgendaItem.objects.create(meeting=deciding, position=0, title="Begrüßung")
    counts = {key: vote.get(key) for key in wording.VOTE_FIELDS}
    position = (item.results.aggregate(p=Max("position"))["p"] or -1) + 1
    Result.objects.create(
        agenda_item=item,
        position=position,
        kind=Result.Kind.DECISION,
        text=approval_bullet(approval, approved),
        approval=approval,
        voted=wording.vote_taken(**counts),
        vote_yes=counts["yes"],
        vote_no=counts["no"],
        vote_abstain=counts["abstain"],
        vote_text=counts["text"] or None,
    )


# --- confirming ------------------------------------------------------------------------


def _confirm(meeting, by_circulation=False, deciding=None, recorded=None):
    """circulated → confirmed, inside the caller's transaction, and indexed for search.

    Records the confirmation as the record states it (``exchange.confirmation_of``):
    today (the local date), by circulation or by a meeting, the deciding meeting
    (``deciding``, where a meeting recorded here decided) and the circulated version
    that was confirmed, the current one. ``recorded`` is the confirmation an
    imported document states (``exchange.read``): it is kept exactly instead.

    The caller enqueues the PDFs with ``_archive`` once its transaction is over:
    a worker renders them (seconds) while nobody waits. Without a seal certificate
    (DEBUG off, none configured) nothing is confirmed: the archive would stay unsealed.
    """
    try:
        seal.require()
    except seal.SealError as error:
        raise WorkflowError(str(error)) from error
    meeting.status = Meeting.Status.CONFIRMED
    meeting.confirmed_at = timezone.now()
    if recorded is not None:
        meeting.confirmed_by_circulation = recorded["by"] == exchange.BY_CIRCULATION
        meeting.confirmed_on = recorded["date"]
        meeting.confirmed_in_number = recorded["meeting_number"]
        meeting.confirmed_in_date = recorded["meeting_date"]
        meeting.confirmed_version = recorded["version"]
    else:
        meeting.confirmed_by_circulation = by_circulation
        meeting.confirmed_on = timezone.localdate()
        meeting.confirmed_in_number = deciding.number if deciding else None
        meeting.confirmed_in_date = deciding.date if deciding else None
        version = current_version(meeting)
        meeting.confirmed_version = version.number if version else None
    meeting.save()
    search.index_meeting(meeting)


def _archive(meeting):
    """Enqueue the archival PDFs of just confirmed minutes (``jobs.archive_minutes``).

    Called after the transition's transaction: a worker sees the task only once the
    confirmation is committed (inside a caller's outer transaction, the database
    backend writes the task's row in it). The confirmation stands whatever happens
    here: the task retries a failed render and reports it; until a copy exists the
    read view says it is being made and the download renders on the fly; ``manage.py
    verify_archive --repair`` renders what is still missing.
    """
    try:
        jobs.archive_later(meeting.pk)
    except Exception:  # a queue that cannot be written; the task itself never raises here
        logger.exception(
            "Archival PDFs of meeting %s not enqueued; verify_archive --repair renders them",
            meeting.pk,
        )


def confirm(meeting_pk, user, *, remote_addr=None):
    """circulated → confirmed by the body's decision taken outside this app.

    For the office (the admin's action): minutes confirmed on paper or in a meeting
    whose minutes are not kept here. Like every confirmation it dates it, indexes
    the minutes for search and, after the commit, enqueues the archival PDFs.
    """
    with transaction.atomic(), _audited(user, remote_addr):
        meeting = _locked(meeting_pk)
        _require_writer(user, meeting)
        _require_status(meeting, Meeting.Status.CIRCULATED)
        _confirm(meeting)
    _archive(meeting)
    return meeting


# --- importing -------------------------------------------------------------------------


def import_minutes(document, user=None, *, files=None):
    """Store minutes from a ``werkstatt-protokoll/1`` document (parsed JSON).

    Writes everything or nothing; raises exchange.DocumentError listing every
    problem. Minutes that the document calls confirmed (an existing archive moving
    in) are confirmed here, so that they get their search entries and, after the
    commit, their archival PDFs (enqueued). Their confirmation is the document's
    (``meeting.confirmation``), kept exactly; where it names the confirmed version,
    the import circulates them as that version. A confirmed document without it (from
    before the format carried it) is confirmed as of today, in no known meeting.
    ``files``: the attachments' files by name (``pdf.embedded_files``), see
    ``exchange.store``.
    """
    parsed = exchange.read(document)
    confirmed = parsed["meeting"].status == Meeting.Status.CONFIRMED
    recorded = parsed["confirmation"]
    with transaction.atomic(), set_actor(user) if user else nullcontext():
        meeting = exchange.store(parsed, files=files)
        if confirmed:
            if recorded is not None and recorded["version"] is not None:
                frozen = Meeting.objects.for_export().get(pk=meeting.pk)
                MinutesVersion.objects.create(
                    meeting=meeting,
                    number=recorded["version"],
                    document=exchange.export_document(frozen),
                    identity=versions.identity(frozen),
                    created_by=user,
                )
            _confirm(meeting, recorded=recorded)
    if confirmed:
        _archive(meeting)
    return meeting


# --- what a user may do now --------------------------------------------------------------


def allowed_actions(user, meeting):
    """The transitions ``user`` may start on ``meeting`` now, by name.

    The one answer templates and the admin ask before they show a button: "edit"
    and "circulate" (a draft, for its writers), "reopen", "confirm" and
    "set_deadline" (circulated minutes, for their writers; a deadline only once),
    "notify" (circulated minutes, for their writers: send the members' mail again),
    "respond" (circulated minutes, for the body's current members).
    """
    actions = set()
    writer = can_write(user, meeting.body)
    if meeting.status == Meeting.Status.DRAFT and writer:
        actions |= {"edit", "circulate"}
    if meeting.status == Meeting.Status.CIRCULATED:
        if writer:
            actions |= {"reopen", "confirm", "notify"}
            if not meeting.circulation_deadline:
                actions.add("set_deadline")
        if membership_of(user, meeting.body) is not None:
            actions.add("respond")
    return frozenset(actions)
