"""The minute-taker's editor and the decisions on earlier minutes recorded in it."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from werkstatt.client_ip import client_ip

from .. import drafting, invitations, workflow
from ..access import (
    can_write,
    get_meeting_for_user,
)
from ..editor import Editor, NotEditable, save_editor
from ..forms import ApprovalForm
from ..models import (
    Approval,
    Meeting,
)


@login_required
@require_http_methods(["GET", "POST"])
def meeting_edit(request, pk):
    """The minute-taker's editor: all sections on one page, saved together."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk, write=True)
    if meeting.status != Meeting.Status.DRAFT:
        messages.info(
            request,
            _("These minutes are %(status)s and can no longer be edited.")
            % {"status": meeting.get_status_display()},
        )
        return redirect("protokolle:meeting_detail", pk=meeting.pk)
    status = 200
    if request.method == "POST":
        try:
            editor, saved = save_editor(
                meeting.pk, request.POST.copy(), request.FILES, request.user
            )
        except NotEditable as error:
            messages.error(request, str(error))
            return redirect("protokolle:meeting_detail", pk=meeting.pk)
        if saved:
            messages.success(request, _("Saved."))
            url = reverse("protokolle:meeting_edit", args=[meeting.pk])
            if request.POST.get("approve"):
                # The decision on earlier minutes is part of the same submit, so that
                # no input typed elsewhere on the page is lost; it runs after the save.
                _record_approval(
                    request,
                    meeting,
                    ApprovalForm(request.POST, prefix=f"approval-{request.POST['approve']}"),
                    _("Your input is saved, but the decision is not recorded."),
                )
            token = request.POST.get("autosave_token", "")
            if token.isalnum() and len(token) <= 20:
                # Tells the page that this browser's copy of the input is saved.
                url += f"?saved={token}"
            return redirect(url)
        status = 409 if editor.conflicts else 400
        meeting = editor.meeting
    else:
        editor = Editor(meeting)
    return render(
        request,
        "protokolle/meeting_edit.html",
        {
            "meeting": meeting,
            "editor": editor,
            "saved": request.method == "GET",
            "waiting": workflow.waiting_minutes(meeting),
            "not_yet_met": (
                workflow.not_yet_met(meeting) if meeting.date > timezone.localdate() else ""
            ),
            "decided": meeting.approvals.exclude(approved_meeting=None).select_related(
                "approved_meeting"
            ),
            "approval_outcomes": Approval.Outcome.choices,
            "closing_title": drafting.STANDING_LAST_ITEM,
            "invitation_changes": _invitation_changes(meeting, editor),
        },
        status=status,
    )


def _invitation_changes(meeting, editor):
    """What of date, time, place and agenda changed as saved since the invitation went
    out, while the change can still be sent: the writer is told where the change is made.
    Words for the editor's notice, or an empty list."""
    if not invitations.can_invite(meeting):
        return []
    invitation = invitations.invitation_of(meeting)
    if invitation is None or not invitation.sent_state:
        return []
    state = invitations.state_of(meeting, editor.outline_items)  # as saved: the editor's
    return invitations.changes(invitation, state).words()


def _record_approval(request, meeting, form, invalid_message):
    """Record what ``meeting`` decided on earlier minutes, from a bound ApprovalForm.

    Every outcome becomes a message; nothing here raises.
    """
    if not form.is_valid():
        # The general message, and what exactly was wrong where: „Nein: Der Wert muss
        # größer oder gleich 0 sein.“ (not a request to choose a decision already chosen).
        details = [
            f"{form.fields[name].label}: {error}" if name in form.fields else str(error)
            for name, errors in form.errors.items()
            for error in errors
        ]
        messages.error(request, " ".join([str(invalid_message), *details]))
        return
    data = form.cleaned_data
    try:
        workflow.record_approval(
            meeting.pk,
            data["approved_meeting"],
            data["outcome"],
            request.user,
            vote={
                "yes": data["yes"],
                "no": data["no"],
                "abstain": data["abstain"],
                "text": data["vote_text"],
            },
            note=data["note"],
            objections_considered=data["objections_considered"],
            remote_addr=client_ip(request),
        )
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        # A decision that cannot be undone stays on the page as an alert ("lasting"),
        # where an ordinary save only speaks in the save bar.
        messages.success(
            request, _("The decision is recorded and written under item 1."), extra_tags="lasting"
        )


@login_required
@require_POST
def meeting_approve(request, pk):
    """The editor's confirmation item: what this meeting decided on earlier minutes."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    back = (
        reverse("protokolle:meeting_edit", args=[meeting.pk]) + "#sec-approvals"
        if can_write(request.user, meeting.body)
        else reverse("protokolle:meeting_detail", args=[meeting.pk])
    )
    _record_approval(
        request,
        meeting,
        ApprovalForm(request.POST),
        _("The decision is not recorded."),
    )
    return redirect(back)
