import copy
import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from protokolle import access, drafting, exchange, workflow
from protokolle.editor import Editor
from protokolle.models import (
    AgendaItem,
    Meeting,
    Participant,
    Presenter,
    Result,
    build_agenda,
    flatten_agenda,
)

from .factories import BodyFactory, MembershipFactory, PersonFactory, user_in, writer_of
from .html_forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(minutes):
    return minutes()


@pytest.fixture
def writer(meeting):
    return writer_of(meeting.body, name="Alexander Boldt")


@pytest.fixture
def member(meeting):
    return user_in(meeting.body, name="Katja Boll")


@pytest.fixture
def outsider():
    """A minute-taker of another body."""
    return writer_of(BodyFactory())


def edit_url(meeting):
    return reverse("protokolle:meeting_edit", args=[meeting.pk])


def load(client, meeting):
    response = client.get(edit_url(meeting))
    assert response.status_code == 200
    return form_data(response.content)


def field_name(data, suffix, value, prefix=""):
    """The posted name ending in ``suffix`` whose value is ``value`` (e.g. a title)."""
    names = [
        name
        for name, v in data.items()
        if name.endswith(suffix)
        and name.startswith(prefix)
        and not name.startswith("initial-")
        and v == value
    ]
    assert len(names) == 1, (suffix, value, names)
    return names[0]


def prefix_of(name):
    return name.rsplit("-", 1)[0]


# --- access -----------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client, meeting):
    response = client.get(edit_url(meeting))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_members_of_another_body_get_404(client, meeting, outsider):
    client.force_login(outsider)
    assert client.get(edit_url(meeting)).status_code == 404
    assert client.post(edit_url(meeting), {}).status_code == 404


def test_members_may_read_but_not_edit(client, meeting, member):
    client.force_login(member)
    assert client.get(reverse("protokolle:meeting_detail", args=[meeting.pk])).status_code == 200
    assert client.get(edit_url(meeting)).status_code == 403
    assert client.post(edit_url(meeting), {}).status_code == 403


def test_the_minute_taker_edits(client, meeting, writer):
    client.force_login(writer)
    assert client.get(edit_url(meeting)).status_code == 200


@pytest.mark.parametrize("status", ["circulated", "confirmed"])
def test_only_drafts_are_editable(client, minutes, status):
    meeting = minutes(status=status)
    writer = writer_of(meeting.body)
    client.force_login(writer)

    response = client.get(edit_url(meeting), follow=True)

    assert response.redirect_chain[-1][0] == reverse("protokolle:meeting_detail", args=[meeting.pk])
    assert "nicht mehr bearbeitet" in response.content.decode()


# --- queries ----------------------------------------------------------------------------


def big_document(reference_document, items=60, results=5):
    document = copy.deepcopy(reference_document)
    document["meeting"]["number"] = 99
    document["meeting"]["agenda"] = [
        {
            "title": f"Punkt {n}",
            "presenters": [{"name": "Katja Boll"}],
            "results": [{"text": f"Ergebnis {n}.{r}"} for r in range(results)],
        }
        for n in range(items)
    ]
    return document


@pytest.mark.parametrize("url_name", ["protokolle:meeting_edit", "protokolle:minutes_preview"])
def test_editor_and_preview_cost_the_same_queries_for_3_and_60_items(
    client, reference_document, writer, url_name, django_assert_num_queries
):
    small_document = copy.deepcopy(reference_document)
    small_document["meeting"]["number"] = 3
    small_document["meeting"]["agenda"] = small_document["meeting"]["agenda"][:3]
    small = workflow.import_minutes(small_document)
    large = workflow.import_minutes(big_document(reference_document))
    client.force_login(writer)
    counts = []
    for meeting in (small, large):
        client.get(reverse(url_name, args=[meeting.pk]))  # warm the session
        expected = 14 if url_name == "protokolle:meeting_edit" else 11
        with django_assert_num_queries(expected) as captured:
            response = client.get(reverse(url_name, args=[meeting.pk]))
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_a_meeting_of_60_items_with_5_results_each_saves(client, reference_document, writer):
    large = workflow.import_minutes(big_document(reference_document))
    client.force_login(writer)
    data = load(client, large)
    data["meeting-location"] = "Großer Saal"

    response = client.post(edit_url(large), data)

    assert response.status_code == 302
    assert Meeting.objects.get(pk=large.pk).location == "Großer Saal"


