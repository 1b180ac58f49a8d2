"""The minute-taker's editor: every section of a draft on one page, saved together.

The editor posts every row of the meeting at once. A save locks the meeting,
applies only the fields this writer changed since loading the page, and stops
with a conflict where someone else changed the same field meanwhile; nothing
is written half-way and nothing typed is lost.
"""

import copy
import datetime
import sqlite3
from dataclasses import dataclass, field

from auditlog.cid import get_cid
from auditlog.context import auditlog_value, disable_auditlog
from auditlog.diff import model_instance_diff
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django import forms as django_forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import connections, router, transaction
from django.db.models import FileField, QuerySet, signals
from django.db.models.deletion import Collector
from django.utils.encoding import smart_str
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from . import access, forms, quorum, wording
from .drafting import snapshot_from_members
from .models import (
    AgendaItem,
    Attachment,
    Meeting,
    Membership,
    Participant,
    Presenter,
    Result,
    build_agenda,
    flatten_agenda,
)


class NotEditable(Exception):
    """The minutes are no longer a draft."""


@dataclass
class Conflict:
    """A field that someone else changed meanwhile, which this writer changed too."""

    label: str
    theirs: str
    mine: str


def _display(value):
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime.date):
        return value.strftime("%d.%m.%Y")
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    return str(value)


