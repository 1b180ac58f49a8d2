"""Views: check access, call the domain, render or redirect."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from . import drafting, pdf
from .access import can_write, get_meeting_for_user, readable_bodies, writable_bodies
from .forms import NewMeetingForm
from .models import ArchivedPdf, Meeting


@login_required
@require_GET
def home(request):
    """The user's bodies with their meetings, and what waits for this user."""
    bodies = list(
        readable_bodies(request.user)
        .order_by("name")
        .prefetch_related(
            Prefetch("meetings", queryset=Meeting.objects.order_by("-date", "-number"))
        )
    )
    writable = set(writable_bodies(request.user).values_list("pk", flat=True))
    drafts_to_finish = [
        m
        for body in bodies
        if body.pk in writable
        for m in body.meetings.all()
        if m.status == Meeting.Status.DRAFT
    ]
    drafts_to_read = [
        m for body in bodies for m in body.meetings.all() if m.status == Meeting.Status.CIRCULATED
    ]
    return render(
        request,
        "protokolle/home.html",
        {
            "bodies": bodies,
            "writable": writable,
            "drafts_to_finish": drafts_to_finish,
            "drafts_to_read": drafts_to_read,
        },
    )


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
@require_GET
def meeting_detail(request, pk):
    """The meeting's read view: status, downloads and the minutes themselves."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    return render(
        request,
        "protokolle/meeting_detail.html",
        {"meeting": meeting, "can_edit": can_write(request.user, meeting.body)},
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
            editor, saved = drafting.save_editor(
                meeting.pk, request.POST.copy(), request.FILES, request.user
            )
        except drafting.NotEditable as error:
            messages.error(request, str(error))
            return redirect("protokolle:meeting_detail", pk=meeting.pk)
        if saved:
            messages.success(request, _("Saved."))
            url = reverse("protokolle:meeting_edit", args=[meeting.pk])
            token = request.POST.get("autosave_token", "")
            if token.isalnum() and len(token) <= 20:
                # Tells the page that this browser's copy of the input is saved.
                url += f"?saved={token}"
            return redirect(url)
        status = 409 if editor.conflicts else 400
        meeting = editor.meeting
    else:
        editor = drafting.Editor(meeting)
    return render(
        request,
        "protokolle/meeting_edit.html",
        {"meeting": meeting, "editor": editor, "saved": request.method == "GET"},
        status=status,
    )


def _public_only(request):
    return request.GET.get("version") == "public"


@login_required
@require_GET
def minutes_pdf(request, pk):
    """The minutes as PDF: the stored archival copy once confirmed, rendered before."""
    public_only = _public_only(request)
    meeting = get_meeting_for_user(request, pdf.minutes_queryset(), pk)
    variant = ArchivedPdf.Variant.PUBLIC if public_only else ArchivedPdf.Variant.MEMBERS
    if meeting.is_confirmed:
        copy = next((c for c in meeting.archived_pdfs.all() if c.variant == variant), None)
        if copy is None or not copy.file.storage.exists(copy.file.name):
            raise Http404(_("There is no archived PDF of these minutes in this version."))
        return FileResponse(
            copy.file.open("rb"),
            content_type="application/pdf",
            filename=copy.file.name.rsplit("/", 1)[-1],
        )
    data = pdf.render_pdf(meeting, public_only=public_only)
    name = pdf.filename(meeting, variant).replace(".pdf", "-entwurf.pdf")
    return FileResponse(io.BytesIO(data), content_type="application/pdf", filename=name)


@xframe_options_sameorigin
@login_required
@require_GET
def minutes_preview(request, pk):
    """The minutes as HTML, from the template the PDF is rendered from."""
    meeting = get_meeting_for_user(request, pdf.minutes_queryset(), pk)
    return HttpResponse(pdf.render_html(meeting, public_only=_public_only(request)))
