"""A new meeting proposed from the records, and circulating its minutes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from werkstatt.client_ip import client_ip

from .. import access, drafting, workflow
from ..access import get_meeting_for_user
from ..forms import NewMeetingForm
from ..models import Meeting


@login_required
@require_http_methods(["GET", "POST"])
def meeting_new(request, body_pk):
    """A new meeting of a body, proposed from its records.

    The page shows the agenda the meeting will start with. It is computed for the
    posted date; when that differs from the agenda the page showed (another date,
    or minutes circulated meanwhile), the page shows the new one instead of creating.
    """
    body = get_object_or_404(access.readable_bodies(request.user), pk=body_pk)
    if not access.can_write(request.user, body):
        raise PermissionDenied
    if request.method == "POST":
        form = NewMeetingForm(request.POST, body=body)
        valid = form.is_valid()
        # The agenda follows the posted date once it is valid (a date with an error
        # is not in cleaned_data).
        date = form.cleaned_data.get("date")
        agenda = drafting.proposed_agenda(body, date) if date else None
        shown = request.POST.get("agenda_proposal", "")
        fingerprint = drafting.agenda_fingerprint(agenda) if agenda else ""
        if valid and "refresh" not in request.POST:
            if not shown or shown == fingerprint:
                try:
                    meeting = drafting.create_meeting(form, agenda)
                except drafting.NumberTaken as taken:
                    # Someone else created this number a moment ago: propose the next
                    # free one and keep everything else that was typed.
                    data = request.POST.copy()
                    data["number"] = str(taken.next_free)
                    form = NewMeetingForm(data, body=body)
                    messages.warning(
                        request,
                        _(
                            "Meeting number %(number)s was created by someone else a moment "
                            "ago. The next free number, %(next)s, is filled in: please check "
                            "and create the meeting again."
                        )
                        % {"number": taken.number, "next": taken.next_free},
                    )
                else:
                    messages.success(request, _("The meeting was created. Now write the minutes."))
                    return redirect("protokolle:meeting_edit", pk=meeting.pk)
            else:
                messages.info(
                    request,
                    _(
                        "The proposed agenda changed with your input. Please check it and "
                        "create the meeting again."
                    ),
                )
    else:
        form = NewMeetingForm(initial=drafting.proposal(body), body=body)
        date = form.initial["date"]  # None where only the writer knows the day
        agenda = drafting.proposed_agenda(body, date) if date else None
        fingerprint = drafting.agenda_fingerprint(agenda) if agenda else ""
    return render(
        request,
        "protokolle/meeting_new.html",
        {
            "body": body,
            "form": form,
            "agenda": agenda,
            "agenda_proposal": fingerprint,
            "member_names": body.memberships.values_list("person__name", flat=True),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def meeting_circulate(request, pk):
    """Circulating asks first: who is told by e-mail, and who is not (GET); then does it."""
    if request.method == "POST":
        return _circulate(request, pk)
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk, write=True)
    if meeting.status != Meeting.Status.DRAFT:
        messages.info(
            request,
            _("These minutes are %(status)s and cannot be circulated now.")
            % {"status": meeting.get_status_display()},
        )
        return redirect("protokolle:meeting_detail", pk=meeting.pk)
    return render(
        request,
        "protokolle/meeting_circulate.html",
        {
            "meeting": meeting,
            "notice": workflow.notice_for(meeting),
            "has_items": meeting.agenda_items.exists(),
        },
    )


def _circulate(request, pk):
    # Members and admins learn from a message why not (as for every workflow step).
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    try:
        version = workflow.circulate(meeting.pk, request.user, remote_addr=client_ip(request))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.add_message(request, *circulation_message(version.number, version.notice))
    return redirect("protokolle:meeting_detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_notify(request, pk):
    """„Benachrichtigung erneut senden“: the circulation mail again, for its writers.

    Members learn from a message why not, as for every workflow step.
    """
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    try:
        notice = workflow.notify_members(meeting.pk, request.user)
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.add_message(request, *circulation_message(notice.number, notice, again=True))
    return redirect("protokolle:meeting_detail", pk=meeting.pk)


def circulation_message(number, notice, again=False):
    """What circulating did, or sending its mail again, truthfully: who was told, who not, why.

    ``number``: the circulated version; ``notice``: the workflow's Notice, None when
    circulating confirmed the minutes at once; ``again``: the mail was sent once more
    („Benachrichtigung erneut senden“). Returns (level, text) for messages.
    """
    if notice is None:
        return messages.SUCCESS, _(
            "The corrected minutes are circulated (version %(number)s) and thereby confirmed."
        ) % {"number": number}
    failed, sentences = notice.sentences(
        ngettext(
            "You can send it again with the button “Send the notification again”, or tell "
            "them yourself.",
            "You can send them again with the button “Send the notification again”, or tell "
            "them yourself.",
            len(notice.recipients),
        )
    )
    if not again:
        parts = [_("The minutes are circulated (version %(number)s).") % {"number": number}]
    elif notice.sent:
        parts = [_("The notification of version %(number)s was sent again.") % {"number": number}]
    else:
        parts = []
    level = messages.WARNING if failed or (again and not notice.sent) else messages.SUCCESS
    return level, " ".join([*parts, *sentences])
