"""Views of a meeting: start page, read view, responses, versions, downloads."""

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, Prefetch, Subquery
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from werkstatt.client_ip import client_ip

from .. import access, history, pdf, versions, workflow
from ..access import get_meeting_for_user
from ..forms import CirculationForm, ResponseForm
from ..models import (
    ArchivedPdf,
    Meeting,
    MinutesVersion,
    Response,
    build_agenda,
    flatten_agenda,
)


@login_required
@require_GET
def home(request):
    """The user's bodies with their meetings, and what waits for this user."""
    bodies = list(
        access.readable_bodies(request.user)
        .order_by("name")
        .prefetch_related(
            Prefetch("meetings", queryset=Meeting.objects.order_by("-date", "-number"))
        )
    )
    writable = set(access.writable_bodies(request.user).values_list("pk", flat=True))
    meetings = [m for body in bodies for m in body.meetings.all()]
    circulated = [m for m in meetings if m.status == Meeting.Status.CIRCULATED]
    answered = set(
        Response.objects.filter(
            person__user=request.user,
            meeting__in=circulated,
            version__number=Subquery(
                MinutesVersion.objects.filter(meeting=OuterRef("meeting"))
                .order_by("-number")
                .values("number")[:1]
            ),
        ).values_list("meeting_id", flat=True)
    )
    member_of = set(access.member_bodies(request.user).values_list("pk", flat=True))
    return render(
        request,
        "protokolle/home.html",
        {
            "bodies": bodies,
            "writable": writable,
            "drafts_to_finish": [
                m for m in meetings if m.status == Meeting.Status.DRAFT and m.body_id in writable
            ],
            "to_confirm": [
                m for m in circulated if m.body_id in member_of and m.pk not in answered
            ],
            "responses": Response.objects.filter(
                meeting__in=[m for m in circulated if m.body_id in writable]
            )
            .select_related("person", "meeting__body")
            .order_by("-created_at")[:20],
        },
    )


@login_required
@require_GET
def meeting_detail(request, pk):
    """The read view: the minutes with the members' answers in place, and around them
    the actions, responses, versions, history and downloads. A fixed number of queries."""
    meeting = get_meeting_for_user(request, Meeting.objects.for_minutes(), pk)
    return render(request, "protokolle/meeting_detail.html", _detail_context(request, meeting))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _detail_context(request, meeting, response_form=None, circulation_form=None):
    """What the read view shows of ``meeting``, loaded with ``Meeting.objects.for_minutes()``."""
    actions = workflow.allowed_actions(request.user, meeting)
    can_respond = "respond" in actions
    minutes = pdf.context(meeting)
    items = minutes["items"]
    versions = list(
        access.visible_versions(request.user)
        .filter(meeting=meeting)
        .select_related("created_by")
        .order_by("-number")
    )
    current = versions[0] if versions else None
    responses = list(
        meeting.responses.select_related("person", "version").order_by("-created_at", "-pk")
    )
    # A response names its item by the number the minutes print (``printed_number``).
    by_pk = {item.pk: item for item in items}
    for response in responses:
        response.item = by_pk.get(response.agenda_item_id)
    # Corrections asked for the current version, shown at their item (oldest first).
    corrections = {}
    for response in reversed(responses):
        if response.kind == Response.Kind.OBJECTION and response.version_id == current.pk:
            corrections.setdefault(response.agenda_item_id, []).append(response)
    for item in items:
        item.corrections = corrections.get(item.pk, [])
    # Every response answers a version, so ``current`` exists once there is one. The
    # user's own answers matter where they may respond (a current member: one person).
    latest_own = next(
        (r for r in responses if can_respond and r.person.user_id == request.user.pk), None
    )
    own_current = latest_own if latest_own and latest_own.version_id == current.pk else None
    response_form = response_form or ResponseForm(items=items)
    # A refused correction (no text) opens again where it was typed: at its item, or
    # the one for the whole minutes.
    failed = response_form.is_bound and response_form.data.get("kind") == "objection"
    failed_item = _int(response_form.data.get("agenda_item")) if failed else None
    hit_words = (request.GET.get("hit") or "").strip()[:200]
    hit_item = _int(request.GET.get("top")) if hit_words else None
    archived = list(meeting.archived_pdfs.all())
    return {
        **minutes,
        "actions": actions,
        "variants": access.minutes_variants(meeting),
        "raw_history": access.sees_raw_history(request.user),
        "item_actions": (
            "protokolle/includes/item_correction.html" if can_respond or corrections else ""
        ),
        "failed_item": failed_item,
        "failed_general": failed and not failed_item,
        "versions": versions,
        "current_version": current,
        "responses": responses,
        "own_response": own_current,
        "own_earlier_response": None if own_current else latest_own,
        "response_form": response_form,
        "circulation_form": circulation_form or CirculationForm(),
        "history": history.for_meeting(meeting),
        "archived": archived,
        # Confirmed, and the worker has not stored every archival copy yet.
        "archive_pending": meeting.is_confirmed
        and not {copy.variant for copy in archived} >= set(pdf.variants(meeting)),
        "confirmed_in": meeting.confirmations[0] if meeting.confirmations else None,
        "hit_words": hit_words,
        "hit_item": next((item for item in items if item.pk == hit_item), None),
    }


def _refused(request, meeting, **forms):
    """The read view again, with the refused form and its input."""
    context = _detail_context(request, Meeting.objects.for_minutes().get(pk=meeting.pk), **forms)
    return render(request, "protokolle/meeting_detail.html", context, status=400)


