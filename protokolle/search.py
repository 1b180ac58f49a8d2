"""Full-text search over confirmed minutes.

On PostgreSQL: the German text search configuration (stemming, so "Projekte"
finds "Projekt"), ranked hits, highlighted snippets, and a stored vector with a
GIN index (migration 0006). On SQLite: every word must occur
(case-insensitive), newest first, with a simple highlighted excerpt.

At scale (a million entries, bench/archive) a search reads a bounded set: the
1,000 newest hits are counted and ranked, past them the page says "more than
1,000 hits" and older hits follow newest first; pages follow by keyset over the
index (date, id) (migration 0010), so no page sorts or counts every hit.
"""

import bisect
import datetime
import math
import re
from dataclasses import dataclass

from django.contrib.postgres.search import (
    SearchHeadline,
    SearchQuery,
    SearchRank,
    SearchVectorField,
)
from django.db import connection
from django.db.models import FloatField, Q, Value
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


# Hits counted and ranked exactly; past it the page says "more than 1,000 hits".
LIMIT = 1000
PAGE_SIZE = 25


class BadCursor(ValueError):
    """A page link whose position cannot be read (edited or cut off)."""


@dataclass
class Hits:
    """One page of hits, best first, and where the next page starts.

    The order: the ``LIMIT`` newest hits (the candidates) ranked best first, then,
    past them, every older hit newest first. Pages follow by keyset (``after``),
    never by OFFSET, so a deep page costs what the first one does.
    """

    hits: list
    count: int  # exact up to LIMIT
    more: bool  # more than LIMIT hits: ``count`` is LIMIT, the page says "more than"
    next: str = ""  # ``after`` of the following page; empty on the last

    def __iter__(self):
        return iter(self.hits)

    def __len__(self):
        return len(self.hits)

    def __getitem__(self, index):
        return self.hits[index]

    @property
    def paginator(self):
        """The count as Django's ``Page.paginator.count`` gives it (templates, tests)."""
        return self


def search(entries, words, filters, after="", size=None):
    """A page of ``Hits`` for ``words`` among ``entries``; each hit with ``snippet`` data.

    ``entries`` are those the user may find: ``access.visible_search_entries(user)``.
    ``after`` is the ``next`` of the previous page ("" for the first); a value that
    is not one raises ``BadCursor``. ``size`` hits a page (``PAGE_SIZE``). Costs at
    most three queries, however many hits and however deep the page.
    """
    size = size or PAGE_SIZE
    cursor = _parse(after)
    entries = _filtered(entries, filters)
    postgresql = connection.vendor == "postgresql"
    query = SearchQuery(words, config=CONFIG, search_type="websearch") if postgresql else None
    matching = _postgresql(entries, query) if postgresql else _fallback(entries, words)
    if matching is None:
        return Hits([], 0, False)
    shown = _with_headline(entries, query).select_related("meeting__body")
    older = _with_headline(matching, query).select_related("meeting__body")
    if cursor and cursor[0] == "d":
        # Past the candidates: newest first, from the last hit shown on.
        rows = list(_before(older, cursor[1], cursor[2])[: size + 1])
        return Hits(rows[:size], LIMIT, True, _date_cursor(rows[size - 1]) if rows[size:] else "")
    rank = SearchRank(_VECTOR, query) if postgresql else Value(0.0, output_field=FloatField())
    candidates = list(
        matching.annotate(rank=rank)
        .order_by("-date", "-pk")
        .values_list("rank", "date", "pk")[: LIMIT + 1]
    )
    more = len(candidates) > LIMIT
    candidates = candidates[:LIMIT]
    ranked = sorted(candidates, key=_rank_key)
    start = (
        bisect.bisect_right([_rank_key(c) for c in ranked], _rank_key(cursor[1:])) if cursor else 0
    )
    chosen = ranked[start : start + size]
    by_pk = shown.in_bulk([pk for _rank, _date, pk in chosen]) if chosen else {}
    rows = [by_pk[pk] for _rank, _date, pk in chosen]
    following = ""
    if len(chosen) == size and (start + size < len(ranked) or more):
        rank_, date, pk = chosen[-1]
        following = f"r:{rank_!r}:{date.isoformat()}:{pk}"
    elif more:
        _rank, date, pk = candidates[-1]
        extra = list(_before(older, date, pk)[: size - len(chosen) + 1])
        rows += extra[: size - len(chosen)]
        if len(extra) > size - len(chosen):
            following = _date_cursor(rows[-1])
    return Hits(rows, len(candidates), more, following)


def _filtered(entries, filters):
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
    return entries


# The stored vector with its GIN index (migration 0006), unknown to the model.
_VECTOR = RawSQL('"protokolle_searchentry"."search_vector"', [], output_field=SearchVectorField())


def _postgresql(entries, query):
    return entries.annotate(document=_VECTOR).filter(document=query)


def _fallback(entries, words):
    terms = [term for term in re.findall(r"\w[\w-]*", words) if len(term) > 1]
    for term in terms:
        entries = entries.filter(text__icontains=term)
    return entries if terms else None


def _with_headline(entries, query):
    if query is None:
        return entries
    return entries.annotate(
        headline=SearchHeadline(
            "text",
            query,
            config=CONFIG,
            start_sel=START,
            stop_sel=STOP,
            max_words=35,
            min_words=15,
        )
    )


def _rank_key(candidate):
    rank, date, pk = candidate
    return (-rank, -date.toordinal(), -pk)


def _before(entries, date, pk):
    """Entries older than (``date``, ``pk``), newest first: a range the index
    (date, id) scans from, not a sort of every hit."""
    return (
        entries.filter(date__lte=date)
        .filter(Q(date__lt=date) | Q(pk__lt=pk))
        .order_by("-date", "-pk")
    )


def _date_cursor(entry):
    return f"d:{entry.date.isoformat()}:{entry.pk}"


def _parse(after):
    """``("r", rank, date, pk)`` or ``("d", date, pk)`` from a page link; None for ""."""
    if not after:
        return None
    try:
        phase, *rest = after.split(":")
        if phase == "r" and len(rest) == 3:
            rank, pk = float(rest[0]), int(rest[2])
            if math.isfinite(rank) and 0 < pk < 2**63:
                return ("r", rank, datetime.date.fromisoformat(rest[1]), pk)
        if phase == "d" and len(rest) == 2 and 0 < int(rest[1]) < 2**63:
            return ("d", datetime.date.fromisoformat(rest[0]), int(rest[1]))
    except ValueError:
        pass
    raise BadCursor(after)


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
