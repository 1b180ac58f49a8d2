"""The Ergebnisprotokoll as HTML and PDF, and the archival copy of confirmed minutes.

One template (``protokolle/pdf/minutes.html``) gives both the HTML preview and the
PDF. WeasyPrint is set up once per process: one FontConfiguration, the stylesheet
parsed once, and a URL fetcher that reads only our own static files, so that nothing
typed into the minutes can make the renderer fetch anything.

Every PDF is typeset in a child process: WeasyPrint cannot be interrupted, a child
can. The parent builds the HTML and the embedded document (all the database work);
the child only typesets and hands back the bytes through a pipe. A child that takes
longer than ``PDF_RENDER_TIMEOUT`` seconds is killed and the caller gets
``RenderTimeout``, whose message a user can read. The child is forked once and
typesets render after render (see ``_Typesetter``).
"""

import gc
import hashlib
import io
import logging
import math
import multiprocessing
import os
import re
import signal
import threading
import traceback
from functools import cache
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import number_format

from . import exchange, seal, wording
from .models import ArchivedPdf, Meeting, Participant, build_agenda

TEMPLATE = "protokolle/pdf/minutes.html"
STYLESHEET = "css/minutes.css"
EMBEDDED_NAME = "minutes.json"
# Tagged PDF/A-3a: WeasyPrint builds the structure tree from the HTML (headings, tables
# with their header cells, lists), sets /MarkInfo, /Lang from <html lang> and has viewers
# show the document title (/ViewerPreferences /DisplayDocTitle). Every PDF we render is
# 3a, drafts too: it takes about a tenth longer than 3b (bench/README.md), below the 15 %
# that would have kept drafts at 3b, and the members read the draft before the meeting,
# so it needs to be accessible as much as the archived copy.
PDF_VARIANT = "pdf/a-3a"
# Relative URLs in the HTML resolve against this base; the fetcher maps it to
# the static files and refuses everything else. The host can never resolve.
BASE_URL = "http://werkstatt-static.invalid/"
# Seconds one render may take unless settings.PDF_RENDER_TIMEOUT says otherwise.
DEFAULT_RENDER_TIMEOUT = 60

logger = logging.getLogger(__name__)

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
    """„Bestätigt in der 9. Sitzung am 23.05.2022“ or „… im Umlaufverfahren am …“,
    written from the record's confirmation (``meeting.confirmation`` in the exchange format)."""
    return wording.confirmation_line(exchange.confirmation_of(meeting))


def sealed_copies(meeting):
    """The meeting's archived copies that carry the electronic seal (prefetched: no query)."""
    if not meeting.is_confirmed:
        return []
    return [copy for copy in meeting.archived_pdfs.all() if copy.sealed_by]


def context(meeting, *, public_only=False, for_pdf=False, sealed=None):
    """What the minutes template shows; no queries for a meeting loaded ``for_minutes()``.

    ``sealed``: whether the signature block reads "gez." (the document carries the
    electronic seal); by default, whether the confirmed minutes' archived copy does,
    so that the preview reads as the archived PDF.
    """
    if sealed is None:
        sealed = bool(sealed_copies(meeting))
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
        "sealed": sealed,
        "rendered_at": timezone.localtime(),
    }


def render_html(meeting, *, public_only=False, for_pdf=False, sealed=None):
    """The minutes as an HTML document (German, whatever the UI language is)."""
    with translation.override("de"):
        html = render_to_string(
            TEMPLATE,
            context(meeting, public_only=public_only, for_pdf=for_pdf, sealed=sealed),
        )
    return without_layout_whitespace(html) if for_pdf else html


# The inline elements of the minutes: ours and those of the Markdown subset.
_INLINE = frozenset({"a", "br", "code", "em", "span", "strong"})
_BETWEEN_TAGS = re.compile(r"(<(/?)([a-zA-Z0-9]+)[^<>]*>)\s+(?=<(/?)([a-zA-Z0-9]+))")


def without_layout_whitespace(html):
    """``html`` without the template's indentation between block elements.

    WeasyPrint makes a text box of each run of whitespace and drops it again in line
    layout; bench/pdf measured these at 5–8 % of a render. Whitespace stays where it can
    be a word space: between inline elements, after an inline element and before a block
    that CSS may set inline (``div.result-text``). Pages are the same pixel for pixel.
    """

    def replace(match):
        tag, a_closing, a_name, b_closing, b_name = match.groups()
        a_inline, b_inline = a_name.lower() in _INLINE, b_name.lower() in _INLINE
        removable = (
            (not a_inline and not b_inline)
            or (not a_inline and not a_closing and b_inline and not b_closing)  # line start
            or (a_inline and a_closing and not b_inline and b_closing)  # line end
        )
        return tag if removable else match.group(0)

    return _BETWEEN_TAGS.sub(replace, html)


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


