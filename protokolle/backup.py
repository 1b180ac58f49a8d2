"""Backup and restore: a portable dump of the database, the stored files, a manifest.

The dump is Django's JSON serialisation (dumpdata), so a backup taken on SQLite
restores into PostgreSQL and the other way round. Every file is listed in
manifest.json with its SHA-256, and the manifest is signed (HMAC-SHA256 through
Django's salted_hmac) with the backup key: ``settings.BACKUP_KEY``, else the
environment's ``DJANGO_BACKUP_KEY``, else ``SECRET_KEY``. Without the signature
anyone who can write to the backup could change confirmed minutes or forge an
archival PDF and recompute its hashes.

Restore checks, before it writes anything: the signature (or, with
``trust_unsigned``, that there is none), every file's name and SHA-256, and each
archival PDF's SHA-256 against its ArchivedPdf row in data.json. It then writes
everything or nothing into an empty database.
"""

import hashlib
import io
import json
import os
import tempfile
from pathlib import Path

from auditlog.context import disable_auditlog
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from . import immutability
from .models import ArchivedPdf, Attachment, Body, Meeting

FORMAT = "werkstatt-protokolle-backup/2"
# Made before backups were signed: restored only with trust_unsigned.
UNSIGNED_FORMAT = "werkstatt-protokolle-backup/1"
# What is not worth restoring: derived or per-installation rows.
EXCLUDE = ["contenttypes", "auth.permission", "sessions", "admin.logentry", "axes"]
SIGNATURE_SALT = "protokolle.backup.manifest"
KEY_ID_SALT = "protokolle.backup.key-id"
KEY_ENVIRONMENT = "DJANGO_BACKUP_KEY"
# How many problems a refusal names before it only counts the rest.
SHOWN_PROBLEMS = 10


