"""The record carries its confirmation (issue 13, item 5) and its attachments' files.

``meeting.confirmation`` in the exchange format: written by every confirmation path,
kept exactly by the import, printed from it, and the same after a round trip through
the archival PDF into a fresh database.
"""

import copy
import datetime
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError
from django.utils import timezone, translation

from protokolle import exchange, pdf, wording, workflow
from protokolle.exchange import DocumentError
from protokolle.models import ArchivedPdf, Attachment, Meeting, Membership

from .factories import user_in, writer_of

pytestmark = pytest.mark.django_db

PROJECT = Path(__file__).resolve().parent.parent
# A tiny but genuine PDF: the import checks an attachment's content as an upload.
ATTACHMENT = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ATTACHMENT_SHA = hashlib.sha256(ATTACHMENT).hexdigest()
BY_MEETING = {
    "date": "2022-05-24",
    "by": "meeting",
    "meeting": {"number": 9, "date": "2022-05-23"},
    "version": 2,
}


def loaded(meeting):
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


def confirmation(meeting):
    return exchange.confirmation_of(loaded(meeting))


def confirmed_document(reference_document, confirmation=BY_MEETING, **meeting):
    document = copy.deepcopy(reference_document)
    document["meeting"].update(
        {
            "status": "confirmed",
            "confirmation": copy.deepcopy(confirmation),
            "approves_minutes_of": [],
            "next_meeting": None,
        }
        | meeting
    )
    return document


def problems_of(document):
    """The problems by their English msgids: German translations may still change."""
    with translation.override("en"):
        return exchange.validate(document)


@pytest.fixture
def no_rendering(monkeypatch):
    """Confirmations without their archival PDFs: rendering is not what is tested here."""
    monkeypatch.setattr(pdf, "archive", lambda meeting: [])


# --- the schema and the reader -----------------------------------------------------------


def test_documents_without_the_new_keys_stay_valid(reference_document):
    reference_document["meeting"]["status"] = "confirmed"
    reference_document["meeting"].pop("confirmation", None)
    reference_document["meeting"]["attachments"] = [{"name": "Anwesenheitsliste"}]
    assert problems_of(reference_document) == []


def test_a_full_confirmation_is_valid(reference_document):
    document = confirmed_document(reference_document)
    document["meeting"]["attachments"] = [
        {"name": "Folien", "file": "a1b2.pdf", "size": 10, "sha256": "0" * 64}
    ]
    assert problems_of(document) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"date": "2022-02-30"},
            "meeting.confirmation.date: “2022-02-30” is not a valid date",
        ),
        ({"date": "23.05.2022"}, "meeting.confirmation.date: “23.05.2022” is not a date"),
        ({"by": "email"}, "meeting.confirmation.by: “email” is not one of"),
        (
            {"by": "circulation"},
            "meeting.confirmation.meeting: minutes confirmed by circulation were not",
        ),
        (
            {"meeting": {"number": 9, "date": "2022-03-21"}},
            "meeting.confirmation.meeting.date: the deciding meeting (2022-03-21) must be later",
        ),
        ({"meeting": {"number": 9}}, "meeting.confirmation.meeting: the required key “date”"),
        ({"version": 0}, "meeting.confirmation.version: must be at least 1, not 0"),
        ({"signed": True}, "meeting.confirmation: unknown key “signed”"),
    ],
)
def test_a_bad_confirmation_is_named(reference_document, change, expected):
    document = confirmed_document(reference_document, {**BY_MEETING, **change})
    problems = problems_of(document)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_confirmation_needs_its_date_and_how(reference_document):
    document = confirmed_document(reference_document, {"meeting": None})
    assert problems_of(document) == [
        "meeting.confirmation: the required key “date” is missing",
        "meeting.confirmation: the required key “by” is missing",
    ]


@pytest.mark.parametrize("status", ["draft", "circulated"])
def test_only_confirmed_minutes_carry_a_confirmation(reference_document, status):
    document = confirmed_document(reference_document, status=status)
    assert problems_of(document) == [
        f"meeting.confirmation: only confirmed minutes carry a confirmation; these are “{status}”"
    ]


@pytest.mark.parametrize(
    ("attachment", "expected"),
    [
        ({"file": "../etc/passwd"}, "meeting.attachments[0].file: “../etc/passwd” is not a file"),
        ({"file": ".hidden.pdf"}, "meeting.attachments[0].file: “.hidden.pdf” is not a file"),
        ({"file": "a\nb.pdf"}, "meeting.attachments[0].file: the file name must not contain"),
        ({"file": ""}, "meeting.attachments[0].file: must not be empty"),
        ({"file": "a.pdf", "sha256": "ABC"}, "meeting.attachments[0].sha256: “ABC” is not a"),
        ({"file": "a.pdf", "size": -1}, "meeting.attachments[0].size: must be at least 0"),
        ({"file": None, "size": 3}, "meeting.attachments[0].file: size and SHA-256 describe"),
    ],
)
def test_a_bad_attachment_file_is_named(minimal_document, attachment, expected):
    minimal_document["meeting"]["attachments"] = [{"name": "Anlage", **attachment}]
    problems = problems_of(minimal_document)
    assert any(problem.startswith(expected) for problem in problems), problems


