"""The archival PDF proves itself: sealed (PAdES, pyHanko), with its attachments embedded."""

import datetime
import hashlib
import io
import json
import re
import zipfile

import pikepdf
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from protokolle import archive, pdf, seal, workflow
from protokolle.models import ArchivedPdf, Attachment, Meeting

from .factories import writer_of

REPORT = b"%PDF-1.7\n% Bericht der Arbeitsgruppe\n" + bytes(range(256)) * 8


def _png():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (20, 90, 160)).save(out, format="PNG")
    return out.getvalue()


TABLE = _png()

pytestmark = pytest.mark.django_db


def stored_bytes(copy):
    with copy.file.open("rb") as handle:
        return handle.read()


def squeeze(text):
    return re.sub(r"[\s\u00ad\u2010]+", "", text)


@pytest.fixture
def confirmed_with_attachments(minutes):
    """Circulated minutes with two uploaded attachments, then confirmed by the office."""
    meeting = minutes(status="circulated", alone=True)
    meeting.attachments.all().delete()
    Attachment.objects.create(
        meeting=meeting, position=1, name="Bericht", file=SimpleUploadedFile("b.pdf", REPORT)
    )
    Attachment.objects.create(
        meeting=meeting, position=2, name="Finanzplan", file=SimpleUploadedFile("f.png", TABLE)
    )
    workflow.confirm(meeting.pk, writer_of(meeting.body))
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


@pytest.fixture
def members_copy(confirmed_with_attachments):
    return ArchivedPdf.objects.get(meeting=confirmed_with_attachments, variant="members")


# --- the seal ---------------------------------------------------------------------------


def test_the_archived_pdf_carries_an_intact_seal_over_the_whole_file(members_copy):
    data = stored_bytes(members_copy)
    reader = PdfFileReader(io.BytesIO(data))
    (signature,) = reader.embedded_signatures
    # pyHanko's async API through seal._run: Playwright's loop may run in this thread.
    status = seal._run(
        lambda: async_validate_pdf_signature(
            signature,
            ValidationContext(trust_roots=[signature.signer_cert], allow_fetching=False),
        )
    )

    assert status.intact and status.valid
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert signature.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES baseline
    assert members_copy.sealed_by == "Test-Siegel"
    assert members_copy.sealed_at is not None
    assert seal.verify(data).problem is None


def test_the_sealed_file_is_still_tagged_pdf_a_3a(members_copy):
    with pikepdf.open(io.BytesIO(stored_bytes(members_copy))) as document:
        metadata = document.open_metadata()
        assert metadata.get("pdfaid:part") == "3"
        assert metadata.get("pdfaid:conformance") == "A"
        assert document.Root.MarkInfo.Marked is True
        assert "/StructTreeRoot" in document.Root


def test_sealed_minutes_sign_with_gez(members_copy):
    last = squeeze(PdfReader(io.BytesIO(stored_bytes(members_copy))).pages[-1].extract_text())
    assert last.count("gez.") == 2  # the chair and the minute-taker


def test_drafts_are_neither_sealed_nor_signed_gez(minutes):
    draft = Meeting.objects.for_minutes().get(pk=minutes().pk)
    data = pdf.render_pdf(draft)
    assert seal.verify(data).problem == "not sealed"
    assert "gez." not in "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_one_changed_byte_breaks_the_seal():
    good = seal.seal(pdf.write_pdf("<html lang=de><title>T</title><p>Text</p>", b"{}")).data
    # A byte inside the signed range (the page content), not inside the signature.
    position = good.index(b"stream") + 20
    bad = bytearray(good)
    bad[position] ^= 0x01

    assert seal.verify(good).problem is None
    assert seal.verify(bytes(bad)).problem.startswith("seal broken")


def test_an_update_appended_after_sealing_is_caught():
    sealed = seal.seal(pdf.write_pdf("<html lang=de><title>T</title><p>Text</p>", b"{}")).data
    writer = IncrementalPdfFileWriter(io.BytesIO(sealed))
    writer.root["/Lang"] = generic.TextStringObject("en")  # any change, as an incremental update
    writer.update_root()
    appended = io.BytesIO()
    writer.write(appended)
    assert appended.getvalue().startswith(sealed)
    assert len(appended.getvalue()) > len(sealed)

    problem = seal.verify(appended.getvalue()).problem
    assert problem and "entire file" in problem


def test_a_seal_by_another_certificate_is_caught(tmp_path, settings):
    sealed = seal.seal(pdf.write_pdf("<html lang=de><title>T</title><p>Text</p>", b"{}")).data
    settings.PDF_SEAL_PKCS12 = str(seal.make_demo_seal(tmp_path / "other.p12", name="Fremd"))

    problem = seal.verify(sealed).problem
    assert problem == "sealed by another certificate (Test-Siegel), expected Fremd"


