import copy
import hashlib
import json

import pytest
from auditlog.models import LogEntry
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection

from protokolle import exchange, immutability, workflow
from protokolle.models import Attachment, Meeting, Membership, TaskDone

from .factories import MembershipFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def exports():
    return {
        (m.body.name, m.number): exchange.export_document(Meeting.objects.for_export().get(pk=m.pk))
        for m in Meeting.objects.select_related("body")
    }


@pytest.fixture
def records(reference_document):
    """Confirmed minutes with their archive, a circulated draft, an attachment, a done task."""
    writer = UserFactory(username="protokoll")
    confirmed = copy.deepcopy(reference_document)
    confirmed["meeting"]["status"] = "confirmed"
    confirmed["meeting"]["agenda"][1]["results"].append(
        {"kind": "task", "text": "Steckbrief", "responsible": "WRL", "due": "2022-04-30"}
    )
    eight = workflow.import_minutes(confirmed)
    MembershipFactory(
        body=eight.body, person=PersonFactory(user=writer), role=Membership.Role.MINUTE_TAKER
    )
    draft = copy.deepcopy(reference_document)
    draft["meeting"].update(number=9, date="2022-05-23")
    nine = workflow.import_minutes(draft)
    attachment = Attachment(meeting=nine, name="Präsentation")
    attachment.file.save("p.pdf", SimpleUploadedFile("p.pdf", b"%PDF-1.7 anlage"))
    workflow.circulate(nine.pk, writer)
    TaskDone.objects.create(
        result=eight.agenda_items.get(parent=None, position=1).results.get(kind="task"),
        done_by=writer,
    )
    return eight


