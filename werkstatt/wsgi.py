"""
WSGI config for werkstatt project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "werkstatt.settings")

application = get_wsgi_application()

# The garbage collector, for a server that builds big pages:
# - What is loaded now (Django, the apps and their modules: about 70,000 objects) lives as
#   long as the process. Frozen, the collector no longer walks it at each full collection.
#   With ``gunicorn --preload`` (make serve) this runs once, before the workers are forked,
#   which also keeps the loaded memory shared between them.
# - A page builds its objects faster than the default threshold (a collection of the
#   youngest objects after every 700 new ones) suits: the 60 x 5 editor's 430 row forms
#   were walked again and again while they were built (measured with gc.callbacks: 187 of
#   763 ms). Collections now come after every GC_THRESHOLD new objects:
#   cyclic garbage waits a little longer (a few MB at most), and nothing else changes.
GC_THRESHOLD = 20_000
gc.freeze()
gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
