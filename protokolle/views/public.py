"""The public pages (issue 16), without login: published bodies, their upcoming
meetings and their confirmed minutes in the public version, the archived public PDF,
an ICS calendar per body and an Atom feed of newly published minutes.

What is public is decided in ``publication``. Every page answers conditional requests
(ETag and Last-Modified from ``django.views.decorators.http.condition``) and costs a
fixed number of queries.
"""

import datetime
import hashlib

from django.contrib.syndication.views import Feed
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import condition, require_GET

from .. import oparl, pdf, publication
from ..models import Meeting

FEED_SIZE = 50


# --- conditional requests ------------------------------------------------------------


def _state(request, key, compute):
    """Computed once per request: ``condition`` asks for ETag and Last-Modified apart."""
    cached = getattr(request, "_public_state", None)
    if cached is None or cached[0] != key:
        request._public_state = (key, compute())
    return request._public_state[1]


def _index_state(request):
    def compute():
        moments = [
            *publication.published_bodies().values_list("published_changed_at", flat=True),
        ]
        latest = (
            publication.visible_meetings()
            .order_by("-updated_at")
            .values_list("updated_at", flat=True)[:1]
        )
        moments += list(latest)
        count = len(moments)
        return max((m for m in moments if m), default=None), count

    return _state(request, "index", compute)


def _body_state(request, body_pk):
    def compute():
        body = (
            publication.published_bodies()
            .filter(pk=body_pk)
            .values_list("published_changed_at", "name")
        )
        found = list(body)
        if not found:
            return None, 0
        state = publication.body_state(body_pk)
        moments = [found[0][0], state["changed"]]
        return max((m for m in moments if m), default=None), (found[0][1], state["count"])

    return _state(request, f"body-{body_pk}", compute)


def _meeting_state(request, pk):
    def compute():
        found = list(
            publication.visible_meetings()
            .filter(pk=pk)
            .values_list(
                "updated_at",
                "confirmed_at",
                "body__published_changed_at",
                "invitation__updated_at",
                "invitation__cancelled_at",
                "invitation__public_pdf__updated_at",
            )
        )
        if not found:
            return None, None
        return max(m for m in found[0] if m), found[0]

    return _state(request, f"meeting-{pk}", compute)


def _etag(*parts):
    """Of what a page shows, its language and (for the upcoming meetings) the day."""
    text = "|".join(str(part) for part in (*parts, translation.get_language(), publication.today()))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _index_etag(request):
    return _etag("index", *_index_state(request))


def _index_modified(request):
    return _index_state(request)[0]


def _body_etag(request, body_pk, **kwargs):
    changed, shown = _body_state(request, body_pk)
    return _etag("body", body_pk, changed, shown) if shown else None


def _body_modified(request, body_pk, **kwargs):
    return _body_state(request, body_pk)[0]


def _meeting_etag(request, pk, **kwargs):
    changed, row = _meeting_state(request, pk)
    return _etag("meeting", pk, row) if row else None


def _meeting_modified(request, pk, **kwargs):
    return _meeting_state(request, pk)[0]


# --- pages -----------------------------------------------------------------------------


@require_GET
@condition(etag_func=_index_etag, last_modified_func=_index_modified)
def public_index(request):
    """The published bodies."""
    return render(
        request,
        "protokolle/public/index.html",
        {"bodies": list(publication.published_bodies().order_by("name"))},
    )


@require_GET
@condition(etag_func=_body_etag, last_modified_func=_body_modified)
def public_body(request, body_pk):
    """A published body: its upcoming meetings with their public agenda, its minutes."""
    body = get_object_or_404(publication.published_bodies(), pk=body_pk)
    upcoming = list(
        publication.with_public_parts(
            publication.upcoming_meetings().filter(body=body).order_by("date", "start", "pk")
        )
    )
    for meeting in upcoming:
        meeting.items = publication.public_items(meeting)
        meeting.cancelled = publication.is_cancelled(meeting)
        meeting.invitation_pdf = publication.invitation_pdf(meeting)
    minutes = list(
        publication.confirmed_minutes()
        .filter(body=body)
        .select_related("body")
        .prefetch_related(
            # The public PDF only.
            Prefetch("archived_pdfs", queryset=publication.public_pdfs(), to_attr="public_pdfs")
        )
        .order_by("-date", "-number")
    )
    return render(
        request,
        "protokolle/public/body.html",
        {"body": body, "upcoming": upcoming, "minutes": minutes},
    )


