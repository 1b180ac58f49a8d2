"""The archive: confirmed minutes by body and year, full-text search, action items."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import F, Q
from django.db.models.functions import ExtractYear
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .. import access, archive, search, tasks
from ..models import Result, SearchEntry

PAGE_SIZE = 25


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _year(request, name):
    """The year in the query parameter ``name``, or None; a value that is no year
    (a word, 99999999999999999999) is left out with a message instead of failing."""
    value = (request.GET.get(name) or "").strip()
    year = _int(value)
    if year is not None and 1 <= year <= 9999:
        return year
    if value:
        messages.warning(
            request,
            _("“%(value)s” is not a year; the search runs without that filter.")
            % {"value": value[:20]},
        )
    return None


def _bodies(request):
    chosen = _int(request.GET.get("body"))
    bodies = list(access.readable_bodies(request.user).order_by("name"))
    selected = [b for b in bodies if b.pk == chosen]
    return bodies, selected


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


def _next_url(request, key, value):
    """This page's address with ``key`` set to ``value`` (dropped when empty)."""
    query = request.GET.copy()
    query.pop(key, None)
    if value:
        query[key] = value
    return "?" + query.urlencode()


class TaskPage:
    """A page of tasks by due date (none last), then order of entry; pages by keyset.

    For lists that may hold a hundred thousand rows (open tasks at scale): COUNT
    stops at ``limit + 1`` rows ("more than"), and a page reads its rows plus one
    from the index result_task_due (migration 0010), from where the last page
    ended (``after``: "<due or ->:<pk>"), never by OFFSET. A garbled ``after``
    raises ValueError.
    """

    def __init__(self, items, after="", size=None, limit=None):
        size, limit = size or PAGE_SIZE, limit or search.LIMIT
        items = items.order_by(F("due").asc(nulls_last=True), "pk")
        if not after:
            rows = list(items[: size + 1])
        else:
            due, pk = _task_cursor(after)
            rows = []
            if due is not None:  # the rest of this due date, then later ones
                later = items.filter(due__gte=due).filter(Q(due__gt=due) | Q(pk__gt=pk))
                rows, pk = list(later[: size + 1]), 0
            if len(rows) <= size:  # then the tasks without a due date
                rows += list(items.filter(due__isnull=True, pk__gt=pk)[: size + 1 - len(rows)])
        self.object_list = rows[:size]
        last = rows[size - 1] if len(rows) > size else None
        self.next = f"{last.due.isoformat() if last.due else '-'}:{last.pk}" if last else ""
        self.later = bool(after)
        self.count = items.order_by()[: limit + 1].count()  # unsorted: stops at limit + 1
        self.more = self.count > limit
        self.count = min(self.count, limit)

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    @property
    def paginator(self):
        return self


def _task_cursor(after):
    due, pk = after.split(":")
    if not 0 < int(pk) < 2**63:  # a key the database can compare
        raise ValueError(after)
    return (None if due == "-" else datetime.date.fromisoformat(due)), int(pk)


@login_required
@require_GET
def archive_list(request):
    """Confirmed minutes of the bodies the user may read, newest first."""
    bodies, selected = _bodies(request)
    year = _year(request, "year")
    meetings = archive.confirmed_meetings(bodies=selected or bodies, year=year).order_by(
        "-date", "-number"
    )
    years = (
        archive.confirmed_meetings(bodies=selected or bodies)
        .annotate(year=ExtractYear("date"))
        .order_by("-year")
        .values_list("year", flat=True)
        .distinct()
    )
    return render(
        request,
        "protokolle/archive_list.html",
        {
            "page": _page(request, meetings),
            "bodies": bodies,
            "selected_body": selected[0] if selected else None,
            "years": list(years),
            "year": year,
        },
    )


@login_required
@require_GET
def archive_search(request):
    """Full-text search over confirmed minutes, with filters."""
    bodies, selected = _bodies(request)
    words = (request.GET.get("q") or "").strip()[:200]
    year_from, year_to = _year(request, "from"), _year(request, "to")
    if year_from and year_to and year_from > year_to:
        year_from, year_to = year_to, year_from
        messages.info(
            request,
            _("The years were the wrong way round; the search runs from %(start)s to %(end)s.")
            % {"start": year_from, "end": year_to},
        )
    filters = search.Filters(
        bodies=selected or None,
        year_from=year_from,
        year_to=year_to,
        kind=request.GET.get("kind") if request.GET.get("kind") in SearchEntry.Kind.values else "",
        person=(request.GET.get("person") or "").strip()[:100],
    )
    page, after = None, ""
    if words:
        entries = access.visible_search_entries(request.user)
        after = request.GET.get("after", "")
        try:
            page = search.search(entries, words, filters, after=after)
        except search.BadCursor:
            messages.warning(request, _("That page link is not valid; here is the first page."))
            page = search.search(entries, words, filters)
            after = ""
        for hit in page:
            hit.snippet = search.snippet(hit, words)
    return render(
        request,
        "protokolle/archive_search.html",
        {
            "page": page,
            "later_page": bool(after),
            "limit": number_format(search.LIMIT, force_grouping=True),
            "next_url": _next_url(request, "after", page.next) if page and page.next else "",
            "first_url": _next_url(request, "after", ""),
            "words": words,
            "filters": filters,
            "bodies": bodies,
            "selected_body": selected[0] if selected else None,
            "kinds": SearchEntry.Kind.choices,
        },
    )


@login_required
@require_GET
def task_list(request):
    """Every task across meetings, with who and until when; open, overdue or done."""
    bodies, selected = _bodies(request)
    state = request.GET.get("state", tasks.OPEN)
    if state not in (tasks.OPEN, tasks.OVERDUE, tasks.DONE, "all"):
        state = tasks.OPEN
    results = tasks.filter_state(tasks.task_results(selected or bodies), state)
    writable = set(access.writable_bodies(request.user).values_list("pk", flat=True))
    try:
        page = TaskPage(results, request.GET.get("after", ""))
    except ValueError:
        messages.warning(request, _("That page link is not valid; here is the first page."))
        page = TaskPage(results)
    return render(
        request,
        "protokolle/task_list.html",
        {
            "page": page,
            "limit": number_format(search.LIMIT, force_grouping=True),
            "first_url": _next_url(request, "after", "") if page.later else "",
            "next_url": _next_url(request, "after", page.next) if page.next else "",
            "state": state,
            "bodies": bodies,
            "selected_body": selected[0] if selected else None,
            "writable": writable,
        },
    )


@login_required
@require_POST
def task_toggle(request, pk, done):
    """Mark a task done or open again: minute-takers of its body and administrators."""
    result = get_object_or_404(
        tasks.task_results(access.readable_bodies(request.user)), pk=pk, kind=Result.Kind.TASK
    )
    if not access.can_write(request.user, result.agenda_item.meeting.body):
        raise PermissionDenied
    if done:
        tasks.mark_done(result, request.user)
        messages.success(request, _("The task is marked done."))
    else:
        tasks.mark_open(result)
        messages.success(request, _("The task is open again."))
    back = request.POST.get("next", "")
    if not back.startswith("/tasks/"):
        back = "/tasks/"
    return redirect(back)