@dataclass
class Editor:
    """All forms of the editor page for one meeting, bound to a POST or not."""

    meeting: Meeting
    data: dict | None = None
    files: dict | None = None
    conflicts: list = field(default_factory=list)

    def __post_init__(self):
        # The page's sections, one builder each. Unbound, the forms show the meeting
        # as stored; bound, they carry the POST.
        args = (self.data, self.files) if self.bound else ()
        self._load_people()
        self.meeting_form = self._meeting_form(args)
        self.item_formset = self._item_formset(args)
        self.presenter_formset = self._item_rows(
            forms.PresenterFormSet, Presenter, "presenters", args
        )
        self.result_formset = self._item_rows(forms.ResultFormSet, Result, "results", args)
        self.participant_formset = self._participant_formset(args)
        self.attachment_formset = self._attachment_formset(args)

    @property
    def bound(self):
        return self.data is not None

    @property
    def new_item_key(self):
        return f"new-{len(self.items)}"

    # --- the sections -------------------------------------------------------------------

    def _load_people(self):
        """The body's members (for attendance) and its people by name (for suggestions
        and for linking a typed name)."""
        self.members = list(
            Membership.objects.filter(body=self.meeting.body)
            .select_related("person")
            .order_by("person__name")
        )
        # One query for every name lookup of the save and for the suggestions: the
        # body's people only. The oldest record of a name wins.
        self.persons = {
            person.name: person for person in access.suggested_people(self.meeting.body)
        }
        self.person_names = sorted(self.persons)
        # For the editor's script: a known name fills organisation and function.
        self.people = [
            {
                "name": name,
                "organisation": self.persons[name].organisation or "",
                "function": self.persons[name].function or "",
            }
            for name in self.person_names
        ]

    def _meeting_form(self, args):
        """The meeting's details: number, date, times, place, chair, minute-taker, …"""
        # A copy: validating a ModelForm writes every posted field onto its instance,
        # and the save must apply only what this writer changed.
        return forms.MeetingForm(*args, instance=copy.copy(self.meeting), prefix="meeting")

    def _item_formset(self, args):
        """The agenda items, one blank item, and their outline: order, level, number."""
        self.items = list(AgendaItem.objects.filter(meeting=self.meeting))
        outline = list(flatten_agenda(build_agenda(self.items)))
        self.outline_items = outline  # in order, with printed numbers (as saved)
        self.outline = {item.pk: (index, item.depth) for index, item in enumerate(outline)}
        self.printed = {item.pk: item.printed_number for item in outline}
        self.item_choices = self._item_choices(outline)
        item_formset = forms.AgendaItemFormSet(
            *args,
            prefix="items",
            queryset=AgendaItem.objects.filter(meeting=self.meeting).order_by("pk"),
            initial=[{"order": len(outline), "level": 0}],
        )
        item_formset.extra = 1
        if not self.bound:
            for form in item_formset.initial_forms:
                order, level = self.outline[form.instance.pk]
                form.initial.update(order=order, level=level)
        return item_formset

    def _item_choices(self, outline):
        """Where a row typed without JavaScript goes: each item, or the new item."""
        choices = [("", _("– choose the agenda item –"))]
        choices += [(str(item.pk), f"{item.printed_number} {item.title[:60]}") for item in outline]
        choices.append((self.new_item_key, _("the new agenda item below")))
        return choices

    def _item_rows(self, formset_class, model, prefix, args):
        """Presenters or results, and one blank row that names its item (for use without
        JavaScript; the script adds rows under each item instead)."""
        queryset = model.objects.filter(agenda_item__meeting=self.meeting).order_by(
            "agenda_item_id", "position", "pk"
        )
        rows = formset_class(*args, prefix=prefix, queryset=queryset, initial=[{"item_key": ""}])
        rows.extra = 1
        if not self.bound:
            for form in rows.initial_forms:
                form.initial["item_key"] = str(form.instance.agenda_item_id)
        for form in rows.extra_forms:
            if not form["item_key"].value():
                form.fields["item_key"].widget = django_forms.Select(
                    choices=self.item_choices, attrs={"class": "form-select form-select-sm"}
                )
                form.fields["item_key"].label = _("for agenda item")
                form.loose = True
        return rows

    def _participant_formset(self, args):
        """Attendance: the people listed, a row for each member not yet listed (one click
        takes them), and a blank row for a guest."""
        participants = Participant.objects.filter(meeting=self.meeting).order_by("position", "pk")
        listed = {p.name for p in participants}
        extra = self._unlisted_members(listed)
        extra.append({"status": Participant.Status.GUEST})
        participant_formset = forms.ParticipantFormSet(
            *args, prefix="participants", queryset=participants, initial=extra
        )
        participant_formset.extra = len(extra)
        return participant_formset

    def _unlisted_members(self, listed):
        """Initial rows for the members on the meeting's date whose name is not listed."""
        return [
            {
                "name": m.person.name,
                "organisation": m.person.organisation,
                "function": m.person.function,
                "voting": m.voting,
            }
            for m in self.members
            if m.person.name not in listed and (m.end is None or m.end >= self.meeting.date)
        ]

    def _attachment_formset(self, args):
        """The attachments, and one blank row for an upload."""
        attachment_formset = forms.AttachmentFormSet(
            *args,
            prefix="attachments",
            queryset=Attachment.objects.filter(meeting=self.meeting).order_by("position", "pk"),
            initial=[{}],
        )
        attachment_formset.extra = 1
        return attachment_formset

    # --- grouping for the template -----------------------------------------------------

    def agenda_rows(self):
        """Item forms in outline order, each with its presenter and result forms."""
        presenters, results = {}, {}
        for form in self.presenter_formset.forms:
            if not getattr(form, "loose", False):
                presenters.setdefault(str(form["item_key"].value()), []).append(form)
        for form in self.result_formset.forms:
            if not getattr(form, "loose", False):
                results.setdefault(str(form["item_key"].value()), []).append(form)
        rows = []
        for index, form in enumerate(self.item_formset.forms):
            key = str(form.instance.pk) if form.instance.pk else f"new-{index}"
            order = form["order"].value()
            try:
                order = int(order)
            except (TypeError, ValueError):
                order = 10**6
            rows.append(
                {
                    "form": form,
                    "key": key,
                    "order": order,
                    "level": form["level"].value(),
                    "number": self.printed.get(form.instance.pk, ""),
                    "presenters": presenters.get(key, []),
                    "results": results.get(key, []),
                    "quorum": self.quorum["items"].get(key),
                }
            )
        rows.sort(key=lambda row: (row["order"], row["form"].instance.pk is None))
        return rows

    # --- quorum and vote checks (warnings only) -------------------------------------------

    @cached_property
    def quorum(self):
        """The quorum as the page's fields say (as typed after a refused save): at the
        start, per agenda item and per result. The script keeps it current as the writer
        clicks; this is the state without it."""
        rule = quorum.Rule.of(self.meeting.body)
        participants = [
            {name: _form_value(form, name) for name in quorum.ATTENDANCE_FIELDS}
            for form in self.participant_formset.forms
            if not _form_value(form, "DELETE") and not getattr(form, "gone", False)
        ]
        items = []
        for index, form in sorted(
            enumerate(self.item_formset.forms), key=lambda pair: self._item_order(*pair)
        ):
            if _form_value(form, "DELETE") or getattr(form, "gone", False):
                continue
            items.append(
                {
                    "key": str(form.instance.pk) if form.instance.pk else f"new-{index}",
                    "start": _form_value(form, "start"),
                    "conflicts_of_interest": _form_value(form, "conflicts_of_interest"),
                }
            )
        start = _form_value(self.meeting_form, "start")
        at_start, per_item = quorum.for_meeting(participants, items, rule, start)
        for form in self.result_formset.forms:
            item = per_item.get(str(form["item_key"].value()))
            count = item.count if item else None
            form.quorum_count = count
            form.quorum_sentence = quorum.item_state(count)
            form.quorum_warnings = quorum.vote_warnings(
                _form_value(form, "kind"),
                _form_value(form, "vote_yes"),
                _form_value(form, "vote_no"),
                _form_value(form, "vote_abstain"),
                _form_value(form, "vote_text"),
                count,
            )
        return {"rule": rule, "start": at_start, "items": per_item}

    def quorum_messages(self):
        return quorum.warning_messages()

    def _item_order(self, index, form):
        order = form["order"].value()
        try:
            order = int(order)
        except (TypeError, ValueError):
            order = 10**6
        return (order, form.instance.pk is None, index)

    def loose_rows(self):
        """The blank presenter and result rows that name their item themselves."""
        return [
            form
            for formset in (self.presenter_formset, self.result_formset)
            for form in formset.forms
            if getattr(form, "loose", False)
        ]

    @property
    def formsets(self):
        return [
            self.item_formset,
            self.presenter_formset,
            self.result_formset,
            self.participant_formset,
            self.attachment_formset,
        ]

    def is_valid(self):
        valid = self.meeting_form.is_valid()
        for formset in self.formsets:
            valid = formset.is_valid() and valid
        if valid:
            valid = self._check_item_keys()
        return valid

    def _check_item_keys(self):
        known = {str(item.pk) for item in self.items}
        created = {
            f"new-{index}"
            for index, form in enumerate(self.item_formset.forms)
            if form.instance.pk is None
            and not form.gone
            and form.has_changed()
            and not self._deleted(form)
        }
        valid = True
        for formset in (self.presenter_formset, self.result_formset):
            for form in formset.forms:
                if not form.has_changed() or self._deleted(form):
                    continue
                key = form.cleaned_data.get("item_key")
                if key in known | created:
                    continue
                if key and key.isdigit():
                    message = _("Someone else deleted this agenda item meanwhile.")
                else:
                    message = _("Please give the new agenda item a title first.")
                form.add_error(None, message)
                valid = False
        return valid

    @staticmethod
    def _deleted(form):
        return bool(form.cleaned_data.get("DELETE")) if hasattr(form, "cleaned_data") else False

    # --- conflicts ----------------------------------------------------------------------

    def find_conflicts(self, current):
        """Fields that this writer and someone else both changed since the page was loaded."""
        conflicts = []
        self._form_conflicts(self.meeting_form, current, conflicts, "")
        fresh = {
            AgendaItem: {i.pk: i for i in AgendaItem.objects.filter(meeting=current)},
            Presenter: {p.pk: p for p in Presenter.objects.filter(agenda_item__meeting=current)},
            Result: {r.pk: r for r in Result.objects.filter(agenda_item__meeting=current)},
            Participant: {p.pk: p for p in Participant.objects.filter(meeting=current)},
            Attachment: {a.pk: a for a in Attachment.objects.filter(meeting=current)},
        }
        self.fresh = fresh
        for formset in self.formsets:
            model = formset.model
            for form in formset.initial_forms:
                if not form.has_changed():
                    continue
                instance = fresh[model].get(form.instance.pk)
                if instance is None:
                    if not self._deleted(form):
                        conflicts.append(
                            Conflict(
                                label=f"{model._meta.verbose_name}: {form.instance}",
                                theirs=_("deleted"),
                                mine=_("changed"),
                            )
                        )
                        form.add_error(None, _("Someone else deleted this entry meanwhile."))
                    continue
                self._form_conflicts(form, instance, conflicts, f"{model._meta.verbose_name}: ")
        self.conflicts = conflicts
        return conflicts

    def _form_conflicts(self, form, instance, conflicts, label_prefix):
        for name in form.changed_data:
            if name not in form._meta.fields:
                continue
            theirs = getattr(instance, name)
            if isinstance(form.fields[name], forms.ConflictsOfInterestField):
                # As the form reads it: an imported entry may lack its "reason" key.
                theirs = form.fields[name].to_python(theirs)
            loaded = form.loaded_value(name)
            mine = form.cleaned_data.get(name)
            if _same(theirs, loaded) or _same(theirs, mine):
                continue
            label = f"{label_prefix}{form.fields[name].label}"
            conflicts.append(Conflict(label=label, theirs=_display(theirs), mine=_display(mine)))
            form.add_error(
                name,
                _(
                    "Meanwhile someone else saved: „%(theirs)s“. Keep your text, take "
                    "theirs, or merge both, then save again."
                )
                % {"theirs": _display(theirs)},
            )

    def accept_current_as_loaded(self, current):
        """After a conflict, count the others' values as seen by this writer.

        Rewrites the posted "loaded" values (the hidden initials) in ``self.data``
        in place, so the page shown again carries them: saving the same input
        again then keeps this writer's text, and merging is up to the writer.
        """
        self._rebase(self.meeting_form, current)
        for formset in self.formsets:
            for form in formset.initial_forms:
                instance = self.fresh[formset.model].get(form.instance.pk)
                if instance is not None:
                    self._rebase(form, instance)

    def _rebase(self, form, instance):
        form.set_loaded(
            self.data,
            {
                name: form.fields[name]
                .hidden_widget()
                .format_value(form.fields[name].prepare_value(getattr(instance, name)))
                for name in form._meta.fields
                if name in form.fields
            },
        )

    # --- saving -------------------------------------------------------------------------

    def save(self, current, user=None):
        """Write what this writer changed onto ``current`` (the locked meeting row).

        The rows go to the database in bulk, a fixed number of queries whatever
        changed: inserts, updates and deletes per table, and the audit rows at once.
        """
        meeting_form = self.meeting_form
        for name in meeting_form.changed_data:
            if name in meeting_form._meta.fields:
                setattr(current, name, meeting_form.cleaned_data[name])
        for role in ("chair", "minute_taker"):
            if f"{role}_name" in meeting_form.changed_data:
                snapshot_from_members(current, role)
        current.version += 1
        current.save()

        writes = _BulkWrites(current)
        with writes:
            items = self._save_items(current, writes)
            self._save_rows(self.presenter_formset, items, self._link_presenter, writes)
            self._save_rows(self.result_formset, items, self._count_vote, writes)
            self._save_meeting_rows(
                self.participant_formset, current, self._prepare_participant, writes
            )
            self._save_meeting_rows(
                self.attachment_formset, current, self._prepare_attachment, writes
            )
        return current

    def _apply(self, form, instance):
        """Copy this writer's changes; a new row takes every field."""
        names = form._meta.fields if instance.pk is None else form.changed_data
        for name in names:
            if name in form._meta.fields and name in form.cleaned_data:
                setattr(instance, name, form.cleaned_data[name])

    def _save_items(self, current, writes):
        """Save agenda items; rebuild the tree when this writer moved, added or removed any."""
        fresh = self.fresh[AgendaItem]
        by_key = {str(pk): item for pk, item in fresh.items()}
        outline = []
        created, loaded = [], {}
        moved = False
        for index, form in enumerate(self.item_formset.forms):
            if form.gone:
                continue
            if form.instance.pk is None:
                if not form.has_changed() or self._deleted(form):
                    continue
                item = AgendaItem(meeting=current, title="")
                self._apply(form, item)
                by_key[f"new-{index}"] = item
                created.append(item)
                moved = True
            else:
                item = fresh.get(form.instance.pk)
                if item is None:
                    continue
                if self._deleted(form):
                    writes.delete(AgendaItem, item.pk)
                    moved = True
                    continue
                loaded[item.pk] = copy.copy(item)
                if form.has_changed():
                    self._apply(form, item)
                moved = moved or bool({"order", "level"} & set(form.changed_data))
            outline.append((form.cleaned_data["order"], index, form.cleaned_data["level"], item))
        placed = []  # items under a new item: their parent exists once inserted
        if moved:
            outline.sort(key=lambda entry: (entry[0], entry[1]))
            stack = []
            counters = {}
            for _order, _index, level, item in outline:
                level = min(level, len(stack))
                del stack[level:]
                parent = stack[-1] if stack else None
                key = id(parent) if parent else None
                item.position = counters.get((key, level), 0)
                counters[(key, level)] = item.position + 1
                if parent is not None and parent.pk is None:
                    item.parent = None
                    placed.append((item, parent))
                else:
                    item.parent = parent
                stack.append(item)
        writes.insert(AgendaItem, created)
        for item, parent in placed:
            item.parent = parent
        pending = {id(item) for item, _parent in placed}
        writes.update(
            AgendaItem,
            [(loaded.get(item.pk), item) for _o, _i, _l, item in outline if item.pk in loaded]
            + [(None, item) for item in created if id(item) in pending],
        )
        writes.log_created(created)
        # Deleted last (see _BulkWrites), after re-parenting, so that surviving children
        # are not cascaded away.
        return by_key

    def _changes(self, formset, writes):
        """(form, row) for every row this writer changed (row from the database) or added
        (row None). The rows this writer deleted go to ``writes``, deleted at the end."""
        fresh = self.fresh[formset.model]
        changes = []
        for form in formset.forms:
            if form.gone:
                continue
            if self._deleted(form):
                if form.instance.pk in fresh:
                    writes.delete(formset.model, form.instance.pk)
                continue
            if not form.has_changed():
                continue
            if form.instance.pk is None:
                changes.append((form, None))
            elif (row := fresh.get(form.instance.pk)) is not None:
                changes.append((form, row))
        return changes

    def _save_rows(self, formset, items, extra_step, writes):
        """Presenters or results: changed rows updated, new rows appended to their item."""
        next_position = {}
        for row in self.fresh[formset.model].values():
            key = row.agenda_item_id
            next_position[key] = max(next_position.get(key, 0), row.position + 1)
        created, changed = [], []
        for form, row in self._changes(formset, writes):
            if row is None:
                item = items.get(form.cleaned_data["item_key"])
                if item is None or item.pk is None:
                    continue
                position = next_position.get(item.pk, 0)
                next_position[item.pk] = position + 1
                row = formset.model(agenda_item=item, position=position)
                created.append(row)
            else:
                changed.append((copy.copy(row), row))
            self._apply(form, row)
            if extra_step:
                extra_step(row)
        writes.insert(formset.model, created)
        writes.log_created(created)
        writes.update(formset.model, changed)

    @staticmethod
    def _count_vote(result):
        """A result with any vote figure or text records a vote."""
        if wording.vote_taken(*(getattr(result, f"vote_{name}") for name in wording.VOTE_FIELDS)):
            result.voted = True

    def _link_presenter(self, presenter):
        person = self.persons.get(presenter.name)
        presenter.person = person
        if person:
            presenter.organisation = presenter.organisation or person.organisation
            presenter.function = presenter.function or person.function

    def _save_meeting_rows(self, formset, current, prepare, writes):
        """Participants or attachments: changed rows updated, new rows appended at the
        end, deleted rows removed. ``prepare(row)`` completes a row and says whether
        it is worth saving."""
        model = formset.model
        position = max((row.position for row in self.fresh[model].values()), default=-1) + 1
        created, changed = [], []
        for form, row in self._changes(formset, writes):
            if row is None:
                row = model(meeting=current, position=position)
                position += 1
                new = True
            else:
                loaded = copy.copy(row)
                new = False
            self._apply(form, row)
            if not prepare(row):
                continue
            if new:
                created.append(row)
            else:
                changed.append((loaded, row))
        writes.insert(model, created)
        writes.log_created(created)
        writes.update(model, changed)

    def _prepare_participant(self, row):
        if row.person_id is None:
            row.person = self.persons.get(row.name)
        return bool(row.name and row.status)

    @staticmethod
    def _prepare_attachment(row):
        if not row.name and row.file:
            row.name = row.file.name.rsplit("/", 1)[-1]
        if row.name:
            row.take_file_digest()
        return bool(row.name)