def test_verify_archive_checks_the_seal_and_names_the_file(members_copy, tmp_path, settings):
    call_command("verify_archive")  # intact
    settings.PDF_SEAL_PKCS12 = str(seal.make_demo_seal(tmp_path / "other.p12", name="Fremd"))

    with pytest.raises(CommandError, match="2 of 2"):
        call_command("verify_archive")


def test_verify_archive_names_a_file_with_a_changed_byte(members_copy, capsys):
    data = bytearray(stored_bytes(members_copy))
    data[data.index(b"stream") + 20] ^= 0x01
    with open(members_copy.file.path, "wb") as handle:
        handle.write(data)

    with pytest.raises(CommandError, match="1 of 2"):
        call_command("verify_archive")
    assert members_copy.file.name in capsys.readouterr().err


def test_without_a_certificate_and_debug_off_confirming_is_refused_naming_the_setting(
    minutes, settings
):
    settings.DEBUG = False
    settings.PDF_SEAL_PKCS12 = ""
    meeting = minutes(status="circulated", alone=True)

    with pytest.raises(pdf.RenderError, match="DJANGO_PDF_SEAL_PKCS12"):
        pdf.render_archival(Meeting.objects.for_minutes().get(pk=meeting.pk), "members")
    with pytest.raises(workflow.WorkflowError, match="DJANGO_PDF_SEAL_PKCS12"):
        workflow.confirm(meeting.pk, writer_of(meeting.body))

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()


def test_without_a_certificate_close_circulations_names_the_setting(minutes, settings):
    meeting = minutes(status="circulated", alone=True)
    Meeting.objects.filter(pk=meeting.pk).update(circulation_deadline=datetime.date(2022, 4, 1))
    settings.DEBUG = False
    settings.PDF_SEAL_PKCS12 = ""

    with pytest.raises(CommandError, match="DJANGO_PDF_SEAL_PKCS12"):
        call_command("close_circulations")
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED

    settings.PDF_SEAL_PKCS12 = str(seal.make_demo_seal(settings.MEDIA_ROOT / "s.p12"))
    settings.PDF_SEAL_PASSWORD = "demo"
    call_command("close_circulations")
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CONFIRMED


def test_with_debug_on_the_demo_seal_is_made_and_used(minutes, settings, tmp_path, caplog):
    settings.DEBUG = True
    settings.PDF_SEAL_PKCS12 = ""
    settings.PDF_SEAL_DEMO_PATH = tmp_path / "var" / "demo-seal.p12"

    meeting = minutes(status="confirmed", alone=True)

    copy = ArchivedPdf.objects.get(meeting=meeting, variant="members")
    assert copy.sealed_by == "Werkstatt-Protokolle Demo-Siegel"
    assert settings.PDF_SEAL_DEMO_PATH.exists()
    assert "demo seal" in caplog.text


def test_demo_seal_command_says_what_it_made(settings, tmp_path, capsys):
    settings.PDF_SEAL_PKCS12 = ""
    settings.PDF_SEAL_DEMO_PATH = tmp_path / "demo.p12"

    call_command("demo_seal")
    first = capsys.readouterr().out
    call_command("demo_seal")

    assert "Werkstatt-Protokolle Demo-Siegel" in first and str(tmp_path) in first
    assert "sealed with the demo seal" in capsys.readouterr().out


def test_a_wrong_password_is_a_clear_error(settings):
    settings.PDF_SEAL_PASSWORD = "falsch"
    seal._load.cache_clear()
    with pytest.raises(seal.SealError, match="cannot be read"), translation.override("en"):
        seal.signer()
    seal._load.cache_clear()


def test_the_read_view_says_who_sealed_the_minutes(client, members_copy):
    meeting = members_copy.meeting
    client.force_login(writer_of(meeting.body))
    text = client.get(reverse("protokolle:meeting_detail", args=[meeting.pk])).content.decode()

    assert "Test-Siegel" in text
    assert members_copy.sealed_at.astimezone().strftime("%d.%m.%Y") in text


# --- the attachments --------------------------------------------------------------------


def test_attachments_keep_size_and_hash_of_their_file(confirmed_with_attachments):
    report = confirmed_with_attachments.attachments.get(name="Bericht")
    assert report.size == len(REPORT)
    assert report.sha256 == hashlib.sha256(REPORT).hexdigest()


def test_the_members_copy_embeds_the_attachment_files_as_supplements(members_copy):
    data = stored_bytes(members_copy)
    files = pdf.embedded_files(data)
    meeting = members_copy.meeting
    by_name = {a.name: a for a in meeting.attachments.all()}

    assert sorted(files.values()) == sorted([REPORT, TABLE])
    for attachment in by_name.values():
        assert files[attachment.file.name.rsplit("/", 1)[-1]] == attachment.file.read()
    with pikepdf.open(io.BytesIO(data)) as document:
        relationships = {str(spec.F): str(spec.AFRelationship) for spec in document.Root.AF}
    assert relationships.pop("minutes.json") == "/Data"
    assert set(relationships.values()) == {"/Supplement"}