@require_GET
@condition(etag_func=_meeting_etag, last_modified_func=_meeting_modified)
def public_meeting(request, pk):
    """Confirmed minutes in the public version, or an upcoming meeting's public agenda."""
    meeting = get_object_or_404(
        publication.visible_meetings()
        .select_related("body")
        .prefetch_related(
            Prefetch("archived_pdfs", queryset=publication.public_pdfs(), to_attr="public_pdfs")
        ),
        pk=pk,
    )
    if meeting.status != publication.CONFIRMED:
        meeting = publication.with_public_parts(Meeting.objects.filter(pk=pk)).get()
        return render(
            request,
            "protokolle/public/upcoming.html",
            {
                "meeting": meeting,
                "items": publication.public_items(meeting),
                "cancelled": publication.is_cancelled(meeting),
                "invitation_pdf": publication.invitation_pdf(meeting),
            },
        )
    full = Meeting.objects.for_minutes().get(pk=pk)
    return render(
        request,
        "protokolle/public/minutes.html",
        {
            **pdf.context(full, public_only=True),
            "public_pdf": publication.public_pdf(meeting),
        },
    )


@require_GET
def public_minutes_pdf(request, pk):
    """The archived public PDF of confirmed minutes; inline, or ``?download=1`` to save."""
    meeting = get_object_or_404(
        publication.confirmed_minutes().prefetch_related(
            Prefetch("archived_pdfs", queryset=publication.public_pdfs(), to_attr="public_pdfs")
        ),
        pk=pk,
    )
    copy = publication.public_pdf(meeting)
    return _stored_pdf(
        request,
        copy and copy.file,
        _("There is no archived public PDF of these minutes yet."),
    )


@require_GET
def public_invitation_pdf(request, pk):
    """The public invitation PDF as last sent (public items only); inline, or
    ``?download=1`` to save. Only of meetings the public sees."""
    meeting = get_object_or_404(
        publication.with_public_parts(publication.visible_meetings()), pk=pk
    )
    record = publication.invitation_pdf(meeting)
    return _stored_pdf(
        request, record and record.file, _("There is no public invitation of this meeting.")
    )


def _stored_pdf(request, stored_file, missing):
    """A stored PDF, inline or (``?download=1``) to save; 404 with ``missing`` when there
    is none or its file is gone from the storage."""
    if not stored_file:
        raise Http404(missing)
    try:
        handle = stored_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(missing) from exc
    return FileResponse(
        handle,
        content_type="application/pdf",
        as_attachment=bool(request.GET.get("download")),
        filename=stored_file.name.rsplit("/", 1)[-1],
    )


# --- calendar and feed -----------------------------------------------------------------


def _local(day, time):
    return timezone.make_aware(datetime.datetime.combine(day, time))


@require_GET
@condition(etag_func=_body_etag, last_modified_func=_body_modified)
def public_calendar(request, body_pk):
    """The body's public meetings, upcoming and confirmed, as an ICS calendar."""
    import icalendar

    body = get_object_or_404(publication.published_bodies(), pk=body_pk)
    meetings = publication.with_public_parts(
        publication.visible_meetings().filter(body=body).order_by("date", "pk")
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Werkstatt-Protokolle//Sitzungen//DE")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", body.name)
    host = request.get_host().split(":")[0] or "localhost"
    for meeting in meetings:
        event = icalendar.Event()
        event.add("uid", f"meeting-{meeting.pk}@{host}")
        event.add("summary", oparl.meeting_name(meeting))
        if meeting.start:
            event.add("dtstart", _local(meeting.date, meeting.start))
            if meeting.end:
                event.add("dtend", _local(meeting.date, meeting.end))
        else:
            event.add("dtstart", meeting.date)
        event.add("dtstamp", publication.changed_at(meeting))
        event.add("last-modified", publication.changed_at(meeting))
        if publication.is_cancelled(meeting):
            event.add("status", "CANCELLED")
        if meeting.location:
            event.add("location", meeting.location)
        agenda = [
            f"{item.printed_number} {item.title}".strip()
            for item in publication.public_items(meeting)
        ]
        if agenda:
            event.add("description", "Tagesordnung (öffentlich):\n" + "\n".join(agenda))
        event.add(
            "url",
            request.build_absolute_uri(reverse("protokolle:public_meeting", args=[meeting.pk])),
        )
        calendar.add_component(event)
    calendar.add_missing_timezones()
    response = HttpResponse(calendar.to_ical(), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="sitzungen-{body.pk}.ics"'
    return response


class PublishedMinutesFeed(Feed):
    """Atom: the newest confirmed minutes of all published bodies."""

    feed_type = Atom1Feed
    title = gettext_lazy("Published minutes")
    subtitle = gettext_lazy("Confirmed minutes of the published bodies, public version.")

    def link(self):
        return reverse("protokolle:public_index")

    def items(self):
        return (
            publication.confirmed_minutes()
            .select_related("body")
            .order_by("-confirmed_at", "-pk")[:FEED_SIZE]
        )

    def item_title(self, item):
        return oparl.meeting_name(item)

    def item_description(self, item):
        return _("Confirmed minutes of %(body)s, public version.") % {"body": item.body.name}

    def item_link(self, item):
        return reverse("protokolle:public_meeting", args=[item.pk])

    def item_pubdate(self, item):
        return item.confirmed_at or item.updated_at

    def item_updateddate(self, item):
        return publication.changed_at(item)


public_feed = require_GET(PublishedMinutesFeed())
