from django.conf import settings
from django.core.management.base import BaseCommand

from protokolle import seal


class Command(BaseCommand):
    help = (
        "Create the self-signed demo seal (“Werkstatt-Protokolle Demo-Siegel”) that seals "
        "archived minutes when no seal certificate is configured and DEBUG is on."
    )

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="replace an existing demo seal")

    def handle(self, *args, force, **options):
        if settings.PDF_SEAL_PKCS12 or settings.PDF_SEAL_KEY:
            self.stdout.write(f"A seal certificate is configured: {seal.seal_name()}")
            return
        path = seal.demo_path()
        if path.exists() and not force:
            self.stdout.write(f"Archived minutes are sealed with the demo seal in {path}.")
            return
        seal.make_demo_seal(path)
        self.stdout.write(
            self.style.WARNING(
                f"No seal certificate configured: created the self-signed demo seal "
                f"“{seal.DEMO_NAME}” in {path}. It is for trying the application out; "
                "in production set DJANGO_PDF_SEAL_PKCS12 and DJANGO_PDF_SEAL_PASSWORD."
            )
        )
        if not settings.DEBUG:
            self.stdout.write(
                self.style.WARNING("DEBUG is off: the demo seal is not used; configure a real one.")
            )
