"""Attachments: the types we accept, recognised by their content, stored under random names.

Office files are ZIP archives. Recognising them must cost little whatever the archive
claims: the archive's directory is read only up to a bound, declared sizes are checked
before anything is unpacked, and the one entry that is unpacked (an ODT's ``mimetype``)
is read only up to a few bytes, whatever its header says.
"""

import struct
import unicodedata
import uuid
import zipfile
import zlib
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

ODT_MIMETYPE = b"application/vnd.oasis.opendocument.text"  # 39 bytes
# Bytes read of an ODT's ``mimetype`` entry: its 39 bytes and room for a line end.
MIMETYPE_BYTES = 64
# No single read of the archive may fetch more: the tail that holds the end record
# (64 KiB of comment at most) and the central directory, which zipfile parses whole.
# An office document of a few thousand entries has a directory of some hundred KiB.
MAX_DIRECTORY_BYTES = 2 * 1024 * 1024
# What all entries together may declare to unpack to. A 20 MB spreadsheet of plain
# XML unpacks to some hundred MB; a zip bomb of that size to some ten GB.
MAX_INFLATED_BYTES = 1024 * 1024 * 1024
# Deflate cannot pack more tightly than about 1032:1; an entry that claims more lies
# about its size or uses another method.
MAX_RATIO = 1100
# Office programs write entries stored or deflated, nothing else.
METHODS = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED}


class _BoundedReads:
    """The upload as zipfile sees it: no single read fetches more than ``limit`` bytes.

    zipfile reads the central directory in one read of the size the archive's end
    record states, and parses all of it; this refuses that read when it is too large.
    """

    def __init__(self, upload, size, limit):
        self.upload = upload
        self.size = size
        self.limit = limit

    def read(self, n=-1):
        remaining = max(self.size - self.upload.tell(), 0)
        wanted = remaining if n is None or n < 0 else min(n, remaining)
        if wanted > self.limit:
            raise zipfile.BadZipFile("read beyond the limit")
        return self.upload.read(wanted)

    def seek(self, offset, whence=0):
        return self.upload.seek(offset, whence)

    def tell(self):
        return self.upload.tell()

    def seekable(self):
        return True


def _zip_kind(upload):
    """odt, docx, xlsx or None; raises ValidationError for an archive that would unpack
    to too much. Unpacks at most MIMETYPE_BYTES bytes of one entry."""
    upload.seek(0, 2)
    size = upload.tell()
    upload.seek(0)
    try:
        with zipfile.ZipFile(_BoundedReads(upload, size, MAX_DIRECTORY_BYTES)) as archive:
            entries = archive.infolist()
            if any(entry.compress_type not in METHODS for entry in entries):
                return None
            if any(entry.file_size > MAX_RATIO * max(entry.compress_size, 1) for entry in entries):
                return None
            if sum(entry.file_size for entry in entries) > MAX_INFLATED_BYTES:
                raise ValidationError(
                    _("The file would unpack to more than %(limit)s MB."),
                    code="inflated",
                    params={"limit": MAX_INFLATED_BYTES // (1024 * 1024)},
                )
            names = {entry.filename for entry in entries}
            if "mimetype" in names:
                if _read_mimetype(archive) == ODT_MIMETYPE:
                    return "odt"
            if "[Content_Types].xml" in names:
                if any(name.startswith("word/") for name in names):
                    return "docx"
                if any(name.startswith("xl/") for name in names):
                    return "xlsx"
    except (
        zipfile.BadZipFile,
        zlib.error,
        struct.error,
        EOFError,
        OSError,
        RuntimeError,
        ValueError,
        NotImplementedError,
    ):
        # Damaged, truncated, encrypted or otherwise unreadable: not what it claims.
        return None
    finally:
        upload.seek(0)
    return None


def _read_mimetype(archive):
    """The ``mimetype`` entry's first bytes, stripped; None when it is longer."""
    entry = archive.getinfo("mimetype")
    if entry.file_size > MIMETYPE_BYTES or entry.flag_bits & 0x1:
        return None
    with archive.open(entry) as stream:
        # At most MIMETYPE_BYTES + 1 bytes come out, whatever the header declares.
        content = stream.read(MIMETYPE_BYTES + 1)
    if len(content) > MIMETYPE_BYTES:
        return None
    return content.strip()


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
        return _zip_kind(upload)
    return None


# The upload limit for attachments, in the editor and in the admin.
MAX_UPLOAD_BYTES = 20 * 1024 * 1024


def validate(upload):
    """Everything an uploaded attachment must pass: its size, then ``check``."""
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is larger than %(limit)s MB."),
            code="too_large",
            params={"limit": MAX_UPLOAD_BYTES // (1024 * 1024)},
        )
    check(upload)


def check(upload):
    """Refuse names with path parts, other types, and content that is not what it says."""
    name = upload.name or ""
    if any(unicodedata.category(character) in ("Cc", "Cf") for character in name):
        # A NUL, a line break, a right-to-left override: PostgreSQL refuses NUL in
        # text, and no one means any of them in a file name. (Django's upload parser
        # already drops them from names it receives; this guards names from elsewhere.)
        raise ValidationError(
            _("The file name must not contain control characters."), code="control"
        )
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
