"""The read view: the minutes in full, the members' answers in place, search hits, preview."""

import copy
import datetime
import re

import pytest
from django.urls import reverse

from protokolle import pdf, workflow
from protokolle.models import AgendaItem, Membership, Response

from .factories import BodyFactory, UserFactory, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(minutes):
    return minutes(alone=True)


@pytest.fixture
def writer(meeting):
    return user_in(meeting.body, Membership.Role.MINUTE_TAKER)


@pytest.fixture
def member(meeting):
    return user_in(meeting.body)


@pytest.fixture
def circulated(meeting, writer):
    workflow.circulate(meeting.pk, writer)
    return meeting


def detail(client, meeting, **params):
    # The page in English, so that the tests read the msgids whatever is translated;
    # the minutes themselves stay German.
    client.cookies["django_language"] = "en"
    return client.get(reverse("protokolle:meeting_detail", args=[meeting.pk]), params)


def respond(client, meeting, **data):
    return client.post(reverse("protokolle:meeting_respond", args=[meeting.pk]), data)


def correction_forms(html):
    """The agenda item pks of the per-item correction forms on a page."""
    return [int(pk) for pk in re.findall(r'name="agenda_item" value="(\d+)"', html)]


# --- the minutes in full -----------------------------------------------------------------


def test_the_read_view_shows_the_minutes_in_the_page_not_in_a_frame(client, meeting, member):
    client.force_login(member)
    response = detail(client, meeting)
    html = response.content.decode()
    assert "<iframe" not in html
    assert "protokolle/pdf/document.html" in [t.name for t in response.templates]
    assert "Das Protokoll 7. Sitzung vom 25.01.2022 wird angenommen" in html
    for item in AgendaItem.objects.filter(meeting=meeting):
        assert f'id="top-{item.pk}"' in html


def test_the_minutes_in_the_read_view_stay_german_in_an_english_ui(client, meeting, member):
    client.force_login(member)
    html = detail(client, meeting).content.decode()
    assert "Versions" in html  # the page around the minutes speaks English
    assert "Tagesordnung" in html and "Allgemeines" in html


# --- answers in place ---------------------------------------------------------------------


def test_members_get_a_correction_form_at_every_item_of_circulated_minutes(
    client, circulated, member
):
    client.force_login(member)
    html = detail(client, circulated).content.decode()
    items = set(AgendaItem.objects.filter(meeting=circulated).values_list("pk", flat=True))
    assert set(correction_forms(html)) == items
    assert html.count("Correction to this item") == len(items)
    assert "I agree" in html


def test_a_correction_at_an_item_is_recorded_for_that_item(client, circulated, member):
    item = AgendaItem.objects.filter(meeting=circulated).order_by("position")[1]
    client.force_login(member)
    response = respond(
        client, circulated, kind="objection", agenda_item=item.pk, text="Name falsch"
    )
    assert response.status_code == 302
    assert response.url == reverse("protokolle:meeting_detail", args=[circulated.pk]) + (
        f"#top-{item.pk}"
    )
    answer = Response.objects.get()
    assert (answer.kind, answer.agenda_item, answer.text) == ("objection", item, "Name falsch")
    html = detail(client, circulated).content.decode()
    assert "1 correction asked for" in html
    assert "You asked for a correction to version 1 on" in html


def test_a_correction_without_text_opens_again_at_its_item(client, circulated, member):
    item = AgendaItem.objects.filter(meeting=circulated).order_by("position")[2]
    client.force_login(member)
    response = respond(client, circulated, kind="objection", agenda_item=item.pk, text="  ")
    assert response.status_code == 400
    assert response.context["failed_item"] == item.pk
    html = response.content.decode()
    assert f'aria-describedby="correction-{item.pk}-error"' in html
    assert not Response.objects.exists()


def test_a_correction_to_the_whole_minutes_without_text_opens_again_there(
    client, circulated, member
):
    client.force_login(member)
    response = respond(client, circulated, kind="objection", text="  ")
    assert response.status_code == 400
    assert response.context["failed_item"] is None
    html = response.content.decode()
    assert html.count("aria-invalid") == 1
    assert 'aria-describedby="correction-general-error" autofocus' in html
    assert not Response.objects.exists()


def test_agreeing_from_the_bar_records_agreement_and_says_so(client, circulated, member):
    client.force_login(member)
    respond(client, circulated, kind="agree")
    assert Response.objects.get().kind == "agree"
    html = detail(client, circulated).content.decode()
    assert "You agreed to version 1 on" in html
    assert 'name="kind" value="agree"' not in html


