"""Five rules users rely on, pinned before the code that holds them is moved (issue 11, item 7).

Each test goes through the way users (or the database) meet the rule, so that it
keeps holding whichever module the code ends up in, and each fails when its rule
is broken. The helpers are copied here on purpose: other test modules may move.
"""

import copy
import datetime
import io
import json
import re

import pytest
from django.db import DatabaseError, connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from protokolle import drafting, pdf, workflow
from protokolle.models import Meeting, MinutesVersion, Response, Result

from .factories import user_in, writer_of
from .html_forms import form_data

pytestmark = pytest.mark.django_db


def status_of(meeting):
    return Meeting.objects.get(pk=meeting.pk).status


# --- 1. nothing is added to confirmed minutes, whatever the path --------------------------

# Written out here, not taken from protokolle.immutability: the test must not share the
# code's list, or a table dropped from both would go unnoticed.
RESPONSE_TABLE = "protokolle_response"
VERSION_TABLE = "protokolle_minutesversion"


def _response(meeting, version, person):
    return Response(meeting=meeting, version=version, person=person, kind="agree", text="")


def _version(meeting, number):
    return MinutesVersion(meeting=meeting, number=number, document={"format": "x"})


def insert_response(way, meeting, version, person):
    if way == "create":
        Response.objects.create(
            meeting=meeting, version=version, person=person, kind="agree", text=""
        )
    elif way == "bulk_create":
        Response.objects.bulk_create([_response(meeting, version, person)])
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {RESPONSE_TABLE} "
                "(meeting_id, version_id, person_id, kind, text, created_at) "
                "VALUES (%s, %s, %s, 'agree', '', %s)",
                [meeting.pk, version.pk, person.pk, timezone.now()],
            )


def insert_version(way, meeting, number):
    if way == "create":
        MinutesVersion.objects.create(meeting=meeting, number=number, document={"format": "x"})
    elif way == "bulk_create":
        MinutesVersion.objects.bulk_create([_version(meeting, number)])
    else:
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {VERSION_TABLE} (meeting_id, number, document, created_at) "
                "VALUES (%s, %s, %s, %s)",
                [meeting.pk, number, json.dumps({"format": "x"}), timezone.now()],
            )


WAYS = ["create", "bulk_create", "raw_sql"]


@pytest.fixture
def circulated_with_member(minutes):
    """Circulated minutes (version 1), their minute-taker, and a member who may answer."""
    meeting = minutes(alone=True)
    writer = writer_of(meeting.body, voting=False)
    member = user_in(meeting.body, name="Katja Boll")
    version = workflow.circulate(meeting.pk, writer)
    return meeting, version, writer, member


@pytest.mark.parametrize("way", WAYS)
def test_responses_and_versions_can_be_added_while_the_minutes_are_circulated(
    circulated_with_member, way
):
    """The control: the same inserts pass before confirmation, so a refusal below is the rule's."""
    meeting, version, _writer, member = circulated_with_member

    with transaction.atomic():
        insert_response(way, meeting, version, member.person)
        insert_version(way, meeting, 2)

    assert Response.objects.filter(meeting=meeting).count() == 1
    assert MinutesVersion.objects.filter(meeting=meeting).count() == 2


@pytest.mark.parametrize("way", WAYS)
def test_no_response_can_be_added_to_confirmed_minutes(circulated_with_member, way):
    meeting, version, writer, member = circulated_with_member
    workflow.confirm(meeting.pk, writer)
    assert status_of(meeting) == "confirmed"

    with pytest.raises(DatabaseError), transaction.atomic():
        insert_response(way, meeting, version, member.person)

    assert not Response.objects.filter(meeting=meeting).exists()


@pytest.mark.parametrize("way", WAYS)
def test_no_version_can_be_added_to_confirmed_minutes(circulated_with_member, way):
    meeting, _version, writer, _member = circulated_with_member
    workflow.confirm(meeting.pk, writer)
    assert status_of(meeting) == "confirmed"

    with pytest.raises(DatabaseError), transaction.atomic():
        insert_version(way, meeting, 2)

    assert list(
        MinutesVersion.objects.filter(meeting=meeting).values_list("number", flat=True)
    ) == [1]


# --- 2. a non-public sub-item of a public item stays out of the public version -------------

SECRET_TITLE = "Vertrauliche Personalangelegenheit Quittenbaum"
SECRET_RESULT = "Der Vertrag mit Herrn Zwiebelmann wird nicht verlängert."
OPEN_TITLE = "Öffentliche Terminabstimmung Holunderweg"


def pages_text(data):
    return "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def squeeze(text):
    """Text without whitespace, soft hyphens or the hyphens hyphenation adds."""
    return re.sub(r"[\s\u00ad\u2010-]+", "", text)


def embedded_titles(items):
    for item in items:
        yield item["title"]
        yield from embedded_titles(item.get("children", []))


