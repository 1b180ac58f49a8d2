"""/healthz: whether this app server can reach its database and its file storage."""

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _storage():
    # Write, read back and delete: a storage that only reads cannot archive minutes.
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}.txt", ContentFile(b"ok"))
    try:
        with default_storage.open(name, "rb") as handle:
            if handle.read() != b"ok":
                raise OSError("read back something else")
    finally:
        default_storage.delete(name)


@never_cache
@require_GET
def healthz(request):
    """200 with {"database": "ok", "storage": "ok"}, or 503 naming what failed."""
    checks = {}
    for name, check in (("database", _database), ("storage", _storage)):
        try:
            check()
            checks[name] = "ok"
        except Exception as error:  # noqa: BLE001 - any failure means "not healthy"
            checks[name] = f"error: {type(error).__name__}"
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse(checks, status=200 if healthy else 503)