def test_a_new_version_asks_the_member_to_answer_again(client, circulated, member, writer):
    workflow.respond(circulated.pk, member, "agree")
    workflow.reopen(circulated.pk, writer)
    workflow.circulate(circulated.pk, writer)
    client.force_login(member)
    html = detail(client, circulated).content.decode()
    assert "Version 2 is new" in html
    assert 'name="kind" value="agree"' in html


def test_staff_who_are_not_members_get_no_correction_forms(client, circulated):
    client.force_login(UserFactory(is_staff=True))
    html = detail(client, circulated).content.decode()
    assert correction_forms(html) == []
    assert "I agree" not in html


def test_drafts_have_no_correction_forms(client, meeting, member):
    client.force_login(member)
    assert correction_forms(detail(client, meeting).content.decode()) == []


def test_confirmed_minutes_have_no_correction_forms(client, minutes):
    confirmed = minutes(status="confirmed", alone=True)
    client.force_login(user_in(confirmed.body))
    html = detail(client, confirmed).content.decode()
    assert correction_forms(html) == []
    assert "I agree" not in html


def test_outsiders_get_404_and_no_form(client, circulated):
    client.force_login(user_in(BodyFactory()))
    assert detail(client, circulated).status_code == 404


def test_the_minute_taker_sees_corrections_at_their_item(client, circulated, member, writer):
    item = AgendaItem.objects.filter(meeting=circulated).order_by("position")[1]
    workflow.respond(circulated.pk, member, "objection", "Datum prüfen", item.pk)
    client.force_login(writer)
    html = detail(client, circulated).content.decode()
    row = html[html.index(f'id="top-{item.pk}"') :]
    row = row[: row.index("</tr>")]
    assert "Datum prüfen" in row
    assert "Take back for corrections" in html


def test_corrections_to_an_earlier_version_leave_their_item(client, circulated, member, writer):
    item = AgendaItem.objects.filter(meeting=circulated).order_by("position")[1]
    workflow.respond(circulated.pk, member, "objection", "Datum prüfen", item.pk)
    workflow.reopen(circulated.pk, writer)
    workflow.circulate(circulated.pk, writer)
    client.force_login(writer)
    html = detail(client, circulated).content.decode()
    assert "correction asked for" not in html
    assert "Datum prüfen" in html  # still listed among the responses


def test_the_draft_offers_circulating_as_a_link_to_the_confirmation_page(client, meeting, writer):
    client.force_login(writer)
    html = detail(client, meeting).content.decode()
    url = reverse("protokolle:meeting_circulate", args=[meeting.pk])
    assert f'href="{url}"' in html
    assert f'action="{url}"' not in html


# --- the buttons: what workflow.allowed_actions names, nothing the template decides ---------

BUTTONS = {
    "edit": "protokolle:meeting_edit",
    "circulate": "protokolle:meeting_circulate",
    "reopen": "protokolle:meeting_reopen",
    "set_deadline": "protokolle:meeting_circulation",
    "respond": "protokolle:meeting_respond",
}


def buttons(html, meeting):
    """The actions whose link or form the page shows."""
    return {
        action for action, name in BUTTONS.items() if reverse(name, args=[meeting.pk]) + '"' in html
    }


@pytest.mark.parametrize(
    "actions",
    [frozenset(), frozenset(BUTTONS), frozenset({"reopen"}), frozenset({"respond", "edit"})],
)
def test_the_read_view_shows_the_buttons_that_allowed_actions_names(
    client, meeting, member, monkeypatch, actions
):
    monkeypatch.setattr(workflow, "allowed_actions", lambda user, minutes: actions)
    client.force_login(member)
    html = detail(client, meeting).content.decode()
    assert buttons(html, meeting) == actions


@pytest.mark.parametrize(
    ("who", "status", "expected"),
    [
        ("writer", "draft", {"edit", "circulate"}),
        # A minute-taker holds a seat: they answer like every member.
        ("writer", "circulated", {"reopen", "set_deadline", "respond"}),
        ("member", "draft", set()),
        ("member", "circulated", {"respond"}),
        ("staff", "circulated", set()),
        ("former", "circulated", None),
    ],
)
def test_each_user_sees_the_buttons_of_their_role(client, meeting, writer, who, status, expected):
    users = {
        "writer": writer,
        "member": user_in(meeting.body),
        "staff": UserFactory(is_staff=True),
        "former": user_in(
            meeting.body,
            Membership.Role.MINUTE_TAKER,
            start=datetime.date(2019, 1, 1),
            end=datetime.date(2021, 12, 31),
        ),
    }
    if status == "circulated":
        workflow.circulate(meeting.pk, writer)
    client.force_login(users[who])
    response = detail(client, meeting)
    if expected is None:
        assert response.status_code == 404
        return
    assert buttons(response.content.decode(), meeting) == expected
    assert response.context["actions"] & set(BUTTONS) == expected


