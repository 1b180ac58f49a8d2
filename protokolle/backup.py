"""Backup and restore: a portable dump of the database, the stored files, a manifest.

The dump is Django's JSON serialisation (dumpdata), so a backup taken on SQLite
restores into PostgreSQL and the other way round. Every file is listed in
manifest.json with its SHA-256; restore checks them all before it writes
anything, and writes everything or nothing into an empty database.
"""

import hashlib
import io
import json
from pathlib import Path

from auditlog.context import disable_auditlog
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction

from . import immutability
from .models import ArchivedPdf, Attachment, Body, Meeting

FORMAT = "werkstatt-protokolle-backup/1"
# What is not worth restoring: derived or per-installation rows.
EXCLUDE = ["contenttypes", "auth.permission", "sessions", "admin.logentry", "axes"]


class BackupError(Exception):
    """A backup that cannot be written or restored; the message says why."""


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _stored_files():
    names = set(ArchivedPdf.objects.values_list("file", flat=True))
    names |= set(Attachment.objects.exclude(file="").values_list("file", flat=True))
    return sorted(name for name in names if name)


def backup(folder):
    """Write the backup into ``folder`` (new or empty). Returns the manifest."""
    folder = Path(folder)
    if folder.exists() and any(folder.iterdir()):
        raise BackupError(f"{folder} is not empty")
    (folder / "files").mkdir(parents=True, exist_ok=True)
    dump = io.StringIO()
    call_command(
        "dumpdata",
        exclude=EXCLUDE,
        natural_foreign=True,
        natural_primary=True,
        indent=1,
        stdout=dump,
    )
    data = dump.getvalue().encode("utf-8")
    (folder / "data.json").write_bytes(data)
    files = {"data.json": _sha256(data)}
    for name in _stored_files():
        if not default_storage.exists(name):
            raise BackupError(f"the stored file {name} is missing; run verify_archive")
        with default_storage.open(name, "rb") as handle:
            content = handle.read()
        target = folder / "files" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
        files[f"files/{name}"] = _sha256(content)
    manifest = {
        "format": FORMAT,
        "database": connection.vendor,
        "counts": {
            "bodies": Body.objects.count(),
            "meetings": Meeting.objects.count(),
            "archived_pdfs": ArchivedPdf.objects.count(),
        },
        "files": files,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def check(folder):
    """Read the manifest and compare every file with its SHA-256."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder}: no readable manifest.json ({exc})") from exc
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{folder}: not a backup of this kind ({manifest.get('format')!r})")
    problems = []
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            problems.append(f"missing: {name}")
        elif _sha256(path.read_bytes()) != digest:
            problems.append(f"changed: {name}")
    if problems:
        raise BackupError("; ".join(problems))
    return manifest


def restore(folder):
    """Restore a backup into an empty database and an empty file storage."""
    folder = Path(folder)
    manifest = check(folder)
    if Meeting.objects.exists() or Body.objects.exists():
        raise BackupError("the database is not empty: restore only into a new database")
    names = [name.removeprefix("files/") for name in manifest["files"] if name != "data.json"]
    taken = [name for name in names if default_storage.exists(name)]
    if taken:
        raise BackupError(f"the file storage already holds {taken[0]}; restore into an empty one")
    saved = []
    try:
        with transaction.atomic():
            # Confirmed minutes arrive with their rows: the triggers would refuse those
            # inserts. They are off inside this transaction only.
            immutability.drop(connection)
            with disable_auditlog():  # the log comes from the backup, not from loading it
                call_command("loaddata", str(folder / "data.json"), verbosity=0)
            immutability.ensure(connection)
            for name in names:
                stored = default_storage.save(
                    name, ContentFile((folder / "files" / name).read_bytes())
                )
                saved.append(stored)
                if stored != name:
                    raise BackupError(f"the storage renamed {name} to {stored}")
    except BaseException:
        for name in saved:
            default_storage.delete(name)
        if connection.vendor == "sqlite":
            # SQLite commits DDL with the transaction it is in; make sure they are back.
            immutability.ensure(connection)
        raise
    return manifest
