from django.apps import AppConfig
from django.core import checks
from django.db import connections
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _

from . import immutability, seal


class ProtokolleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "protokolle"
    verbose_name = _("Minutes")

    def ready(self):
        # Models and auditlog's registry need the app registry: Django's place is ready().
        from auditlog.registry import auditlog

        from . import models

        post_migrate.connect(_ensure_triggers, sender=self)
        # Production (DEBUG off) archives sealed: `check --deploy` names a missing seal.
        checks.register(seal.check_configured, checks.Tags.security, deploy=True)

        # The audit trail: who created, changed, circulated, responded, reopened,
        # confirmed, and when. Children name their meeting, so its page can list them.
        auditlog.register(models.Meeting, exclude_fields=["updated_at", "version"])
        for model in (
            models.AgendaItem,
            models.Presenter,
            models.Result,
            models.Participant,
            models.Attachment,
            models.Approval,
            models.Response,
        ):
            auditlog.register(model)


def _ensure_triggers(sender, using, plan=None, **kwargs):
    """Recreate the immutability triggers: a migration may have rebuilt a table."""
    connection = connections[using]
    if "protokolle_meeting" in connection.introspection.table_names():
        immutability.ensure(connection)
