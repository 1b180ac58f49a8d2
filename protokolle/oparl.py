"""OParl 1.1 (https://oparl.org/spezifikation/): the published minutes as OParl objects.

One OParl ``Body`` stands for this installation; each published body of ours is an
``Organization`` (organizationType "Gremium"). ``Person`` objects are the people named
in published minutes (name and function as printed there, nothing else), each with
one ``Membership`` per body whose minutes name them. ``Meeting`` objects embed their
``Location``, their public ``AgendaItem`` objects, the public invitation PDF as last
sent as ``invitation`` and, once confirmed, the archived public PDF as
``resultsProtocol`` (both ``File`` objects; the invitation's id ends in
``file/invitation-<meeting>/``). What is public at all is decided by
``publication``; objects of a withdrawn body answer as deleted.

Functions here build plain dicts; ``url(name, *args)`` (given by the view) makes the
absolute URL of a route of ours.
"""

import datetime
import hashlib
import math
import re

from django.conf import settings
from django.core.cache import cache
from django.db.models import F, Max, Min, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from . import publication
from .models import ArchivedPdf, Body, Meeting, Result

SCHEMA = "https://schema.oparl.org/1.1/"
OPARL_VERSION = "https://schema.oparl.org/1.1/"
BODY_KEY = "1"
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
FILTERS = ("created_since", "created_until", "modified_since", "modified_until")

RESULT_KINDS = {
    Result.Kind.DECISION: "Beschluss",
    Result.Kind.INFORMATION: "Information",
    Result.Kind.TASK: "Aufgabe",
    Result.Kind.NOTE: "Hinweis",
}


class BadRequest(ValueError):
    """A parameter of a list request that cannot be understood (answered with 400)."""


def _type(name):
    return SCHEMA + name


def stamp(moment):
    """ISO 8601 with the offset, local time, whole seconds."""
    return timezone.localtime(moment).isoformat(timespec="seconds")


def _meeting_moment(day, time):
    return timezone.make_aware(datetime.datetime.combine(day, time or datetime.time(0, 0)))


def tombstone(kind, url, created, modified):
    """A withdrawn object: its id answers, with ``deleted: true`` and nothing else."""
    return {
        "id": url,
        "type": _type(kind),
        "created": stamp(created),
        "modified": stamp(modified),
        "deleted": True,
    }


def _setting(name, default=""):
    return getattr(settings, name, default) or default


# --- System and Body -------------------------------------------------------------------


def _installation_moments():
    moments = Body.objects.filter(published_changed_at__isnull=False).aggregate(
        first=Min("published_changed_at")
    )
    latest = max(
        [
            moment
            for moment in (
                Body.objects.order_by(F("published_changed_at").desc(nulls_last=True))
                .values_list("published_changed_at", flat=True)
                .first(),
                publication.visible_meetings()
                .order_by("-updated_at")
                .values_list("updated_at", flat=True)
                .first(),
            )
            if moment
        ],
        default=None,
    )
    first = moments["first"] or latest or timezone.now()
    return first, latest or first


CONTACT = (
    ("contactEmail", "OPARL_CONTACT_EMAIL"),
    ("contactName", "OPARL_CONTACT_NAME"),
    ("website", "OPARL_WEBSITE"),
)


def _with_contact(data):
    """``data`` with the operator's contact from the settings, where given (System, Body)."""
    for key, name in CONTACT:
        if value := _setting(name):
            data[key] = value
    return data


def system(url):
    first, latest = _installation_moments()
    data = {
        "id": url("oparl_system"),
        "type": _type("System"),
        "oparlVersion": OPARL_VERSION,
        "body": url("oparl_bodies"),
        "name": _setting("OPARL_SYSTEM_NAME", "Werkstatt-Protokolle"),
        "web": url("public_index"),
        "created": stamp(first),
        "modified": stamp(latest),
    }
    return _with_contact(data)


def body(url):
    first, latest = _installation_moments()
    data = {
        "id": url("oparl_body", BODY_KEY),
        "type": _type("Body"),
        "system": url("oparl_system"),
        "name": _setting("OPARL_BODY_NAME", _setting("OPARL_SYSTEM_NAME", "Werkstatt-Protokolle")),
        "organization": url("oparl_list", BODY_KEY, "organizations"),
        "person": url("oparl_list", BODY_KEY, "people"),
        "meeting": url("oparl_list", BODY_KEY, "meetings"),
        "paper": url("oparl_list", BODY_KEY, "papers"),
        "membership": url("oparl_list", BODY_KEY, "memberships"),
        "legislativeTerm": [],
        "classification": "Gremien",
        "web": url("public_index"),
        "created": stamp(first),
        "modified": stamp(latest),
    }
    return _with_contact(data)


