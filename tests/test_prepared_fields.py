"""The row forms' fields are prepared once per class and language (forms.PreparedFields),
each form must still get fields of its own; a row posts its values as loaded in one input.
"""

import json

import pytest
from django.urls import reverse
from django.utils import translation

from protokolle import forms
from protokolle.models import Result

from .factories import writer_of
from .html_forms import form_data


def test_each_row_form_has_fields_and_widgets_of_its_own():
    first, second = forms.ResultForm(prefix="a"), forms.ResultForm(prefix="b")
    first.fields["text"].widget.attrs["data-x"] = "1"
    first.fields["text"].label = "changed"
    first.fields["item_key"].widget = forms.forms.Select(choices=[("1", "one")])
    first.fields["kind"].choices = [("decision", "only this")]

    assert "data-x" not in second.fields["text"].widget.attrs
    assert second.fields["text"].label != "changed"
    assert isinstance(second.fields["item_key"].widget, forms.forms.HiddenInput)
    assert len(second.fields["kind"].choices) > 1
    third = forms.ResultForm(prefix="c")
    assert "data-x" not in third.fields["text"].widget.attrs
    assert len(third.fields["kind"].choices) > 1
    # The choices are copied without Django's deep copy: still a list of each form's own.
    third.fields["kind"].choices.append(("extra", "Extra"))
    third.fields["kind"].widget.choices.append(("extra", "Extra"))
    fourth = forms.ResultForm(prefix="d")
    assert ("extra", "Extra") not in fourth.fields["kind"].choices
    assert ("extra", "Extra") not in fourth.fields["kind"].widget.choices


def test_an_error_added_after_the_field_was_read_is_shown():
    """A row's field keeps its empty error list, but errors added later come first."""
    form = forms.ResultForm(
        data={"r-kind": "decision", "r-text": "Beschlossen.", "r-item_key": "1"},
        prefix="r",
    )
    assert form.is_valid(), form.errors
    assert not form["text"].errors
    form.add_error("text", "Changed meanwhile.")
    assert list(form["text"].errors) == ["Changed meanwhile."]
    assert "Changed meanwhile." in str(form.html["text"])


def test_fields_are_prepared_as_before_classes_dates_and_loaded_values():
    form = forms.ResultForm()
    assert form.fields["text"].widget.attrs["class"] == "form-control form-control-sm auto-grow"
    assert form.fields["kind"].widget.attrs["class"] == "form-select form-select-sm"
    assert form.fields["due"].widget.input_type == "date"
    assert form.fields["vote_yes"].widget.attrs["inputmode"] == "numeric"
    # Values as loaded go in one input per row (loaded_input), not one per field.
    assert not any(field.show_hidden_initial for field in form.fields.values())
    # Not prepared twice: the classes are not repeated.
    assert forms.ResultForm().fields["text"].widget.attrs["class"].count("form-control ") == 1


def test_labels_follow_the_language_of_the_request():
    with translation.override("de"):
        german = forms.PresenterForm().fields["name"].widget.attrs["placeholder"]
    with translation.override("en"):
        english = forms.PresenterForm().fields["name"].widget.attrs["placeholder"]
    assert english == "Presenter"
    assert german != english
    with translation.override("de"):
        german_kinds = dict(forms.ResultForm().fields["kind"].widget.choices)
    with translation.override("en"):
        english_kinds = dict(forms.ResultForm().fields["kind"].widget.choices)
    assert (german_kinds["decision"], english_kinds["decision"]) == ("Beschluss", "decision")


def loaded_of(data, prefix):
    return json.loads(data[f"{prefix}-loaded"])


@pytest.fixture
def editor_page(client, minutes):
    meeting = minutes()
    client.force_login(writer_of(meeting.body))
    url = reverse("protokolle:meeting_edit", args=[meeting.pk])
    response = client.get(url)
    assert response.status_code == 200
    return meeting, url, form_data(response.content)