class _BulkWrites:
    """The rows of one save, written in bulk, with the audit rows auditlog would write.

    Saving row by row costs four queries a row (auditlog reads the old row, the
    update, the audit row, the item of a presenter or result for the audit row's
    meeting): 1,225 queries when every result of 60 items x 5 changes. Here each
    table gets one insert and one update, the deletes one collector, and the audit
    rows one insert, whatever the number of rows. The audit rows say exactly what
    auditlog's signals would have said (the same diff, object text, actor, address,
    correlation id and meeting), so that the history and the raw log stay truthful.
    """

    def __init__(self, meeting):
        self.meeting = meeting
        self.entries = []
        self.deleted = {}
        self.limit = None

    def __enter__(self):
        self.limit = _ParameterLimit(connections[router.db_for_write(AgendaItem)])
        self.limit.__enter__()
        return self

    def __exit__(self, kind, error, trace):
        try:
            if kind is None:
                self._delete()
                LogEntry.objects.bulk_create(self.entries)
        finally:
            self.limit.__exit__(kind, error, trace)

    def insert(self, model, rows):
        if rows:
            model.objects.bulk_create(rows)

    def log_created(self, rows):
        for row in rows:
            _nothing_refers_to(row)
            self._log(row, LogEntry.Action.CREATE, model_instance_diff(None, row, **_JSON))

    def update(self, model, pairs):
        """``pairs`` of (row as loaded or None for a row just inserted, row as changed)."""
        fields, changed = set(), []
        for loaded, row in pairs:
            for model_field in model._meta.concrete_fields:
                if (
                    isinstance(model_field, FileField)
                    and not getattr(row, model_field.attname)._committed
                ):
                    # What save() would do: store the uploaded file under its name.
                    setattr(row, model_field.attname, model_field.pre_save(row, add=False))
            if loaded is None:
                names = {"parent"}
            else:
                diff = model_instance_diff(loaded, row, **_JSON)
                if not diff:
                    continue
                self._log(row, LogEntry.Action.UPDATE, diff)
                names = set(diff)
            fields |= names
            changed.append(row)
        if changed:
            model.objects.bulk_update(changed, sorted(fields))

    def delete(self, model, pk):
        self.deleted.setdefault(model, []).append(pk)

    def _delete(self):
        """The deleted rows with what they cascade to, each logged as auditlog would."""
        if not self.deleted:
            return
        collector = Collector(using=router.db_for_write(AgendaItem))
        for model, pks in self.deleted.items():
            collector.collect(list(model.objects.filter(pk__in=pks)))
        for model, instances in collector.data.items():
            if auditlog.contains(model):
                for instance in instances:
                    # Deleted after what refers to them (auditlog writes its row then).
                    _nothing_refers_to(instance)
                    diff = model_instance_diff(instance, None, **_JSON)
                    self._log(instance, LogEntry.Action.DELETE, diff)
        with disable_auditlog():
            _delete_collected(collector)

    def _log(self, row, action, changes):
        context = auditlog_value.get(None) or {}
        entry = LogEntry(
            content_type=ContentType.objects.get_for_model(row),
            object_pk=str(row.pk),
            object_id=row.pk,
            object_repr=smart_str(row),
            serialized_data=LogEntry.objects._get_serialized_data_or_none(row),
            action=action,
            changes=changes,
            additional_data={"meeting": self.meeting.pk},
            cid=get_cid(),
        )
        # As auditlog's context does for each row it saves (auditlog.context).
        actor = context.get("actor")
        if isinstance(actor, get_user_model()):
            entry.actor = actor
            entry.actor_email = getattr(actor, "email", None)
        for key, value in context.items():
            if key != "actor" and hasattr(LogEntry, key):
                setattr(entry, key, value() if callable(value) else value)
        self.entries.append(entry)