# --- Organization ------------------------------------------------------------------------


def organization_rows():
    """Published and withdrawn bodies with the moments OParl gives them (two queries)."""
    bodies = list(
        Body.objects.filter(Q(published=True) | Q(published_changed_at__isnull=False)).order_by(
            "pk"
        )
    )
    latest = dict(
        publication.visible_meetings()
        .order_by()
        .values("body_id")
        .annotate(latest=Max("updated_at"))
        .values_list("body_id", "latest")
    )
    rows = []
    for item in bodies:
        created = item.published_changed_at
        modified = max(m for m in (created, latest.get(item.pk)) if m)
        rows.append((item, created, modified))
    return rows


def organization(url, item, created, modified, memberships=()):
    address = url("oparl_object", "organization", item.pk)
    if not item.published:
        return tombstone("Organization", address, created, modified)
    data = {
        "id": address,
        "type": _type("Organization"),
        "body": url("oparl_body", BODY_KEY),
        "name": item.name,
        "organizationType": "Gremium",
        "classification": "Gremium",
        "membership": [
            url("oparl_object", "membership", membership_key(person.key, item.pk))
            for person in memberships
        ],
        "web": url("public_body", item.pk),
        "created": stamp(created),
        "modified": stamp(modified),
    }
    if item.short_name:
        data["shortName"] = item.short_name
    return data


# --- Person and Membership ---------------------------------------------------------------


def membership_key(person_key, body_pk):
    return f"{person_key}-{body_pk}"


def membership(url, person, body_pk):
    address = url("oparl_object", "membership", membership_key(person.key, body_pk))
    if not person.bodies.get(body_pk):
        return tombstone("Membership", address, person.created, person.modified)
    return {
        "id": address,
        "type": _type("Membership"),
        "person": url("oparl_object", "person", person.key),
        "organization": url("oparl_object", "organization", body_pk),
        "created": stamp(person.created),
        "modified": stamp(person.modified),
    }


def person(url, item):
    address = url("oparl_object", "person", item.key)
    if item.withdrawn:
        return tombstone("Person", address, item.created, item.modified)
    data = {
        "id": address,
        "type": _type("Person"),
        "body": url("oparl_body", BODY_KEY),
        "name": item.name,
        "membership": [
            membership(url, item, body_pk)
            for body_pk, published in sorted(item.bodies.items())
            if published
        ],
        "created": stamp(item.created),
        "modified": stamp(item.modified),
    }
    if item.function:
        data["status"] = [item.function]
    return data


# --- Meeting, AgendaItem, Location, File ------------------------------------------------


def location(url, meeting):
    return {
        "id": url("oparl_object", "location", meeting.pk),
        "type": _type("Location"),
        "description": meeting.location,
        "meetings": [url("oparl_object", "meeting", meeting.pk)],
        "created": stamp(meeting.created_at),
        "modified": stamp(publication.changed_at(meeting)),
    }


def _vote(result):
    if not result.voted:
        return ""
    counts = [
        f"{label}: {count}"
        for label, count in (
            ("Ja", result.vote_yes),
            ("Nein", result.vote_no),
            ("Enthaltung", result.vote_abstain),
        )
        if count is not None
    ]
    parts = [result.vote_text] if result.vote_text else []
    if counts:
        parts.append(", ".join(counts))
    return f" (Abstimmung: {'; '.join(parts)})" if parts else " (abgestimmt)"


def agenda_item(url, meeting, item, order):
    data = {
        "id": url("oparl_object", "agendaitem", item.pk),
        "type": _type("AgendaItem"),
        "meeting": url("oparl_object", "meeting", meeting.pk),
        "number": item.printed_number,
        "order": order,
        "name": item.title,
        "public": True,
        "web": url("public_meeting", meeting.pk) + f"#top-{item.pk}",
        "created": stamp(meeting.created_at),
        "modified": stamp(publication.changed_at(meeting)),
    }
    if meeting.status == publication.CONFIRMED:
        results = list(item.results.all())
        if results:
            data["result"] = ", ".join(
                dict.fromkeys(RESULT_KINDS.get(result.kind, result.kind) for result in results)
            )
            data["resolutionText"] = "\n\n".join(result.text + _vote(result) for result in results)
    return data