# --- each confirmation path records it -----------------------------------------------


@pytest.fixture
def circulated(minutes):
    earlier = minutes(alone=True)
    writer = writer_of(earlier.body, voting=False)
    workflow.circulate(earlier.pk, writer)
    earlier.writer = writer
    return earlier


def today():
    return timezone.localdate().isoformat()


def test_approval_in_a_later_meeting_records_that_meeting(circulated, minutes, no_rendering):
    deciding = minutes(number=9, date="2022-05-23", alone=True)

    workflow.record_approval(deciding.pk, circulated.pk, "approved", circulated.writer)

    assert confirmation(circulated) == {
        "date": today(),
        "by": "meeting",
        "meeting": {"number": 9, "date": "2022-05-23"},
        "version": 1,
    }


def test_the_corrected_version_records_the_deciding_meeting_and_its_number(
    circulated, minutes, no_rendering
):
    deciding = minutes(number=9, date="2022-05-23", alone=True)
    workflow.record_approval(deciding.pk, circulated.pk, "approved_with_changes", circulated.writer)

    workflow.circulate(circulated.pk, circulated.writer)

    assert confirmation(circulated) == {
        "date": today(),
        "by": "meeting",
        "meeting": {"number": 9, "date": "2022-05-23"},
        "version": 2,
    }


def test_the_members_agreeing_records_a_circulation(circulated, no_rendering):
    member = user_in(circulated.body, Membership.Role.MEMBER)
    workflow.start_confirmation_by_circulation(
        circulated.pk, circulated.writer, datetime.date(2099, 1, 1)
    )

    workflow.respond(circulated.pk, member, "agree")

    assert confirmation(circulated) == {
        "date": today(),
        "by": "circulation",
        "meeting": None,
        "version": 1,
    }


def test_a_closed_circulation_records_a_circulation(circulated, no_rendering):
    Meeting.objects.filter(pk=circulated.pk).update(circulation_deadline=datetime.date(2020, 1, 1))

    workflow.close_circulations()

    assert confirmation(circulated)["by"] == "circulation"
    assert confirmation(circulated)["meeting"] is None


def test_the_offices_confirmation_names_no_meeting(circulated, no_rendering):
    workflow.reopen(circulated.pk, circulated.writer)
    workflow.circulate(circulated.pk, circulated.writer)

    workflow.confirm(circulated.pk, circulated.writer)

    assert confirmation(circulated) == {
        "date": today(),
        "by": "meeting",
        "meeting": None,
        "version": 2,
    }


def test_export_writes_the_confirmation_and_null_before(circulated, minutes, no_rendering):
    assert exchange.export_document(loaded(circulated))["meeting"]["confirmation"] is None
    deciding = minutes(number=9, date="2022-05-23", alone=True)
    workflow.record_approval(deciding.pk, circulated.pk, "approved", circulated.writer)

    exported = exchange.export_document(loaded(circulated))["meeting"]

    assert exported["confirmation"] == confirmation(circulated)
    assert list(exported)[list(exported).index("status") + 1] == "confirmation"


# --- minutes confirmed before the fields existed ---------------------------------------


def legacy_confirm(meeting, **fields):
    """Confirmed as before this change: status and confirmed_at only (allowed from circulated)."""
    Meeting.objects.filter(pk=meeting.pk).update(status=Meeting.Status.CONFIRMED, **fields)


def test_older_minutes_confirmed_by_circulation_are_derived(circulated):
    at = timezone.make_aware(datetime.datetime(2022, 5, 2, 23, 30))
    legacy_confirm(circulated, confirmed_at=at, confirmed_by_circulation=True)

    assert confirmation(circulated) == {
        "date": "2022-05-02",
        "by": "circulation",
        "meeting": None,
        "version": 1,
    }


def test_older_minutes_confirmed_in_a_meeting_name_it_from_the_approval(
    circulated, minutes, monkeypatch
):
    deciding = minutes(number=9, date="2022-05-23", alone=True)
    # The approval as it was recorded, without the new fields.
    monkeypatch.setattr(workflow, "_confirm", lambda meeting, **kwargs: None)
    monkeypatch.setattr(pdf, "archive", lambda meeting: [])
    workflow.record_approval(deciding.pk, circulated.pk, "approved", circulated.writer)
    legacy_confirm(circulated, confirmed_at=timezone.now())

    derived = {
        "date": today(),
        "by": "meeting",
        "meeting": {"number": 9, "date": "2022-05-23"},
        "version": 1,
    }
    assert confirmation(circulated) == derived
    # Also without the prefetched approvals of for_minutes().
    assert exchange.confirmation_of(Meeting.objects.get(pk=circulated.pk)) == derived
    assert wording.confirmation_line(derived) == "Bestätigt in der 9. Sitzung am 23.05.2022"


