"""The archive: confirmed minutes by body and year, full-text search, action items."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models.functions import ExtractYear
from django.shortcuts import get_object_or_404, redirect, render
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


def _bodies(request):
    chosen = _int(request.GET.get("body"))
    bodies = list(access.readable_bodies(request.user).order_by("name"))
    selected = [b for b in bodies if b.pk == chosen]
    return bodies, selected


def _page(request, items):
    return Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))


@login_required
@require_GET
def archive_list(request):
    """Confirmed minutes of the bodies the user may read, newest first."""
    bodies, selected = _bodies(request)
    year = _int(request.GET.get("year"))
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
    filters = search.Filters(
        bodies=selected or None,
        year_from=_int(request.GET.get("from")),
        year_to=_int(request.GET.get("to")),
        kind=request.GET.get("kind") if request.GET.get("kind") in SearchEntry.Kind.values else "",
        person=(request.GET.get("person") or "").strip()[:100],
    )
    page = None
    if words:
        entries = access.visible_search_entries(request.user)
        page = _page(request, search.search(entries, words, filters))
        for hit in page:
            hit.snippet = search.snippet(hit, words)
    return render(
        request,
        "protokolle/archive_search.html",
        {
            "page": page,
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
    return render(
        request,
        "protokolle/task_list.html",
        {
            "page": _page(request, results),
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
