"""Filters for the minutes: German dates and times, people, votes, safe Markdown."""

import re

import nh3
from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from markdown_it import MarkdownIt

from .. import quorum, wording
from ..models import build_agenda, flatten_agenda

register = template.Library()

# CommonMark with raw HTML turned off: whatever a user types, "<script>"
# included, comes out as text. Images are off so that nothing is ever fetched.
_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False}).disable(
    ["image", "heading", "lheading", "code", "fence", "table", "hr", "html_block", "html_inline"],
    ignoreInvalid=True,
)
# The subset the exchange format allows: paragraphs, lists, emphasis, links.
_ALLOWED_TAGS = {"p", "ul", "ol", "li", "em", "strong", "a", "br", "code"}
_ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}


@register.filter
def minutes_markdown(text):
    """A result's text as sanitised HTML (Markdown subset, see the exchange format)."""
    html = _markdown.render(text or "")
    return mark_safe(  # noqa: S308 - nh3 has just sanitised it
        nh3.clean(
            html,
            tags=_ALLOWED_TAGS,
            attributes=_ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="noopener noreferrer",
        )
    )


_ONE_PARAGRAPH = re.compile(r"<p>((?:(?!</?p>).)*)</p>\s*", re.DOTALL)


@register.filter
def result_text(text):
    """A result's text for the minutes, as inline as its Markdown allows.

    One paragraph (nearly every result) becomes ``<span class="result-text">…</span>``:
    the same look as ``<div class="result-text"><p>…</p></div>`` (both run on after the
    kind, minutes.css), two boxes fewer for WeasyPrint to lay out and break into lines,
    which bench/pdf measured at 7–9 % of a render. Several paragraphs or a list keep the
    ``div``."""
    html = minutes_markdown(text)
    one = _ONE_PARAGRAPH.fullmatch(html)
    if one:
        return format_html('<span class="result-text">{}</span>', mark_safe(one[1]))  # noqa: S308 - sanitised above
    return format_html('<div class="result-text">{}</div>', html)


@register.filter
def german_date(value):
    """21.03.2022"""
    return value.strftime("%d.%m.%Y") if value else ""


@register.filter
def german_time(value):
    """10:00"""
    return value.strftime("%H:%M") if value else ""


@register.filter
def date_and_time(value):
    """A moment for the page, in the site's time zone: „30.11.2026 um 07:30 Uhr“."""
    if not value:
        return ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return gettext("%(date)s at %(time)s") % {
        "date": f"{local:%d.%m.%Y}",
        "time": f"{local:%H:%M}",
    }


@register.simple_tag
def time_range(start, end):
    """„10:00 – 12:00 Uhr“, „10:00 Uhr“ or nothing."""
    if start and end:
        return f"{start:%H:%M} – {end:%H:%M} Uhr"
    if start:
        return f"ab {start:%H:%M} Uhr"
    if end:
        return f"bis {end:%H:%M} Uhr"
    return ""


@register.filter
def person_line(person):
    """„Katja Boll, ver.di, Gewerkschaftssekretärin“ from any snapshot."""
    return wording.person_line(person.name, person.organisation, person.function)


@register.filter
def vote_line(result):
    """„Ja 16 · Nein 0 · Enthaltung 1“, the vote's text, or both."""
    if not result.voted:
        return ""
    return wording.vote_line(result.vote_yes, result.vote_no, result.vote_abstain, result.vote_text)


@register.simple_tag
def quorum_lines(meeting, items):
    """The quorum line for Allgemeines; sets ``quorum_line`` (where it differs from the
    start) and ``recusal_sentences`` on each of ``items``.

    No queries for a meeting loaded ``for_minutes()``. Every agenda item counts for the
    moments (an item without a start time follows the one before it), also those the
    public version leaves out.
    """
    participants = list(meeting.participants.all())
    outline = list(flatten_agenda(build_agenda(list(meeting.agenda_items.all()))))
    at_start, per_item = quorum.for_meeting(
        participants, outline, quorum.Rule.of(meeting.body), meeting.start
    )
    for item in items:
        found = per_item.get(item.pk)
        item.quorum_line = (
            quorum.line(found.count, meeting.body.name) if found and found.differs else ""
        )
        item.recusal_sentences = [
            quorum.recusal_sentence(name, reason)
            for name, reason in (found.recusals if found else [])
        ]
    return quorum.line(at_start, meeting.body.name)