# --- typesetting in a child process, with a time limit -----------------------------------


class RenderError(Exception):
    """A PDF that could not be rendered; the message says so in words a user can read."""

    def __init__(self, message=None):
        super().__init__(
            message
            or translation.gettext(
                "The PDF could not be typeset. Please try again later, or read the minutes "
                "in the preview."
            )
        )


class RenderTimeout(RenderError):
    """A render stopped after ``seconds``: the minutes are too long to typeset in time."""

    def __init__(self, seconds):
        self.seconds = seconds
        super().__init__(
            translation.gettext(
                "The PDF is too long to be typeset within %(seconds)s seconds. Please shorten "
                "very long texts, or read the minutes in the preview."
            )
            % {"seconds": number_format(seconds)}
        )


def render_timeout():
    """Seconds one PDF render may take: ``settings.PDF_RENDER_TIMEOUT``, 60 by default."""
    return getattr(settings, "PDF_RENDER_TIMEOUT", DEFAULT_RENDER_TIMEOUT)


def _write_pdf_here(html, embedded, variant=PDF_VARIANT, files=()):
    """Typeset ``html`` in this process, with ``embedded`` attached as ``minutes.json``.

    ``files``: (file name, description, bytes) of the attachments to embed as associated
    files of the PDF/A-3 (relationship Supplement).
    """
    weasyprint, fonts, fetcher, stylesheet = _weasyprint()
    # An Attachment can serve one render only, so make a new one each time.
    attachments = [
        weasyprint.Attachment(
            string=embedded,
            name=EMBEDDED_NAME,
            description="werkstatt-protokoll/1",
            relationship="Data",
            url_fetcher=fetcher,
        )
    ]
    attachments += [
        weasyprint.Attachment(
            string=data,
            name=name,
            description=description,
            relationship="Supplement",
            url_fetcher=fetcher,
        )
        for name, description, data in files
    ]
    return weasyprint.HTML(string=html, base_url=BASE_URL, url_fetcher=fetcher).write_pdf(
        stylesheets=[stylesheet],
        font_config=fonts,
        pdf_variant=variant,
        attachments=attachments,
    )


def _close_inherited_files(keep):
    """Close every file the fork handed down except stdin, stdout, stderr and ``keep``.

    The child must not hold what belongs to the process it was forked from: the
    server's listening socket, a client's connection, database connections, the
    pipes of other child processes (a browser driver, say, waits for its input to
    close, which never happens while this child keeps a copy of it open).
    """
    os.closerange(3, keep)
    os.closerange(keep + 1, os.sysconf("SC_OPEN_MAX"))


def _serve(connection, parents_end):
    """The typesetting child: answer each (number, html, embedded, timeout, options) in turn.

    Answers (number, True, pdf bytes) or (number, False, traceback), until the pipe
    closes. Touches no database: it gets the finished HTML and the embedded
    document's bytes.
    """
    parents_end.close()  # so that recv() ends with EOFError once the parent is gone
    _close_inherited_files(keep=connection.fileno())
    # Default actions, not the handlers of the server this was forked from: SIGTERM
    # and SIGINT end this process, SIGALRM too (below).
    for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM"):
        signal.signal(getattr(signal, name), signal.SIG_DFL)
    # Whatever was inherited stays: the collector walking (and so copying) all of it
    # would cost every render time.
    gc.freeze()
    while True:
        try:
            number, html, embedded, timeout, options = connection.recv()
        except EOFError:
            return
        # Bounded even when the parent is gone and nobody is left to kill this child.
        signal.alarm(math.ceil(timeout) + 1)
        try:
            answer = (number, True, _write_pdf_here(html, embedded, **options))
        except Exception:
            answer = (number, False, traceback.format_exc())
        signal.alarm(0)
        try:
            connection.send(answer)
        except OSError:  # the parent is gone
            return


