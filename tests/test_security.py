import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from protokolle import uploads
from protokolle.models import Attachment

from .factories import MeetingFactory, UserFactory

pytestmark = pytest.mark.django_db
PROJECT = Path(__file__).resolve().parent.parent


def check_deploy(**extra):
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "a-long-random-production-key-" + "x7Qz!9" * 8,
        "DJANGO_ALLOWED_HOSTS": "protokolle.example.org",
        **extra,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_reports_nothing_with_debug_off(settings):
    result = check_deploy(
        DJANGO_PDF_SEAL_PKCS12=settings.PDF_SEAL_PKCS12,
        DJANGO_PDF_SEAL_PASSWORD=settings.PDF_SEAL_PASSWORD,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_names_a_missing_seal_certificate():
    result = check_deploy(DJANGO_PDF_SEAL_PKCS12="", DJANGO_PDF_SEAL_KEY="")
    assert result.returncode != 0
    assert "protokolle.E001" in result.stderr + result.stdout
    assert "DJANGO_PDF_SEAL_PKCS12" in result.stderr + result.stdout


def test_pages_carry_a_content_security_policy_without_unsafe_inline(client):
    client.force_login(UserFactory())
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy
    assert "object-src 'none'" in policy


def test_repeated_wrong_passwords_lock_the_account(client):
    UserFactory(username="protokoll")
    for _ in range(5):
        client.post(reverse("login"), {"username": "protokoll", "password": "falsch"})

    response = client.post(reverse("login"), {"username": "protokoll", "password": "secret"})

    assert response.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_right_password_logs_in(client):
    UserFactory(username="protokoll")
    response = client.post(reverse("login"), {"username": "protokoll", "password": "secret"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]


def test_healthz_reports_database_and_storage(client):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "storage": "ok"}


def test_healthz_answers_503_when_the_storage_fails(client, monkeypatch):
    from django.core.files.storage import default_storage

    def broken(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(default_storage, "save", broken)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["storage"] == "error: PermissionError"


def office_file(kind):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        if kind == "odt":
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        else:
            archive.writestr("[Content_Types].xml", "<Types/>")
            archive.writestr("word/document.xml" if kind == "docx" else "xl/workbook.xml", "<x/>")
    return buffer.getvalue()


ACCEPTED = [
    ("protokoll.pdf", b"%PDF-1.7 ..."),
    ("foto.png", b"\x89PNG\r\n\x1a\n...."),
    ("foto.JPG", b"\xff\xd8\xff\xe0...."),
    ("bericht.docx", office_file("docx")),
    ("tabelle.xlsx", office_file("xlsx")),
    ("text.odt", office_file("odt")),
]
REFUSED = [
    ("programm.exe", b"MZ\x90\x00"),
    ("skript.html", b"<script>alert(1)</script>"),
    ("getarnt.pdf", b"<html><script>alert(1)</script>"),
    ("getarnt.png", b"%PDF-1.7"),
    ("tabelle.docx", office_file("xlsx")),
    ("kaputt.docx", b"PK\x03\x04 not a zip"),
    ("..hidden.pdf", b"%PDF-1.7"),
]


@pytest.mark.parametrize(("name", "content"), ACCEPTED)
def test_allowed_types_are_accepted_by_content(name, content):
    uploads.check(SimpleUploadedFile(name, content))


@pytest.mark.parametrize(("name", "content"), REFUSED)
def test_other_types_and_disguised_files_are_refused(name, content):
    with pytest.raises(ValidationError):
        uploads.check(SimpleUploadedFile(name, content))


def test_a_name_with_path_parts_is_refused():
    # Django's upload handling already cuts paths from names it receives; the check also
    # guards names that reach it another way.
    upload = SimpleUploadedFile("x.pdf", b"%PDF-1.7")
    upload._name = "../../etc/passwd.pdf"
    with pytest.raises(ValidationError):
        uploads.check(upload)


def test_files_are_stored_under_random_names(media_root):
    meeting = MeetingFactory()
    attachment = Attachment(meeting=meeting, name="Bericht")
    attachment.file.save("Geheimer Bericht.pdf", SimpleUploadedFile("x.pdf", b"%PDF-1.7"))
    stored = attachment.file.name
    assert stored.startswith(f"attachments/{meeting.date:%Y}/")
    assert stored.endswith(".pdf")
    assert "Geheimer" not in stored
