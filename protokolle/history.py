"""The audit trail of a meeting, as django-auditlog recorded it."""

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from .models import Meeting

LIMIT = 100


def for_meeting(meeting, limit=LIMIT):
    """Log entries of the meeting and of every row filed under it, newest first."""
    meeting_type = ContentType.objects.get_for_model(Meeting)
    return list(
        LogEntry.objects.filter(
            Q(content_type=meeting_type, object_pk=str(meeting.pk))
            | Q(additional_data__meeting=meeting.pk)
        )
        .select_related("actor", "content_type")
        .order_by("-timestamp", "-pk")[:limit]
    )
