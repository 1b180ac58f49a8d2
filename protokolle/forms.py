"""Forms of the minute-taker's editor and of the new-meeting page.

Every field of the editor carries its value as loaded (one ``<prefix>-loaded`` input per
row, ``RowForm.loaded_input``; ``show_hidden_initial`` in the meeting form),
so that a save applies only what this writer changed and can tell an edit
conflict from a change made by someone else (see ``editor.save_editor``).
"""

import copy
import json
import weakref

from crispy_forms.helper import FormHelper
from crispy_forms.layout import HTML, Column, Layout, Row
from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.forms.boundfield import BoundField
from django.forms.models import BaseModelFormSet, modelformset_factory
from django.forms.renderers import Jinja2
from django.forms.widgets import ChoiceWidget
from django.utils import translation
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from . import uploads, wording
from .models import (
    APPROVAL_NOTE_MAX_LENGTH,
    CONFLICT_NAME_MAX_LENGTH,
    CONFLICT_REASON_MAX_LENGTH,
    MAX_CONFLICTS_PER_ITEM,
    MAX_VOTES,
    RESPONSE_TEXT_MAX_LENGTH,
    AgendaItem,
    Approval,
    Attachment,
    Meeting,
    Participant,
    Presenter,
    Result,
)

MARKUPSAFE_QUOTES = ("&#34;", "&#39;")  # as markupsafe (Jinja2) writes " and '
DJANGO_QUOTES = ("&quot;", "&#x27;")  # as django.utils.html.escape writes them


def _escape(value, quotes=MARKUPSAFE_QUOTES):
    """``value`` escaped for HTML as a plain string, or as it is when it is HTML already
    (``__html__``): what markupsafe's ``escape`` (or, with ``DJANGO_QUOTES``, Django's
    ``conditional_escape``) writes, without making a Markup or SafeString object for each
    of the ~25,000 values of a 60 x 5 page, and without touching the many values that
    need no escaping."""
    if hasattr(value, "__html__"):
        return value.__html__()
    value = str(value)
    if "&" in value or "<" in value or ">" in value or '"' in value or "'" in value:
        return (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .replace(">", "&gt;")
            .replace('"', quotes[0])
            .replace("'", quotes[1])
        )
    return value


def _attrs(attrs):
    return "".join(
        f" {name}" if value is True else f' {name}="{_escape(value)}"'
        for name, value in attrs.items()
        if value is not False
    )


def _input(widget):
    value = widget["value"]
    shown = "" if value is None else f' value="{_escape(value)}"'
    return (
        f'<input type="{_escape(widget["type"])}" name="{_escape(widget["name"])}"'
        f"{shown}{_attrs(widget['attrs'])}>"
    )


def _textarea(widget):
    value = widget["value"]
    return (
        f'<textarea name="{_escape(widget["name"])}"{_attrs(widget["attrs"])}>\n'
        f"{_escape(value) if value else ''}</textarea>"
    )


def _option(option):
    return (
        f'<option value="{_escape(option["value"])}"{_attrs(option["attrs"])}>'
        f"{_escape(option['label'])}</option>"
    )


INPUT_TEMPLATES = ("text", "hidden", "number", "checkbox", "date", "time", "email", "url")
WIDGETS_IN_PYTHON = {f"django/forms/widgets/{name}.html": _input for name in INPUT_TEMPLATES}
WIDGETS_IN_PYTHON["django/forms/widgets/textarea.html"] = _textarea


