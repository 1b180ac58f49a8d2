"""What the editor benchmarks share: a throwaway Django for the test client, and the
60 x 5 minutes they all measure (bench/editor/run.py, bench/editor/browser.py,
bench/editor_size/run.py: the same words, so their figures compare)."""

import copy
import importlib
import os
from pathlib import Path


def setup_django(folder):
    """Django on a fresh SQLite database in ``folder``, DEBUG on unless the environment
    says otherwise, for requests through django.test.Client, started as the server
    starts (werkstatt/wsgi.py)."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "werkstatt.settings"
    os.environ["DATABASE_URL"] = f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("DJANGO_DEBUG", "true")
    import django

    django.setup()
    # What the server does at start (gunicorn --preload loads this module before it
    # forks): among it, freezing what is loaded so that the garbage collector skips it.
    importlib.import_module("werkstatt.wsgi")
    from django.conf import settings
    from django.core.management import call_command

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.MEDIA_ROOT = Path(folder) / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)


def big_document(reference, items=60, results=5):
    """The reference minutes with ``items`` agenda items of ``results`` results each."""
    document = copy.deepcopy(reference)
    document["meeting"]["number"] = 60
    document["meeting"]["agenda"] = [
        {
            "title": f"Tagesordnungspunkt {n}: Bericht zur Strukturentwicklung in der Lausitz",
            "presenters": [
                {"name": "Dr. Elena Herzog", "organisation": "WRL", "function": "Projektmanagerin"}
            ],
            "results": [
                {
                    "text": f"Ergebnis {n}.{r}: Die Werkstatt nimmt den Bericht zur Kenntnis "
                    "und bittet die Geschäftsstelle, die Fördervoraussetzungen zu prüfen.",
                    "kind": "information" if r else "decision",
                }
                for r in range(results)
            ],
        }
        for n in range(items)
    ]
    return document