def test_the_raw_audit_log_is_for_those_who_open_the_administration(client, circulated, member):
    client.force_login(member)
    assert "Raw audit log" not in detail(client, circulated).content.decode()
    client.force_login(UserFactory(is_staff=True))
    assert "Raw audit log" in detail(client, circulated).content.decode()


def test_the_history_is_folded_away(client, circulated, member):
    client.force_login(member)
    html = detail(client, circulated).content.decode()
    assert re.search(r'<details class="history">\s*<summary>', html)


def test_the_read_view_costs_the_same_queries_for_7_and_60_items(
    client, circulated, member, writer, reference_document, django_assert_max_num_queries
):
    big = copy.deepcopy(reference_document)
    big["meeting"].update(number=30, date="2022-09-01", next_meeting=None)
    big["meeting"]["approves_minutes_of"] = []
    big["meeting"]["agenda"] = [
        {"title": f"Punkt {n}", "results": [{"text": f"Ergebnis {r}"} for r in range(5)]}
        for n in range(60)
    ]
    large = workflow.import_minutes(big)
    workflow.circulate(large.pk, writer)
    for minutes in (circulated, large):
        workflow.respond(minutes.pk, member, "objection", "Bitte korrigieren")
    client.force_login(member)
    detail(client, circulated)
    counts = []
    for minutes in (circulated, large):
        with django_assert_max_num_queries(30) as captured:
            assert detail(client, minutes).status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- search hits and preview ----------------------------------------------------------------


def test_a_search_hit_opens_the_read_view_at_its_item(client, minutes):
    confirmed = minutes(status="confirmed", alone=True)
    client.force_login(user_in(confirmed.body))
    response = client.get(reverse("protokolle:search"), {"q": "Trinkwasserverbundsystem"})
    hit = response.context["page"][0]
    detail_url = reverse("protokolle:meeting_detail", args=[confirmed.pk])
    expected = (
        f"{detail_url}?hit=Trinkwasserverbundsystem&amp;top={hit.agenda_item_id}"
        f"#top-{hit.agenda_item_id}"
    )
    assert f'href="{expected}"' in response.content.decode()


def test_the_read_view_marks_the_hit_item_and_names_the_words(client, minutes):
    confirmed = minutes(status="confirmed", alone=True)
    item = AgendaItem.objects.filter(meeting=confirmed).order_by("position")[3]
    client.force_login(user_in(confirmed.body))
    response = detail(client, confirmed, hit="Trinkwasser <b>", top=item.pk)
    html = response.content.decode()
    assert re.search(rf'<tr class="depth-\d is-hit" id="top-{item.pk}">', html)
    assert html.count("is-hit") == 1
    assert f'href="#top-{item.pk}"' in html
    assert 'data-hit="Trinkwasser &lt;b&gt;"' in html
    assert "Trinkwasser <b>" not in html


def test_the_preview_is_a_page_of_the_app_with_its_navigation(client, meeting, member):
    client.force_login(member)
    client.cookies["django_language"] = "en"
    response = client.get(reverse("protokolle:minutes_preview", args=[meeting.pk]))
    html = response.content.decode()
    names = [t.name for t in response.templates]
    assert "base.html" in names and "protokolle/pdf/document.html" in names
    assert 'aria-label="Main navigation"' in html
    assert 'rel="icon"' in html
    assert "Ergebnisprotokoll" in html


def test_a_pdf_that_cannot_be_typeset_leaves_the_reader_in_the_preview_with_its_message(
    client, meeting, member, monkeypatch
):
    def timing_out(*args, **kwargs):
        raise pdf.RenderTimeout(45)

    monkeypatch.setattr(pdf, "write_pdf", timing_out)
    client.force_login(member)
    client.cookies["django_language"] = "en"

    response = client.get(reverse("protokolle:minutes_pdf", args=[meeting.pk]), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [
        (reverse("protokolle:minutes_preview", args=[meeting.pk]), 302)
    ]
    html = response.content.decode()
    assert "too long to be typeset within 45 seconds" in html
    assert "Ergebnisprotokoll" in html  # the minutes, readable without their PDF