# --- the printed line -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmation", "line"),
    [
        (BY_MEETING, "Bestätigt in der 9. Sitzung am 23.05.2022"),
        (
            {**BY_MEETING, "meeting": {"number": None, "date": "2022-05-23"}},
            "Bestätigt in der Sitzung am 23.05.2022",
        ),
        (
            {"date": "2022-05-23", "by": "circulation", "meeting": None, "version": 1},
            "Bestätigt im Umlaufverfahren am 23.05.2022",
        ),
        ({"date": "2022-05-23", "by": "meeting", "meeting": None, "version": None}, None),
        (None, ""),
    ],
)
def test_the_confirmation_line_is_written_from_the_record(confirmation, line):
    expected = "Bestätigtes Protokoll" if line is None else line
    assert wording.confirmation_line(confirmation) == expected


# --- the import keeps it -------------------------------------------------------------


def test_the_import_keeps_the_confirmation_exactly(reference_document, no_rendering):
    document = confirmed_document(reference_document)

    meeting = workflow.import_minutes(document)

    assert confirmation(meeting) == BY_MEETING
    assert list(meeting.versions.values_list("number", flat=True)) == [2]
    assert loaded(meeting).is_confirmed
    assert exchange.export_document(loaded(meeting))["meeting"]["confirmation"] == BY_MEETING


def test_the_import_keeps_a_circulation_without_a_version(reference_document, no_rendering):
    record = {"date": "2021-12-24", "by": "circulation", "meeting": None, "version": None}

    meeting = workflow.import_minutes(confirmed_document(reference_document, record))

    assert confirmation(meeting) == record
    assert not meeting.versions.exists()
    assert wording.confirmation_line(confirmation(meeting)) == (
        "Bestätigt im Umlaufverfahren am 24.12.2021"
    )


def test_a_confirmed_document_without_a_confirmation_is_confirmed_today(
    reference_document, no_rendering
):
    document = confirmed_document(reference_document)
    del document["meeting"]["confirmation"]

    meeting = workflow.import_minutes(document)

    assert confirmation(meeting) == {
        "date": today(),
        "by": "meeting",
        "meeting": None,
        "version": None,
    }


def test_a_bad_confirmation_imports_nothing(reference_document, unchanged_database):
    document = confirmed_document(reference_document, {**BY_MEETING, "by": "circulation"})
    with pytest.raises(DocumentError):
        workflow.import_minutes(document)


# --- attachments' files ----------------------------------------------------------------


def with_attachment(document, **attachment):
    document["meeting"]["attachments"] = [
        {"name": "Präsentation", "file": "3f2a.pdf", "size": len(ATTACHMENT)}
        | {"sha256": ATTACHMENT_SHA}
        | attachment
    ]
    return document


def test_an_attachment_is_stored_with_its_file_under_its_name(reference_document):
    document = with_attachment(reference_document)

    meeting = workflow.import_minutes(document, files={"3f2a.pdf": ATTACHMENT})

    attachment = Attachment.objects.get(meeting=meeting)
    assert attachment.file.name == "attachments/2022/3f2a.pdf"
    with attachment.file.open("rb") as handle:
        assert handle.read() == ATTACHMENT
    assert (attachment.size, attachment.sha256) == (len(ATTACHMENT), ATTACHMENT_SHA)
    exported = exchange.export_document(loaded(meeting))["meeting"]["attachments"]
    assert exported == document["meeting"]["attachments"]


def test_without_its_file_an_attachment_is_stored_without_one(reference_document):
    meeting = workflow.import_minutes(with_attachment(reference_document))

    attachment = Attachment.objects.get(meeting=meeting)
    assert not attachment.file
    assert exchange.export_document(loaded(meeting))["meeting"]["attachments"] == [
        {"name": "Präsentation", "file": None, "size": None, "sha256": None}
    ]


@pytest.mark.parametrize(
    ("attachment", "content", "expected"),
    [
        ({}, ATTACHMENT + b" ", "meeting.attachments[0].size: the file 3f2a.pdf has"),
        ({"size": None}, ATTACHMENT + b" ", "meeting.attachments[0].sha256: the file 3f2a.pdf"),
        ({"size": None, "sha256": None}, b"MZ\x90\x00", "meeting.attachments[0].file: "),
    ],
)
def test_a_file_that_is_not_what_the_document_says_stores_nothing(
    reference_document, unchanged_database, media_root, attachment, content, expected
):
    document = with_attachment(reference_document, **attachment)
    with pytest.raises(DocumentError) as error, translation.override("en"):
        workflow.import_minutes(document, files={"3f2a.pdf": content})
    assert error.value.problems[0].startswith(expected), error.value.problems
    assert not list(Path(media_root).rglob("*.pdf"))