def result_prefix(data, text):
    names = [n for n, v in data.items() if n.startswith("results-") and v == text]
    assert len(names) == 1, names
    return names[0].rsplit("-", 1)[0]


@pytest.mark.django_db
def test_each_row_posts_its_values_as_loaded_in_one_input(editor_page):
    meeting, _url, data = editor_page
    result = Result.objects.filter(agenda_item__meeting=meeting).order_by("pk").first()
    prefix = result_prefix(data, result.text)
    loaded = loaded_of(data, prefix)
    assert loaded["text"] == result.text
    assert loaded["kind"] == result.kind
    assert loaded["item_key"] == str(result.agenda_item_id)
    assert not [name for name in data if name.startswith("initial-results-")]


@pytest.mark.django_db
def test_a_row_changed_meanwhile_is_a_conflict_and_an_unchanged_one_is_not(client, editor_page):
    meeting, url, data = editor_page
    first, second = dict(data), dict(data)
    results = Result.objects.filter(agenda_item__meeting=meeting).order_by("pk")
    changed, untouched = results[0], results[1]
    prefix = result_prefix(data, changed.text)
    first[f"{prefix}-text"] = "Fassung A"
    assert client.post(url, first).status_code == 302

    # The other writer changed a different field of the same row: no conflict.
    second[f"{prefix}-responsible"] = "Geschäftsstelle"
    assert client.post(url, second).status_code == 302
    changed.refresh_from_db()
    assert (changed.text, changed.responsible) == ("Fassung A", "Geschäftsstelle")

    # The same field, from the page as loaded before Fassung A: a conflict, nothing saved.
    second[f"{prefix}-text"] = "Fassung B"
    response = client.post(url, second)
    assert response.status_code == 409
    changed.refresh_from_db()
    assert changed.text == "Fassung A"
    untouched_before = untouched.text
    untouched.refresh_from_db()
    assert untouched.text == untouched_before

    # The page shown again counts Fassung A as seen: saving again keeps Fassung B.
    again = form_data(response.content)
    assert loaded_of(again, prefix)["text"] == "Fassung A"
    assert client.post(url, again).status_code == 302
    changed.refresh_from_db()
    assert changed.text == "Fassung B"


@pytest.mark.django_db
@pytest.mark.parametrize("loaded", ["not json", "[1, 2]", '{"text": 5}', ""])
def test_a_broken_loaded_input_is_asked_about_and_loses_nothing(client, editor_page, loaded):
    """Without the values as loaded, a typed change may overwrite someone else's: the
    page asks (a conflict, the input kept), and the next save takes the input."""
    meeting, url, data = editor_page
    result = Result.objects.filter(agenda_item__meeting=meeting).order_by("pk").first()
    before = result.text
    prefix = result_prefix(data, result.text)
    data[f"{prefix}-loaded"] = loaded
    data[f"{prefix}-text"] = "Neu getippt"
    response = client.post(url, data)
    assert response.status_code == 409
    assert "Neu getippt" in response.content.decode()
    result.refresh_from_db()
    assert result.text == before
    assert client.post(url, form_data(response.content)).status_code == 302
    result.refresh_from_db()
    assert result.text == "Neu getippt"


@pytest.mark.django_db
def test_prepared_fields_do_not_pile_up_request_after_request(client, editor_page):
    _meeting, url, _data = editor_page
    client.get(url)
    made = len(forms.PreparedFields._made)
    for _ in range(3):
        assert client.get(url).status_code == 200
    assert len(forms.PreparedFields._made) == made


def test_a_form_class_made_at_run_time_takes_its_prepared_fields_with_it():
    import gc

    from django.forms.models import modelform_factory

    made = modelform_factory(Result, form=forms.ResultForm, fields=["text"])
    made(prefix="x")
    assert made in forms.PreparedFields._made
    count = len(forms.PreparedFields._made)
    del made
    gc.collect()
    assert len(forms.PreparedFields._made) == count - 1