# --- saving -----------------------------------------------------------------------------


def test_saving_the_unchanged_page_changes_nothing(client, meeting, writer):
    client.force_login(writer)
    before = exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk))

    response = client.post(edit_url(meeting), load(client, meeting))

    assert response.status_code == 302
    assert exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk)) == before
    assert Meeting.objects.get(pk=meeting.pk).version == meeting.version + 1


def test_it_saves_general_fields_results_and_votes(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    data["meeting-location"] = "Rathaus Cottbus, Saal 1"
    text = field_name(
        data, "-text", "Das Protokoll 6. Sitzung vom 07.12.2021 wird angenommen und bestätigt."
    )
    row = prefix_of(text)
    data[f"{row}-vote_yes"] = "16"
    data[f"{row}-vote_no"] = "0"
    data[f"{row}-vote_abstain"] = "1"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 302
    document = exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk))
    assert document["meeting"]["location"] == "Rathaus Cottbus, Saal 1"
    assert document["meeting"]["agenda"][0]["results"][1]["vote"] == {
        "yes": 16,
        "no": 0,
        "abstain": 1,
        "text": None,
    }


def assert_kept(response, *values):
    page = response.content.decode()
    for value in values:
        assert value in page, value


def test_end_before_start_is_shown_at_the_field_and_keeps_the_input(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    data["meeting-end"] = "09:00"
    data["meeting-location"] = "Neuer Ort, nicht verlieren"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    assert response.context["editor"].meeting_form.errors["end"]
    assert_kept(response, "Neuer Ort, nicht verlieren", 'value="09:00"')
    assert Meeting.objects.get(pk=meeting.pk).location == "Online"


def test_a_due_date_that_is_no_date_is_shown_at_the_field(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    text = field_name(
        data, "-text", "Die nächste Werkstattsitzung wird für den 23.05.2022 angekündigt."
    )
    data[f"{prefix_of(text)}-due"] = "2022-02-30"
    data[text] = "Geänderter Text bleibt erhalten"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    errors = [f.errors for f in response.context["editor"].result_formset.forms if f.errors]
    assert "due" in errors[0]
    assert_kept(response, "Geänderter Text bleibt erhalten", "2022-02-30")


def test_negative_vote_counts_are_refused(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    text = field_name(
        data, "-text", "Das Protokoll 7. Sitzung vom 25.01.2022 wird angenommen und bestätigt."
    )
    data[f"{prefix_of(text)}-vote_no"] = "-2"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    assert not Result.objects.filter(voted=True).exists()


def test_an_agenda_number_used_twice_is_refused(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    title = field_name(data, "-title", "Sonstiges")
    data[f"{prefix_of(title)}-number"] = "3.1"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    assert "3.1" in response.content.decode()
    assert AgendaItem.objects.get(meeting=meeting, title="Sonstiges").number is None  # still 6


def test_a_meeting_number_used_in_the_body_is_refused(client, meeting, writer, minutes):
    minutes(number=9)
    client.force_login(writer)
    data = load(client, meeting)
    data["meeting-number"] = "9"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    assert response.context["editor"].meeting_form.errors["number"]


def blank_row(data, prefix):
    """The prefix of the blank row (for use without JavaScript) of a formset."""
    return next(
        name.removesuffix("-id")
        for name, value in data.items()
        if name.startswith(f"{prefix}-") and name.endswith("-id") and not value
    )


def test_a_new_result_is_added_to_an_item_without_javascript(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    row = blank_row(data, "results")
    data[f"{row}-item_key"] = str(
        AgendaItem.objects.get(meeting=meeting, parent=None, position=1).pk
    )
    data[f"{row}-text"] = "Neues Ergebnis zu TOP 2"

    assert client.post(edit_url(meeting), data).status_code == 302

    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    agenda = exchange.export_document(loaded)["meeting"]["agenda"]
    assert agenda[1]["results"][-1]["text"] == "Neues Ergebnis zu TOP 2"


def test_a_new_item_with_a_presenter_and_a_task_is_added_without_javascript(
    client, meeting, writer
):
    client.force_login(writer)
    data = load(client, meeting)
    new_item = blank_row(data, "items")
    data[f"{new_item}-title"] = "Verschiedenes"
    key = f"new-{new_item.split('-')[1]}"
    result = blank_row(data, "results")
    data.update(
        {
            f"{result}-item_key": key,
            f"{result}-text": "Ergebnis unter dem neuen Punkt",
            f"{result}-kind": "task",
            f"{result}-responsible": "WRL",
            f"{result}-due": "2022-04-30",
        }
    )
    presenter = blank_row(data, "presenters")
    data[f"{presenter}-item_key"] = key
    data[f"{presenter}-name"] = "Katja Boll"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 302
    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    agenda = exchange.export_document(loaded)["meeting"]["agenda"]
    assert agenda[-1]["title"] == "Verschiedenes"
    assert agenda[-1]["presenters"] == [
        {"name": "Katja Boll", "organisation": None, "function": None}
    ]
    assert agenda[-1]["results"] == [
        {
            "kind": "task",
            "text": "Ergebnis unter dem neuen Punkt",
            "vote": None,
            "responsible": "WRL",
            "due": "2022-04-30",
        }
    ]


def test_a_result_for_a_new_item_without_a_title_is_refused(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    new_item = blank_row(data, "items")
    result = blank_row(data, "results")
    data[f"{result}-item_key"] = f"new-{new_item.split('-')[1]}"
    data[f"{result}-text"] = "Nicht verlieren"

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 400
    assert "Nicht verlieren" in response.content.decode()
    assert "zuerst einen Titel" in response.content.decode()


def test_order_and_level_fields_move_and_nest_items_without_javascript(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    for name in [n for n in data if n.startswith("items-") and n.endswith("-number")]:
        data[name] = ""  # numbered from the position from now on
    sonstiges = prefix_of(field_name(data, "-title", "Sonstiges"))
    welcome = prefix_of(
        field_name(data, "-title", meeting.agenda_items.get(parent=None, position=0).title)
    )
    kita = prefix_of(
        field_name(
            data, "-title", "Soziale Infrastruktur: Ausblick zur Qualifizierung von Kita-Projekten"
        )
    )
    data[f"{sonstiges}-order"] = "0"
    data[f"{welcome}-order"] = "1"
    data[f"{kita}-level"] = "1"  # a sub-item of the item above it

    response = client.post(edit_url(meeting), data)

    assert response.status_code == 302
    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    outline = [
        (item.printed_number, item.title[:12])
        for item in flatten_agenda(build_agenda(loaded.agenda_items.all()))
    ]
    assert outline == [
        ("1", "Sonstiges"),
        ("2", "Begrüßung un"),
        ("3", "Vorstellung "),
        ("4", "Vorstellung "),
        ("5", "Diskussion u"),
        ("5.1", "Soziale Infr"),
        ("6", "Information "),
    ]


def test_deleting_a_result(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    text = field_name(
        data, "-text", "Die nächste Werkstattsitzung wird für den 23.05.2022 angekündigt."
    )
    data[f"{prefix_of(text)}-DELETE"] = "on"

    assert client.post(edit_url(meeting), data).status_code == 302
    assert not Result.objects.filter(text__startswith="Die nächste Werkstattsitzung").exists()


def test_attendance_is_taken_with_one_click_per_member(client, meeting, writer, member):
    client.force_login(writer)
    data = load(client, meeting)
    katja = prefix_of(field_name(data, "-name", "Katja Boll", prefix="participants-"))
    data[f"{katja}-status"] = "present"
    guest_rows = [
        prefix_of(n)
        for n, v in data.items()
        if n.startswith("participants-")
        and n.endswith("-name")
        and not v
        and not n.startswith("initial-")
    ]
    data[f"{guest_rows[-1]}-name"] = "Gisela Gast"
    data[f"{guest_rows[-1]}-organisation"] = "DABB"

    assert client.post(edit_url(meeting), data).status_code == 302

    participants = list(Participant.objects.filter(meeting=meeting).values_list("name", "status"))
    assert participants == [("Katja Boll", "present"), ("Gisela Gast", "guest")]
    assert Participant.objects.get(name="Katja Boll").person.user == member


# --- edit conflicts ---------------------------------------------------------------------


def test_two_writers_changing_different_fields_both_survive(client, meeting, writer):
    client.force_login(writer)
    first, second = load(client, meeting), load(client, meeting)
    first["meeting-location"] = "Cottbus, Stadthalle"
    sonstiges = field_name(second, "-title", "Sonstiges")
    second[sonstiges] = "Sonstiges und Termine"

    assert client.post(edit_url(meeting), first).status_code == 302
    assert client.post(edit_url(meeting), second).status_code == 302

    saved = Meeting.objects.get(pk=meeting.pk)
    assert saved.location == "Cottbus, Stadthalle"
    assert AgendaItem.objects.filter(meeting=meeting, title="Sonstiges und Termine").exists()


def test_a_conflict_keeps_the_input_shows_the_other_version_and_saves_on_resubmit(
    client, meeting, writer
):
    client.force_login(writer)
    first, second = load(client, meeting), load(client, meeting)
    text = field_name(
        first, "-text", "Die nächste Werkstattsitzung wird für den 23.05.2022 angekündigt."
    )
    first[text] = "Fassung A: Termin 23.05.2022"
    second[text] = "Fassung B: Termin 23.05.2022, 10 Uhr"
    second["meeting-location"] = "Fassung B Ort"

    assert client.post(edit_url(meeting), first).status_code == 302
    response = client.post(edit_url(meeting), second)

    assert response.status_code == 409
    page = response.content.decode()
    assert "Fassung A: Termin 23.05.2022" in page  # the other version is shown
    assert "Fassung B: Termin 23.05.2022, 10 Uhr" in page  # the own input is kept
    assert Result.objects.filter(text="Fassung A: Termin 23.05.2022").exists()
    assert Meeting.objects.get(pk=meeting.pk).location == "Online"

    merged = form_data(response.content)
    merged[text] = "Fassung A und B: Termin 23.05.2022, 10 Uhr"
    assert client.post(edit_url(meeting), merged).status_code == 302
    assert Result.objects.filter(text="Fassung A und B: Termin 23.05.2022, 10 Uhr").exists()
    assert Meeting.objects.get(pk=meeting.pk).location == "Fassung B Ort"


def test_a_row_deleted_meanwhile_is_not_brought_back(client, meeting, writer):
    client.force_login(writer)
    first, second = load(client, meeting), load(client, meeting)
    text = field_name(
        first, "-text", "Die nächste Werkstattsitzung wird für den 23.05.2022 angekündigt."
    )
    first[f"{prefix_of(text)}-DELETE"] = "on"
    second["meeting-location"] = "Anderer Ort"

    assert client.post(edit_url(meeting), first).status_code == 302
    assert client.post(edit_url(meeting), second).status_code == 302
    assert not Result.objects.filter(text__startswith="Die nächste Werkstattsitzung").exists()


# --- a new meeting ----------------------------------------------------------------------


def new_url(body):
    return reverse("protokolle:meeting_new", args=[body.pk])


def agenda_titles(meeting):
    return list(meeting.agenda_items.order_by("position").values_list("title", flat=True))


def shown_titles(response):
    return [item.title for item in response.context["agenda"]]


def test_a_new_meeting_is_proposed_from_the_records(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    client.force_login(writer)
    response = client.get(new_url(meeting.body))

    form = response.context["form"]
    assert form.initial["number"] == 9
    assert form.initial["location"] == "Online"
    assert form.initial["minute_taker_name"] == "Alexander Boldt"
    assert shown_titles(response) == [
        "Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022",
        "Sonstiges",
    ]
    page = response.content.decode()
    assert "Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022" in page
    assert "Sonstiges" in page


def test_the_proposed_date_is_the_announced_one_and_never_before_the_last_meeting(
    client, meeting, writer, minutes
):
    client.force_login(writer)
    # The 8th minutes announce the next meeting: 23.05.2022 at 10:00, online.
    form = client.get(new_url(meeting.body)).context["form"]
    assert form.initial["date"] == datetime.date(2022, 5, 23)
    assert form.initial["start"] == datetime.time(10, 0)

    # A meeting planned ahead and announcing nothing: the day is the writer's to choose,
    # not today (which comes before it); the page asks for it instead of an agenda.
    ahead = timezone.localdate() + datetime.timedelta(days=21)
    minutes(number=9, date=str(ahead), alone=True)
    response = client.get(new_url(meeting.body))
    assert response.status_code == 200
    assert response.context["form"].initial["date"] is None
    assert "Geben Sie ein gültiges Datum ein" in response.content.decode()


def new_meeting_data(**changes):
    data = {
        "number": "9",
        "date": "2022-05-23",
        "start": "10:00",
        "end": "12:00",
        "location": "Online",
        "chair_name": "",
        "minute_taker_name": "Alexander Boldt",
    }
    data.update(changes)
    return data


def test_creating_a_meeting_writes_the_welcome_item_from_the_records(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    client.force_login(writer)
    response = client.post(new_url(meeting.body), new_meeting_data())

    new = Meeting.objects.get(body=meeting.body, number=9)
    assert response["Location"] == edit_url(new)
    assert agenda_titles(new) == [
        "Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022",
        "Sonstiges",
    ]
    assert new.minute_taker_person.user == writer


def test_the_created_agenda_is_the_agenda_the_page_shows(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    task = AgendaItem.objects.get(meeting=meeting, parent=None, position=1)
    Result.objects.create(agenda_item=task, kind="task", text="Steckbrief", responsible="WRL")
    client.force_login(writer)
    page = client.get(new_url(meeting.body))
    data = form_data(page.content, "new-meeting-form")
    assert data["agenda_proposal"]

    response = client.post(new_url(meeting.body), data)

    assert response.status_code == 302
    new = Meeting.objects.get(body=meeting.body, number=9)
    assert agenda_titles(new) == shown_titles(page)
    assert agenda_titles(new)[1] == "Offene Aufgaben"
    shown_results = page.context["agenda"][1].results
    assert list(new.agenda_items.get(position=1).results.values_list("text", flat=True)) == (
        shown_results
    )


def test_changing_the_date_shows_the_new_agenda_before_creating_it(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    client.force_login(writer)
    data = form_data(client.get(new_url(meeting.body)).content, "new-meeting-form")
    data["date"] = "2022-03-01"  # before the 8th meeting: nothing waits for this one

    response = client.post(new_url(meeting.body), data)

    assert response.status_code == 200
    assert not Meeting.objects.filter(body=meeting.body, number=9).exists()
    assert shown_titles(response) == ["Begrüßung und Bestätigung der Tagesordnung", "Sonstiges"]
    assert any(m.level_tag == "info" for m in response.context["messages"])

    again = form_data(response.content, "new-meeting-form")
    assert again["date"] == "2022-03-01"
    assert client.post(new_url(meeting.body), again).status_code == 302
    new = Meeting.objects.get(body=meeting.body, number=9)
    assert agenda_titles(new) == shown_titles(response)


def test_updating_the_proposal_shows_the_agenda_for_the_typed_date(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    client.force_login(writer)

    response = client.post(new_url(meeting.body), new_meeting_data(date="2022-03-01", refresh="1"))

    assert response.status_code == 200
    assert not Meeting.objects.filter(body=meeting.body, number=9).exists()
    assert shown_titles(response)[0] == "Begrüßung und Bestätigung der Tagesordnung"


def test_a_rejected_form_shows_the_agenda_for_the_posted_date(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    client.force_login(writer)

    response = client.post(new_url(meeting.body), new_meeting_data(number="8"))

    assert response.context["form"].errors["number"]
    assert shown_titles(response)[0] == (
        "Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022"
    )
    response = client.post(new_url(meeting.body), new_meeting_data(number="8", date="2022-03-01"))
    assert shown_titles(response)[0] == "Begrüßung und Bestätigung der Tagesordnung"


@pytest.mark.parametrize("date", ["", "kein Datum", "2022-02-30", "99999-01-01"])
def test_a_date_that_is_no_date_shows_no_agenda_and_creates_nothing(client, meeting, writer, date):
    client.force_login(writer)

    response = client.post(new_url(meeting.body), new_meeting_data(date=date))

    assert response.status_code == 200
    assert response.context["agenda"] is None
    assert response.context["form"].errors["date"]
    assert not Meeting.objects.filter(body=meeting.body, number=9).exists()


def test_item_1_names_exactly_the_minutes_the_decision_section_lists(
    client, meeting, writer, minutes
):
    circulated = [meeting, minutes(number=6, date="2021-12-07")]
    for earlier in circulated:
        workflow.circulate(earlier.pk, writer)
    minutes(number=7, date="2022-01-10")  # a draft never circulated: nothing to confirm
    client.force_login(writer)

    client.post(new_url(meeting.body), new_meeting_data())

    new = Meeting.objects.get(body=meeting.body, number=9)
    assert agenda_titles(new)[0] == (
        "Begrüßung und Bestätigung der Protokolle der 6. Sitzung vom 07.12.2021 "
        "und der 8. Sitzung vom 21.03.2022"
    )
    editor = client.get(edit_url(new))
    assert [m.number for m in editor.context["waiting"]] == [6, 8]


def test_the_welcome_title_always_fits_an_agenda_item(meeting):
    limit = AgendaItem._meta.get_field("title").max_length
    waiting = [
        Meeting(body=meeting.body, number=n, date=datetime.date(2020, 1, 1) + datetime.timedelta(n))
        for n in range(1, 41)
    ]

    title = drafting.welcome_title(waiting)

    assert len(title) <= limit
    assert title == (
        "Begrüßung und Bestätigung der Protokolle von 40 Sitzungen vom 02.01.2020 bis 10.02.2020"
    )
    assert drafting.welcome_title(waiting[:2]) == (
        "Begrüßung und Bestätigung der Protokolle der 1. Sitzung vom 02.01.2020 "
        "und der 2. Sitzung vom 03.01.2020"
    )


def test_a_new_meeting_with_a_used_number_is_refused(client, meeting, writer):
    client.force_login(writer)
    response = client.post(
        reverse("protokolle:meeting_new", args=[meeting.body.pk]),
        {"number": "8", "date": "2022-05-23", "location": "Typed place"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["number"]
    assert "Typed place" in response.content.decode()


def test_members_cannot_create_meetings(client, meeting, member):
    client.force_login(member)
    assert client.get(reverse("protokolle:meeting_new", args=[meeting.body.pk])).status_code == 403


# --- start page and language --------------------------------------------------------------


def test_the_start_page_lists_the_users_bodies_and_waiting_drafts(
    client, meeting, writer, outsider
):
    client.force_login(writer)
    page = client.get(reverse("home")).content.decode()
    assert "Werkstatt" in page
    assert "Entwurf" in page
    assert edit_url(meeting) in page

    client.force_login(outsider)
    page = client.get(reverse("home")).content.decode()
    assert edit_url(meeting) not in page


def test_the_interface_is_german_even_for_english_browsers(client, writer):
    client.force_login(writer)
    page = client.get(reverse("home"), HTTP_ACCEPT_LANGUAGE="en-US,en").content.decode()
    assert "Abmelden" in page


def test_english_can_be_chosen(client, writer):
    client.force_login(writer)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("home")).content.decode()
    assert "Log out" in page


def test_dates_are_the_meetings_date(meeting):
    assert meeting.date == datetime.date(2022, 3, 21)


def test_an_uploaded_attachment_is_saved_and_downloaded_by_members_only(
    client, meeting, writer, member, outsider
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(writer)
    data = load(client, meeting)
    row = blank_row(data, "attachments")
    data[f"{row}-name"] = "Präsentation DABB"
    data[f"{row}-file"] = SimpleUploadedFile(
        "praesentation.pdf", b"%PDF-1.7 demo", "application/pdf"
    )

    assert client.post(edit_url(meeting), data).status_code == 302

    attachment = meeting.attachments.get()
    assert attachment.name == "Präsentation DABB"
    url = reverse("protokolle:attachment", args=[attachment.pk])
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == b"%PDF-1.7 demo"
    client.force_login(outsider)
    assert client.get(url).status_code == 404


# --- people: suggestions and links -------------------------------------------------------


def test_the_editor_suggests_and_links_only_the_bodys_people(client, meeting, writer):
    stranger = PersonFactory(name="Fremde Person", organisation="Anderswo", function="Leitung")
    MembershipFactory(person=stranger)  # a member of another body only
    guest = PersonFactory(name="Gast aus dem Protokoll", organisation="LEAG", function="Referent")
    Presenter.objects.create(
        agenda_item=meeting.agenda_items.first(), name=guest.name, person=guest
    )
    client.force_login(writer)

    response = client.get(edit_url(meeting))

    editor = response.context["editor"]
    assert "Fremde Person" not in editor.person_names
    assert "Fremde Person" not in response.content.decode()
    assert {"name": guest.name, "organisation": "LEAG", "function": "Referent"} in editor.people
    assert [p["name"] for p in editor.people] == sorted(p["name"] for p in editor.people)
    assert "Alexander Boldt" in editor.person_names

    data = form_data(response.content)
    new_item = blank_row(data, "items")
    data[f"{new_item}-title"] = "Verschiedenes"
    key = f"new-{new_item.split('-')[1]}"
    presenter = blank_row(data, "presenters")
    data.update({f"{presenter}-item_key": key, f"{presenter}-name": "Fremde Person"})
    participant = blank_row(data, "participants")
    data.update({f"{participant}-name": "Fremde Person", f"{participant}-status": "guest"})
    assert client.post(edit_url(meeting), data).status_code == 302

    added = Presenter.objects.get(agenda_item__meeting=meeting, name="Fremde Person")
    assert added.person is None
    assert (added.organisation, added.function) == (None, None)
    assert Participant.objects.get(meeting=meeting, name="Fremde Person").person is None


def test_a_presenter_of_the_body_is_linked_and_completed(client, meeting, writer):
    client.force_login(writer)
    data = load(client, meeting)
    new_item = blank_row(data, "items")
    data[f"{new_item}-title"] = "Verschiedenes"
    presenter = blank_row(data, "presenters")
    data.update(
        {
            f"{presenter}-item_key": f"new-{new_item.split('-')[1]}",
            f"{presenter}-name": "Alexander Boldt",
        }
    )

    assert client.post(edit_url(meeting), data).status_code == 302

    added = Presenter.objects.get(agenda_item__title="Verschiedenes", name="Alexander Boldt")
    assert added.person.user == writer
    assert added.organisation == "WRL"


def test_the_editors_people_cost_one_query_however_many(meeting, django_assert_num_queries):
    for _n in range(20):
        MembershipFactory(body=meeting.body)
    editor = Editor(meeting)
    with django_assert_num_queries(1):
        people = list(access.suggested_people(meeting.body))
    assert len(people) == len(editor.people) >= 20
