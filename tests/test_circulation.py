"""Circulating asks first: who is told by e-mail and who is not; the message afterwards is true."""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from protokolle import workflow
from protokolle.models import Meeting
from protokolle.views.drafting import circulation_message

from .factories import (
    BodyFactory,
    MembershipFactory,
    PersonFactory,
    UserFactory,
    user_in,
    writer_of,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(minutes):
    return minutes()


@pytest.fixture
def people(meeting):
    """A minute-taker and two members with addresses, one member without, a former member."""
    body = meeting.body
    writer = writer_of(
        body,
        user=UserFactory(username="writer", email=""),
        name="Alexander Boldt",
        email="boldt@example.org",
    )
    # The address of the user account counts where the person has none.
    member = user_in(
        body, user=UserFactory(username="member", email="katja.boll@example.org"), name="Katja Boll"
    )
    MembershipFactory(body=body, person=PersonFactory(name="Elena Herzog", email="eh@example.org"))
    MembershipFactory(body=body, person=PersonFactory(name="Sven Guntermann", email=""))
    MembershipFactory(
        body=body,
        person=PersonFactory(name="Früher Dabei", email="frueher@example.org"),
        end=datetime.date(2020, 1, 1),
    )
    outsider = writer_of(
        BodyFactory(),
        user=UserFactory(username="outsider"),
        name="Fremde Person",
        email="fremd@example.org",
    )
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    return {"writer": writer, "member": member, "outsider": outsider, "admin": admin}


def url(meeting):
    return reverse("protokolle:meeting_circulate", args=[meeting.pk])


def in_english(client):
    # The messages' German comes with the merged translations; the tests read the msgids.
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def messages_of(response):
    return " ".join(str(m) for m in response.context["messages"])


def test_anonymous_users_are_sent_to_log_in(client, meeting):
    response = client.get(url(meeting))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    ("role", "status"), [("outsider", 404), ("member", 403), ("writer", 200), ("admin", 200)]
)
def test_only_writers_see_the_confirmation_page(client, meeting, people, role, status):
    client.force_login(people[role])
    assert client.get(url(meeting)).status_code == status


def test_the_page_asks_first_and_changes_nothing(client, meeting, people):
    client.force_login(people["writer"])

    response = client.get(url(meeting))

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.DRAFT
    assert not mail.outbox
    notice = response.context["notice"]
    assert [(p.name, a) for p, a in notice.recipients] == [
        ("Alexander Boldt", "boldt@example.org"),
        ("Elena Herzog", "eh@example.org"),
        ("Katja Boll", "katja.boll@example.org"),
    ]
    assert [p.name for p in notice.without_address] == ["Sven Guntermann"]
    page = response.content.decode()
    assert "Sven Guntermann" in page and "eh@example.org" in page
    assert "Früher Dabei" not in page and "Fremde Person" not in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page


@pytest.mark.parametrize("status", ["circulated", "confirmed"])
def test_minutes_that_are_no_draft_go_back_to_the_read_view(client, minutes, people, status):
    # The people fixture's body is the reference's body; this is another meeting of it.
    other = minutes(status=status, number=30)
    client.force_login(people["writer"])

    response = client.get(url(other))

    assert response.status_code == 302
    assert response["Location"] == reverse("protokolle:meeting_detail", args=[other.pk])


def test_the_message_names_who_was_not_told_and_claims_no_mail_not_sent(meeting, people):
    # Inside the test's transaction the mails wait for a commit that never comes.
    version = workflow.circulate(meeting.pk, people["writer"])

    with translation.override("en"):
        _level, text = circulation_message(version)

    assert not mail.outbox
    assert "notified by e-mail" not in text.replace("No member was notified by e-mail", "")
    assert "No e-mail has been sent yet." in text
    assert "Without an e-mail address and not notified: Sven Guntermann." in text


def test_without_any_address_nobody_is_said_to_be_notified(client, meeting):
    writer = writer_of(meeting.body, user=UserFactory(email=""), name="Ohne Adresse")
    in_english(client)
    client.force_login(writer)

    response = client.post(url(meeting), follow=True)

    text = messages_of(response)
    assert "No member was notified by e-mail." in text
    assert "Without an e-mail address and not notified: Ohne Adresse." in text
    assert "were notified" not in text and "was notified by e-mail." not in text.replace(
        "No member was notified by e-mail.", ""
    )


@pytest.mark.django_db(transaction=True)
def test_circulating_mails_the_members_and_says_how_many(client, meeting, people):
    in_english(client)
    client.force_login(people["writer"])

    response = client.post(url(meeting), follow=True)

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED
    assert sorted(address for message in mail.outbox for address in message.to) == [
        "boldt@example.org",
        "eh@example.org",
        "katja.boll@example.org",
    ]
    text = messages_of(response)
    assert "3 members were notified by e-mail." in text
    assert "Without an e-mail address and not notified: Sven Guntermann." in text
    assert all(m.level_tag == "success" for m in response.context["messages"])


@pytest.mark.django_db(transaction=True)
def test_a_mail_server_that_is_down_leaves_the_minutes_circulated(
    client, meeting, people, monkeypatch
):
    def refuse(*args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(workflow, "send_mass_mail", refuse)
    in_english(client)
    client.force_login(people["writer"])

    response = client.post(url(meeting), follow=True)

    assert response.status_code == 200
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED
    text = messages_of(response)
    assert "could not be sent" in text
    assert "were notified" not in text
    assert any(m.level_tag == "warning" for m in response.context["messages"])


def test_members_who_post_are_told_why_not(client, meeting, people):
    in_english(client)
    client.force_login(people["member"])

    response = client.post(url(meeting), follow=True)

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.DRAFT
    assert "Only the body's minute-takers" in messages_of(response)


def test_a_page_without_csrf_token_is_refused(meeting, people):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(people["writer"])

    assert client.post(url(meeting)).status_code == 403
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.DRAFT


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("names", "subject"),
    [
        ({"body": "Fachschaftsrat\nInformatik"}, "8. meeting of Fachschaftsrat Informatik on"),
        ({"body": "Fachschaftsrat \r\n Informatik"}, "8. meeting of Fachschaftsrat Informatik on"),
        (
            {"number": None, "title": "Sondersitzung\r\nHaushalt"},
            "Sondersitzung Haushalt of Werkstatt on",
        ),
    ],
)
def test_a_line_break_in_a_name_still_sends_a_one_line_subject(client, minutes, names, subject):
    # Django refuses a line break in a header (BadHeaderError): no member was told.
    meeting = minutes(**names)
    writer = writer_of(meeting.body, user=UserFactory(email="w@example.org"))
    in_english(client)
    client.force_login(writer)

    response = client.post(url(meeting), follow=True)

    assert response.status_code == 200
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED
    assert [m.to for m in mail.outbox] == [["w@example.org"]]
    sent = mail.outbox[0]
    assert sent.subject == f"Minutes for your review: {subject} 21.03.2022 (version 1)"
    assert sent.message()["Subject"]  # a header Django builds without BadHeaderError
    assert "1 member was notified by e-mail." in messages_of(response)