def test_the_embedded_document_names_each_file_with_size_and_hash(members_copy):
    document = json.loads(pdf.embedded_document(stored_bytes(members_copy)))
    entries = {entry["name"]: entry for entry in document["meeting"]["attachments"]}

    assert entries["Bericht"]["size"] == len(REPORT)
    assert entries["Bericht"]["sha256"] == hashlib.sha256(REPORT).hexdigest()
    assert entries["Finanzplan"]["sha256"] == hashlib.sha256(TABLE).hexdigest()


def test_the_public_copy_embeds_no_files(confirmed_with_attachments):
    public = ArchivedPdf.objects.get(meeting=confirmed_with_attachments, variant="public")
    assert pdf.embedded_files(stored_bytes(public)) == {}


def test_verify_archive_catches_a_changed_attachment_file(confirmed_with_attachments, capsys):
    report = confirmed_with_attachments.attachments.get(name="Bericht")
    with open(report.file.path, "r+b") as handle:
        handle.write(b"%PDF-1.4")

    with pytest.raises(CommandError):
        call_command("verify_archive")
    err = capsys.readouterr().err
    assert "attachment 'Bericht'" in err and "changed" in err


def test_an_attachment_changed_before_archiving_is_not_archived(minutes):
    meeting = minutes(status="circulated", alone=True)
    attachment = Attachment.objects.create(
        meeting=meeting, position=1, name="Bericht", file=SimpleUploadedFile("b.pdf", REPORT)
    )
    with open(attachment.file.path, "r+b") as handle:
        handle.write(b"%PDF-1.4")
    workflow.confirm(meeting.pk, writer_of(meeting.body))  # stays confirmed, archive waits

    loaded = Meeting.objects.for_minutes().get(pk=meeting.pk)
    assert loaded.is_confirmed
    with pytest.raises(pdf.RenderError, match="changed since it was uploaded"):
        with translation.override("en"):
            pdf.ensure_archived(loaded)
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()


def test_the_export_zip_carries_the_attachments_with_their_hashes(
    confirmed_with_attachments, tmp_path
):
    target = tmp_path / "archiv.zip"
    rows = archive.write_zip(archive.confirmed_meetings(), target)

    attachments = [row for row in rows if row["kind"] == "attachment"]
    assert len(attachments) == 2
    with zipfile.ZipFile(target) as bundle:
        manifest = json.loads(bundle.read("manifest.json"))["files"]
        for row in attachments:
            data = bundle.read(row["file"])
            assert hashlib.sha256(data).hexdigest() == row["sha256"]
            assert data in (REPORT, TABLE)
    assert {row["file"] for row in manifest} >= {row["file"] for row in attachments}


def test_the_export_zip_refuses_a_changed_attachment(confirmed_with_attachments, tmp_path):
    report = confirmed_with_attachments.attachments.get(name="Bericht")
    with open(report.file.path, "r+b") as handle:
        handle.write(b"%PDF-1.4")

    with pytest.raises(archive.ArchiveError):
        archive.write_zip(archive.confirmed_meetings(), tmp_path / "archiv.zip")


def test_an_archival_pdf_brings_its_attachment_files_into_a_fresh_database(
    members_copy, tmp_path, settings
):
    from .test_confirmation_record import manage

    archived = tmp_path / "archived.pdf"
    archived.write_bytes(stored_bytes(members_copy))
    exported = json.loads(pdf.embedded_document(archived.read_bytes()))
    media = tmp_path / "fresh-media"
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DJANGO_MEDIA_ROOT": str(media),
        "DJANGO_DEBUG": "true",
        "DJANGO_PDF_SEAL_PKCS12": settings.PDF_SEAL_PKCS12,
        "DJANGO_PDF_SEAL_PASSWORD": settings.PDF_SEAL_PASSWORD,
    }
    assert manage("migrate", "-v0", env=env).returncode == 0
    imported = manage("import_minutes", str(archived), env=env)
    assert imported.returncode == 0, imported.stderr
    pk = imported.stdout.decode().strip().splitlines()[-1].removeprefix("imported meeting ")
    again = manage("export_minutes", pk, "--format", "json", env=env)
    verified = manage("verify_archive", env=env)

    assert json.loads(again.stdout) == exported
    restored = {path.name: path.read_bytes() for path in media.rglob("*") if path.is_file()}
    for entry in exported["meeting"]["attachments"]:
        assert hashlib.sha256(restored[entry["file"]]).hexdigest() == entry["sha256"]
    assert verified.returncode == 0, verified.stderr


def test_sealing_works_where_an_event_loop_runs():
    """Playwright's sync API and ASGI servers run a loop in the thread that seals."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    data = pdf.write_pdf("<html lang=de><title>T</title><p>Text</p>", b"{}")

    async def inside_a_loop():
        sealed = seal.seal(data)
        return seal.verify(sealed.data).problem

    # A thread of its own, which runs this loop: another test's loop (Playwright's) may
    # already run in the test's thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result() is None