def sha512_of(copy):
    """The SHA-512 of an archived PDF, computed once per stored file (cached)."""
    key = f"oparl-sha512-{copy.pk}-{copy.sha256}"
    value = cache.get(key)
    if value is None:
        digest = hashlib.sha512()
        with copy.file.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 16), b""):
                digest.update(chunk)
        value = digest.hexdigest()
        cache.set(key, value, None)
    return value


def file(url, meeting, copy):
    address = url("oparl_object", "file", copy.pk)
    name = copy.file.name.rsplit("/", 1)[-1]
    data = {
        "id": address,
        "type": _type("File"),
        "name": f"Ergebnisprotokoll (öffentliche Fassung): {meeting_name(meeting)}",
        "fileName": name,
        "mimeType": "application/pdf",
        "date": (meeting.confirmed_on or timezone.localdate(copy.created_at)).isoformat(),
        "size": copy.size,
        "accessUrl": url("public_minutes_pdf", meeting.pk),
        "downloadUrl": url("public_minutes_pdf", meeting.pk) + "?download=1",
        "meeting": [url("oparl_object", "meeting", meeting.pk)],
        "web": url("public_meeting", meeting.pk),
        "created": stamp(copy.created_at),
        "modified": stamp(max(copy.created_at, publication.changed_at(meeting))),
    }
    try:
        data["sha512Checksum"] = sha512_of(copy)
    except OSError:
        pass
    return data


INVITATION_PREFIX = "invitation-"


def invitation_file(url, meeting, record):
    """The public invitation PDF (``publication.invitation_pdf``) as an OParl File."""
    address = url("oparl_object", "file", f"{INVITATION_PREFIX}{meeting.pk}")
    if not meeting.body.published:
        return tombstone("File", address, record.created_at, publication.changed_at(meeting))
    return {
        "id": address,
        "type": _type("File"),
        "name": f"Einladung (öffentliche Fassung): {meeting_name(meeting)}",
        "fileName": record.file.name.rsplit("/", 1)[-1],
        "mimeType": "application/pdf",
        "date": timezone.localdate(record.updated_at).isoformat(),
        "size": record.size,
        "sha512Checksum": record.sha512,
        "accessUrl": url("public_invitation_pdf", meeting.pk),
        "downloadUrl": url("public_invitation_pdf", meeting.pk) + "?download=1",
        "meeting": [url("oparl_object", "meeting", meeting.pk)],
        "web": url("public_meeting", meeting.pk),
        "created": stamp(record.created_at),
        "modified": stamp(max(record.updated_at, publication.changed_at(meeting))),
    }


def meeting_name(meeting):
    number = f"{meeting.number}. Sitzung" if meeting.number else (meeting.title or "Sitzung")
    return f"{meeting.body.name}: {number} am {meeting.date:%d.%m.%Y}"


def _state(item, confirmed):
    if confirmed:
        return "durchgeführt"
    if publication.is_cancelled(item):
        return "abgesagt"
    return "eingeladen" if publication.invitation_of(item) else "terminiert"


def meeting(url, item):
    """A meeting loaded ``publication.with_public_parts``; withdrawn ones as deleted."""
    address = url("oparl_object", "meeting", item.pk)
    if not item.body.published:
        return tombstone("Meeting", address, item.created_at, publication.changed_at(item))
    confirmed = item.status == publication.CONFIRMED
    data = {
        "id": address,
        "type": _type("Meeting"),
        "name": meeting_name(item),
        "meetingState": _state(item, confirmed),
        "cancelled": publication.is_cancelled(item),
        "start": stamp(_meeting_moment(item.date, item.start)),
        "organization": [url("oparl_object", "organization", item.body_id)],
        "agendaItem": [
            agenda_item(url, item, entry, order)
            for order, entry in enumerate(publication.public_items(item), start=1)
        ],
        "web": url("public_meeting", item.pk),
        "created": stamp(item.created_at),
        "modified": stamp(publication.changed_at(item)),
    }
    if item.end:
        data["end"] = stamp(_meeting_moment(item.date, item.end))
    if item.location:
        data["location"] = location(url, item)
    invitation = publication.invitation_pdf(item)
    if invitation is not None:
        data["invitation"] = invitation_file(url, item, invitation)
    copy = publication.public_pdf(item)
    if copy is not None:
        data["resultsProtocol"] = file(url, item, copy)
    return data


