"""Before the meeting: the invitation's PDF and calendar entry, sending it, the replies
without logging in, and the members' private calendar feeds."""

import datetime
import hashlib
import io
import secrets

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import access, calendar, invitations, pdf
from ..access import get_meeting_for_user
from ..models import (
    INVITATION_REASON_MAX_LENGTH,
    AgendaItem,
    CalendarFeed,
    Invitee,
    Meeting,
)

FEED_PAST_DAYS = 90
FEED_MAX_EVENTS = 500
FEED_SESSION_KEY = "calendar_feed_url"


def _with_agenda():
    from django.db.models import Prefetch

    return Meeting.objects.select_related("body").prefetch_related(
        Prefetch("agenda_items", queryset=AgendaItem.objects.prefetch_related("presenters"))
    )


# --- the invitation as PDF and calendar entry ----------------------------------------------


@login_required
@require_GET
def invitation_pdf(request, pk):
    """The Einladung as PDF, for everyone who reads the meeting."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    try:
        data = invitations.render_pdf(meeting, invitations.invitation_of(meeting))
    except pdf.RenderError as error:
        messages.error(
            request,
            _("The invitation could not be typeset: %(error)s")
            % {"error": str(error) or _("please try again later.")},
        )
        return redirect("protokolle:meeting_detail", pk=meeting.pk)
    return FileResponse(
        io.BytesIO(data),
        content_type="application/pdf",
        as_attachment=True,
        filename=invitations.pdf_filename(meeting),
    )


def _ics_response(data, name):
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def invitation_ics(request, pk):
    """The meeting's calendar entry (the invitation's SEQUENCE; cancelled once cancelled)."""
    meeting = get_meeting_for_user(request, _with_agenda(), pk)
    invitation = invitations.invitation_of(meeting)
    data = calendar.invitation_ics(
        meeting,
        sequence=invitation.sequence if invitation else 0,
        cancelled=bool(invitation and invitation.cancelled_at),
    )
    return _ics_response(data, calendar.filename(meeting))


# --- sending ---------------------------------------------------------------------------------


class InviteForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            (invitations.SEND, invitations.SEND),
            (invitations.REMIND, invitations.REMIND),
            (invitations.CANCEL, invitations.CANCEL),
        ]
    )
    reply_by = forms.DateField(label=gettext_lazy("Reply by"), required=False)
    confirm_short_notice = forms.BooleanField(
        label=gettext_lazy("Send with a shortened notice period"), required=False
    )

    def __init__(self, *args, meeting, **kwargs):
        super().__init__(*args, **kwargs)
        self.meeting = meeting

    def clean(self):
        data = super().clean()
        if data.get("action") == invitations.SEND and (
            problem := invitations.reply_by_problem(self.meeting, data.get("reply_by"))
        ):
            self.add_error("reply_by", problem)
        return data


def _invite_context(meeting, form=None):
    invitation = invitations.invitation_of(meeting)
    to_send = invitations.plan(meeting, invitations.SEND)
    to_remind = invitations.plan(meeting, invitations.REMIND)
    rows = invitations.replies(meeting)
    counts = {choice: 0 for choice in Invitee.Reply.values}
    for _person, invitee, _address in rows:
        if invitee and invitee.reply:
            counts[invitee.reply] += 1
    return {
        "meeting": meeting,
        "invitation": invitation,
        "can_invite": invitations.can_invite(meeting),
        "cancelled": bool(invitation and invitation.cancelled_at),
        "issued": bool(invitation and invitation.sent_state),
        "to_send": to_send,
        "to_remind": to_remind,
        "rows": rows,
        "counts": counts,
        "unanswered": sum(1 for _p, invitee, _a in rows if not (invitee and invitee.reply)),
        "notice_days": meeting.body.notice_days,
        "days_ahead": invitations.days_ahead(meeting),
        # The typed value where the form comes back with an error, else the date to propose.
        "reply_by": (
            form.data.get("reply_by", "")
            if form is not None and form.errors
            else (
                (invitation.reply_by if invitation and invitation.reply_by else None)
                or invitations.default_reply_by(meeting)
            ).isoformat()
        ),
        "agenda": calendar.agenda_lines(meeting),
        "long_date": invitations.german_long_date(meeting.date),
        "time_line": invitations.time_line(meeting),
        "form": form,
        "today": timezone.localdate(),
    }


@login_required
@require_http_methods(["GET", "POST"])
def meeting_invite(request, pk):
    """What goes out to whom (GET), and sending it (POST): the body's minute-takers."""
    if request.method == "POST":
        return _invite(request, pk)
    meeting = get_meeting_for_user(request, _with_agenda(), pk, write=True)
    return render(request, "protokolle/invitation_send.html", _invite_context(meeting))


