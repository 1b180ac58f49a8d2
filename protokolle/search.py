"""Full-text search over confirmed minutes.

On PostgreSQL: the German text search configuration (stemming, so "Projekte"
finds "Projekt"), ranked hits, highlighted snippets, and a stored vector with a
GIN index (migration 0007). On SQLite: every word must occur
(case-insensitive), newest first, with a simple highlighted excerpt.
"""

import re
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.db import connection
from django.db.models.expressions import RawSQL
from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import wording
from .models import Meeting, SearchEntry, build_agenda, flatten_agenda

CONFIG = "german"
# Sentinels for the highlighted words: the text around them is escaped, then they
# become <mark>. Characters no one types.
START, STOP = "\u2402", "\u2403"


def _person(snapshot):
    return wording.person_line(snapshot.name, snapshot.organisation, snapshot.function)


def entries_for(meeting):
    """Unsaved SearchEntry rows for one meeting loaded with ``Meeting.objects.for_minutes()``."""
    public = meeting.public
    base = {"meeting": meeting, "body_id": meeting.body_id, "date": meeting.date}
    people = [p.name for p in meeting.participants.all()]
    entries = [
        SearchEntry(
            **base,
            kind=SearchEntry.Kind.MEETING,
            public=public,
            title=str(meeting.title or ""),
            text=" ".join(
                filter(
                    None,
                    [
                        meeting.title,
                        meeting.location,
                        meeting.chair_name,
                        meeting.minute_taker_name,
                        *(_person(p) for p in meeting.participants.all()),
                        *(a.name for a in meeting.attachments.all()),
                    ],
                )
            ),
            people=" | ".join(
                filter(None, [meeting.chair_name, meeting.minute_taker_name, *people])
            ),
        )
    ]
    hidden = set()
    for item in flatten_agenda(build_agenda(meeting.agenda_items.all())):
        if item.parent_id in hidden or not item.public:
            hidden.add(item.pk)
        item_public = public and item.pk not in hidden
        presenters = [p.name for p in item.presenters.all()]
        head = {
            **base,
            "agenda_item": item,
            "public": item_public,
            "number": item.printed_number,
            "title": item.title[:500],
        }
        entries.append(
            SearchEntry(
                **head,
                kind=SearchEntry.Kind.ITEM,
                text=" ".join([item.title, *(_person(p) for p in item.presenters.all())]),
                people=" | ".join(presenters),
            )
        )
        for result in item.results.all():
            entries.append(
                SearchEntry(
                    **head,
                    result=result,
                    kind=result.kind,
                    text=" ".join(filter(None, [result.text, result.responsible])),
                    people=" | ".join(filter(None, [*presenters, result.responsible])),
                )
            )
    return entries


def index_meeting(meeting):
    """Write the search entries of confirmed minutes (once: they never change)."""
    loaded = Meeting.objects.for_minutes().get(pk=meeting.pk)
    SearchEntry.objects.filter(meeting=loaded).delete()
    SearchEntry.objects.bulk_create(entries_for(loaded), batch_size=1000)


@dataclass
class Filters:
    bodies: list = None
    year_from: int | None = None
    year_to: int | None = None
    kind: str = ""
    person: str = ""


def search(entries, words, filters):
    """Hits for ``words`` among ``entries``, best first; each with a ``snippet``.

    ``entries`` are those the user may find: ``access.visible_search_entries(user)``.
    """
    if filters.bodies:
        entries = entries.filter(body__in=filters.bodies)
    if filters.year_from:
        entries = entries.filter(date__year__gte=filters.year_from)
    if filters.year_to:
        entries = entries.filter(date__year__lte=filters.year_to)
    if filters.kind:
        entries = entries.filter(kind=filters.kind)
    if filters.person:
        entries = entries.filter(people__icontains=filters.person)
    entries = entries.select_related("meeting__body")
    if connection.vendor == "postgresql":
        return _postgresql(entries, words)
    return _fallback(entries, words)


def _postgresql(entries, words):
    query = SearchQuery(words, config=CONFIG, search_type="websearch")
    # The stored vector with its GIN index (migration 0007), unknown to the model.
    vector = RawSQL(
        '"protokolle_searchentry"."search_vector"', [], output_field=SearchVectorField()
    )
    return (
        entries.annotate(document=vector)
        .filter(document=query)
        .annotate(
            rank=SearchRank(vector, query),
            headline=SearchHeadline(
                "text",
                query,
                config=CONFIG,
                start_sel=START,
                stop_sel=STOP,
                max_words=35,
                min_words=15,
            ),
        )
        .order_by("-rank", "-date", "pk")
    )


def _fallback(entries, words):
    terms = [term for term in re.findall(r"\w[\w-]*", words) if len(term) > 1]
    for term in terms:
        entries = entries.filter(text__icontains=term)
    return entries.order_by("-date", "pk") if terms else entries.none()


def snippet(entry, words):
    """The hit's text around the words, escaped, with the words marked."""
    headline = getattr(entry, "headline", None)
    if headline is not None:
        html = escape(headline).replace(START, "<mark>").replace(STOP, "</mark>")
        return mark_safe(html)  # noqa: S308 - escaped above; only our <mark> is markup
    text = entry.text
    terms = [re.escape(t) for t in re.findall(r"\w[\w-]*", words) if len(t) > 1]
    if not terms:
        return escape(text[:200])
    pattern = re.compile("|".join(terms), re.IGNORECASE)
    first = pattern.search(text)
    start = max(0, (first.start() if first else 0) - 80)
    excerpt = text[start : start + 240]
    html = "".join(
        f"<mark>{escape(part)}</mark>" if index % 2 else escape(part)
        for index, part in enumerate(_split_keep(pattern, excerpt))
    )
    prefix = "… " if start else ""
    suffix = " …" if start + 240 < len(text) else ""
    return mark_safe(prefix + html + suffix)  # noqa: S308 - every part is escaped


def _split_keep(pattern, text):
    """Text split so that odd positions are the matches."""
    parts, last = [], 0
    for match in pattern.finditer(text):
        parts += [text[last : match.start()], match.group(0)]
        last = match.end()
    parts.append(text[last:])
    return parts
