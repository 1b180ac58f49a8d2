"""The Ergebnisprotokoll as HTML and PDF, and the archival copy of confirmed minutes.

One template (``protokolle/pdf/minutes.html``) gives both the HTML preview and the
PDF. WeasyPrint is set up once per process: one FontConfiguration, the stylesheet
parsed once, and a URL fetcher that reads only our own static files, so that nothing
typed into the minutes can make the renderer fetch anything.
"""

import hashlib
import io
from functools import cache
from urllib.parse import unquote, urlsplit

from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation

from . import exchange, wording
from .models import ArchivedPdf, Meeting, Participant, build_agenda

TEMPLATE = "protokolle/pdf/minutes.html"
STYLESHEET = "css/minutes.css"
EMBEDDED_NAME = "minutes.json"
PDF_VARIANT = "pdf/a-3b"
# Relative URLs in the HTML resolve against this base; the fetcher maps it to
# the static files and refuses everything else. The host can never resolve.
BASE_URL = "http://werkstatt-static.invalid/"

ATTENDANCE_GROUPS = [
    (Participant.Status.PRESENT, "Anwesend"),
    (Participant.Status.EXCUSED, "Entschuldigt"),
    (Participant.Status.ABSENT, "Abwesend"),
    (Participant.Status.GUEST, "Gäste"),
]


def _visible(items, public_only):
    for item in items:
        if public_only and not item.public:
            continue
        yield item
        yield from _visible(item.child_items, public_only)


def _snapshot(name, organisation, function):
    return Participant(name=name, organisation=organisation, function=function)


def confirmation_line(meeting):
    """„Bestätigt in der 9. Sitzung am 23.05.2022“ or „… im Umlaufverfahren am …“."""
    if not meeting.is_confirmed:
        return ""
    if meeting.confirmed_by_circulation and meeting.confirmed_at:
        return (
            f"Bestätigt im Umlaufverfahren am {timezone.localtime(meeting.confirmed_at):%d.%m.%Y}"
        )
    approvals = getattr(meeting, "confirmations", None)
    if approvals:
        deciding = approvals[0].meeting
        return "Bestätigt in der " + wording.meeting_name(deciding.number, deciding.date, "am")
    return "Bestätigtes Protokoll"


def context(meeting, *, public_only=False, for_pdf=False):
    """What the minutes template shows; no queries for a meeting loaded ``for_minutes()``."""
    items = list(_visible(build_agenda(meeting.agenda_items.all()), public_only))
    participants = list(meeting.participants.all())
    attendance = [
        (label, group)
        for status, label in ATTENDANCE_GROUPS
        if (group := [p for p in participants if p.status == status])
    ]
    heading = f"{meeting.number}. Sitzung" if meeting.number else (meeting.title or "Sitzung")
    closing_line = ""
    if meeting.has_closing:
        place = meeting.closing_place or meeting.body.place
        date = meeting.closing_date or meeting.date
        closing_line = f"{place}, {date:%d.%m.%Y}" if place else f"{date:%d.%m.%Y}"
    return {
        "meeting": meeting,
        "heading": heading,
        "items": items,
        "attendance": attendance,
        "attachments": list(meeting.attachments.all()),
        "chair": _snapshot(meeting.chair_name, meeting.chair_organisation, meeting.chair_function),
        "minute_taker": _snapshot(
            meeting.minute_taker_name,
            meeting.minute_taker_organisation,
            meeting.minute_taker_function,
        ),
        "draft": meeting.status != Meeting.Status.CONFIRMED,
        "confirmation": confirmation_line(meeting),
        "closing_line": closing_line,
        "public_only": public_only,
        "for_pdf": for_pdf,
        "rendered_at": timezone.localtime(),
    }


def render_html(meeting, *, public_only=False, for_pdf=False):
    """The minutes as an HTML document (German, whatever the UI language is)."""
    with translation.override("de"):
        return render_to_string(
            TEMPLATE, context(meeting, public_only=public_only, for_pdf=for_pdf)
        )


# --- WeasyPrint, set up once per process -----------------------------------------------


@cache
def _weasyprint():
    """Import WeasyPrint lazily: it costs about half a second and most requests don't need it."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    class StaticFilesFetcher(weasyprint.URLFetcher):
        """Serve our static files; refuse http(s), file:// and everything else."""

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            base = urlsplit(BASE_URL)
            prefix = "/static/"
            if (parts.scheme, parts.netloc) != (base.scheme, base.netloc) or not (
                parts.path.startswith(prefix)
            ):
                raise ValueError(f"refused to fetch {url!r}: only our static files are allowed")
            try:
                path = finders.find(unquote(parts.path.removeprefix(prefix)))
            except SuspiciousFileOperation as exc:
                raise ValueError(f"refused to fetch {url!r}: outside the static files") from exc
            if not path:
                raise ValueError(f"no static file {parts.path!r}")
            with open(path, "rb") as handle:
                return weasyprint.urls.URLFetcherResponse(url, handle.read())

    fonts = FontConfiguration()
    fetcher = StaticFilesFetcher(allowed_protocols={"http"})
    stylesheet = weasyprint.CSS(
        filename=finders.find(STYLESHEET), font_config=fonts, url_fetcher=fetcher
    )
    return weasyprint, fonts, fetcher, stylesheet