def meetings_queryset():
    """Visible meetings and withdrawn minutes, with ``oparl_created``/``oparl_modified``."""
    return (
        Meeting.objects.filter(
            publication._visible_q() | Q(pk__in=publication.withdrawn_meetings().values("pk"))
        )
        .annotate(
            oparl_created=F("created_at"),
            oparl_modified=Greatest(
                F("updated_at"),
                Coalesce(F("confirmed_at"), F("updated_at")),
                Coalesce(F("body__published_changed_at"), F("updated_at")),
                Coalesce(F("invitation__updated_at"), F("updated_at")),
                Coalesce(F("invitation__cancelled_at"), F("updated_at")),
            ),
        )
        .order_by("pk")
    )


# --- lists -------------------------------------------------------------------------------


def _moment(name, value):
    # An unencoded "+" of the offset arrives as a space: "2024-07-19T12:00:00 00:00".
    value = re.sub(r" (\d\d:?\d\d)$", r"+\1", value.strip())
    moment = parse_datetime(value)
    if moment is None:
        day = parse_date(value)
        if day is None:
            raise BadRequest(f"{name}: not a date or date-time (ISO 8601): {value!r}")
        moment = datetime.datetime.combine(day, datetime.time(0, 0))
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def list_parameters(query):
    """``limit``, ``page`` and the date filters of a list request, checked."""
    try:
        limit = int(query.get("limit", DEFAULT_LIMIT))
        page = int(query.get("page", 1))
    except ValueError as exc:
        raise BadRequest("limit and page must be whole numbers") from exc
    if not 1 <= limit <= MAX_LIMIT:
        raise BadRequest(f"limit must be between 1 and {MAX_LIMIT}")
    if page < 1:
        raise BadRequest("page must be 1 or more")
    try:
        filters = {name: _moment(name, query[name]) for name in FILTERS if query.get(name)}
    except (ValueError, OverflowError) as exc:
        raise BadRequest(str(exc)) from exc
    return limit, page, filters


def filter_queryset(queryset, filters):
    lookups = {
        "created_since": "oparl_created__gte",
        "created_until": "oparl_created__lte",
        "modified_since": "oparl_modified__gte",
        "modified_until": "oparl_modified__lte",
    }
    return queryset.filter(**{lookups[name]: value for name, value in filters.items()})


def keep(created, modified, filters):
    """Whether an object with these moments passes the date filters."""
    checks = {
        "created_since": lambda v: created >= v,
        "created_until": lambda v: created <= v,
        "modified_since": lambda v: modified >= v,
        "modified_until": lambda v: modified <= v,
    }
    return all(checks[name](value) for name, value in filters.items())


def page_of(url, route_args, query, total, limit, page, data):
    """An OParl object list: ``data``, ``pagination`` and ``links`` (first, prev, next, last)."""
    pages = max(1, math.ceil(total / limit))
    base = url(*route_args)

    def link(number):
        params = query.copy()
        params["page"] = str(number)
        params["limit"] = str(limit)
        return f"{base}?{params.urlencode()}"

    links = {"first": link(1), "last": link(pages)}
    if page > 1:
        links["prev"] = link(min(page - 1, pages))
    if page < pages:
        links["next"] = link(page + 1)
    return {
        "data": data,
        "pagination": {
            "totalElements": total,
            "elementsPerPage": limit,
            "currentPage": page,
            "totalPages": pages,
        },
        "links": links,
    }


def list_meetings(url, query):
    limit, page, filters = list_parameters(query)
    queryset = filter_queryset(meetings_queryset(), filters)
    total = queryset.count()
    rows = publication.with_public_parts(queryset[(page - 1) * limit : page * limit])
    return page_of(
        url,
        ("oparl_list", BODY_KEY, "meetings"),
        query,
        total,
        limit,
        page,
        [meeting(url, row) for row in rows],
    )


def _python_list(url, name, query, objects):
    """A list built in Python: ``objects`` are (created, modified, make) in order."""
    limit, page, filters = list_parameters(query)
    kept = [entry for entry in objects if keep(entry[0], entry[1], filters)]
    chosen = kept[(page - 1) * limit : page * limit]
    return page_of(
        url,
        ("oparl_list", BODY_KEY, name),
        query,
        len(kept),
        limit,
        page,
        [make() for _created, _modified, make in chosen],
    )