@pytest.fixture
def with_secret_sub_item(reference_document):
    document = copy.deepcopy(reference_document)
    sonstiges = document["meeting"]["agenda"][-1]
    assert sonstiges["title"] == "Sonstiges" and sonstiges["public"] is True
    sonstiges["children"] = [
        {"title": OPEN_TITLE, "public": True, "results": [{"text": "Der Termin steht."}]},
        {"title": SECRET_TITLE, "public": False, "results": [{"text": SECRET_RESULT}]},
    ]
    meeting = workflow.import_minutes(document)
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


def test_a_non_public_sub_item_is_left_out_of_the_public_html(with_secret_sub_item):
    public = pdf.render_html(with_secret_sub_item, public_only=True)
    members = pdf.render_html(with_secret_sub_item)

    assert "Sonstiges" in public and OPEN_TITLE in public
    assert SECRET_TITLE not in public
    assert "Zwiebelmann" not in public
    assert SECRET_TITLE in members
    assert SECRET_RESULT in members


def test_a_non_public_sub_item_is_left_out_of_the_public_pdf(with_secret_sub_item):
    public_pdf = pdf.render_pdf(with_secret_sub_item, public_only=True)
    members_pdf = pdf.render_pdf(with_secret_sub_item)
    public, members = squeeze(pages_text(public_pdf)), squeeze(pages_text(members_pdf))

    assert squeeze(OPEN_TITLE) in public
    assert squeeze("Quittenbaum") not in public
    assert squeeze("Zwiebelmann") not in public
    assert squeeze(SECRET_TITLE) in members
    assert squeeze(SECRET_RESULT) in members

    # The document embedded in the PDF is the same variant as the print.
    public_document = pdf.embedded_document(public_pdf).decode()
    assert "Quittenbaum" not in public_document and "Zwiebelmann" not in public_document
    titles = list(embedded_titles(json.loads(public_document)["meeting"]["agenda"]))
    assert OPEN_TITLE in titles and SECRET_TITLE not in titles
    members_document = json.loads(pdf.embedded_document(members_pdf))
    assert SECRET_TITLE in embedded_titles(members_document["meeting"]["agenda"])


# --- 3. item 1 names every waiting minutes with its own date -----------------------------

BOTH_WAITING = "der 6. Sitzung vom 07.12.2021 und der 7. Sitzung vom 25.01.2022"


@pytest.fixture
def two_waiting(minutes):
    """The 6th and 7th meeting of the body, both circulated and not yet confirmed."""
    sixth = minutes(alone=True, number=6, date="2021-12-07")
    seventh = minutes(alone=True, number=7, date="2022-01-25")
    writer = writer_of(sixth.body, voting=False)
    for waiting in (sixth, seventh):
        workflow.circulate(waiting.pk, writer)
    return sixth.body, writer


def test_the_proposed_item_1_names_both_waiting_minutes_with_their_dates(two_waiting):
    body, _writer = two_waiting

    agenda = drafting.proposed_agenda(body, datetime.date(2022, 3, 21))

    assert BOTH_WAITING in agenda[0].title


def test_a_new_meeting_starts_with_item_1_naming_both_waiting_minutes(client, two_waiting):
    body, writer = two_waiting
    client.force_login(writer)
    url = reverse("protokolle:meeting_new", args=[body.pk])
    data = {
        "number": "8",
        "date": "2022-03-21",
        "start": "10:00",
        "end": "12:00",
        "location": "Online",
        "chair_name": "",
        "minute_taker_name": "",
    }

    shown = client.post(url, {**data, "refresh": "1"})
    assert BOTH_WAITING in shown.content.decode()
    response = client.post(url, data)

    assert response.status_code == 302
    new = Meeting.objects.get(body=body, number=8)
    first = new.agenda_items.filter(parent=None).order_by("position").first()
    assert BOTH_WAITING in first.title


# --- 4. two writers, same page, different fields of one result: both kept ----------------


def edit_url(meeting):
    return reverse("protokolle:meeting_edit", args=[meeting.pk])


def load(client, meeting):
    response = client.get(edit_url(meeting))
    assert response.status_code == 200
    return form_data(response.content)


def field_name(data, suffix, value):
    """The posted name ending in ``suffix`` whose value is ``value`` (e.g. a result's text)."""
    names = [
        name
        for name, v in data.items()
        if name.endswith(suffix) and not name.startswith("initial-") and v == value
    ]
    assert len(names) == 1, (suffix, value, names)
    return names[0]


def prefix_of(name):
    return name.rsplit("-", 1)[0]


ANNOUNCEMENT = "Die nächste Werkstattsitzung wird für den 23.05.2022 angekündigt."


