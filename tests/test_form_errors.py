"""Input the editor refuses comes back as messages on the page, never as a server error.

Issue 12, finding 6: an upload together with any other validation error (the page
linked the unsaved attachment: NoReverseMatch), a NUL in an attachment's name (which
PostgreSQL refuses in text), and vote counts like 99999999999 (DataError on PostgreSQL).
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape

from protokolle import forms, workflow
from protokolle.models import Approval, Attachment, Meeting, Result

from .factories import writer_of
from .html_forms import form_data

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7 demo"


@pytest.fixture
def meeting(minutes):
    return minutes()


@pytest.fixture
def writer(meeting):
    return writer_of(meeting.body)


def edit_url(meeting):
    return reverse("protokolle:meeting_edit", args=[meeting.pk])


def load(client, meeting):
    response = client.get(edit_url(meeting))
    assert response.status_code == 200
    return form_data(response.content)


def blank_row(data, prefix):
    """The prefix of the blank row (for use without JavaScript) of a formset."""
    return next(
        name.removesuffix("-id")
        for name, value in data.items()
        if name.startswith(f"{prefix}-") and name.endswith("-id") and not value
    )


def saved_row(data, prefix):
    """The prefix of the first row of a formset that is already saved."""
    return next(
        name.removesuffix("-id")
        for name, value in data.items()
        if name.startswith(f"{prefix}-") and name.endswith("-id") and value
    )


def with_times_reversed(data):
    """Another validation error elsewhere on the page: the meeting ends before it starts."""
    data["meeting-start"] = "12:00"
    data["meeting-end"] = "11:00"
    return data


def error_codes(form):
    return {code for errors in form.errors.as_data().values() for code in _codes(errors)}


def _codes(errors):
    return [error.code for error in errors]


def attachment_form(response, index):
    return response.context["editor"].attachment_formset.forms[index]


# --- an upload together with another error ---------------------------------------------


def test_an_upload_with_another_error_shows_the_messages_and_keeps_the_input(
    client, meeting, writer
):
    client.force_login(writer)
    data = with_times_reversed(load(client, meeting))
    row = blank_row(data, "attachments")
    data[f"{row}-name"] = "Präsentation DABB"
    data[f"{row}-file"] = SimpleUploadedFile("praesentation.pdf", PDF, "application/pdf")

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    page = response.content.decode()
    meeting_form = response.context["editor"].meeting_form
    assert "end_before_start" in error_codes(meeting_form)
    assert escape(meeting_form.errors["end"][0]) in page
    assert 'id="form-errors"' in page
    # The typed name stays; the file must be chosen again, and the page says so.
    assert 'value="Präsentation DABB"' in page
    assert "praesentation.pdf" in page
    assert '<details class="attachments" open>' in page
    # Nothing is saved, so nothing is linked.
    assert not Attachment.objects.filter(meeting=meeting).exists()
    assert "/attachments/" not in page


def test_a_new_file_for_a_saved_attachment_with_another_error_links_the_stored_file(
    client, meeting, writer
):
    attachment = Attachment(meeting=meeting, name="Bericht")
    attachment.file.save("bericht.pdf", SimpleUploadedFile("bericht.pdf", PDF))
    stored = attachment.file.name
    client.force_login(writer)
    data = with_times_reversed(load(client, meeting))
    row = saved_row(data, "attachments")
    data[f"{row}-file"] = SimpleUploadedFile("neue-fassung.pdf", PDF, "application/pdf")

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    page = response.content.decode()
    link = reverse("protokolle:attachment", args=[attachment.pk])
    assert f'<a class="small" href="{link}">{stored}</a>' in page
    # The download link is the access-checked view's, never the storage's own address.
    assert "/media/" not in page
    assert "neue-fassung.pdf" in page  # in the hint to choose it again
    assert Attachment.objects.get(pk=attachment.pk).file.name == stored


def test_a_refused_upload_with_another_error_shows_both_messages(client, meeting, writer):
    client.force_login(writer)
    data = with_times_reversed(load(client, meeting))
    row = blank_row(data, "attachments")
    data[f"{row}-name"] = "Getarnt"
    data[f"{row}-file"] = SimpleUploadedFile("getarnt.pdf", b"<html>", "application/pdf")

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    form = attachment_form(response, int(row.split("-")[1]))
    assert error_codes(form) == {"content"}
    assert escape(form.errors["file"][0]) in response.content.decode()
    assert form.lost_upload() == ""  # its own error says enough
    assert "end_before_start" in error_codes(response.context["editor"].meeting_form)


def test_a_zip_bomb_upload_is_a_message(client, meeting, writer):
    from .test_uploads import odt_bomb

    client.force_login(writer)
    data = load(client, meeting)
    row = blank_row(data, "attachments")
    data[f"{row}-name"] = "Bombe"
    data[f"{row}-file"] = SimpleUploadedFile("bombe.odt", odt_bomb(200))

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    assert error_codes(attachment_form(response, int(row.split("-")[1]))) == {"content"}


# --- NUL characters -----------------------------------------------------------------------


def test_a_nul_in_an_attachments_name_is_a_form_error(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    row = blank_row(data, "attachments")
    data[f"{row}-name"] = "Präsen\x00tation"
    data[f"{row}-file"] = SimpleUploadedFile("praesentation.pdf", PDF, "application/pdf")

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    form = attachment_form(response, int(row.split("-")[1]))
    assert error_codes(form) == {"null_characters_not_allowed"}
    assert not Attachment.objects.filter(meeting=meeting).exists()


def test_a_nul_in_a_files_name_never_reaches_the_database(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    row = blank_row(data, "attachments")
    data[f"{row}-name"] = "Präsentation"
    data[f"{row}-file"] = SimpleUploadedFile("praesen\x00tation.pdf", PDF, "application/pdf")

    response = client.post(edit_url(meeting), data)

    # Django's upload parser drops the NUL; the upload check refuses names that
    # reach it another way (tests/test_uploads.py).
    assert response.status_code == 302
    attachment = Attachment.objects.get(meeting=meeting)
    assert "\x00" not in attachment.name + attachment.file.name


@pytest.mark.parametrize(
    ("prefix", "field"),
    [
        ("meeting", "location"),
        ("items", "title"),
        ("results", "text"),
        ("presenters", "name"),
        ("attachments", "name"),
    ],
)
def test_a_nul_in_any_text_of_the_editor_is_a_form_error(client, meeting, writer, prefix, field):
    Attachment.objects.create(meeting=meeting, name="Bericht")
    client.force_login(writer)
    data = load(client, meeting)
    name = f"meeting-{field}" if prefix == "meeting" else f"{saved_row(data, prefix)}-{field}"
    data[name] = "vor\x00nach"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    refused = [
        form
        for form in _all_forms(response.context["editor"])
        if "null_characters_not_allowed" in error_codes(form)
    ]
    assert len(refused) == 1


def _all_forms(editor):
    yield editor.meeting_form
    for formset in editor.formsets:
        yield from formset.forms


# --- vote counts --------------------------------------------------------------------------


@pytest.mark.parametrize("count", ["99999999999", "100001", "9" * 5000, "-1"])
def test_an_impossible_vote_count_on_a_result_is_a_form_error(client, meeting, writer, count):
    client.force_login(writer)
    data = load(client, meeting)
    row = saved_row(data, "results")
    data[f"{row}-vote_yes"] = count
    before = list(Result.objects.values_list("pk", "vote_yes"))

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    form = next(
        form for form in response.context["editor"].result_formset.forms if form.prefix == row
    )
    assert set(form.errors) == {"vote_yes"}
    assert escape(form.errors["vote_yes"][0]) in response.content.decode()
    assert list(Result.objects.values_list("pk", "vote_yes")) == before


def test_the_largest_vote_count_is_saved(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    row = saved_row(data, "results")
    data[f"{row}-vote_yes"] = str(forms.MAX_VOTES)

    assert client.post(edit_url(meeting), data).status_code == 302
    assert Result.objects.filter(vote_yes=forms.MAX_VOTES).count() == 1


def test_the_vote_count_messages_name_the_limit():
    form = forms.ApprovalForm({"approved_meeting": "1", "outcome": "approved", "yes": "100001"})
    assert not form.is_valid()
    assert str(forms.MAX_VOTES) in form.errors["yes"][0]
    form = forms.ApprovalForm({"approved_meeting": "1", "outcome": "approved", "no": "-1"})
    assert not form.is_valid()
    assert form.errors.as_data()["no"][0].code == "min_value"


@pytest.fixture
def circulated_and_later(minutes):
    """Circulated minutes, a later draft of the same body that decides on them, and its
    minute-taker."""
    earlier = minutes(alone=True)
    user = writer_of(earlier.body)
    workflow.circulate(earlier.pk, user)
    return earlier, minutes(number=28, date="2022-12-01", alone=True), user


@pytest.mark.parametrize("count", ["99999999999", "9" * 5000])
def test_an_impossible_vote_count_on_a_decision_is_a_message(client, circulated_and_later, count):
    earlier, deciding, user = circulated_and_later
    client.force_login(user)
    data = load(client, deciding)
    data["meeting-location"] = "Cottbus, Rathaus"
    data[f"approval-{earlier.pk}-outcome"] = Approval.Outcome.APPROVED
    data[f"approval-{earlier.pk}-yes"] = count
    data["approve"] = str(earlier.pk)

    response = client.post(edit_url(deciding), data, follow=True)

    assert response.status_code == 200
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1
    # The message says what was wrong, and where: the limit, or that it is no whole
    # number, at "Ja"; not a request to choose the decision that was chosen.
    assert ("100000" if len(count) < 20 else "ganze Zahl") in errors[0].replace(".", "")
    assert errors[0].startswith("Ihre Eingaben sind gespeichert, der Beschluss aber ist nicht")
    assert " Ja: " in errors[0]
    assert "wählen" not in errors[0]
    assert not Approval.objects.filter(meeting=deciding, approved_meeting=earlier).exists()
    assert not Result.objects.filter(vote_yes__gt=forms.MAX_VOTES).exists()
    assert Meeting.objects.get(pk=earlier.pk).status == Meeting.Status.CIRCULATED
    # The other input of the same submit is saved.
    assert Meeting.objects.get(pk=deciding.pk).location == "Cottbus, Rathaus"


def test_the_decisions_vote_inputs_carry_the_limit(client, circulated_and_later):
    earlier, deciding, user = circulated_and_later
    client.force_login(user)
    page = client.get(edit_url(deciding)).content.decode()
    for kind in ("yes", "no", "abstain"):
        assert f'max="{forms.MAX_VOTES}" name="approval-{earlier.pk}-{kind}"' in page
