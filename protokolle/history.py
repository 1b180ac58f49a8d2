"""A meeting's history in plain words, from the audit trail django-auditlog keeps.

The trail writes one row per changed database row: a save in the editor leaves
dozens. Here the rows of one action (one actor, moments apart) become one entry,
told as a sentence in local time: "Katja Boll hat am 29.11.2026 um 16:45 Uhr eine
Korrektur zu TOP 2 erbeten". Each entry keeps its raw rows for administrators.
"""

import datetime
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlencode

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, ngettext_lazy

from .models import Meeting, build_agenda, flatten_agenda

# Entries shown, and raw rows read to build them (a save of long minutes writes hundreds).
LIMIT = 50
RAW_LIMIT = 3000
# Rows of one actor less than this apart belong to one action.
GAP = datetime.timedelta(seconds=5)

CREATE, UPDATE, DELETE = LogEntry.Action.CREATE, LogEntry.Action.UPDATE, LogEntry.Action.DELETE
# Fields of the meeting that tell its status, described by their own sentences.
STATUS_FIELDS = {"status", "circulation_deadline", "confirmed_at", "confirmed_by_circulation"}


@dataclass
class Entry:
    """One action on the minutes: who, when (local time), what, and the raw audit rows."""

    actor: str
    when: datetime.datetime
    text: str = ""
    html: str = ""
    log_entries: list = field(default_factory=list)

    def __str__(self):
        return self.text


class History(list):
    """The entries, newest first; ``admin_url`` lists the meeting's own raw rows in the admin."""

    admin_url = ""


def actor_name(user):
    """The person linked to the user, else the user's full name, else the username."""
    if user is None:
        return _("The system")
    try:
        person = user.person
    except ObjectDoesNotExist:
        person = None
    if person is not None and person.name:
        return person.name
    return user.get_full_name() or user.get_username()


def for_meeting(meeting, limit=LIMIT):
    """The meeting's history, newest first, one ``Entry`` per action (a ``History``).

    Costs three queries whatever the length: the audit rows (with actor and
    person), the versions (their numbers) and the agenda items (TOP numbers).
    """
    meeting_type = ContentType.objects.get_for_model(Meeting)
    rows = list(
        LogEntry.objects.filter(
            Q(content_type=meeting_type, object_pk=str(meeting.pk))
            | Q(additional_data__meeting=meeting.pk)
        )
        .select_related("actor__person", "content_type")
        .defer("serialized_data")
        .order_by("-timestamp", "-pk")[:RAW_LIMIT]
    )
    versions = {
        pk: (number, created_at)
        for pk, number, created_at in meeting.versions.values_list("pk", "number", "created_at")
    }
    numbers = {
        str(item.pk): item.printed_number
        for item in flatten_agenda(build_agenda(meeting.agenda_items.all()))
    }
    groups = _group(reversed(rows))
    if len(rows) == RAW_LIMIT and groups:
        groups.pop(0)  # the oldest group may be cut off
    describe = _Describer(versions, numbers)
    # Only the groups shown are told.
    entries = History(describe(group) for group in groups[::-1][:limit])
    query = urlencode({"resource_type": meeting_type.pk, "object_pk": meeting.pk})
    entries.admin_url = f"{reverse('admin:auditlog_logentry_changelist')}?{query}"
    return entries


def _group(rows):
    """Consecutive rows (oldest first) of one actor, each less than GAP after the last."""
    groups = []
    for row in rows:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.actor_id == row.actor_id
            and last.cid == row.cid
            and row.timestamp - last.timestamp <= GAP
        ):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _new_value(row, name):
    change = (row.changes or {}).get(name)
    if not change or len(change) != 2:
        return None
    value = change[1]
    return None if value in (None, "None", "") else value


def _and(phrases):
    if len(phrases) == 1:
        return phrases[0]
    return _("%(first)s and %(last)s") % {"first": ", ".join(phrases[:-1]), "last": phrases[-1]}


# The rows of the minutes, counted per action: (model, action) → phrase. The plural is
# chosen when the phrase is filled in with its "count".
ROW_PHRASES = {
    ("agendaitem", CREATE): ngettext_lazy(
        "added %(count)s agenda item", "added %(count)s agenda items", "count"
    ),
    ("agendaitem", UPDATE): ngettext_lazy(
        "changed %(count)s agenda item", "changed %(count)s agenda items", "count"
    ),
    ("agendaitem", DELETE): ngettext_lazy(
        "deleted %(count)s agenda item", "deleted %(count)s agenda items", "count"
    ),
    ("presenter", CREATE): ngettext_lazy(
        "added %(count)s presenter", "added %(count)s presenters", "count"
    ),
    ("presenter", UPDATE): ngettext_lazy(
        "changed %(count)s presenter", "changed %(count)s presenters", "count"
    ),
    ("presenter", DELETE): ngettext_lazy(
        "deleted %(count)s presenter", "deleted %(count)s presenters", "count"
    ),
    ("result", CREATE): ngettext_lazy("added %(count)s result", "added %(count)s results", "count"),
    ("result", UPDATE): ngettext_lazy(
        "changed %(count)s result", "changed %(count)s results", "count"
    ),
    ("result", DELETE): ngettext_lazy(
        "deleted %(count)s result", "deleted %(count)s results", "count"
    ),
    ("participant", CREATE): ngettext_lazy(
        "added %(count)s entry to the attendance",
        "added %(count)s entries to the attendance",
        "count",
    ),
    ("participant", UPDATE): ngettext_lazy(
        "changed %(count)s entry of the attendance",
        "changed %(count)s entries of the attendance",
        "count",
    ),
    ("participant", DELETE): ngettext_lazy(
        "deleted %(count)s entry of the attendance",
        "deleted %(count)s entries of the attendance",
        "count",
    ),
    ("attachment", CREATE): ngettext_lazy(
        "added %(count)s attachment", "added %(count)s attachments", "count"
    ),
    ("attachment", UPDATE): ngettext_lazy(
        "changed %(count)s attachment", "changed %(count)s attachments", "count"
    ),
    ("attachment", DELETE): ngettext_lazy(
        "deleted %(count)s attachment", "deleted %(count)s attachments", "count"
    ),
}