def test_a_file_is_checked_only_against_what_the_document_gives(reference_document):
    document = with_attachment(reference_document, sha256=None)

    meeting = workflow.import_minutes(document, files={"3f2a.pdf": ATTACHMENT})

    assert Attachment.objects.get(meeting=meeting).sha256 == ATTACHMENT_SHA


def test_a_failing_import_removes_the_files_it_stored(
    reference_document, media_root, monkeypatch, unchanged_database
):
    def refuse(objects, *args, **kwargs):
        raise IntegrityError("the database refused the attachments")

    # Fails after the file was stored: the attachments are written last.
    monkeypatch.setattr(Attachment.objects, "bulk_create", refuse.__get__(Attachment.objects))
    document = with_attachment(reference_document)

    with pytest.raises(DocumentError):
        workflow.import_minutes(document, files={"3f2a.pdf": ATTACHMENT})

    assert not list(Path(media_root).rglob("*.pdf"))


# --- the archival PDF and the round trip -------------------------------------------------


def test_export_minutes_pdf_writes_the_stored_file_byte_for_byte(reference_document, tmp_path):
    meeting = workflow.import_minutes(confirmed_document(reference_document))
    stored = ArchivedPdf.objects.get(meeting=meeting, variant=ArchivedPdf.Variant.MEMBERS)
    public = ArchivedPdf.objects.get(meeting=meeting, variant=ArchivedPdf.Variant.PUBLIC)

    call_command("export_minutes", str(meeting.pk), "--format", "pdf", "-o", str(tmp_path / "m"))
    call_command(
        "export_minutes", str(meeting.pk), "--format", "pdf", "--public", "-o", str(tmp_path / "p")
    )

    with stored.file.open("rb") as handle:
        assert (tmp_path / "m").read_bytes() == handle.read()
    with public.file.open("rb") as handle:
        assert (tmp_path / "p").read_bytes() == handle.read()
    assert hashlib.sha256((tmp_path / "m").read_bytes()).hexdigest() == stored.sha256


def manage(*args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, **env},
        capture_output=True,
        timeout=300,
    )


def test_the_archival_pdf_comes_back_the_same_from_a_fresh_database(
    reference_document, tmp_path, settings
):
    document = confirmed_document(reference_document)
    meeting = workflow.import_minutes(document)
    exported = exchange.export_document(loaded(meeting))
    assert exported["meeting"]["confirmation"] == BY_MEETING
    stored = ArchivedPdf.objects.get(meeting=meeting, variant=ArchivedPdf.Variant.MEMBERS)
    archived = tmp_path / "archived.pdf"
    with stored.file.open("rb") as handle:
        archived.write_bytes(handle.read())
    assert json.loads(pdf.embedded_document(archived.read_bytes())) == exported

    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "fresh-media"),
        "DJANGO_DEBUG": "true",
        "DJANGO_PDF_SEAL_PKCS12": settings.PDF_SEAL_PKCS12,
        "DJANGO_PDF_SEAL_PASSWORD": settings.PDF_SEAL_PASSWORD,
    }
    migrated = manage("migrate", "-v0", env=env)
    assert migrated.returncode == 0, migrated.stderr
    imported = manage("import_minutes", str(archived), env=env)
    assert imported.returncode == 0, imported.stderr
    pk = imported.stdout.decode().strip().splitlines()[-1].removeprefix("imported meeting ")
    again = manage("export_minutes", pk, "--format", "json", env=env)
    assert again.returncode == 0, again.stderr

    assert json.loads(again.stdout) == exported
    assert wording.confirmation_line(json.loads(again.stdout)["meeting"]["confirmation"]) == (
        "Bestätigt in der 9. Sitzung am 23.05.2022"
    )


def test_an_uploaded_attachment_comes_back_with_its_name_size_and_hash(
    reference_document, no_rendering
):
    from django.core.files.base import ContentFile

    meeting = workflow.import_minutes(reference_document)
    attachment = Attachment(meeting=meeting, name="Folien")
    attachment.file.save("folien.pdf", ContentFile(ATTACHMENT), save=True)

    exported = exchange.export_document(loaded(meeting))["meeting"]["attachments"]

    assert exported == [
        {
            "name": "Folien",
            "file": os.path.basename(attachment.file.name),
            "size": len(ATTACHMENT),
            "sha256": ATTACHMENT_SHA,
        }
    ]
    assert exported[0]["file"].endswith(".pdf") and "folien" not in exported[0]["file"]