def _delete_collected(collector):
    """Delete what ``collector`` collected as ``Collector.delete`` does, but each table
    in one statement: Django deletes 100 rows a statement, so that its queries grow
    with the rows (the database's parameter limit is what bounds a statement)."""
    using = collector.using
    for model, instances in collector.data.items():
        collector.data[model] = sorted(instances, key=lambda instance: instance.pk)
    collector.sort()
    with transaction.atomic(using=using, savepoint=False):
        for model, instance in collector.instances_with_model():
            signals.pre_delete.send(
                sender=model, instance=instance, using=using, origin=collector.origin
            )
        for queryset in collector.fast_deletes:
            queryset._raw_delete(using=using)
        for (model_field, value), batches in collector.field_updates.items():
            for batch in batches:
                if isinstance(batch, QuerySet) and batch._result_cache is None:
                    batch.update(**{model_field.name: value})
                elif batch:
                    rows = list(batch)
                    rows[0].__class__._base_manager.using(using).filter(
                        pk__in={row.pk for row in rows}
                    ).update(**{model_field.name: value})
        for model, instances in collector.data.items():
            model._base_manager.using(using).filter(
                pk__in=[instance.pk for instance in instances]
            )._raw_delete(using=using)
            for instance in instances:
                signals.post_delete.send(
                    sender=model, instance=instance, using=using, origin=collector.origin
                )
    for model, instances in collector.data.items():
        for instance in instances:
            setattr(instance, model._meta.pk.attname, None)