def _transition(request, pk, action, success):
    """Run one workflow step for a POST and go back to the meeting with a message."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    try:
        action(meeting)
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect("protokolle:meeting_detail", pk=meeting.pk)


@login_required
@require_POST
def meeting_reopen(request, pk):
    return _transition(
        request,
        pk,
        lambda meeting: workflow.reopen(meeting.pk, request.user, remote_addr=client_ip(request)),
        _("The minutes are a draft again: work in the corrections, then circulate them anew."),
    )


@login_required
@require_POST
def meeting_respond(request, pk):
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    items = list(flatten_agenda(build_agenda(meeting.agenda_items.all())))
    form = ResponseForm(request.POST, items=items)
    if not form.is_valid():
        return _refused(request, meeting, response_form=form)
    try:
        workflow.respond(
            meeting.pk,
            request.user,
            form.cleaned_data["kind"],
            form.cleaned_data["text"],
            form.cleaned_data["agenda_item"] or None,
            remote_addr=client_ip(request),
        )
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
        return _refused(request, meeting, response_form=form)
    messages.success(request, _("Thank you: your response is recorded."))
    item = form.cleaned_data["agenda_item"]
    # Back where the member was reading: at the item they answered to.
    anchor = f"#top-{item}" if item else ""
    return redirect(reverse("protokolle:meeting_detail", args=[meeting.pk]) + anchor)


@login_required
@require_POST
def meeting_circulation(request, pk):
    """Start the confirmation by circulation (Umlaufverfahren) with a deadline."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    form = CirculationForm(request.POST)
    if not form.is_valid():
        return _refused(request, meeting, circulation_form=form)
    return _transition(
        request,
        pk,
        lambda m: workflow.start_confirmation_by_circulation(
            m.pk, request.user, form.cleaned_data["deadline"], remote_addr=client_ip(request)
        ),
        _("The members can now confirm the minutes in writing until the deadline."),
    )


@login_required
@require_GET
def version_diff(request, pk, number):
    """What changed from the previous circulated version to this one."""
    meeting = get_meeting_for_user(request, Meeting.objects.select_related("body"), pk)
    version = get_object_or_404(
        access.visible_versions(request.user), meeting=meeting, number=number
    )
    previous = meeting.versions.filter(number__lt=number).order_by("-number").first()
    changes = None
    if previous:
        changes = versions.diff(
            previous.document, version.document, previous.identity, version.identity
        )
    return render(
        request,
        "protokolle/version_diff.html",
        {"meeting": meeting, "version": version, "previous": previous, "changes": changes},
    )


@login_required
@require_GET
def minutes_pdf(request, pk):
    """The minutes as PDF: the stored archival copy once confirmed, rendered before.

    Confirmed minutes whose archival copy the worker has not stored yet (protokolle/
    jobs.py) are rendered now, unsealed, as "-vorlaeufig.pdf": the request never
    archives (the read view says the copy is being made). A render that fails or
    takes too long leads to the preview with its message, never to a server error.
    """
    meeting = get_meeting_for_user(request, Meeting.objects.for_minutes(), pk)
    variant = access.requested_variant(request, meeting)
    suffix = "-entwurf.pdf"
    if meeting.is_confirmed:
        copy = next((c for c in meeting.archived_pdfs.all() if c.variant == variant), None)
        if copy is not None:
            if not copy.file.storage.exists(copy.file.name):
                raise Http404(_("There is no archived PDF of these minutes in this version."))
            return FileResponse(
                copy.file.open("rb"),
                content_type="application/pdf",
                as_attachment=True,
                filename=copy.file.name.rsplit("/", 1)[-1],
            )
        suffix = "-vorlaeufig.pdf"
    try:
        data = pdf.render_pdf(meeting, public_only=variant == ArchivedPdf.Variant.PUBLIC)
    except pdf.RenderError as error:
        return _not_rendered(request, meeting, variant, error)
    name = pdf.filename(meeting, variant).replace(".pdf", suffix)
    return FileResponse(
        io.BytesIO(data), content_type="application/pdf", as_attachment=True, filename=name
    )


def _not_rendered(request, meeting, variant, error):
    """To the preview of ``variant``, with the render's message: the minutes can be read
    there when their PDF cannot be typeset (the message says so)."""
    messages.error(request, str(error))
    url = reverse("protokolle:minutes_preview", args=[meeting.pk])
    if variant == ArchivedPdf.Variant.PUBLIC:
        url += f"?{access.VARIANT_PARAMETER}={ArchivedPdf.Variant.PUBLIC}"
    return redirect(url)


@login_required
@require_GET
def minutes_preview(request, pk):
    """The minutes as a page of the app, from the template the PDF is rendered from."""
    meeting = get_meeting_for_user(request, Meeting.objects.for_minutes(), pk)
    variant = access.requested_variant(request, meeting)
    return render(
        request,
        "protokolle/minutes_preview.html",
        {
            **pdf.context(meeting, public_only=variant == ArchivedPdf.Variant.PUBLIC),
            "variants": access.minutes_variants(meeting),
        },
    )


@login_required
@require_GET
def attachment_download(request, pk):
    """An attachment's file, for those who may read its meeting; always as a download."""
    attachment = get_object_or_404(
        access.visible_attachments(request.user).select_related("meeting__body"), pk=pk
    )
    if not attachment.file:
        raise Http404(_("This attachment has no file."))
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(_("The file of this attachment is missing.")) from exc
    name = attachment.file.name.rsplit("/", 1)[-1]
    return FileResponse(handle, as_attachment=True, filename=name)
