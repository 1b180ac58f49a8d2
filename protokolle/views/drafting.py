"""A new meeting proposed from the records, and circulating its minutes."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from .. import drafting, workflow
from ..access import (
    can_write,
    readable_bodies,
)
from ..forms import NewMeetingForm
from .meetings import _transition


@login_required
@require_http_methods(["GET", "POST"])
def meeting_new(request, body_pk):
    """A new meeting of a body, proposed from its records."""
    body = get_object_or_404(readable_bodies(request.user), pk=body_pk)
    if not can_write(request.user, body):
        raise PermissionDenied
    if request.method == "POST":
        form = NewMeetingForm(request.POST, body=body)
        if form.is_valid():
            meeting = drafting.create_meeting(form)
            messages.success(request, _("The meeting was created. Now write the minutes."))
            return redirect("protokolle:meeting_edit", pk=meeting.pk)
    else:
        form = NewMeetingForm(initial=drafting.proposal(body), body=body)
    waiting = drafting.waiting_for_confirmation(body)
    return render(
        request,
        "protokolle/meeting_new.html",
        {
            "body": body,
            "form": form,
            "waiting": waiting,
            "welcome_title": drafting.welcome_title(waiting),
            "member_names": body.memberships.values_list("person__name", flat=True),
        },
    )


@login_required
@require_POST
def meeting_circulate(request, pk):
    return _transition(
        request,
        pk,
        lambda meeting: workflow.circulate(meeting.pk, request.user),
        _("The minutes are circulated; the members were told by e-mail."),
    )