def _nothing_refers_to(row):
    """Tell a new or deleted row that no row refers to it one-to-one (a task's "done"
    record): the audit diff reads every relation, and would ask the database row by row."""
    for relation in row._meta.related_objects:
        if relation.one_to_one and not relation.is_cached(row):
            relation.set_cached_value(row, None)


_JSON = {"use_json_for_changes": settings.AUDITLOG_STORE_JSON_CHANGES}


class _ParameterLimit:
    """Lets Django's bulk queries use SQLite's real limit of parameters per query.

    Django 5.2 assumes SQLite's old default of 999 and splits a bulk insert of the
    audit rows of 300 results into five; the SQLite we link allows 32,766 (Django 6
    asks SQLite too). Without this the query count would grow with the rows.
    PostgreSQL has no such limit in Django: nothing changes there.
    """

    def __init__(self, connection):
        self.connection = connection
        self.changed = False

    def __enter__(self):
        connection = self.connection
        if connection.vendor == "sqlite":
            connection.ensure_connection()
            limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            if limit > connection.features.max_query_params:
                connection.features.max_query_params = limit
                self.changed = True
        return self

    def __exit__(self, *exc):
        if self.changed:
            del self.connection.features.max_query_params


def _form_value(form, name):
    """A field's value as the page shows it (typed, or as loaded), as Python; None when
    it is not valid."""
    if name not in form.fields:
        return None
    try:
        return form.fields[name].to_python(form[name].value())
    except ValidationError:
        return None