def _invite(request, pk):
    # Readers learn from a message why not, as for every workflow step.
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    form = InviteForm(request.POST, meeting=meeting)
    if not form.is_valid():
        if not access.can_write(request.user, meeting.body):
            messages.error(request, _("Only the body's minute-takers may send invitations."))
            return redirect(_back(request, meeting))
        # The page again, with the typed date and what is wrong with it at the field.
        messages.error(
            request,
            _("Nothing was sent: please check the reply date.")
            if set(form.errors) == {"reply_by"}
            else _("Please check the reply date and choose what to send."),
        )
        meeting = get_meeting_for_user(request, _with_agenda(), pk, write=True)
        return render(
            request, "protokolle/invitation_send.html", _invite_context(meeting, form), status=400
        )
    kind = form.cleaned_data["action"]
    try:
        outcome = invitations.send(
            meeting.pk,
            request.user,
            kind,
            confirm_short_notice=form.cleaned_data["confirm_short_notice"],
            reply_by=form.cleaned_data["reply_by"],
        )
    except invitations.ShortNotice as error:
        messages.warning(request, str(error))
        meeting = get_meeting_for_user(request, _with_agenda(), pk, write=True)
        context = _invite_context(meeting, form)
        context["ask_short_notice"] = True
        return render(request, "protokolle/invitation_send.html", context, status=400)
    except invitations.InvitationError as error:
        messages.error(request, str(error))
        return redirect(_back(request, meeting))
    _report(request, outcome)
    return redirect("protokolle:meeting_invite", pk=meeting.pk)


def _back(request, meeting):
    if access.can_write(request.user, meeting.body):
        return reverse("protokolle:meeting_invite", args=[meeting.pk])
    return reverse("protokolle:meeting_detail", args=[meeting.pk])


def _report(request, outcome):
    done = {
        invitations.SEND: (
            _("The changed invitation went to: %(names)s.")
            if outcome.update
            else _("The invitation went to: %(names)s.")
        ),
        invitations.REMIND: _("The reminder went to: %(names)s."),
        invitations.CANCEL: _("The cancellation went to: %(names)s."),
    }[outcome.kind]
    if outcome.sent:
        messages.success(request, done % {"names": ", ".join(outcome.sent)})
    if outcome.failed:
        messages.error(
            request,
            _(
                "The mail to %(names)s could not be sent (%(error)s). Nothing was recorded "
                "as sent to them: please send again."
            )
            % {"names": ", ".join(outcome.failed), "error": outcome.error},
        )
    if outcome.queued:
        messages.info(
            request,
            _("Queued, going out in a moment: %(names)s. The table below shows when they went.")
            % {"names": ", ".join(outcome.queued)},
        )
    if not outcome.sent and not outcome.failed and not outcome.queued:
        messages.info(request, _("There was nobody to send it to."))
    if outcome.without_address:
        messages.warning(
            request,
            _("Without an e-mail address, not told: %(names)s.")
            % {"names": ", ".join(outcome.without_address)},
        )


# --- replies without logging in --------------------------------------------------------------


