"""The Jinja2 environment of the templates under templates/jinja2/: the editor's rows.

The editor of 60 items x 5 results repeats its row templates about 430 times. Django's
template engine first asks a form for an item (form["prefix"]), which fails with a
KeyError listing the form's fields, and only then for the attribute; Jinja2 asks for
the attribute first. Measured on the same 300 result forms: 409 ms in Django's engine,
342 ms in Jinja2 (CPU time, median of 7). The rest of the site stays with Django's
templates.

Translations: ``{{ _("…") }}`` with Django's gettext, old-style (the translated text is
escaped like any other value, as ``{% translate %}`` does); ``makemessages`` finds these
strings because its template reader knows the ``_("…")`` form.
"""

from django.utils import translation
from jinja2 import Environment


def environment(**options):
    env = Environment(extensions=["jinja2.ext.i18n"], **options)
    env.install_gettext_translations(translation, newstyle=False)
    return env
