"""The editor's own view: the decision on earlier minutes travels with the editor's save."""

import pytest
from django.urls import reverse

from protokolle import workflow
from protokolle.models import Approval, Meeting, Membership, Result

from .html_forms import form_data
from .test_workflow import later_meeting, make_meeting, user_with

pytestmark = pytest.mark.django_db


@pytest.fixture
def earlier(reference_document):
    return make_meeting(reference_document)


def editor_form(client, draft):
    response = client.get(reverse("protokolle:meeting_edit", args=[draft.pk]))
    assert response.status_code == 200
    return form_data(response.content)


def test_recording_the_decision_saves_the_editor_input_too(client, earlier, reference_document):
    writer = user_with(earlier.body, Membership.Role.MINUTE_TAKER)
    workflow.circulate(earlier.pk, writer)
    deciding = later_meeting(earlier, reference_document)
    client.force_login(writer)
    data = editor_form(client, deciding)
    data["meeting-location"] = "Cottbus, Rathaus"  # typed but not saved yet
    data[f"approval-{earlier.pk}-outcome"] = Approval.Outcome.APPROVED
    data[f"approval-{earlier.pk}-yes"] = "12"
    data["approve"] = str(earlier.pk)

    response = client.post(
        reverse("protokolle:meeting_edit", args=[deciding.pk]), data, follow=True
    )

    assert response.status_code == 200
    assert Meeting.objects.get(pk=deciding.pk).location == "Cottbus, Rathaus"
    assert Approval.objects.filter(meeting=deciding, approved_meeting=earlier).exists()
    # The vote is part of the decision bullet written under item 1.
    assert Result.objects.filter(agenda_item__meeting=deciding, vote_yes=12).exists()
    assert Meeting.objects.get(pk=earlier.pk).status == Meeting.Status.CONFIRMED
    texts = [str(m) for m in response.context["messages"]]
    assert "Gespeichert." in texts
    assert "Der Beschluss ist erfasst und unter TOP 1 eingetragen." in texts


def test_a_refused_decision_still_keeps_the_saved_input(client, earlier, reference_document):
    writer = user_with(earlier.body, Membership.Role.MINUTE_TAKER)
    workflow.circulate(earlier.pk, writer)
    deciding = later_meeting(earlier, reference_document)
    client.force_login(writer)
    data = editor_form(client, deciding)
    data["meeting-location"] = "Cottbus, Rathaus"
    data[f"approval-{earlier.pk}-outcome"] = Approval.Outcome.APPROVED
    data[f"approval-{earlier.pk}-yes"] = "-3"
    data["approve"] = str(earlier.pk)

    response = client.post(
        reverse("protokolle:meeting_edit", args=[deciding.pk]), data, follow=True
    )

    assert Meeting.objects.get(pk=deciding.pk).location == "Cottbus, Rathaus"
    assert not Approval.objects.filter(meeting=deciding, approved_meeting=earlier).exists()
    assert Meeting.objects.get(pk=earlier.pk).status == Meeting.Status.CIRCULATED
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert errors and "nicht festgehalten" in errors[0]


def test_the_editors_widgets_are_written_as_djangos_templates_write_them(minutes):
    """The widgets written in Python (forms.FastWidgets) give Django's Jinja2 HTML."""
    from django.forms.renderers import Jinja2

    from protokolle import forms
    from protokolle.editor import Editor

    meeting = minutes()
    result = meeting.agenda_items.first().results.first()
    result.text = "Text mit <b>Zeichen</b> & \"Anführung\" 'einfach'"
    result.save()
    editor = Editor(meeting)
    templates, compared = set(), 0
    for formset in editor.formsets:
        for form in formset.forms:
            for field in form:
                html = {}
                for renderer in (Jinja2(), forms.JINJA2_RENDERER):
                    form.renderer = renderer
                    html[renderer] = str(field) + field.as_hidden()
                assert len(set(html.values())) == 1, html
                templates.add(field.field.widget.template_name)
                compared += 1
    assert compared > 100
    # Every kind the editor renders in Python was compared.
    assert set(forms.WIDGETS_IN_PYTHON) & templates >= {
        "django/forms/widgets/text.html",
        "django/forms/widgets/textarea.html",
        "django/forms/widgets/checkbox.html",
        "django/forms/widgets/number.html",
    }
    assert "django/forms/widgets/select.html" in templates


def test_rows_write_their_fields_as_the_field_template_does(minutes):
    """``form.html.<name>`` (forms.field_html) gives templates/includes/field.html's HTML,
    with help text and errors."""
    from django.template.loader import render_to_string

    from protokolle import forms

    form = forms.ResultForm(
        data={"r-kind": "decision", "r-text": "<b>Text</b>", "r-vote_yes": "-1"},
        prefix="r",
    )
    assert form.errors
    checked = 0
    others = (forms.PresenterForm(prefix="p"), forms.AgendaItemForm(prefix="i"))
    for formclass_form in (form, *others):
        for name, options in formclass_form.layout.items():
            expected = render_to_string(
                "includes/field.html", {"field": formclass_form[name], **options}
            )
            assert str(formclass_form.html[name]) == expected, name
            checked += 1
    assert checked == 17
    assert "has-error" in str(form.html["vote_yes"])
    assert "_helptext" in str(form.html["vote_text"])


@pytest.mark.parametrize(
    "value",
    ["plain", "a & b", "<b>x</b>", "\"quoted\" and 'single'", "„Anführung“ & <", 42, 0],
)
def test_the_rows_escape_as_markupsafe_and_django_do(value):
    from django.utils.html import conditional_escape
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext_lazy
    from markupsafe import escape

    from protokolle import forms

    assert forms._escape(value) == str(escape(value))
    assert forms._escape(value, forms.DJANGO_QUOTES) == conditional_escape(value)
    # What is HTML already stays as it is; lazy text is escaped as text.
    assert forms._escape(mark_safe(f"<i>{value}</i>")) == f"<i>{value}</i>"
    lazy = gettext_lazy(str(value))
    assert forms._escape(lazy, forms.DJANGO_QUOTES) == conditional_escape(lazy)


@pytest.mark.django_db
def test_the_jinja2_rows_escape_what_they_show():
    """The rows' own values (here the printed number, which a writer can fix by hand)
    are escaped: Django's Jinja2 backend turns autoescape on."""
    from django.template import engines

    from protokolle import forms
    from protokolle.models import AgendaItem

    empty = forms.AgendaItemFormSet(queryset=AgendaItem.objects.none(), prefix="items")
    row = engines["jinja2"].get_template("protokolle/editor/agenda_item.html")
    html = row.render({"form": empty.empty_form, "key": "1", "number": "<b>1</b>"})
    assert "&lt;b&gt;1&lt;/b&gt;" in html
    assert "<b>1</b>" not in html
