"""Handing over the archive: stored PDFs, their documents and a manifest, as one ZIP."""

import csv
import hashlib
import io
import json
import zipfile

from django.utils.text import slugify
from django.utils.translation import gettext

from . import exchange, pdf
from .models import Meeting


class ArchiveError(Exception):
    """The archive cannot be handed over as it is (a stored file is missing or changed)."""


def confirmed_meetings(bodies=None, body=None, year=None):
    meetings = Meeting.objects.filter(status=Meeting.Status.CONFIRMED)
    if bodies is not None:
        meetings = meetings.filter(body__in=bodies)
    if body is not None:
        meetings = meetings.filter(body=body)
    if year is not None:
        meetings = meetings.filter(date__year=year)
    return (
        meetings.select_related("body")
        .prefetch_related("archived_pdfs")
        .order_by("body__name", "date", "number")
    )


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


# German letters written out as German readers expect, slashes as word breaks; slugify
# then drops what is left.
GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
GERMAN.update(str.maketrans({"ß": "ss", "ẞ": "SS", "/": " ", "\\": " "}))


def folder_name(body):
    """The body's folder in the ZIP: a readable ASCII slug, never a path of its own.

    Body names are typed by people: "../../tmp" or "A/B" must not become folders
    outside (or other than) the body's own. "Ausschuss für Straßen" becomes
    "ausschuss-fuer-strassen"; a name with nothing left becomes "gremium-<id>".
    """
    return slugify(body.name.translate(GERMAN)) or f"gremium-{body.pk}"


def entry_name(name):
    """``name`` if it is a safe relative ZIP entry name, otherwise ArchiveError.

    Unpacked anywhere, an entry must stay inside the folder it is unpacked to: no
    absolute names, drive letters, backslashes, empty, "." or ".." segments.
    """
    parts = name.split("/")
    if (
        not name
        or "\\" in name
        or "\0" in name
        or ":" in parts[0]
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise ArchiveError(f"{name!r} is not a safe name inside the archive; nothing was exported")
    return name


def archived_copies(meeting):
    """The archival copies of confirmed ``meeting``, rendering missing ones; or ArchiveError."""
    try:
        return pdf.ensure_archived(meeting)
    except pdf.RenderError as error:
        raise ArchiveError(
            gettext(
                "%(meeting)s: the archived PDF could not be rendered, so nothing was "
                "exported. %(error)s"
            )
            % {"meeting": meeting, "error": error}
        ) from error


def _attachment_data(attachment, meeting):
    """The attachment's file, or ArchiveError when it is gone or not what was uploaded."""
    try:
        with attachment.file.open("rb") as handle:
            data = handle.read()
    except OSError as error:
        raise ArchiveError(
            f"{meeting}: the file of the attachment {attachment.name!r} "
            f"({attachment.file.name}) is missing; nothing was exported"
        ) from error
    if attachment.sha256 and _sha256(data) != attachment.sha256:
        raise ArchiveError(
            f"{meeting}: the file of the attachment {attachment.name!r} "
            f"({attachment.file.name}) changed since it was uploaded; nothing was exported"
        )
    return data


def write_zip(meetings, target, progress=None):
    """Write the stored PDFs, the JSON documents, the attachment files and
    manifest.csv / manifest.json (each file with its SHA-256).

    Files go to ``<body slug>/<year>/``, attachments to ``<minutes>-anlagen/`` beside
    their minutes; every entry name is checked with entry_name.

    Confirmed minutes whose archival copies were never stored (their render failed
    after the confirmation) get them rendered and stored first, so that an export
    never lacks a PDF; a render that fails stops the export with ArchiveError.
    Every stored PDF is checked against its recorded SHA-256 and its seal, every
    attachment file against the SHA-256 taken at upload: a missing or changed file
    stops the export with ArchiveError instead of handing it over.
    Returns the manifest rows.
    """
    meetings = list(meetings)
    copies = {meeting.pk: archived_copies(meeting) for meeting in meetings}
    rows = []
    written = set()
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:

        def add(name, data, meeting, kind):
            name = entry_name(name)
            if name in written:
                raise ArchiveError(f"{name} would be written twice; nothing was exported")
            written.add(name)
            bundle.writestr(name, data)
            rows.append(
                {
                    "file": name,
                    "sha256": _sha256(data),
                    "bytes": len(data),
                    "kind": kind,
                    "meeting_id": meeting.pk,
                    "body": meeting.body.name,
                    "number": meeting.number,
                    "date": meeting.date.isoformat(),
                }
            )

        for index, meeting in enumerate(meetings, start=1):
            folder = f"{folder_name(meeting.body)}/{meeting.date:%Y}/"
            for stored in copies[meeting.pk]:
                problem = pdf.verify(stored)
                if problem:
                    raise ArchiveError(f"{stored.file.name} is {problem}; nothing was exported")
                with stored.file.open("rb") as handle:
                    data = handle.read()
                add(folder + stored.file.name.rsplit("/", 1)[-1], data, meeting, stored.variant)
            loaded = Meeting.objects.for_export().get(pk=meeting.pk)
            document = exchange.export_document(loaded)
            stem = pdf.filename(meeting, "members").removesuffix(".pdf")
            add(folder + stem + ".json", exchange.dumps(document).encode("utf-8"), meeting, "json")
            for attachment in loaded.attachments.all():
                if attachment.file:
                    data = _attachment_data(attachment, meeting)
                    name = attachment.file.name.rsplit("/", 1)[-1]
                    add(f"{folder}{stem}-anlagen/{name}", data, meeting, "attachment")
            if progress:
                progress(index, len(meetings), meeting)
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=list(rows[0]) if rows else ["file", "sha256"])
        writer.writeheader()
        writer.writerows(rows)
        bundle.writestr("manifest.csv", table.getvalue().encode("utf-8"))
        bundle.writestr(
            "manifest.json",
            json.dumps({"files": rows}, ensure_ascii=False, indent=2).encode("utf-8"),
        )
    return rows
