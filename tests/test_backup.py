import copy
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
        result=eight.agenda_items.get(number="2").results.get(kind="task"), done_by=writer
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
