from django.apps import AppConfig


class ProtokolleConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "protokolle"