class _Typesetter:
    """A forked child that typesets one PDF at a time: warm after its first render.

    Forking anew for each render would cost about a fifth of a render (the child
    starts without WeasyPrint's fonts, hyphenation dictionary and caches, and copies
    the memory it writes to); this child keeps them from one render to the next.
    It is killed when a render takes too long or fails, and replaced after
    ``RENDERS_PER_CHILD`` renders, so that its memory cannot grow without end.
    """

    def __init__(self):
        context = multiprocessing.get_context("fork")
        self.connection, childs_end = context.Pipe()
        self.process = context.Process(
            target=_serve, args=(childs_end, self.connection), daemon=True, name="pdf-typesetter"
        )
        self.process.start()
        childs_end.close()
        self.served = 0

    def typeset(self, html, embedded, timeout, options=None):
        """The PDF, or RenderTimeout / RenderError; after either, ``stop`` this child.

        ``options``: keywords for ``_write_pdf_here`` (``variant``), none by default.
        """
        self.served += 1
        try:
            self.connection.send((self.served, html, embedded, timeout, options or {}))
            if not self.connection.poll(timeout):
                raise RenderTimeout(timeout)
            number, ok, payload = self.connection.recv()
        except (EOFError, OSError) as exc:  # the child died: killed, crashed, out of memory
            logger.error("PDF render: the typesetting process ended without an answer")
            raise RenderError() from exc
        if number != self.served:  # never hand out the answer to an earlier request
            logger.error("PDF render: answer %s to request %s", number, self.served)
            raise RenderError()
        if not ok:
            logger.error("PDF render failed in the typesetting process:\n%s", payload)
            raise RenderError()
        return payload

    def stop(self):
        """Kill the child and reap it: no process is left behind."""
        self.connection.close()
        self.process.kill()
        self.process.join()
        self.process.close()


RENDERS_PER_CHILD = 200
_typesetter = None
_typesetter_lock = threading.Lock()


def _forget_typesetter():
    # A process forked from this one must not use (or stop) its parent's child.
    global _typesetter, _typesetter_lock
    _typesetter = None
    _typesetter_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_typesetter)


def stop_typesetter():
    """End this process's typesetting child, if it has one (the next render starts one)."""
    global _typesetter
    with _typesetter_lock:
        if _typesetter is not None:
            _typesetter.stop()
            _typesetter = None


def write_pdf(html, embedded, *, timeout=None, variant=None, files=()):
    """The PDF of ``html`` (``embedded``: the bytes attached as ``minutes.json``).

    ``files``: further files to embed, as for ``_write_pdf_here``.

    ``variant``: WeasyPrint's ``pdf_variant``, ``PDF_VARIANT`` (tagged PDF/A-3a) unless
    given; the benchmark renders ``"pdf/a-3b"`` to compare.

    Typeset in a child process that touches no database. Raises ``RenderTimeout``
    when that takes longer than ``timeout`` seconds (default: ``render_timeout()``),
    after killing the child; ``RenderError`` when the child failed. One render at a
    time goes to this process's typesetting child; a render asked for meanwhile (by
    another thread) gets a child of its own, for that render only.
    """
    global _typesetter
    if timeout is None:
        timeout = render_timeout()
    options = {"variant": variant} if variant else {}
    if files:
        options["files"] = list(files)
    if not _typesetter_lock.acquire(blocking=False):
        once = _Typesetter()
        try:
            return once.typeset(html, embedded, timeout, options)
        finally:
            once.stop()
    try:
        if _typesetter is None or not _typesetter.process.is_alive():
            if _typesetter is not None:
                _typesetter.stop()
            _typesetter = _Typesetter()
        try:
            return _typesetter.typeset(html, embedded, timeout, options)
        except BaseException:
            # A timeout, a failure, or this thread interrupted while the child works:
            # its next answer could belong to this render, so it answers no other.
            _typesetter.stop()
            _typesetter = None
            raise
        finally:
            if _typesetter is not None and _typesetter.served >= RENDERS_PER_CHILD:
                _typesetter.stop()
                _typesetter = None
    finally:
        _typesetter_lock.release()


def render_pdf(meeting, *, public_only=False, timeout=None, variant=None):
    """The minutes as tagged PDF/A-3a bytes, with the exchange document embedded
    (``minutes.json``); ``variant`` as for ``write_pdf``.

    Raises ``RenderTimeout`` when typesetting takes longer than ``timeout`` seconds
    (default: ``settings.PDF_RENDER_TIMEOUT``, 60); its message can be shown as is.
    """
    html = render_html(meeting, public_only=public_only, for_pdf=True)
    document = exchange.export_document(meeting, public_only=public_only)
    return write_pdf(
        html, exchange.dumps(document).encode("utf-8"), timeout=timeout, variant=variant
    )