class ReplyForm(forms.Form):
    reply = forms.ChoiceField(
        label=gettext_lazy("Your answer"),
        choices=[
            (Invitee.Reply.ACCEPT, gettext_lazy("I will attend (Zusage)")),
            (Invitee.Reply.DECLINE, gettext_lazy("I cannot attend (Absage)")),
            (Invitee.Reply.STAND_IN, gettext_lazy("Someone stands in for me (Vertretung)")),
        ],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        required=False,
        max_length=INVITATION_REASON_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    stand_in_member = forms.TypedChoiceField(
        label=gettext_lazy("Stand-in from the members"),
        required=False,
        coerce=int,
        empty_value=None,
    )
    stand_in_name = forms.CharField(
        label=gettext_lazy("or the stand-in's name"), required=False, max_length=200
    )

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.people = {person.pk: person for person in choices}
        self.fields["stand_in_member"].choices = [("", "–")] + [
            (person.pk, person.name) for person in choices
        ]

    def clean(self):
        data = super().clean()
        if data.get("reply") == Invitee.Reply.STAND_IN and not (
            data.get("stand_in_member") or (data.get("stand_in_name") or "").strip()
        ):
            self.add_error("stand_in_name", _("Please choose or type who stands in for you."))
        return data


def _invitee_or_404(token):
    try:
        invitee = invitations.invitee_for_token(token)
    except invitations.TokenExpired:
        return None, True
    if invitee is None:
        raise Http404("no such reply link")
    return invitee, False


@never_cache
@require_http_methods(["GET", "POST"])
def rsvp(request, token):
    """A member's reply through their personal link: no login, the token is the key."""
    invitee, expired = _invitee_or_404(token)
    if expired:
        return render(request, "protokolle/rsvp_expired.html", status=410)
    meeting = _with_agenda().get(pk=invitee.meeting_id)
    choices = invitations.stand_in_choices(meeting, invitee.person)
    form = None
    status = 200
    if request.method == "POST":
        form = ReplyForm(request.POST, choices=choices)
        if form.is_valid():
            data = form.cleaned_data
            try:
                invitations.reply(
                    invitee,
                    data["reply"],
                    reason=data["reason"],
                    stand_in_name=data["stand_in_name"],
                    stand_in_person=form.people.get(data["stand_in_member"]),
                )
            except invitations.InvitationError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, _("Thank you: your answer is recorded."))
                return redirect("protokolle:rsvp", token=token)
        status = 400
    invitee.refresh_from_db()
    if form is None:
        form = ReplyForm(
            initial={
                "reply": invitee.reply or None,
                "reason": invitee.reason,
                "stand_in_member": invitee.stand_in_person_id,
                "stand_in_name": "" if invitee.stand_in_person_id else invitee.stand_in_name,
            },
            choices=choices,
        )
    invitation = invitations.invitation_of(meeting)
    return render(
        request,
        "protokolle/rsvp.html",
        {
            "meeting": meeting,
            "invitee": invitee,
            "form": form,
            "token": token,
            "agenda": calendar.agenda_lines(meeting),
            "long_date": invitations.german_long_date(meeting.date),
            "time_line": invitations.time_line(meeting),
            "cancelled": bool(invitation and invitation.cancelled_at),
            "begun": invitations.has_begun(meeting),
            "reply_by": invitation.reply_by if invitation else None,
        },
        status=status,
    )


# --- the profile and the private calendar feed -------------------------------------------


def _feed_digest(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@login_required
@require_GET
def profile(request):
    """The user's page: the private calendar feed's address (shown once, after making it)."""
    feed = CalendarFeed.objects.filter(user=request.user).first()
    return render(
        request,
        "protokolle/profile.html",
        {"feed": feed, "feed_url": request.session.pop(FEED_SESSION_KEY, None)},
    )


@login_required
@require_POST
def calendar_token(request):
    """Make (or replace) the user's feed token: the old address stops working."""
    token = secrets.token_urlsafe(32)
    try:
        with transaction.atomic():
            _feed, made = CalendarFeed.objects.update_or_create(
                user=request.user, defaults={"token_hash": _feed_digest(token)}
            )
    except IntegrityError:  # a clash of 256-bit tokens: practically never; ask again
        messages.error(request, _("Please try again."))
        return redirect("protokolle:profile")
    request.session[FEED_SESSION_KEY] = settings.SITE_URL.rstrip("/") + reverse(
        "protokolle:calendar_feed", args=[token]
    )
    messages.success(
        request,
        _("Your calendar address is made.")
        if made
        else _("Your calendar address is new; the old one no longer works."),
    )
    return redirect("protokolle:profile")


@never_cache
@require_GET
def calendar_feed(request, token):
    """All meetings of the user's bodies as a calendar, from 90 days ago on."""
    if len(token) > invitations.TOKEN_MAX_LENGTH:
        raise Http404("no such feed")
    feed = (
        CalendarFeed.objects.select_related("user")
        .filter(token_hash=_feed_digest(token), user__is_active=True)
        .first()
    )
    if feed is None:
        raise Http404("no such feed")
    since = timezone.localdate() - datetime.timedelta(days=FEED_PAST_DAYS)
    meetings = list(
        access.visible_meetings(feed.user, _with_agenda())
        .filter(date__gte=since)
        .select_related("invitation")
        .order_by("date", "pk")[:FEED_MAX_EVENTS]
    )
    today = timezone.localdate()
    events = []
    for meeting in meetings:
        invitation = getattr(meeting, "invitation", None)
        invited = bool(invitation and invitation.sent_state)
        events.append(
            calendar.meeting_event(
                meeting,
                sequence=invitation.sequence if invitation else 0,
                cancelled=bool(invitation and invitation.cancelled_at),
                # A meeting ahead that nobody was invited to yet is only planned.
                tentative=not invited and meeting.date >= today,
            )
        )
    data = calendar.calendar(events, name="Werkstatt-Protokolle")
    return _ics_response(data, "sitzungen.ics")