def _members_by_body(people):
    members = {}
    for item in people.values():
        for body_pk, published in item.bodies.items():
            if published:
                members.setdefault(body_pk, []).append(item)
    return members


def list_organizations(url, query):
    people = publication.printed_people()
    members = _members_by_body(people)
    return _python_list(
        url,
        "organizations",
        query,
        [
            (
                created,
                modified,
                lambda i=item, c=created, m=modified: organization(
                    url, i, c, m, members.get(i.pk, [])
                ),
            )
            for item, created, modified in organization_rows()
        ],
    )


def list_people(url, query):
    people = sorted(publication.printed_people().values(), key=lambda p: p.key)
    return _python_list(
        url,
        "people",
        query,
        [(p.created, p.modified, lambda p=p: person(url, p)) for p in people],
    )


def list_memberships(url, query):
    people = sorted(publication.printed_people().values(), key=lambda p: p.key)
    return _python_list(
        url,
        "memberships",
        query,
        [
            (p.created, p.modified, lambda p=p, b=body_pk: membership(url, p, b))
            for p in people
            for body_pk in sorted(p.bodies)
        ],
    )


def list_papers(url, query):
    return _python_list(url, "papers", query, [])


LISTS = {
    "organizations": list_organizations,
    "people": list_people,
    "meetings": list_meetings,
    "papers": list_papers,
    "memberships": list_memberships,
}


# --- single objects ----------------------------------------------------------------------


class NotFound(LookupError):
    pass


def _int(key):
    try:
        return int(key)
    except (TypeError, ValueError) as exc:
        raise NotFound(key) from exc


def _meeting_for(pk):
    found = list(publication.with_public_parts(meetings_queryset().filter(pk=pk)))
    if not found:
        raise NotFound(pk)
    return found[0]


def find(url, kind, key):
    """The OParl object ``kind`` with ``key`` (the last part of its id), or NotFound."""
    if kind == "meeting":
        return meeting(url, _meeting_for(_int(key)))
    if kind == "location":
        item = _meeting_for(_int(key))
        if not item.body.published:
            return tombstone(
                "Location",
                url("oparl_object", "location", item.pk),
                item.created_at,
                publication.changed_at(item),
            )
        if not item.location:
            raise NotFound(key)
        return location(url, item)
    if kind == "agendaitem":
        pk = _int(key)
        found = meetings_queryset().filter(agenda_items__pk=pk).values_list("pk", flat=True)
        if not found:
            raise NotFound(key)
        item = _meeting_for(found[0])
        if not item.body.published:
            return tombstone(
                "AgendaItem",
                url("oparl_object", "agendaitem", pk),
                item.created_at,
                publication.changed_at(item),
            )
        for order, entry in enumerate(publication.public_items(item), start=1):
            if entry.pk == pk:
                return agenda_item(url, item, entry, order)
        raise NotFound(key)
    if kind == "file" and key.startswith(INVITATION_PREFIX):
        item = _meeting_for(_int(key.removeprefix(INVITATION_PREFIX)))
        record = publication.invitation_pdf(item)
        if record is None:
            raise NotFound(key)
        return invitation_file(url, item, record)
    if kind == "file":
        pk = _int(key)
        copy = (
            ArchivedPdf.objects.filter(pk=pk, variant=ArchivedPdf.Variant.PUBLIC)
            .values_list("meeting_id", flat=True)
            .first()
        )
        if copy is None:
            raise NotFound(key)
        item = _meeting_for(copy)
        pdf = publication.public_pdf(item)
        if pdf is None or pdf.pk != pk:
            raise NotFound(key)
        if not item.body.published:
            return tombstone(
                "File",
                url("oparl_object", "file", pk),
                pdf.created_at,
                publication.changed_at(item),
            )
        return file(url, item, pdf)
    if kind == "organization":
        pk = _int(key)
        people = publication.printed_people()
        for item, created, modified in organization_rows():
            if item.pk == pk:
                return organization(
                    url, item, created, modified, _members_by_body(people).get(pk, [])
                )
        raise NotFound(key)
    if kind == "person":
        found = publication.printed_people().get(key)
        if found is None:
            raise NotFound(key)
        return person(url, found)
    if kind == "membership":
        person_key, _, body_key = key.rpartition("-")
        found = publication.printed_people().get(person_key)
        if found is None or _int(body_key) not in found.bodies:
            raise NotFound(key)
        return membership(url, found, int(body_key))
    raise NotFound(kind)
