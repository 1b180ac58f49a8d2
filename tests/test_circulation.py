"""Circulating asks first: who is told by e-mail and who is not; the message afterwards is true.

When the mail fails, the minutes stay circulated and their writers can send it again
(„Benachrichtigung erneut senden“).
"""

import datetime

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation

from protokolle import jobs, workflow
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


def notify_url(meeting):
    return reverse("protokolle:meeting_notify", args=[meeting.pk])


def refuse(*args, **kwargs):
    raise ConnectionRefusedError(111, "Connection refused")


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
        _level, text = circulation_message(version.number, version.notice)

    assert not mail.outbox
    assert "notified by e-mail" not in text.replace("No member was notified by e-mail", "")
    assert "being sent." in text
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
    monkeypatch.setattr(jobs, "send_mass_mail", refuse)
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


# --- „Benachrichtigung erneut senden“ --------------------------------------------------

ADDRESSES = ["boldt@example.org", "eh@example.org", "katja.boll@example.org"]


def addressees():
    return sorted(address for message in mail.outbox for address in message.to)


@pytest.mark.django_db(transaction=True)
def test_after_a_failed_mail_the_writer_sends_it_again(client, meeting, people, monkeypatch):
    send = jobs.send_mass_mail
    monkeypatch.setattr(jobs, "send_mass_mail", refuse)
    in_english(client)
    client.force_login(people["writer"])

    response = client.post(url(meeting), follow=True)

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED
    assert not mail.outbox
    text = messages_of(response)
    assert "The e-mails to 3 members could not be sent (" in text
    assert "send them again with the button “Send the notification again”" in text
    page = response.content.decode()
    assert f'action="{notify_url(meeting)}"' in page
    assert ">Send the notification again</button>" in page

    monkeypatch.setattr(jobs, "send_mass_mail", send)
    response = client.post(notify_url(meeting), follow=True)

    assert response.status_code == 200
    assert addressees() == ADDRESSES
    assert "(version 1)" in mail.outbox[0].subject
    assert meeting.versions.count() == 1
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED
    text = messages_of(response)
    assert "The notification of version 1 was sent again. 3 members were notified" in text
    assert "Without an e-mail address and not notified: Sven Guntermann." in text
    assert all(m.level_tag == "success" for m in response.context["messages"])


def test_sending_again_while_the_server_is_down_says_so(client, minutes, people, monkeypatch):
    # Another meeting of the people's body, circulated already: its mail waits for a commit.
    circulated = minutes(number=30)
    workflow.circulate(circulated.pk, people["writer"])
    monkeypatch.setattr(jobs, "send_mass_mail", refuse)
    in_english(client)
    client.force_login(people["writer"])

    response = client.post(notify_url(circulated), follow=True)

    assert response.status_code == 200
    assert Meeting.objects.get(pk=circulated.pk).status == Meeting.Status.CIRCULATED
    text = messages_of(response)
    assert "could not be sent" in text and "Send the notification again" in text
    assert "sent again" not in text and "were notified" not in text
    assert all(m.level_tag == "warning" for m in response.context["messages"])


def test_sending_again_reaches_the_members_of_today(minutes, people):
    circulated = minutes(number=30)
    workflow.circulate(circulated.pk, people["writer"])
    MembershipFactory(
        body=circulated.body, person=PersonFactory(name="Neu Dabei", email="neu@example.org")
    )

    notice = workflow.notify_members(circulated.pk, people["writer"])

    assert notice.sent and not notice.error and notice.number == 1
    assert addressees() == sorted([*ADDRESSES, "neu@example.org"])


@pytest.mark.parametrize(("role", "status"), [("member", 302), ("outsider", 404)])
def test_members_cannot_send_again_and_are_told_why(client, minutes, people, role, status):
    circulated = minutes(number=30)
    workflow.circulate(circulated.pk, people["writer"])
    in_english(client)
    client.force_login(people[role])

    response = client.post(notify_url(circulated))

    assert response.status_code == status
    assert not mail.outbox
    if status == 302:
        text = messages_of(client.get(response["Location"]))
        assert "Only the body's minute-takers may do this." in text
        with pytest.raises(workflow.WorkflowError):
            workflow.notify_members(circulated.pk, people[role])
        assert "notify" not in workflow.allowed_actions(people[role], circulated)


@pytest.mark.parametrize("status", ["draft", "confirmed"])
def test_minutes_that_are_not_circulated_send_nothing_again(client, minutes, people, status):
    other = minutes(status=status, number=30)
    in_english(client)
    client.force_login(people["writer"])

    response = client.post(notify_url(other), follow=True)

    assert not mail.outbox
    assert Meeting.objects.get(pk=other.pk).status == status
    text = messages_of(response)
    assert f"This is not possible while the minutes are {status}." in text
    assert "notify" not in workflow.allowed_actions(people["writer"], other)
    assert notify_url(other) not in response.content.decode()


def test_sending_again_is_a_post(client, minutes, people):
    circulated = minutes(number=30)
    workflow.circulate(circulated.pk, people["writer"])
    client.force_login(people["writer"])

    assert client.get(notify_url(circulated)).status_code == 405
    assert not mail.outbox


def test_the_button_is_a_labelled_form_for_writers_of_circulated_minutes(client, minutes, people):
    circulated = minutes(number=30)
    workflow.circulate(circulated.pk, people["writer"])
    detail = reverse("protokolle:meeting_detail", args=[circulated.pk])
    in_english(client)
    client.force_login(people["writer"])

    page = client.get(detail).content.decode()

    form = page[page.index(f'action="{notify_url(circulated)}"') :]
    form = form[: form.index("</form>")]
    assert "csrfmiddlewaretoken" in form
    assert '<button type="submit"' in form and 'aria-describedby="notify-hint"' in form
    assert ">Send the notification again</button>" in form
    assert 'id="notify-hint"' in form and "version 1 is circulated" in form
    client.force_login(people["member"])
    assert notify_url(circulated) not in client.get(detail).content.decode()