class BackupError(Exception):
    """A backup that cannot be written or restored; the message says why."""


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _sha256_of_file(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _stored_files():
    names = set(ArchivedPdf.objects.values_list("file", flat=True))
    names |= set(Attachment.objects.exclude(file="").values_list("file", flat=True))
    return sorted(name for name in names if name)


# --- the signature ----------------------------------------------------------------------


def key_source():
    """Where the backup key comes from, for messages: the setting, variable or SECRET_KEY."""
    if getattr(settings, "BACKUP_KEY", None):
        return "settings.BACKUP_KEY"
    if os.environ.get(KEY_ENVIRONMENT):
        return KEY_ENVIRONMENT
    return "SECRET_KEY"


def backup_key():
    return (
        getattr(settings, "BACKUP_KEY", None)
        or os.environ.get(KEY_ENVIRONMENT)
        or settings.SECRET_KEY
    )


def _canonical(manifest):
    """The signed bytes: the manifest without its signature, keys sorted, no spaces."""
    content = {key: value for key, value in manifest.items() if key != "signature"}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _key_id(key):
    """A short fingerprint of the key, so that a refusal can say "another key"."""
    return salted_hmac(KEY_ID_SALT, "key id", secret=key, algorithm="sha256").hexdigest()[:16]


def sign(manifest, key=None):
    """Add key_id and signature to ``manifest`` (in place) and return it."""
    key = key or backup_key()
    manifest.pop("signature", None)
    manifest["key_id"] = _key_id(key)
    manifest["signature"] = salted_hmac(
        SIGNATURE_SALT, _canonical(manifest), secret=key, algorithm="sha256"
    ).hexdigest()
    return manifest


def signature_problem(manifest, key=None):
    """None when the manifest carries a valid signature; otherwise what is wrong."""
    key = key or backup_key()
    signature = manifest.get("signature")
    if not isinstance(signature, str):
        return "manifest.json is not signed"
    expected = salted_hmac(
        SIGNATURE_SALT, _canonical(manifest), secret=key, algorithm="sha256"
    ).hexdigest()
    if constant_time_compare(signature, expected):
        return None
    if manifest.get("key_id") != _key_id(key):
        return (
            "the signature of manifest.json does not match: the backup was signed with a "
            f"different key from this installation's ({key_source()}); set {KEY_ENVIRONMENT} "
            "to the backup key (or SECRET_KEY) of the installation that made it"
        )
    return (
        "manifest.json was changed after it was signed: its signature does not match "
        "its content (a file's hash, the counts or the format)"
    )


# --- writing ----------------------------------------------------------------------------


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
        "created": timezone.now().isoformat(timespec="seconds"),
        "database": connection.vendor,
        "counts": _counts(),
        "files": files,
    }
    sign(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _counts():
    return {
        "bodies": Body.objects.count(),
        "meetings": Meeting.objects.count(),
        "archived_pdfs": ArchivedPdf.objects.count(),
    }


# --- checking ---------------------------------------------------------------------------


def _unsafe(name):
    """Why ``name`` (a key of the manifest's files) may not be read or restored, or None.

    Only data.json and names under files/ are valid, with no absolute part, drive,
    backslash, NUL, empty, "." or ".." segment: restore must neither read outside
    the backup's folder nor write outside the file storage.
    """
    parts = name.split("/") if isinstance(name, str) else [""]
    if (
        not isinstance(name, str)
        or "\\" in name
        or "\0" in name
        or ":" in name
        or any(part in ("", ".", "..") for part in parts)
        or (name != "data.json" and (parts[0] != "files" or len(parts) < 2))
    ):
        return f"{name!r} is not a file name this backup can hold"
    return None


def _read_manifest(folder):
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError(f"{folder}: no readable manifest.json ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, UNSIGNED_FORMAT):
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise BackupError(f"{folder}: not a backup of this kind ({found!r})")
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
        raise BackupError(f"{folder}: manifest.json lists no files")
    return manifest


def _refuse(problems):
    shown = problems[:SHOWN_PROBLEMS]
    more = len(problems) - len(shown)
    raise BackupError("; ".join(shown) + (f"; and {more} more" if more > 0 else ""))


def _data_rows(data):
    try:
        rows = json.loads(data)
    except ValueError as exc:
        raise BackupError(f"data.json is not JSON ({exc})") from exc
    if not isinstance(rows, list) or not all(
        isinstance(row, dict) and isinstance(row.get("fields"), dict) for row in rows
    ):
        raise BackupError("data.json is not a Django JSON dump")
    return rows


def _cross_check(rows, digests, sizes):
    """Problems between data.json's rows and the files: every archival PDF's
    SHA-256 and size must match its row, and every file belong to a row."""
    problems = []
    referenced = set()
    for row in rows:
        model, fields = row.get("model"), row["fields"]
        if model not in ("protokolle.archivedpdf", "protokolle.attachment"):
            continue
        name = fields.get("file")
        if not name:
            continue
        key = f"files/{name}"
        referenced.add(key)
        if key not in digests:
            problems.append(f"{name} is in data.json but not in the backup")
        elif model == "protokolle.archivedpdf" and fields.get("sha256") != digests[key]:
            problems.append(
                f"archived PDF {name}: data.json records SHA-256 {fields.get('sha256')}, "
                f"the file has {digests[key]}"
            )
        elif model == "protokolle.archivedpdf" and fields.get("size") != sizes[key]:
            problems.append(
                f"archived PDF {name}: data.json records {fields.get('size')} bytes, "
                f"the file has {sizes[key]}"
            )
    for key in sorted(set(digests) - referenced - {"data.json"}):
        problems.append(f"{key} is in the backup but no row of data.json refers to it")
    return problems


def check(folder, trust_unsigned=False):
    """Check the signature, every file against the manifest, and the archive's
    hashes against data.json. Returns the manifest; BackupError names each problem.

    ``trust_unsigned`` accepts a manifest without a signature (a backup made
    before backups were signed); a signature that is there must still match.
    """
    folder = Path(folder)
    manifest = _read_manifest(folder)
    signed = manifest["format"] == FORMAT and "signature" in manifest
    if not signed and not trust_unsigned:
        raise BackupError(
            "manifest.json is not signed, so nothing in this backup can be trusted: anyone "
            "who could write to it could have changed its files and their hashes. If it is "
            "your own backup made before backups were signed, restore it with --trust-unsigned"
        )
    problems = []
    if signed:
        problem = signature_problem(manifest)
        if problem:
            problems.append(problem)
    names = manifest["files"]
    unsafe = [problem for problem in map(_unsafe, names) if problem]
    if unsafe:
        _refuse(problems + unsafe)
    if "data.json" not in names:
        _refuse([*problems, "manifest.json does not list data.json"])
    root = folder.resolve()
    digests, sizes = {}, {}
    for name, digest in names.items():
        path = folder / name
        if not path.resolve().is_relative_to(root):
            problems.append(f"{name} leads outside the backup's folder")
        elif not path.is_file():
            problems.append(f"missing: {name}")
        else:
            digests[name] = _sha256_of_file(path)
            sizes[name] = path.stat().st_size
            if digests[name] != digest:
                problems.append(
                    f"changed: {name} (SHA-256 {digests[name]}, the manifest says {digest})"
                )
    if problems:
        _refuse(problems)
    rows = _data_rows((folder / "data.json").read_bytes())
    problems = _cross_check(rows, digests, sizes)
    if problems:
        _refuse(problems)
    return manifest


# --- restoring --------------------------------------------------------------------------


def _verified_bytes(folder, name, digest):
    """The file's bytes, hashed again as they are read: what is restored is what was checked."""
    data = (folder / name).read_bytes()
    if _sha256(data) != digest:
        raise BackupError(f"changed: {name} (while it was being restored)")
    return data


def _load(fixture):
    try:
        call_command("loaddata", str(fixture), verbosity=0)
    except Exception as exc:  # a dump that does not fit this database: a message, no traceback
        raise BackupError(f"data.json cannot be loaded: {exc}") from exc


def restore(folder, trust_unsigned=False):
    """Restore a backup into an empty database and an empty file storage."""
    folder = Path(folder)
    manifest = check(folder, trust_unsigned=trust_unsigned)
    if Meeting.objects.exists() or Body.objects.exists():
        raise BackupError("the database is not empty: restore only into a new database")
    files = manifest["files"]
    names = [name.removeprefix("files/") for name in files if name != "data.json"]
    taken = [name for name in names if default_storage.exists(name)]
    if taken:
        raise BackupError(f"the file storage already holds {taken[0]}; restore into an empty one")
    data = _verified_bytes(folder, "data.json", files["data.json"])
    saved = []
    with tempfile.TemporaryDirectory() as scratch:
        # loaddata reads a file: give it the bytes that were checked, not the folder's.
        fixture = Path(scratch) / "data.json"
        fixture.write_bytes(data)
        try:
            with transaction.atomic():
                # Confirmed minutes arrive with their rows: the triggers would refuse
                # those inserts. They are off inside this transaction only.
                immutability.drop(connection)
                with disable_auditlog():  # the log comes from the backup, not from loading
                    _load(fixture)
                immutability.ensure(connection)
                for name in names:
                    content = _verified_bytes(folder, f"files/{name}", files[f"files/{name}"])
                    stored = default_storage.save(name, ContentFile(content))
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
    # Planner statistics for the rows just loaded, so that the search reads its 1,001
    # newest candidates from the start instead of every hit (bench/README, archive).
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return manifest
