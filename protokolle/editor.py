"""The minute-taker's editor: every section of a draft on one page, saved together.

The editor posts every row of the meeting at once. A save locks the meeting,
applies only the fields this writer changed since loading the page, and stops
with a conflict where someone else changed the same field meanwhile; nothing
is written half-way and nothing typed is lost.
"""

import copy
import datetime
from dataclasses import dataclass, field

from django import forms as django_forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.forms.models import modelformset_factory
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
        participant_formset = modelformset_factory(
            Participant,
            form=forms.ParticipantForm,
            formset=forms.EditorFormSet,
            extra=len(extra),
            can_delete=True,
        )
        return participant_formset(
            *args, prefix="participants", queryset=participants, initial=extra
        )

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
        for name in form._meta.fields:
            field = form.fields.get(name)
            if field is None:
                continue
            value = field.hidden_widget().format_value(field.prepare_value(getattr(instance, name)))
            self.data[form[name].html_initial_name] = "" if value is None else value

    # --- saving -------------------------------------------------------------------------

    def save(self, current, user=None):
        """Write what this writer changed onto ``current`` (the locked meeting row)."""
        meeting_form = self.meeting_form
        for name in meeting_form.changed_data:
            if name in meeting_form._meta.fields:
                setattr(current, name, meeting_form.cleaned_data[name])
        for role in ("chair", "minute_taker"):
            if f"{role}_name" in meeting_form.changed_data:
                snapshot_from_members(current, role)
        current.version += 1
        current.save()

        items = self._save_items(current)
        self._save_rows(self.presenter_formset, items, self._link_presenter)
        self._save_rows(self.result_formset, items, self._count_vote)
        self._save_meeting_rows(self.participant_formset, current, self._prepare_participant)
        self._save_meeting_rows(self.attachment_formset, current, self._prepare_attachment)
        return current

    def _changed_instances(self, formset):
        """(form, instance) for existing rows this writer changed; instance from the database."""
        fresh = self.fresh[formset.model]
        for form in formset.initial_forms:
            instance = fresh.get(form.instance.pk)
            if instance is not None and form.has_changed():
                yield form, instance

    def _apply(self, form, instance):
        """Copy this writer's changes; a new row takes every field."""
        names = form._meta.fields if instance.pk is None else form.changed_data
        for name in names:
            if name in form._meta.fields and name in form.cleaned_data:
                setattr(instance, name, form.cleaned_data[name])

    def _save_items(self, current):
        """Save agenda items; rebuild the tree when this writer moved, added or removed any."""
        fresh = self.fresh[AgendaItem]
        by_key = {str(pk): item for pk, item in fresh.items()}
        outline = []
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
                moved = True
            else:
                item = fresh.get(form.instance.pk)
                if item is None:
                    continue
                if self._deleted(form):
                    moved = True
                    continue
                if form.has_changed():
                    self._apply(form, item)
                    item.changed = True
                moved = moved or bool({"order", "level"} & set(form.changed_data))
            outline.append((form.cleaned_data["order"], index, form.cleaned_data["level"], item))
        if moved:
            outline.sort(key=lambda entry: (entry[0], entry[1]))
            stack = []
            counters = {}
            for _order, _index, level, item in outline:
                level = min(level, len(stack))
                del stack[level:]
                parent = stack[-1] if stack else None
                key = parent.pk if parent else None
                item.parent = parent
                item.position = counters.get((key, level), 0)
                counters[(key, level)] = item.position + 1
                item.save()
                stack.append(item)
        else:
            for _order, _index, _level, item in outline:
                if item.pk is None or getattr(item, "changed", False):
                    item.save()
        # Delete after re-parenting, so that surviving children are not cascaded away.
        deleted = [
            form.instance.pk
            for form in self.item_formset.initial_forms
            if self._deleted(form) and form.instance.pk in fresh
        ]
        AgendaItem.objects.filter(pk__in=deleted).delete()
        return by_key

    def _changes(self, formset):
        """(form, row) for every row this writer changed (row from the database) or added
        (row None). The rows this writer deleted are deleted once all are through."""
        fresh = self.fresh[formset.model]
        deleted = []
        for form in formset.forms:
            if form.gone:
                continue
            if self._deleted(form):
                if form.instance.pk in fresh:
                    deleted.append(form.instance.pk)
                continue
            if not form.has_changed():
                continue
            if form.instance.pk is None:
                yield form, None
            elif (row := fresh.get(form.instance.pk)) is not None:
                yield form, row
        formset.model.objects.filter(pk__in=deleted).delete()

    def _save_rows(self, formset, items, extra_step):
        """Presenters or results: changed rows updated, new rows appended to their item."""
        next_position = {}
        for row in self.fresh[formset.model].values():
            key = row.agenda_item_id
            next_position[key] = max(next_position.get(key, 0), row.position + 1)
        for form, row in self._changes(formset):
            if row is None:
                item = items.get(form.cleaned_data["item_key"])
                if item is None or item.pk is None:
                    continue
                position = next_position.get(item.pk, 0)
                next_position[item.pk] = position + 1
                row = formset.model(agenda_item=item, position=position)
            self._apply(form, row)
            if extra_step:
                extra_step(row)
            row.save()

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

    def _save_meeting_rows(self, formset, current, prepare):
        """Participants or attachments: changed rows updated, new rows appended at the
        end, deleted rows removed. ``prepare(row)`` completes a row and says whether
        it is worth saving."""
        model = formset.model
        position = max((row.position for row in self.fresh[model].values()), default=-1) + 1
        for form, row in self._changes(formset):
            if row is None:
                row = model(meeting=current, position=position)
                position += 1
            self._apply(form, row)
            if prepare(row):
                row.save()

    def _prepare_participant(self, row):
        if row.person_id is None:
            row.person = self.persons.get(row.name)
        return bool(row.name and row.status)

    @staticmethod
    def _prepare_attachment(row):
        if not row.name and row.file:
            row.name = row.file.name.rsplit("/", 1)[-1]
        return bool(row.name)


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
