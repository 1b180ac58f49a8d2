"""The row forms' fields are prepared once per class and language (forms.PreparedFields);
each form must still get fields of its own."""

from django.utils import translation

from protokolle import forms


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


def test_fields_are_prepared_as_before_classes_dates_and_loaded_values():
    form = forms.ResultForm()
    assert form.fields["text"].widget.attrs["class"] == "form-control form-control-sm auto-grow"
    assert form.fields["kind"].widget.attrs["class"] == "form-select form-select-sm"
    assert form.fields["due"].widget.input_type == "date"
    assert form.fields["vote_yes"].widget.attrs["inputmode"] == "numeric"
    assert all(field.show_hidden_initial for field in form.fields.values())
    # Not prepared twice: the classes are not repeated.
    assert forms.ResultForm().fields["text"].widget.attrs["class"].count("form-control ") == 1


def test_labels_follow_the_language_of_the_request():
    with translation.override("de"):
        german = forms.PresenterForm().fields["name"].widget.attrs["placeholder"]
    with translation.override("en"):
        english = forms.PresenterForm().fields["name"].widget.attrs["placeholder"]
    assert english == "Presenter"
    assert german != english
