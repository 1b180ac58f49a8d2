"""Views: check access, call the domain, render or redirect."""

import io

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from . import pdf
from .access import get_meeting_for_user
from .models import ArchivedPdf


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


@login_required
@require_GET
def minutes_preview(request, pk):
    """The minutes as HTML, from the template the PDF is rendered from."""
    meeting = get_meeting_for_user(request, pdf.minutes_queryset(), pk)
    return HttpResponse(pdf.render_html(meeting, public_only=_public_only(request)))