def wipe(media_root):
    immutability.drop(connection)
    call_command("flush", interactive=False, verbosity=0)
    for path in sorted(media_root.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()


def test_a_restored_backup_exports_identically_and_its_archive_verifies(
    records, tmp_path, media_root, capsys
):
    before = exports()
    log_entries = LogEntry.objects.count()
    target = tmp_path / "backup"

    call_command("backup", "-o", str(target))
    manifest = json.loads((target / "manifest.json").read_text())
    wipe(media_root)
    assert not Meeting.objects.exists()
    call_command("restore", str(target))

    assert exports() == before
    call_command("verify_archive")
    assert "all 2 archived PDF(s) are present and unchanged" in capsys.readouterr().out
    assert LogEntry.objects.count() == log_entries
    assert TaskDone.objects.count() == 1
    assert Attachment.objects.get().file.read() == b"%PDF-1.7 anlage"
    assert len(manifest["files"]) == 4  # data.json, two archived PDFs, the attachment
    # The restored confirmed minutes are protected again.
    with pytest.raises(Exception, match="confirmed minutes never change|Confirmed minutes"):
        Meeting.objects.filter(status="confirmed").update(title="x")


def test_restore_refuses_a_changed_backup_and_writes_nothing(records, tmp_path, media_root):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    data = target / "data.json"
    data.write_text(data.read_text().replace("Revierwende", "Revierende"))
    wipe(media_root)

    with pytest.raises(CommandError, match="changed: data.json"):
        call_command("restore", str(target))

    assert not Meeting.objects.exists()


def test_restore_refuses_a_database_that_is_not_empty(records, tmp_path):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    with pytest.raises(CommandError, match="not empty"):
        call_command("restore", str(target))


def test_backup_refuses_a_folder_that_is_not_empty(records, tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        call_command("backup", "-o", str(tmp_path))


# --- signed backups (issue 12, finding 8) ----------------------------------------------


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def read_manifest(target):
    return json.loads((target / "manifest.json").read_text())


def write_manifest(target, manifest):
    (target / "manifest.json").write_text(json.dumps(manifest, indent=2))


def members_pdf(target):
    data = json.loads((target / "data.json").read_text())
    row = next(
        entry
        for entry in data
        if entry["model"] == "protokolle.archivedpdf" and entry["fields"]["variant"] == "members"
    )
    return row["fields"]["file"]


def old_style(target):
    """Turn a backup into one made before backups were signed."""
    manifest = read_manifest(target)
    manifest["format"] = "werkstatt-protokolle-backup/1"
    for key in ("signature", "key_id", "created"):
        manifest.pop(key, None)
    write_manifest(target, manifest)


def test_the_manifest_is_signed_over_every_file(records, tmp_path):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    manifest = read_manifest(target)
    assert manifest["format"] == "werkstatt-protokolle-backup/2"
    assert len(manifest["signature"]) == 64
    assert manifest["files"]["data.json"] == sha256((target / "data.json").read_bytes())


def test_restore_refuses_changed_minutes_whose_hash_was_recomputed(records, tmp_path, media_root):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    data = target / "data.json"
    data.write_text(data.read_text().replace("Revierwende", "Revierende"))
    manifest = read_manifest(target)
    manifest["files"]["data.json"] = sha256(data.read_bytes())
    write_manifest(target, manifest)
    wipe(media_root)

    with pytest.raises(CommandError, match="manifest.json was changed after it was signed"):
        call_command("restore", str(target))

    assert not Meeting.objects.exists()
    assert not any(path.is_file() for path in media_root.rglob("*"))


def test_restore_refuses_a_forged_pdf_with_its_hash_in_both_files(records, tmp_path, media_root):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    name = members_pdf(target)
    pdf_path = target / "files" / name
    old_digest = sha256(pdf_path.read_bytes())
    pdf_path.write_bytes(b"%PDF-1.7 forged minutes")
    new_digest = sha256(pdf_path.read_bytes())
    data = target / "data.json"
    data.write_text(data.read_text().replace(old_digest, new_digest))
    manifest = read_manifest(target)
    manifest["files"]["data.json"] = sha256(data.read_bytes())
    manifest["files"][f"files/{name}"] = new_digest
    write_manifest(target, manifest)
    wipe(media_root)

    with pytest.raises(CommandError, match="signature") as refused:
        call_command("restore", str(target))

    assert "Traceback" not in str(refused.value)
    assert not Meeting.objects.exists()
    # --trust-unsigned does not help: the backup is signed, and its signature is wrong.
    with pytest.raises(CommandError, match="signature"):
        call_command("restore", str(target), trust_unsigned=True)


def test_an_unsigned_backup_needs_trust_unsigned(records, tmp_path, media_root):
    before = exports()
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    old_style(target)
    wipe(media_root)

    with pytest.raises(CommandError, match="not signed.*--trust-unsigned"):
        call_command("restore", str(target))
    assert not Meeting.objects.exists()

    call_command("restore", str(target), trust_unsigned=True)
    assert exports() == before


def test_an_unsigned_backup_still_has_its_hashes_checked(records, tmp_path, media_root):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    old_style(target)
    name = members_pdf(target)
    (target / "files" / name).write_bytes(b"%PDF-1.7 forged minutes")
    wipe(media_root)

    with pytest.raises(CommandError, match=f"changed: files/{name}"):
        call_command("restore", str(target), trust_unsigned=True)

    # The manifest's hash follows the forgery; the archive's row in data.json does not.
    manifest = read_manifest(target)
    manifest["files"][f"files/{name}"] = sha256(b"%PDF-1.7 forged minutes")
    write_manifest(target, manifest)
    with pytest.raises(CommandError, match=f"archived PDF {name}: data.json records SHA-256"):
        call_command("restore", str(target), trust_unsigned=True)
    assert not Meeting.objects.exists()


def test_restore_refuses_a_backup_signed_with_another_key(
    records, tmp_path, media_root, monkeypatch
):
    target = tmp_path / "backup"
    monkeypatch.setenv("DJANGO_BACKUP_KEY", "the key of the old installation")
    call_command("backup", "-o", str(target))
    wipe(media_root)
    monkeypatch.setenv("DJANGO_BACKUP_KEY", "another key")

    with pytest.raises(CommandError, match="signed with a different key.*DJANGO_BACKUP_KEY"):
        call_command("restore", str(target))
    assert not Meeting.objects.exists()

    monkeypatch.setenv("DJANGO_BACKUP_KEY", "the key of the old installation")
    call_command("restore", str(target))
    assert Meeting.objects.count() == 2


@pytest.mark.parametrize(
    "name", ["files/../../outside.pdf", "/tmp/outside.pdf", "files/a\\..\\..\\b.pdf", "other.pdf"]
)
def test_restore_reads_and_writes_only_inside_the_backup_and_the_storage(
    records, tmp_path, media_root, name
):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    old_style(target)
    manifest = read_manifest(target)
    manifest["files"][name] = sha256(b"x")
    write_manifest(target, manifest)
    wipe(media_root)

    with pytest.raises(CommandError, match="not a file name this backup can hold"):
        call_command("restore", str(target), trust_unsigned=True)
    assert not Meeting.objects.exists()


def test_restore_follows_no_link_out_of_the_backup(records, tmp_path, media_root):
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    old_style(target)
    name = members_pdf(target)
    secret = tmp_path / "secret.pdf"
    secret.write_bytes((target / "files" / name).read_bytes())
    (target / "files" / name).unlink()
    (target / "files" / name).symlink_to(secret)
    wipe(media_root)

    with pytest.raises(CommandError, match="outside the backup"):
        call_command("restore", str(target), trust_unsigned=True)


def planner_statistics(table):
    """Rows of planner statistics the database holds for ``table`` (made by ANALYZE)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if not cursor.fetchone()[0]:
                return 0
            cursor.execute("SELECT count(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        else:
            cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = %s", [table])
        return cursor.fetchone()[0]


def forget_planner_statistics():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone()[0]:
                cursor.execute("DELETE FROM sqlite_stat1")
        else:
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = 'protokolle_result'::regclass"
            )


def test_a_restore_leaves_planner_statistics_for_what_it_loaded(records, tmp_path, media_root):
    """Without them PostgreSQL guesses a few hits for a common word and reads them all
    (bench/README, archive): the restore analyses what it loaded."""
    target = tmp_path / "backup"
    call_command("backup", "-o", str(target))
    wipe(media_root)
    forget_planner_statistics()
    assert planner_statistics("protokolle_result") == 0

    call_command("restore", str(target))

    assert planner_statistics("protokolle_result") > 0
