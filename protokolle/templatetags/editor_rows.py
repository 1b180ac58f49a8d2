"""The editor's rows, from their Jinja2 templates (templates/jinja2/protokolle/editor/;
werkstatt/jinja2.py says why they are Jinja2)."""

from django import template
from django.template import engines
from django.utils.safestring import mark_safe

register = template.Library()


@register.simple_tag
def editor_row(name, **context):
    """``{% editor_row "result_row.html" form=form %}``: the row's HTML. The rows need
    no request: they hold no CSRF token and no per-user links."""
    row = engines["jinja2"].get_template(f"protokolle/editor/{name}")
    return mark_safe(row.render(context))  # noqa: S308 - Jinja2 escaped it (autoescape)
