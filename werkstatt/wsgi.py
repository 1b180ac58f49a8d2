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

# What is loaded now (Django, the apps and their modules: about 70,000 objects) lives as long as
# the process. Frozen, Python's garbage collector no longer walks it at each full
# collection: those took about a fifth of the editor's time for 60 x 5 minutes
# (bench/editor_size). With ``gunicorn --preload`` (make serve) this runs once, before
# the workers are forked, which also keeps the loaded memory shared between them.
gc.freeze()