def _same(a, b):
    if a in (None, "") and b in (None, ""):
        return True
    return a == b


def save_editor(meeting_pk, data, files, user=None):
    """Validate and save the editor's POST in one transaction.

    Returns ``(editor, saved)``. When ``saved`` is false, the editor holds the
    user's input with errors or conflicts to show; nothing was written.
    """
    with transaction.atomic():
        # The meeting's row only: the body's row is shared by all its meetings.
        current = (
            Meeting.objects.select_for_update(of=("self",))
            .select_related("body")
            .get(pk=meeting_pk)
        )
        if current.status != Meeting.Status.DRAFT:
            raise NotEditable(
                _("Only drafts can be edited; these minutes are %(status)s.")
                % {"status": current.get_status_display()}
            )
        editor = Editor(current, data, files)
        if not editor.is_valid():
            editor.fresh = None
            return editor, False
        if editor.find_conflicts(current):
            editor.accept_current_as_loaded(current)
            return editor, False
        number = editor.meeting_form.cleaned_data.get("number")
        if (
            "number" in editor.meeting_form.changed_data
            and number is not None
            and Meeting.objects.filter(body=current.body, number=number)
            .exclude(pk=current.pk)
            .exists()
        ):
            editor.meeting_form.add_error(
                "number",
                _("%(body)s already has a meeting number %(number)s.")
                % {"body": current.body.name, "number": number},
            )
            return editor, False
        editor.save(current, user)
        return editor, True
