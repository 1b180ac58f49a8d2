"""Attachments: the types we accept, recognised by their content, stored under random names."""

import uuid
import zipfile
from pathlib import PurePosixPath

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Extension → the kind of content it must have.
ALLOWED = {
    ".pdf": "pdf",
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".odt": "odt",
}


def _kind(upload):
    """What the file is, judged by its bytes (not by its name or the browser's word)."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(upload) as archive:
                names = set(archive.namelist())
                if "mimetype" in names:
                    mimetype = archive.read("mimetype").strip()
                    if mimetype == b"application/vnd.oasis.opendocument.text":
                        return "odt"
                if "[Content_Types].xml" in names:
                    if any(name.startswith("word/") for name in names):
                        return "docx"
                    if any(name.startswith("xl/") for name in names):
                        return "xlsx"
        except zipfile.BadZipFile:
            return None
        finally:
            upload.seek(0)
    return None


def check(upload):
    """Refuse names with path parts, other types, and content that is not what it says."""
    name = upload.name or ""
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        raise ValidationError(_("The file name must not contain a path."), code="path")
    extension = PurePosixPath(name).suffix.lower()
    if extension not in ALLOWED:
        raise ValidationError(
            _("Only PDF, DOCX, XLSX, ODT, PNG and JPEG files can be attached."), code="type"
        )
    if _kind(upload) != ALLOWED[extension]:
        raise ValidationError(
            _("The file's content is not a %(type)s file.") % {"type": extension[1:].upper()},
            code="content",
        )


def random_name(instance, filename):
    """attachments/2022/<random>.pdf: no user-chosen name reaches the file system."""
    extension = PurePosixPath(filename).suffix.lower()
    return f"attachments/{instance.meeting.date:%Y}/{uuid.uuid4().hex}{extension}"