class FastWidgets(Jinja2):
    """Django's Jinja2 widget templates, the common ones written out in Python.

    The editor of 60 items x 5 results renders about 8,400 widgets; through the
    template engine they cost half of the page's time. The functions above write
    exactly what Django's Jinja2 templates write (the same escaping, markupsafe's),
    and every other widget still goes through its template.
    """

    def render(self, template_name, context, request=None):
        write = WIDGETS_IN_PYTHON.get(template_name)
        if write is not None:
            return write(context["widget"])
        if template_name == "django/forms/widgets/select.html":
            return self._select(context, request)
        return super().render(template_name, context, request)

    def _select(self, context, request):
        widget = context["widget"]
        html = [f'<select name="{_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for group_name, options, _index in widget["optgroups"]:
            if group_name:
                html.append(f'\n  <optgroup label="{_escape(group_name)}">')
            for option in options:
                if option["template_name"] == "django/forms/widgets/select_option.html":
                    html.append("\n  " + _option(option))
                else:
                    html.append(
                        "\n  "
                        + super().render(option["template_name"], {"widget": option}, request)
                    )
            if group_name:
                html.append("\n  </optgroup>")
        html.append("\n</select>")
        return "".join(html)


JINJA2_RENDERER = FastWidgets()
MAX_LEVEL = 3
VOTE_ERRORS = {
    "min_value": _("A vote count cannot be negative."),
    "max_value": _("At most %(limit_value)s votes: no body has more members."),
}


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%H:%M")


DATE_AND_TIME_WIDGETS = {
    forms.DateField: DateInput,
    forms.TimeField: TimeInput,
}


def _use_html5_widgets(fields):
    for field in fields.values():
        for field_class, widget_class in DATE_AND_TIME_WIDGETS.items():
            if isinstance(field, field_class) and not isinstance(field.widget, forms.HiddenInput):
                field.widget = widget_class(attrs=field.widget.attrs)


def _no_maxlength(fields):
    """No ``maxlength`` on the editor's inputs: a browser cuts pasted text at it without
    a word. The server refuses a text that is too long instead, with the text kept and
    the reason at the field."""
    for field in fields.values():
        field.widget.attrs.pop("maxlength", None)


def _bootstrap_classes(form_class, fields):
    """Bootstrap classes for fields rendered by hand (the formset rows)."""
    _no_maxlength(fields)
    for field in fields.values():
        widget = field.widget
        if isinstance(widget, forms.HiddenInput):
            css = ""
        elif isinstance(widget, forms.RadioSelect):
            # Each radio is rendered by hand; the class belongs on the inputs, never
            # on the group's container (that made most choices unclickable).
            css = "btn-check" if getattr(form_class, "radio_buttons", False) else "form-check-input"
        elif isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        if css:
            widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()


class TrackedForm(forms.ModelForm):
    """A ModelForm whose fields post their loaded value beside the typed one."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not isinstance(self.base_fields, PreparedFields):
            self.prepare_fields(self.fields)

    @classmethod
    def prepare_fields(cls, fields):
        """Set up the fields of one form (``fields``: its copies of them)."""
        _use_html5_widgets(fields)
        _no_maxlength(fields)
        for field in fields.values():
            field.show_hidden_initial = True

    def loaded_raw(self, name):
        """What the page posted as this field's value when it was loaded."""
        field, bound = self.fields[name], self[name]
        return self._widget_data_value(field.hidden_widget(), bound.html_initial_name)

    def loaded_value(self, name):
        """The value this field had when the writer loaded the page."""
        raw = self.loaded_raw(name)
        try:
            return self.fields[name].clean(raw) if raw is not None else None
        except ValidationError:
            return None

    def set_loaded(self, data, values):
        """Count ``values`` (field name to the value as its hidden input writes it) as
        loaded, in the POST ``data``."""
        for name, value in values.items():
            data[self[name].html_initial_name] = "" if value is None else value


def _when_and_where():
    """The layout rows both meeting forms share: number, title, date, times, place."""
    return [
        Row(Column("number", css_class="col-4 col-sm-2"), Column("title", css_class="col-sm-10")),
        Row(
            Column("date", css_class="col-12 col-sm-4 col-md-3"),
            Column("start", css_class="col-6 col-sm-4 col-md-2"),
            Column("end", css_class="col-6 col-sm-4 col-md-2"),
            Column("location", css_class="col-md-5"),
        ),
    ]


def _check_times(form, cleaned):
    start, end = cleaned.get("start"), cleaned.get("end")
    if start and end and end <= start:
        form.add_error(
            "end",
            ValidationError(_("The meeting must end after it starts."), code="end_before_start"),
        )


class MeetingForm(TrackedForm):
    """Allgemeines: date, times, place, chair, minute-taker, next meeting, closing line."""

    class Meta:
        model = Meeting
        fields = [
            "number",
            "title",
            "date",
            "start",
            "end",
            "location",
            "public",
            "chair_name",
            "chair_organisation",
            "chair_function",
            "minute_taker_name",
            "minute_taker_organisation",
            "minute_taker_function",
            "next_meeting_date",
            "next_meeting_time",
            "next_meeting_location",
            "has_closing",
            "closing_place",
            "closing_date",
        ]
        labels = {
            "chair_name": _("Chair"),
            "chair_organisation": _("Organisation"),
            "chair_function": _("Function"),
            "minute_taker_name": _("Minute-taker"),
            "minute_taker_organisation": _("Organisation"),
            "minute_taker_function": _("Function"),
            "next_meeting_date": _("Next meeting on"),
            "next_meeting_time": _("at"),
            "next_meeting_location": _("in"),
            "closing_place": _("Place"),
            "closing_date": _("Date"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("chair_name", "minute_taker_name"):
            self.fields[name].widget.attrs["list"] = "member-names"
            self.fields[name].widget.attrs["autocomplete"] = "off"
        self.fields["number"].help_text = ""  # the label says enough; the row stays low
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True
        self.helper.layout = Layout(
            # The editor's rows are kept low: the meeting's own title is rarely set,
            # so it waits with the other rare fields below.
            Row(
                Column("number", css_class="col-4 col-sm-2"),
                Column("date", css_class="col-8 col-sm-4 col-md-3"),
                Column("start", css_class="col-6 col-sm-3 col-md-2"),
                Column("end", css_class="col-6 col-sm-3 col-md-2"),
                Column("location", css_class="col-md-3"),
            ),
            Row(
                Column("chair_name", css_class="col-md-4"),
                Column("chair_organisation", css_class="col-6 col-md-4"),
                Column("chair_function", css_class="col-6 col-md-4"),
            ),
            Row(
                Column("minute_taker_name", css_class="col-md-4"),
                Column("minute_taker_organisation", css_class="col-6 col-md-4"),
                Column("minute_taker_function", css_class="col-6 col-md-4"),
            ),
            # Rarely changed: folded away, open by itself when it holds something to see.
            HTML(
                '<details class="general-more"{% if editor.meeting_form.errors %} open{% endif %}>'
                '<summary class="small">{{ editor.meeting_form.more_summary }}</summary>'
            ),
            "title",
            "public",
            Row(
                Column("next_meeting_date", css_class="col-6 col-sm-4"),
                Column("next_meeting_time", css_class="col-6 col-sm-3"),
                Column("next_meeting_location", css_class="col-sm-5"),
            ),
            "has_closing",
            Row(
                Column("closing_place", css_class="col-6"),
                Column("closing_date", css_class="col-6"),
            ),
            HTML("</details>"),
        )

    def more_summary(self):
        """The folded fields' summary: what they are and what they hold, in one line."""
        meeting = self.instance
        parts = [f"„{meeting.title}“"] if meeting.title else []
        parts.append(_("public") if meeting.public else _("not public"))
        if meeting.next_meeting_date:
            date = meeting.next_meeting_date.strftime("%d.%m.%Y")
            parts.append(_("next meeting %(date)s") % {"date": date})
        if meeting.has_closing and (meeting.closing_place or meeting.closing_date):
            closing = ", ".join(
                part
                for part in (
                    meeting.closing_place,
                    meeting.closing_date and meeting.closing_date.strftime("%d.%m.%Y"),
                )
                if part
            )
            parts.append(_("closing line „%(line)s“") % {"line": closing})
        return _("Title, public, next meeting and closing line: %(values)s") % {
            "values": " · ".join(str(part) for part in parts)
        }

    def clean(self):
        cleaned = super().clean()
        _check_times(self, cleaned)
        for role in ("chair", "minute_taker"):
            if not cleaned.get(f"{role}_name") and (
                cleaned.get(f"{role}_organisation") or cleaned.get(f"{role}_function")
            ):
                self.add_error(
                    f"{role}_name",
                    ValidationError(_("Please enter the name as well."), code="name_missing"),
                )
        if not cleaned.get("next_meeting_date") and (
            cleaned.get("next_meeting_time") or cleaned.get("next_meeting_location")
        ):
            self.add_error(
                "next_meeting_date",
                ValidationError(
                    _("Please enter the date of the next meeting."), code="date_missing"
                ),
            )
        return cleaned

    def validate_unique(self):
        # The editor checks the meeting number against the database itself,
        # inside the save's transaction (editor.save_editor).
        pass


class NewMeetingForm(forms.ModelForm):
    """The first facts of a new meeting; the agenda is proposed from the records."""

    class Meta:
        model = Meeting
        fields = [
            "number",
            "title",
            "date",
            "start",
            "end",
            "location",
            "chair_name",
            "minute_taker_name",
        ]
        labels = {"chair_name": _("Chair"), "minute_taker_name": _("Minute-taker")}

    def __init__(self, *args, body, **kwargs):
        self.body = body
        super().__init__(*args, **kwargs)
        _use_html5_widgets(self.fields)
        self.instance.body = body
        for name in ("chair_name", "minute_taker_name"):
            self.fields[name].widget.attrs["list"] = "member-names"
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.layout = Layout(
            *_when_and_where(),
            Row(
                Column("chair_name", css_class="col-md-6"),
                Column("minute_taker_name", css_class="col-md-6"),
            ),
        )

    def clean(self):
        cleaned = super().clean()
        _check_times(self, cleaned)
        return cleaned

    def clean_number(self):
        number = self.cleaned_data["number"]
        if number is not None and Meeting.objects.filter(body=self.body, number=number).exists():
            raise ValidationError(
                _("%(body)s already has a meeting number %(number)s."),
                code="number_taken",
                params={"body": self.body.name, "number": number},
            )
        return number


# --- formsets ---------------------------------------------------------------------------


class KnownObjectField(forms.ModelChoiceField):
    """The hidden id of a formset row, looked up among the rows already loaded.

    Django's own field runs one query per row; with 300 results that is 300
    queries per save. A row deleted meanwhile by someone else is an error.
    """

    def __init__(self, objects, **kwargs):
        self.objects = objects
        super().__init__(**kwargs)

    def _set_queryset(self, queryset):
        # Rows are looked up in ``objects``: the queryset is kept as given instead of a
        # copy per row (430 on a page of 60 x 5), and the hidden widget gets no choices
        # (Django's are an iterator holding the field: a reference cycle per row, which
        # only the garbage collector could free).
        self._queryset = queryset

    queryset = property(forms.ModelChoiceField._get_queryset, _set_queryset)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        # A row deleted meanwhile by someone else gives None; the formset marks it "gone".
        return self.objects.get(str(value))


class EditorFormSet(BaseModelFormSet):
    """A model formset over rows loaded once, without a query per posted row."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        pk_name = self._pk_field.name
        if pk_name in form.fields:
            old = form.fields[pk_name]
            # Django's id field goes; its widget's choices hold the field, a cycle.
            old.widget.choices = ()
            form.fields[pk_name] = KnownObjectField(
                self._known_objects(),
                queryset=old.queryset,
                required=False,
                widget=forms.HiddenInput,
                initial=old.initial,
            )

    def _known_objects(self):
        if not hasattr(self, "_known"):
            self._known = {str(obj.pk): obj for obj in self.get_queryset()}
        return self._known

    def _existing_object(self, pk):
        return self._known_objects().get(str(pk))

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        # A posted row whose record someone else deleted meanwhile.
        form.gone = self.is_bound and i < self.initial_form_count() and form.instance.pk is None
        if form.gone:
            pk_field = form.fields[self._pk_field.name]
            pk_field.required = False
            pk_field.disabled = True  # the missing id is not a change of this writer
        return form


class ItemKeyMixin(forms.Form):
    """Rows that belong to an agenda item name it by ``item_key``: "12" or "new-3"."""

    item_key = forms.CharField(widget=forms.HiddenInput, max_length=20)


FIELD_HTML = (
    '\n<div class="{}{}">\n'
    '  <label for="{}" class="form-label small mb-0{}">{}</label>\n'
    "  {}\n"
    "  {}\n"
    "  {}\n"
    "</div>\n"
)


def _escape_django(value):
    return _escape(value, DJANGO_QUOTES)


def field_html(field, label=None, hide_label=False, wrapper="mb-2", hide_help=False):
    """One hand-rendered field as templates/includes/field.html writes it: label,
    widget, help text, errors. Written in Python for the rows the editor repeats
    hundreds of times (an include costs more than the widget)."""
    errors = field.errors
    auto_id = _escape_django(field.auto_id)
    help_text = ""
    if field.help_text:
        help_text = (
            f'<div class="form-text small mt-0{" visually-hidden" if hide_help else ""}" '
            f'id="{auto_id}_helptext">{_escape_django(field.help_text)}</div>'
        )
    error_text = ""
    if errors:
        error_text = (
            f'<div class="invalid-feedback d-block" id="{auto_id}_error">'
            f"{' '.join(_escape_django(error) for error in errors)}</div>"
        )
    return SafeString(
        FIELD_HTML.format(
            _escape_django(wrapper),
            " has-error" if errors else "",
            _escape_django(field.id_for_label),
            " visually-hidden" if hide_label else "",
            _escape_django(label or field.label),
            field.__html__(),
            help_text,
            error_text,
        )
    )


class FieldsHtml:
    """``form.html.<name>`` in a template: the field as ``field_html`` writes it, with
    the options of the form's ``layout``."""

    def __init__(self, form):
        self.form = form

    def __getitem__(self, name):
        return field_html(self.form[name], **self.form.layout.get(name, {}))


class PreparedFields(dict):
    """The fields of a row form class, prepared once per class and language.

    A page of 60 items x 5 results builds about 400 row forms. For each, Django's
    BaseForm deep-copies the class's fields (``copy.deepcopy`` of each field and widget,
    through ``copy``'s generic reduce protocol), and the form then swapped widgets, added
    classes and resolved each lazy label and help text again at every render. Here that
    is done once: ``of`` prepares the class's fields for the active language
    (``prepare_fields``; labels, help texts and attributes as plain strings), and the
    copy for each form is what ``Field.__deepcopy__`` and ``Widget.__deepcopy__``
    make: a field of its own with its own widget, ``attrs``, error messages and
    validators. Fields and widgets with a copy of their own (choices, querysets) are
    copied by it.
    """

    # Form class -> {language: prepared fields}. Weak keys: a form class made at run
    # time (modelform_factory) takes its prepared fields with it when it goes.
    _made = weakref.WeakKeyDictionary()

    @classmethod
    def of(cls, form_class):
        language = translation.get_language()
        by_language = cls._made.setdefault(form_class, {})
        prepared = by_language.get(language)
        if prepared is None:
            fields = copy.deepcopy(form_class.base_fields)
            form_class.prepare_fields(fields)
            for field in fields.values():
                _resolve_lazy_text(field)
            prepared = by_language[language] = cls(fields)
        return prepared

    def __deepcopy__(self, memo):
        return {name: _copy_field(field, memo) for name, field in self.items()}


def _resolve_lazy_text(field):
    for name in ("label", "help_text"):
        if isinstance(getattr(field, name), Promise):
            setattr(field, name, str(getattr(field, name)))
    field.widget.attrs = {
        name: str(value) if isinstance(value, Promise) else value
        for name, value in field.widget.attrs.items()
    }
    choices = getattr(field, "_choices", None)
    if type(choices) is list and all(
        isinstance(choice, tuple) and len(choice) == 2 and not isinstance(choice[1], list | tuple)
        for choice in choices
    ):
        # Flat choices (no groups): their labels as plain strings; the setter passes them
        # on to the widget.
        field.choices = [
            (value, str(label) if isinstance(label, Promise) else label) for value, label in choices
        ]


def _shallow_copy(instance):
    copied = object.__new__(type(instance))
    copied.__dict__.update(instance.__dict__)
    return copied


def _copy_widget(widget, memo):
    kind = type(widget)
    if kind.__deepcopy__ is forms.Widget.__deepcopy__:
        copied = _shallow_copy(widget)
    elif kind.__deepcopy__ is ChoiceWidget.__deepcopy__ and type(widget._choices) is list:
        # ChoiceWidget's copy sets a copy of its choices through the setter, which
        # normalizes them again (about 12 microseconds); these are normalized already.
        copied = _shallow_copy(widget)
        copied._choices = list(widget._choices)
    else:
        return copy.deepcopy(widget, memo)
    copied.attrs = widget.attrs.copy()
    return copied


def _copy_field(field, memo):
    kind = type(field)
    choices = None
    if kind.__deepcopy__ is forms.ChoiceField.__deepcopy__ and type(field._choices) is list:
        # ChoiceField's copy: Field's, and a list of choices of its own. Their entries
        # are shared: Django never changes them in place, it assigns new choices.
        choices = list(field._choices)
    elif kind.__deepcopy__ is not forms.Field.__deepcopy__:
        return copy.deepcopy(field, memo)
    copied = _shallow_copy(field)
    copied.widget = _copy_widget(field.widget, memo)
    copied.error_messages = field.error_messages.copy()
    copied.validators = field.validators[:]
    if choices is not None:
        copied._choices = choices
    return copied


LOADED = "loaded"
_HIDDEN = forms.HiddenInput()


def _dump_loaded(loaded):
    return json.dumps(loaded, ensure_ascii=False, separators=(",", ":"))


class LoadedBoundField(BoundField):
    """A row form's field: its value as loaded comes from the row's one ``loaded`` input.

    ``_has_changed`` is Django's for ``show_hidden_initial``, reading that input instead
    of a hidden input per field. A page of 60 items x 5 results had about 3,700 of those.
    """

    @property
    def errors(self):
        # Django's makes a new empty ErrorList at each call, and a row's field is asked
        # three times as it is written (about 10,000 times for 60 x 5). The form keeps
        # one empty list for its fields; errors added to the form later are still found
        # first.
        form = self.form
        errors = form.errors.get(self.name)
        if errors is not None:
            return errors
        try:
            return form._no_errors
        except AttributeError:
            form._no_errors = form.error_class(renderer=form.renderer)
            return form._no_errors

    def _has_changed(self):
        if not self.form._tracked(self.name):
            return super()._has_changed()
        # A row without the input (the script drops the rows that are for use without
        # it) reads as loaded empty, as a missing hidden input of Django's does.
        try:
            initial = self.field.to_python(self.form.loaded_raw(self.name))
        except ValidationError:
            return True
        return self.field.has_changed(initial, self.data)


class RowForm(TrackedForm):
    """A formset row, rendered by hand in the editor's template."""

    # A page of 300 results renders about 8,000 widgets; Django's Jinja2 widget
    # templates render them several times faster than its own template engine.
    default_renderer = JINJA2_RENDERER

    # Options of ``field_html`` per field, for ``form.html``.
    layout = {}

    bound_field_class = LoadedBoundField

    def __init__(self, *args, **kwargs):
        # The class's fields as prepare_fields leaves them, made once per language;
        # Django's BaseForm copies them for this form (see PreparedFields).
        self.base_fields = PreparedFields.of(type(self))
        super().__init__(*args, **kwargs)

    @classmethod
    def prepare_fields(cls, fields):
        super().prepare_fields(fields)
        _bootstrap_classes(cls, fields)
        # A row posts its values as loaded in one input (loaded_input), not one per field.
        for field in fields.values():
            field.show_hidden_initial = False

    # --- the values as loaded, one input per row -----------------------------------------

    def _tracked(self, name):
        return name in self.base_fields

    def _loaded(self):
        """The posted ``<prefix>-loaded``: field name to the value as loaded (a string,
        as the field's hidden input would write it, or None). Anything else counts as
        nothing loaded, so every typed value counts as changed."""
        raw = self.data.get(self.add_prefix(LOADED)) if self.is_bound else None
        cached = getattr(self, "_loaded_cache", None)
        if cached is not None and cached[0] == raw:
            return cached[1]
        loaded = None
        if raw is not None:
            try:
                loaded = json.loads(raw)
            except ValueError:
                loaded = {}
            if not isinstance(loaded, dict):
                loaded = {}
            loaded = {
                name: value
                for name, value in loaded.items()
                if isinstance(name, str) and (value is None or isinstance(value, str))
            }
        self._loaded_cache = (raw, loaded)
        return loaded

    def loaded_raw(self, name):
        loaded = self._loaded() or {}
        if name not in loaded:
            return None
        # None: the hidden input had no value, and browsers post that as "".
        return "" if loaded[name] is None else loaded[name]

    def _shown_as_loaded(self):
        """The values the page shows, as their hidden inputs would write them: what
        Django writes into a hidden initial that was not posted (the stored values on a
        new page, the posted ones on a page shown again)."""
        loaded = {}
        for name in self.base_fields:
            if name not in self.fields:
                continue
            field = self.fields[name]
            widget = _HIDDEN if field.hidden_widget is forms.HiddenInput else field.hidden_widget()
            loaded[name] = widget.format_value(self[name].value())
        return loaded

    def set_loaded(self, data, values):
        loaded = dict(self._loaded() or self._shown_as_loaded())
        loaded.update(values)
        data[self.add_prefix(LOADED)] = _dump_loaded(loaded)

    @property
    def loaded_input(self):
        """The hidden input that posts this row's values as loaded: what a save compares
        with to apply only this writer's changes and to find edit conflicts."""
        posted = self.data.get(self.add_prefix(LOADED)) if self.is_bound else None
        value = posted if posted is not None else _dump_loaded(self._shown_as_loaded())
        return format_html(
            '<input type="hidden" name="{}" value="{}">', self.add_prefix(LOADED), value
        )

    @property
    def html(self):
        return FieldsHtml(self)

    def _get_validation_exclusions(self):
        # Django checks each CheckConstraint of each row with a query of its own
        # (900 for 300 results). The forms check the same rules in clean(), and the
        # database still enforces them, so the model-level check is left out here.
        exclude = super()._get_validation_exclusions()
        for constraint in self._meta.model._meta.constraints:
            if isinstance(constraint, models.CheckConstraint):
                exclude |= {
                    field.split("__")[0] for field in _condition_fields(constraint.condition)
                }
        return exclude


def _condition_fields(condition):
    for child in condition.children:
        if isinstance(child, tuple):
            yield child[0]
        else:
            yield from _condition_fields(child)


class ConflictsOfInterestField(forms.Field):
    """Befangenheit as typed: one member per line, a reason after a colon.

    „Dr. Elena Herzog: Geschäftsführerin der Antragstellerin“ becomes
    ``{"name": "Dr. Elena Herzog", "reason": "Geschäftsführerin der Antragstellerin"}``;
    no lines give None (nothing recorded).
    """

    widget = forms.Textarea(attrs={"rows": 2})
    default_error_messages = {
        "too_many": _("At most %(limit)s members per agenda item."),
        "no_name": _("Line %(line)s: please give the name before the colon."),
        "name_too_long": _("Line %(line)s: a name has at most %(limit)s characters."),
        "reason_too_long": _("Line %(line)s: a reason has at most %(limit)s characters."),
    }

    def __init__(self, *, encoder=None, decoder=None, **kwargs):
        # Given by the model's JSONField; the text here is not JSON.
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(
                entry.get("name", "") + (f": {entry['reason']}" if entry.get("reason") else "")
                for entry in value
                if isinstance(entry, dict)
            )
        return value or ""

    def to_python(self, value):
        if value in (None, "", []):
            return None
        if isinstance(value, list):
            return [
                {"name": entry.get("name", ""), "reason": entry.get("reason") or None}
                for entry in value
            ]
        lines = [line.strip() for line in str(value).splitlines()]
        entries = []
        for number, text in enumerate(lines, start=1):
            if not text:
                continue
            name, _colon, reason = text.partition(":")
            name, reason = name.strip(), reason.strip()
            if not name:
                raise ValidationError(
                    self.error_messages["no_name"], code="no_name", params={"line": number}
                )
            if len(name) > CONFLICT_NAME_MAX_LENGTH:
                raise ValidationError(
                    self.error_messages["name_too_long"],
                    code="name_too_long",
                    params={"line": number, "limit": CONFLICT_NAME_MAX_LENGTH},
                )
            if len(reason) > CONFLICT_REASON_MAX_LENGTH:
                raise ValidationError(
                    self.error_messages["reason_too_long"],
                    code="reason_too_long",
                    params={"line": number, "limit": CONFLICT_REASON_MAX_LENGTH},
                )
            entries.append({"name": name, "reason": reason or None})
        if len(entries) > MAX_CONFLICTS_PER_ITEM:
            raise ValidationError(
                self.error_messages["too_many"],
                code="too_many",
                params={"limit": MAX_CONFLICTS_PER_ITEM},
            )
        return entries or None

    def has_changed(self, initial, data):
        try:
            return self.to_python(initial) != self.to_python(data)
        except ValidationError:
            return True


class AgendaItemForm(RowForm):
    layout = {
        "title": {"label": _("Title"), "hide_label": True, "wrapper": "mb-0"},
        "number": {"label": _("Fixed number"), "wrapper": "mb-1 item-fixed-number"},
        "start": {"wrapper": "mb-1 item-start"},
        "conflicts_of_interest": {"wrapper": "mb-1 item-conflicts"},
        "order": {"wrapper": "mb-1"},
        "level": {"wrapper": "mb-1"},
    }
    order = forms.IntegerField(label=_("Order"), min_value=0, initial=0)
    level = forms.IntegerField(label=_("Level"), min_value=0, max_value=MAX_LEVEL, initial=0)

    class Meta:
        model = AgendaItem
        fields = ["number", "title", "public", "start", "conflicts_of_interest"]
        field_classes = {"conflicts_of_interest": ConflictsOfInterestField}
        labels = {
            "start": _("Taken up at"),
            "conflicts_of_interest": _("Conflicts of interest (Befangenheit)"),
        }
        help_texts = {
            "start": _("For the quorum of this item's decisions."),
            "conflicts_of_interest": _(
                "Members who took no part in deliberation and vote: one per line, "
                "a reason after a colon."
            ),
        }
        widgets = {"title": forms.Textarea(attrs={"rows": 1, "class": "auto-grow"})}

    def has_changed(self):
        # A new item counts once it has a title or number: moving an empty one is nothing.
        if self.instance.pk is None and self.is_bound:
            return any(
                (self.data.get(self.add_prefix(name)) or "").strip() for name in ("title", "number")
            )
        return super().has_changed()


class PresenterForm(ItemKeyMixin, RowForm):
    layout = {
        "name": {"label": _("Presenter"), "hide_label": True, "wrapper": "presenter-name"},
        "organisation": {
            "label": _("Organisation of the presenter"),
            "hide_label": True,
            "wrapper": "presenter-org",
        },
        "function": {
            "label": _("Function of the presenter"),
            "hide_label": True,
            "wrapper": "presenter-function",
        },
    }

    class Meta:
        model = Presenter
        fields = ["name", "organisation", "function"]
        widgets = {"name": forms.TextInput(attrs={"list": "person-names", "autocomplete": "off"})}

    @classmethod
    def prepare_fields(cls, fields):
        super().prepare_fields(fields)
        placeholders = {
            "name": _("Presenter"),
            "organisation": _("Organisation"),
            "function": _("Function"),
        }
        for name, text in placeholders.items():
            fields[name].widget.attrs["placeholder"] = text


def vote_count(label):
    """A vote count: empty, or a whole number from 0 to MAX_VOTES."""
    return forms.IntegerField(
        label=label, required=False, min_value=0, max_value=MAX_VOTES, error_messages=VOTE_ERRORS
    )


class ResultForm(ItemKeyMixin, RowForm):
    layout = {
        "kind": {"label": _("Kind"), "hide_label": True, "wrapper": "result-kind"},
        "text": {"label": _("Result text"), "hide_label": True, "wrapper": "result-text"},
        "vote_yes": {"wrapper": "vote-count"},
        "vote_no": {"wrapper": "vote-count"},
        "vote_abstain": {"wrapper": "vote-count"},
        "vote_text": {"wrapper": "vote-text", "hide_help": True},
        "responsible": {"wrapper": "task-who"},
        "due": {"label": _("due by"), "wrapper": "task-due"},
    }
    vote_yes = vote_count(_("yes"))
    vote_no = vote_count(_("no"))
    vote_abstain = vote_count(_("abstentions"))

    class Meta:
        model = Result
        fields = [
            "kind",
            "text",
            "voted",
            "vote_yes",
            "vote_no",
            "vote_abstain",
            "vote_text",
            "responsible",
            "due",
        ]
        widgets = {"text": forms.Textarea(attrs={"rows": 2, "class": "auto-grow"})}

    @classmethod
    def prepare_fields(cls, fields):
        super().prepare_fields(fields)
        for name in ("vote_yes", "vote_no", "vote_abstain"):
            fields[name].widget.attrs["min"] = 0
            fields[name].widget.attrs["inputmode"] = "numeric"

    def clean(self):
        cleaned = super().clean()
        if wording.vote_taken(*(cleaned.get(f"vote_{name}") for name in wording.VOTE_FIELDS)):
            cleaned["voted"] = True
        return cleaned


class ParticipantForm(RowForm):
    radio_buttons = True  # the attendance is a button group of real radio inputs
    status = forms.ChoiceField(
        label=_("attendance"),
        choices=Participant.Status.choices,
        widget=forms.RadioSelect,
        required=False,
    )

    class Meta:
        model = Participant
        fields = [
            "name",
            "organisation",
            "function",
            "status",
            "voting",
            "substitute_for",
            "arrived",
            "left",
        ]
        widgets = {"voting": forms.NullBooleanSelect}

    def clean(self):
        cleaned = super().clean()
        arrived, left = cleaned.get("arrived"), cleaned.get("left")
        if arrived and left and left <= arrived:
            self.add_error(
                "left", ValidationError(_("Must be after arrival."), code="left_before_arrived")
            )
        if cleaned.get("name") and not cleaned.get("status") and self.has_changed():
            self.add_error(
                "status", ValidationError(_("Please choose the attendance."), code="required")
            )
        return cleaned


class AttachmentForm(RowForm):
    class Meta:
        model = Attachment
        fields = ["name", "file"]
        # A plain file input: Django's clearable one links the stored file under
        # MEDIA_URL, which is not served (attachments download through an
        # access-checked view, linked by the editor's template).
        widgets = {"file": forms.FileInput}

    def lost_upload(self):
        """The name of a file chosen in a submit that saved nothing, the file itself
        being fine: browsers do not send it again, so it must be chosen again."""
        if not self.is_bound or self.errors.get("file"):
            return ""
        return getattr(self.files.get(self.add_prefix("file")), "name", "") or ""

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if not upload or not hasattr(upload, "content_type"):
            return upload  # nothing new uploaded
        uploads.validate(upload)
        return upload


class AgendaFormSet(EditorFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        # The numbers as they will be printed must be unique.
        outline = sorted(
            (
                form
                for form in self.forms
                if form.cleaned_data and not self._should_delete_form(form)
            ),
            key=lambda form: form.cleaned_data["order"],
        )
        previous_level = -1
        for form in outline:
            level = form.cleaned_data["level"]
            if level > previous_level + 1:
                form.add_error(
                    "level",
                    ValidationError(
                        _("An item can be at most one level deeper than the item above it."),
                        code="level_jump",
                    ),
                )
            previous_level = level
        printed = {}
        for form, number in zip(outline, outline_numbers(outline), strict=True):
            if number in printed:
                form.add_error(
                    "number",
                    ValidationError(
                        _("The number %(number)s is used twice."),
                        code="number_twice",
                        params={"number": number},
                    ),
                )
            printed[number] = form


class AttachmentRows(EditorFormSet):
    def lost_uploads(self):
        """Files chosen in this submit that must be chosen again (see AttachmentForm)."""
        return [name for form in self.forms if (name := form.lost_upload())]


def outline_numbers(forms_in_order):
    """Printed numbers of an outline of item forms, as ``build_agenda`` would print them."""
    return wording.outline_numbers(
        [(form.cleaned_data["level"], form.cleaned_data.get("number")) for form in forms_in_order]
    )


def formset(model, form, formset_class=EditorFormSet):
    return modelformset_factory(model, form=form, formset=formset_class, extra=0, can_delete=True)


AgendaItemFormSet = formset(AgendaItem, AgendaItemForm, AgendaFormSet)
PresenterFormSet = formset(Presenter, PresenterForm)
ResultFormSet = formset(Result, ResultForm)
ParticipantFormSet = formset(Participant, ParticipantForm)
AttachmentFormSet = formset(Attachment, AttachmentForm, AttachmentRows)


# --- the workflow -----------------------------------------------------------------------


class ResponseForm(forms.Form):
    """A member's answer to circulated minutes."""

    kind = forms.ChoiceField(
        label=_("Your response"),
        choices=[
            ("agree", _("I agree with these minutes")),
            ("objection", _("I ask for a correction")),
        ],
        widget=forms.RadioSelect,
    )
    text = forms.CharField(
        label=_("What should be corrected?"),
        required=False,
        max_length=RESPONSE_TEXT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    agenda_item = forms.ChoiceField(label=_("Concerns agenda item"), required=False)

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agenda_item"].choices = [("", _("the whole minutes"))] + [
            (item.pk, f"{item.printed_number} {item.title[:80]}") for item in items
        ]
        self.helper = FormHelper()
        self.helper.form_tag = False
        self.helper.disable_csrf = True

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == "objection" and not (cleaned.get("text") or "").strip():
            self.add_error(
                "text", ValidationError(_("Please say what should be corrected."), code="required")
            )
        return cleaned


class CirculationForm(forms.Form):
    """Start the confirmation by circulation (Umlaufverfahren)."""

    deadline = forms.DateField(label=_("Members confirm in writing until"), widget=DateInput)


class ApprovalForm(forms.Form):
    """What this meeting decided on earlier minutes."""

    approved_meeting = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(
        label=_("Decision"), choices=Approval.Outcome.choices, widget=forms.RadioSelect
    )
    yes = vote_count(_("yes"))
    no = vote_count(_("no"))
    abstain = vote_count(_("abstentions"))
    vote_text = forms.CharField(label=_("vote as text"), required=False, max_length=200)
    note = forms.CharField(label=_("note"), required=False, max_length=APPROVAL_NOTE_MAX_LENGTH)
    objections_considered = forms.BooleanField(
        label=_("The meeting dealt with the open objections"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _bootstrap_classes(type(self), self.fields)
