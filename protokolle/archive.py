"""Handing over the archive: stored PDFs, their documents and a manifest, as one ZIP."""

import csv
import hashlib
import io
import json
import zipfile

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


def write_zip(meetings, target, progress=None):
    """Write the stored PDFs, the JSON documents and manifest.csv / manifest.json.

    Every stored PDF is checked against its recorded SHA-256 first: a missing or
    changed file stops the export with ArchiveError instead of handing it over.
    Returns the manifest rows.
    """
    meetings = list(meetings)
    rows = []
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:

        def add(name, data, meeting, kind):
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
            folder = f"{meeting.body.name}/{meeting.date:%Y}/"
            for stored in meeting.archived_pdfs.all():
                problem = pdf.verify(stored)
                if problem:
                    raise ArchiveError(f"{stored.file.name} is {problem}; nothing was exported")
                with stored.file.open("rb") as handle:
                    data = handle.read()
                add(folder + stored.file.name.rsplit("/", 1)[-1], data, meeting, stored.variant)
            document = exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk))
            stem = pdf.filename(meeting, "members").removesuffix(".pdf")
            add(folder + stem + ".json", exchange.dumps(document).encode("utf-8"), meeting, "json")
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