def render_pdf(meeting, *, public_only=False):
    """The minutes as PDF/A-3b bytes, with the exchange document embedded (``minutes.json``)."""
    weasyprint, fonts, fetcher, stylesheet = _weasyprint()
    html = render_html(meeting, public_only=public_only, for_pdf=True)
    document = exchange.export_document(meeting, public_only=public_only)
    # An Attachment can serve one render only, so make a new one each time.
    attachment = weasyprint.Attachment(
        string=exchange.dumps(document).encode("utf-8"),
        name=EMBEDDED_NAME,
        description="werkstatt-protokoll/1",
        relationship="Data",
        url_fetcher=fetcher,
    )
    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet],
        font_config=fonts,
        pdf_variant=PDF_VARIANT,
        attachments=[attachment],
    )


def embedded_document(pdf_bytes):
    """The ``werkstatt-protokoll/1`` JSON embedded in one of our PDFs, as bytes."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        attachments = PdfReader(io.BytesIO(pdf_bytes)).attachments
    except (PdfReadError, ValueError, KeyError) as exc:
        raise exchange.DocumentError([f"PDF: {exc}"]) from exc
    if EMBEDDED_NAME not in attachments:
        raise exchange.DocumentError(
            [translation.gettext("The PDF carries no embedded %(name)s.") % {"name": EMBEDDED_NAME}]
        )
    return attachments[EMBEDDED_NAME][0]


# --- the archival copy ----------------------------------------------------------------


def filename(meeting, variant):
    number = f"{meeting.number:03d}" if meeting.number else f"{meeting.pk}"
    suffix = "" if variant == ArchivedPdf.Variant.MEMBERS else "-oeffentlich"
    return f"protokoll-{meeting.body.pk}-{number}-{meeting.date:%Y-%m-%d}{suffix}.pdf"


def variants(meeting):
    """The archival copies confirmed minutes have: the members', and public for public ones."""
    if meeting.public:
        return [ArchivedPdf.Variant.MEMBERS, ArchivedPdf.Variant.PUBLIC]
    return [ArchivedPdf.Variant.MEMBERS]


def archive(meeting):
    """Render confirmed minutes once and store them with their SHA-256.

    Called after the transaction that confirmed them, so that no row lock is held
    while rendering. Stores the members' version and, for public meetings, the public
    version; returns the ArchivedPdf rows. A copy that has its row is never rendered
    again. Two processes archiving the same minutes at once store one row per
    variant: the unique constraint lets the first in, the other's file is removed and
    the existing row returned.
    """
    if not meeting.is_confirmed:
        raise ValueError("only confirmed minutes are archived")
    loaded = Meeting.objects.for_minutes().get(pk=meeting.pk)
    if not loaded.is_confirmed:
        raise ValueError("only confirmed minutes are archived")
    existing = {copy.variant: copy for copy in loaded.archived_pdfs.all()}
    copies = []
    for variant in variants(loaded):
        if variant not in existing:
            data = render_pdf(loaded, public_only=variant == ArchivedPdf.Variant.PUBLIC)
            existing[variant] = _store(loaded, variant, data)
        copies.append(existing[variant])
    return copies


def _store(meeting, variant, data):
    """Store one rendered copy, or return the one another process stored first."""
    copy = ArchivedPdf(
        meeting=meeting,
        variant=variant,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
    )
    # The storage never overwrites: a second process gets a file name of its own.
    copy.file.save(filename(meeting, variant), ContentFile(data), save=False)
    try:
        with transaction.atomic():
            copy.save()
    except IntegrityError:
        copy.file.storage.delete(copy.file.name)
        winner = ArchivedPdf.objects.filter(meeting=meeting, variant=variant).first()
        if winner is None:
            raise
        return winner
    except BaseException:
        copy.file.storage.delete(copy.file.name)
        raise
    return copy


def ensure_archived(meeting):
    """The archival copies of confirmed minutes, rendering any that are missing.

    Minutes stay confirmed when rendering their copies failed after the confirmation
    (a render that timed out, a process that was stopped): this renders them when
    they are next asked for, e.g. by the PDF download or ``verify_archive``. Cheap
    when nothing is missing (no query for a meeting loaded ``for_minutes()``).
    Returns [] for minutes that are not confirmed. A copy whose row exists but whose
    file is gone is not rendered again: that is a damaged archive (``verify``).
    """
    if not meeting.is_confirmed:
        return []
    copies = list(meeting.archived_pdfs.all())
    if {copy.variant for copy in copies} >= set(variants(meeting)):
        return copies
    return archive(meeting)


def sha256_of(stored_file):
    digest = hashlib.sha256()
    with stored_file.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(copy):
    """None when the stored file is there and unchanged, otherwise what is wrong."""
    storage = copy.file.storage
    if not storage.exists(copy.file.name):
        return "missing"
    if sha256_of(copy.file) != copy.sha256:
        return "changed"
    return None
