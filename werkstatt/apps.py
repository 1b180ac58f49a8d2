"""The libraries' apps under German names in the admin, where their own catalogs have none.

auditlog and django-tasks name their apps and models in English only, and axes names
its app not at all ("Axes"). The apps whose name is fixed in code get a subclass here
(INSTALLED_APPS names it); the words that are translatable but untranslated are listed
for makemessages and translated in ``locale/``, whose catalog Django reads first.
"""

from axes.apps import AppConfig as AxesAppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_tasks.backends.database.apps import TasksAppConfig


class AxesConfig(AxesAppConfig):
    verbose_name = _("Sign-in protection")


class TasksDatabaseConfig(TasksAppConfig):
    verbose_name = _("Background tasks")


LIBRARY_WORDS = [
    gettext_noop("Audit log"),
    gettext_noop("log entry"),
    gettext_noop("log entries"),
    gettext_noop("Task Result"),
    gettext_noop("Task Results"),
]