@pytest.mark.parametrize("text_first", [True, False], ids=["text-first", "responsible-first"])
def test_two_writers_changing_text_and_responsible_of_one_result_both_survive(minutes, text_first):
    meeting = minutes(alone=True)
    first_writer, second_writer = Client(), Client()
    first_writer.force_login(writer_of(meeting.body, voting=False))
    second_writer.force_login(writer_of(meeting.body, voting=False))
    # Both load the same page before either saves.
    text_data, responsible_data = load(first_writer, meeting), load(second_writer, meeting)
    text = field_name(text_data, "-text", ANNOUNCEMENT)
    row = prefix_of(text)
    assert text_data[f"{row}-responsible"] == ""
    text_data[text] = "Die nächste Werkstattsitzung findet am 23.05.2022 um 10 Uhr statt."
    responsible_data[f"{row}-responsible"] = "WRL, Alexander Boldt"
    posts = [(first_writer, text_data), (second_writer, responsible_data)]
    if not text_first:
        posts.reverse()

    for writer, data in posts:
        response = writer.post(edit_url(meeting), data)
        assert response.status_code == 302, "no conflict: the writers changed different fields"

    result = Result.objects.get(pk=text_data[f"{row}-id"])
    assert result.text == "Die nächste Werkstattsitzung findet am 23.05.2022 um 10 Uhr statt."
    assert result.responsible == "WRL, Alexander Boldt"


# --- 5. a member's latest answer counts, the earlier one no longer ------------------------

OBJECTION = "Bitte TOP 2 korrigieren."


@pytest.fixture
def circulation(minutes):
    """Circulated minutes, their (non-voting) minute-taker and two voting members."""
    meeting = minutes(alone=True)
    writer = writer_of(meeting.body, voting=False)
    first, second = user_in(meeting.body), user_in(meeting.body)
    workflow.circulate(meeting.pk, writer)
    return meeting, writer, first, second


def answer(meeting, user, *kinds):
    for kind in kinds:
        workflow.respond(meeting.pk, user, kind, OBJECTION if kind == "objection" else "")


def with_deadline(meeting, writer):
    deadline = timezone.localdate() + datetime.timedelta(days=14)
    workflow.start_confirmation_by_circulation(meeting.pk, writer, deadline)
    return deadline


def test_agreeing_then_objecting_keeps_the_minutes_open_after_the_deadline(circulation):
    meeting, writer, first, _second = circulation
    deadline = with_deadline(meeting, writer)
    answer(meeting, first, "agree", "objection")

    confirmed, objected = workflow.close_circulations(deadline + datetime.timedelta(days=1))

    assert [m.pk for m in confirmed] == []
    assert [m.pk for m in objected] == [meeting.pk]
    assert status_of(meeting) == "circulated"


def test_objecting_then_agreeing_confirms_the_minutes_after_the_deadline(circulation):
    meeting, writer, first, _second = circulation
    deadline = with_deadline(meeting, writer)
    answer(meeting, first, "objection", "agree")
    assert status_of(meeting) == "circulated"  # the second member has not answered

    confirmed, objected = workflow.close_circulations(deadline + datetime.timedelta(days=1))

    assert [m.pk for m in confirmed] == [meeting.pk]
    assert objected == []
    saved = Meeting.objects.get(pk=meeting.pk)
    assert saved.status == "confirmed" and saved.confirmed_by_circulation


def test_with_a_deadline_the_last_agreement_confirms_when_the_objection_was_withdrawn(
    circulation,
):
    meeting, writer, first, second = circulation
    with_deadline(meeting, writer)
    answer(meeting, first, "objection")
    answer(meeting, second, "agree")
    assert status_of(meeting) == "circulated"

    answer(meeting, first, "agree")

    saved = Meeting.objects.get(pk=meeting.pk)
    assert saved.status == "confirmed" and saved.confirmed_by_circulation


def test_with_a_deadline_an_agreement_taken_back_confirms_nothing(circulation):
    meeting, writer, first, second = circulation
    with_deadline(meeting, writer)
    answer(meeting, first, "agree", "objection")

    answer(meeting, second, "agree")

    assert status_of(meeting) == "circulated"


def test_setting_the_deadline_confirms_when_everyone_agrees_last(circulation):
    meeting, writer, first, second = circulation
    answer(meeting, first, "objection", "agree")
    answer(meeting, second, "agree")
    assert status_of(meeting) == "circulated"  # without a deadline nothing is confirmed

    with_deadline(meeting, writer)

    saved = Meeting.objects.get(pk=meeting.pk)
    assert saved.status == "confirmed" and saved.confirmed_by_circulation


def test_setting_the_deadline_confirms_nothing_when_an_agreement_was_taken_back(circulation):
    meeting, writer, first, second = circulation
    answer(meeting, first, "agree", "objection")
    answer(meeting, second, "agree")

    with_deadline(meeting, writer)

    assert status_of(meeting) == "circulated"