class _Describer:
    """Turns one group of audit rows into an Entry."""

    def __init__(self, versions, numbers):
        self.versions = versions
        self.numbers = numbers

    def version_number(self, pk):
        """The number of the version with primary key ``pk`` (a logged string), or None."""
        found = self.versions.get(int(pk)) if str(pk).isdigit() else None
        return found[0] if found else None

    def circulated_number(self, at):
        """The number of the version a circulation at ``at`` froze: created moments apart."""
        if not self.versions:
            return None
        number, created = min(self.versions.values(), key=lambda v: abs(v[1] - at))
        return number if abs(created - at) <= GAP else None

    def __call__(self, rows):
        first = rows[0]
        phrases = []
        counts = Counter((row.content_type.model, row.action) for row in rows)
        created = counts[("meeting", CREATE)] > 0
        if created:
            phrases.append(_("created the meeting"))
        for row in rows:
            if (row.content_type.model, row.action) == ("response", CREATE):
                phrases.append(self.response(row))
        if not created:
            for row in rows:
                if (row.content_type.model, row.action) == ("meeting", UPDATE):
                    phrases.extend(self.meeting_update(row))
            approvals = counts[("approval", CREATE)]
            if approvals:
                phrases.append(
                    ngettext(
                        "recorded the decision on earlier minutes",
                        "recorded the decisions on %(count)s earlier minutes",
                        approvals,
                    )
                    % {"count": approvals}
                )
            for key, phrase in ROW_PHRASES.items():
                count = counts[key]
                # The decision bullet is part of recording the decision.
                if count and not (approvals and key == ("result", CREATE)):
                    phrases.append(phrase % {"count": count})
        if not phrases:
            phrases.append(_("changed the minutes"))
        return self.entry(first, rows, _and(phrases))

    def response(self, row):
        kind = _new_value(row, "kind")
        number = self.version_number(_new_value(row, "version"))
        if kind == "agree":
            if number:
                return _("agreed to version %(number)s") % {"number": number}
            return _("agreed to the minutes")
        item = self.numbers.get(_new_value(row, "agenda_item") or "")
        if item:
            return _("asked for a correction to item %(number)s") % {"number": item}
        return _("asked for a correction")

    def meeting_update(self, row):
        changes = row.changes or {}
        phrases = []
        status = _new_value(row, "status")
        if "status" in changes and status == Meeting.Status.CIRCULATED:
            number = self.circulated_number(row.timestamp)
            if number:
                phrases.append(
                    _("circulated the minutes (version %(number)s)") % {"number": number}
                )
            else:
                phrases.append(_("circulated the minutes"))
        elif "status" in changes and status == Meeting.Status.DRAFT:
            phrases.append(_("took the minutes back for corrections"))
        elif "status" in changes and status == Meeting.Status.CONFIRMED:
            if _new_value(row, "confirmed_by_circulation") == "True":
                phrases.append(_("completed the confirmation by circulation"))
            else:
                phrases.append(_("recorded the confirmation of the minutes"))
        elif "circulation_deadline" in changes and _new_value(row, "circulation_deadline"):
            deadline = _new_value(row, "circulation_deadline")
            try:
                deadline = datetime.date.fromisoformat(deadline).strftime("%d.%m.%Y")
            except ValueError:
                pass
            phrases.append(
                _("started the confirmation by circulation until %(date)s") % {"date": deadline}
            )
        if set(changes) - STATUS_FIELDS:
            phrases.append(_("changed the general details"))
        return phrases

    def entry(self, first, rows, actions):
        when = timezone.localtime(first.timestamp)
        actor = actor_name(first.actor)
        values = {
            "actor": actor,
            "actions": actions,
            "date": when.strftime("%d.%m.%Y"),
            "time": when.strftime("%H:%M"),
        }
        sentence = _("%(actor)s %(actions)s on %(date)s at %(time)s.")
        html_values = {key: conditional_escape(value) for key, value in values.items()}
        html_values["date"] = format_html(
            '<time datetime="{}">{}</time>', when.isoformat(timespec="seconds"), values["date"]
        )
        return Entry(
            actor=actor,
            when=when,
            text=sentence % values,
            html=mark_safe(conditional_escape(sentence) % html_values),
            log_entries=rows,
        )