def _attachment_files(meeting):
    """(file name, description, bytes) of the meeting's attachment files, checked.

    Each file must still be what was uploaded (its recorded size and SHA-256): an
    archive never embeds a file that changed or went missing since.
    """
    files = []
    for attachment in meeting.attachments.all():
        if not attachment.file:
            continue
        name = os.path.basename(attachment.file.name)
        try:
            with attachment.file.open("rb") as handle:
                data = handle.read()
        except OSError as exc:
            raise RenderError(
                translation.gettext("The file of the attachment “%(name)s” is missing.")
                % {"name": attachment.name}
            ) from exc
        if attachment.sha256 and hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise RenderError(
                translation.gettext(
                    "The file of the attachment “%(name)s” changed since it was uploaded."
                )
                % {"name": attachment.name}
            )
        files.append((name, attachment.name, data))
    return files


def render_archival(meeting, variant):
    """The sealed archival PDF of confirmed minutes (a ``seal.Sealed``).

    The members' copy embeds the attachment files beside ``minutes.json``; the public
    copy (public items only) embeds no files, since attachments need not be public.
    The signature block reads "gez.": the seal stands in for the signatures.
    """
    try:
        seal.require()
        public_only = variant == ArchivedPdf.Variant.PUBLIC
        html = render_html(meeting, public_only=public_only, for_pdf=True, sealed=True)
        document = exchange.export_document(meeting, public_only=public_only)
        files = [] if public_only else _attachment_files(meeting)
        data = write_pdf(html, exchange.dumps(document).encode("utf-8"), files=files)
        return seal.seal(data)
    except seal.SealError as error:  # shown like a failed render: the archive waits
        raise RenderError(str(error)) from error


def embedded_files(pdf_bytes):
    """Every file embedded in one of our PDFs except ``minutes.json``: name -> bytes."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        attachments = PdfReader(io.BytesIO(pdf_bytes)).attachments
    except (PdfReadError, ValueError, KeyError) as exc:
        raise exchange.DocumentError([f"PDF: {exc}"]) from exc
    return {name: data[0] for name, data in attachments.items() if name != EMBEDDED_NAME}


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
            existing[variant] = _store(loaded, variant, render_archival(loaded, variant))
        copies.append(existing[variant])
    return copies


def _store(meeting, variant, sealed):
    """Store one sealed copy, or return the one another process stored first."""
    data = sealed.data
    copy = ArchivedPdf(
        meeting=meeting,
        variant=variant,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        sealed_by=sealed.sealed_by,
        sealed_at=sealed.sealed_at,
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
    May raise ``RenderError`` or ``RenderTimeout``.
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
    """None when the stored copy is intact, otherwise what is wrong (one line).

    The file must be there with its recorded SHA-256; a sealed copy's seal must be
    intact, cover the whole file and be the configured certificate's; the members'
    copy must embed every attachment file its document names, with the recorded
    SHA-256, and the attachment files in the storage must still be those.
    """
    storage = copy.file.storage
    if not storage.exists(copy.file.name):
        return "missing"
    with copy.file.open("rb") as handle:
        data = handle.read()
    if hashlib.sha256(data).hexdigest() != copy.sha256:
        return "changed"
    problems = []
    if copy.sealed_by:
        check = seal.verify(data)
        if check.problem:
            problems.append(check.problem)
    problems += _attachment_problems(copy, data)
    return "; ".join(problems) or None


def _attachment_problems(copy, data):
    import json

    stored = {os.path.basename(a.file.name): a for a in copy.meeting.attachments.all() if a.file}
    if not stored:  # no attachment files: none to find embedded or in the storage
        return []
    try:
        document = json.loads(embedded_document(data))
        embedded = embedded_files(data)
    except (exchange.DocumentError, ValueError) as exc:
        return [f"embedded data unreadable: {exc}"]
    problems = []
    for entry in document["meeting"].get("attachments", []):
        name, expected = entry.get("file"), entry.get("sha256")
        if not name or not expected:
            continue
        if copy.variant == ArchivedPdf.Variant.MEMBERS:
            if name not in embedded:
                problems.append(f"attachment {entry['name']!r} ({name}) not embedded")
            elif hashlib.sha256(embedded[name]).hexdigest() != expected:
                problems.append(f"attachment {entry['name']!r} ({name}) embedded changed")
        attachment = stored.get(name)
        if attachment is None or not attachment.file.storage.exists(attachment.file.name):
            problems.append(f"attachment {entry['name']!r}: file {name} missing")
        elif sha256_of(attachment.file) != expected:
            problems.append(f"attachment {entry['name']!r}: file {name} changed")
    return problems
