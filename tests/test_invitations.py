"""Invitations before the meeting: the Einladung PDF, the calendar entry, sending it,
changes, the notice period, reminders and the cancellation (issue 14)."""

import datetime
import io
import re

import icalendar
import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from protokolle import invitations, pdf
from protokolle.models import (
    AgendaItem,
    Invitation,
    InvitationPdf,
    Invitee,
    Membership,
    Presenter,
)

from .factories import BodyFactory, MeetingFactory, PersonFactory, user_in, writer_of

pytestmark = pytest.mark.django_db

RSVP_LINK = re.compile(r"/rsvp/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


class FailingForBoldt(EmailBackend):
    """Delivers like locmem, except to boldt@example.org: that mail server refuses."""

    def send_messages(self, messages):
        for message in messages:
            if "boldt@example.org" in message.to:
                raise OSError("550 mailbox unavailable")
        return super().send_messages(messages)


@pytest.fixture
def planned():
    """A planned meeting two weeks ahead at 10:00 with three members (one without address)."""
    body = BodyFactory(name="Werkstatt Einladung")
    writer = writer_of(body, name="Anna Schreiber", email="schreiber@example.org")
    member = user_in(body, name="Bernd Boldt", email="boldt@example.org")
    MembershipPerson = PersonFactory(name="Carla Ohnemail", email="")
    Membership.objects.create(body=body, person=MembershipPerson)
    meeting = MeetingFactory(
        body=body,
        number=9,
        date=timezone.localdate() + datetime.timedelta(days=14),
        start=datetime.time(10, 0),
        end=datetime.time(12, 0),
        location="Rathaus, Raum 3",
        chair_name="Anna Schreiber",
    )
    first = AgendaItem.objects.create(meeting=meeting, position=0, title="Begrüßung")
    second = AgendaItem.objects.create(meeting=meeting, position=1, title="Haushalt 2027")
    Presenter.objects.create(agenda_item=second, name="Bernd Boldt", position=0)
    return {"meeting": meeting, "writer": writer, "member": member, "items": [first, second]}


def send(client, planned, on_commit, **data):
    client.force_login(planned["writer"])
    with on_commit(execute=True):
        return client.post(
            reverse("protokolle:meeting_invite", args=[planned["meeting"].pk]),
            {"action": "send", **data},
        )


def attachment(message, suffix):
    return next(content for name, content, _type in message.attachments if name.endswith(suffix))


# --- the PDF and the calendar entry ----------------------------------------------------------


def test_the_pdf_reads_einladung_date_items_and_presenters(planned, client):
    client.force_login(planned["member"])
    response = client.get(reverse("protokolle:invitation_pdf", args=[planned["meeting"].pk]))
    assert response.status_code == 200
    data = b"".join(response.streaming_content)
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    text = " ".join(text.split())
    meeting = planned["meeting"]
    assert "Einladung" in text
    assert "9. Sitzung der Werkstatt Einladung" in text
    assert invitations.german_long_date(meeting.date) in text
    assert "10:00 – 12:00 Uhr" in text
    for title in ("Begrüßung", "Haushalt 2027", "Bernd Boldt", "Rathaus, Raum 3"):
        assert title in text


def test_the_ics_has_one_event_at_ten_in_berlin_with_a_stable_uid(planned, client):
    client.force_login(planned["member"])
    url = reverse("protokolle:invitation_ics", args=[planned["meeting"].pk])
    response = client.get(url)
    assert response["Content-Type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(response.content)
    events = list(cal.walk("VEVENT"))
    assert len(events) == 1
    event = events[0]
    start = event.decoded("dtstart")
    assert (start.hour, start.minute) == (10, 0)
    assert str(start.tzinfo) == "Europe/Berlin"
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert str(event["location"]) == "Rathaus, Raum 3"
    assert "TOP 2: Haushalt 2027 (Bernd Boldt)" in str(event["description"])
    assert str(event["url"]).endswith(f"/meetings/{planned['meeting'].pk}/")
    assert int(event["sequence"]) == 0

    meeting = planned["meeting"]
    meeting.location = "Online"
    meeting.start = datetime.time(11, 0)
    meeting.save()
    again = icalendar.Calendar.from_ical(client.get(url).content).walk("VEVENT")[0]
    assert str(again["uid"]) == str(event["uid"])
    assert again.decoded("dtstart").hour == 11


# --- sending ---------------------------------------------------------------------------------


def test_the_page_shows_who_gets_it_and_who_has_no_address(planned, client):
    client.force_login(planned["writer"])
    page = client.get(reverse("protokolle:meeting_invite", args=[planned["meeting"].pk]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "boldt@example.org" in content and "schreiber@example.org" in content
    assert "Carla Ohnemail" in content
    assert not mail.outbox


def test_one_mail_per_member_with_an_address_each_with_its_own_link_and_the_ics(
    planned, client, django_capture_on_commit_callbacks
):
    response = send(client, planned, django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == ["boldt@example.org", "schreiber@example.org"]
    tokens = {RSVP_LINK.search(m.body).group(1) for m in mail.outbox}
    assert len(tokens) == 2
    for message in mail.outbox:
        ics = icalendar.Calendar.from_ical(attachment(message, ".ics"))
        assert str(ics["method"]) == "REQUEST"
        assert attachment(message, ".pdf").startswith(b"%PDF")
        assert "Haushalt 2027" in message.body
    sent = Invitee.objects.filter(meeting=planned["meeting"], sent_at__isnull=False)
    assert sorted(i.person.name for i in sent) == ["Anna Schreiber", "Bernd Boldt"]
    # Carla has no address: a row for the replies, nothing recorded as sent.
    carla = Invitee.objects.get(meeting=planned["meeting"], person__name="Carla Ohnemail")
    assert carla.sent_at is None
    assert Invitation.objects.get(meeting=planned["meeting"]).sent_at is not None


def test_a_failing_mail_names_the_recipient_and_records_nothing_as_sent(
    planned, client, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "tests.test_invitations.FailingForBoldt"
    send(client, planned, django_capture_on_commit_callbacks)
    boldt = Invitee.objects.get(meeting=planned["meeting"], person__name="Bernd Boldt")
    assert boldt.sent_at is None and boldt.sent_sequence is None
    assert "550" in boldt.mail_error
    assert [m.to for m in mail.outbox] == [["schreiber@example.org"]]
    page = client.get(reverse("protokolle:meeting_invite", args=[planned["meeting"].pk]))
    content = page.content.decode()
    assert "550 mailbox unavailable" in content and "Bernd Boldt" in content

    # Sent again once the server takes it: only to him.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    send(client, planned, django_capture_on_commit_callbacks)
    assert [m.to for m in mail.outbox] == [["boldt@example.org"]]
    boldt.refresh_from_db()
    assert boldt.sent_at is not None and not boldt.mail_error


def test_only_the_bodys_minute_takers_send(planned, client, django_capture_on_commit_callbacks):
    client.force_login(planned["member"])
    url = reverse("protokolle:meeting_invite", args=[planned["meeting"].pk])
    assert client.get(url).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"action": "send"})
    assert not mail.outbox
    assert not Invitation.objects.exists()


def test_no_invitation_once_the_minutes_are_circulated(
    planned, client, django_capture_on_commit_callbacks
):
    meeting = planned["meeting"]
    type(meeting).objects.filter(pk=meeting.pk).update(status="circulated")
    send(client, planned, django_capture_on_commit_callbacks)
    assert not mail.outbox


# --- the notice period -------------------------------------------------------------------------


def test_sending_within_the_notice_period_asks_first_and_then_says_so(
    planned, client, django_capture_on_commit_callbacks
):
    meeting = planned["meeting"]
    meeting.date = timezone.localdate() + datetime.timedelta(days=3)
    meeting.save()
    response = send(client, planned, django_capture_on_commit_callbacks)
    assert response.status_code == 400
    assert not mail.outbox and not Invitation.objects.exists()

    send(client, planned, django_capture_on_commit_callbacks, confirm_short_notice="1")
    assert len(mail.outbox) == 2
    assert "mit verkürzter Ladungsfrist" in invitations.render_html(
        meeting, Invitation.objects.get(meeting=meeting)
    )


@pytest.mark.parametrize(
    ("days", "says"),
    [(15, "liegt nach der Sitzung am"), (-1, "ist vorbei")],
    ids=["after-the-meeting", "passed"],
)
def test_a_reply_date_outside_today_and_the_meeting_day_is_refused_at_the_field(
    planned, client, django_capture_on_commit_callbacks, days, says
):
    typed = (timezone.localdate() + datetime.timedelta(days=days)).isoformat()

    response = send(client, planned, django_capture_on_commit_callbacks, reply_by=typed)

    assert response.status_code == 400
    assert not mail.outbox and not Invitation.objects.exists()
    page = response.content.decode()
    assert says in page
    assert "Nichts wurde versandt: Bitte prüfen Sie das Rückmeldedatum." in page
    assert "wählen Sie, was versandt werden soll" not in page  # there is nothing to choose
    assert f'value="{typed}"' in page and 'aria-invalid="true"' in page  # the typed date stays
    # The date picker offers only the days that can be chosen.
    assert f'min="{timezone.localdate():%Y-%m-%d}" max="{planned["meeting"].date:%Y-%m-%d}"' in page
    with pytest.raises(invitations.InvitationError, match=says):
        invitations.send(
            planned["meeting"].pk,
            planned["writer"],
            reply_by=datetime.date.fromisoformat(typed),
        )

    on_the_day = planned["meeting"].date.isoformat()
    send(client, planned, django_capture_on_commit_callbacks, reply_by=on_the_day)
    assert Invitation.objects.get().reply_by == planned["meeting"].date


def test_mails_still_queued_are_not_offered_again(
    planned, client, django_capture_on_commit_callbacks, settings
):
    """Right after sending, the page listed everyone as "Noch nicht erreicht" beside
    "Erneut senden" while the background task had not run yet: a double invitation."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    meeting = planned["meeting"]

    response = send(client, planned, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    assert not mail.outbox  # queued, not sent
    assert invitations.plan(meeting, invitations.SEND).recipients == []
    page = client.get(reverse("protokolle:meeting_invite", args=[meeting.pk])).content.decode()
    assert re.search(r"Noch nicht erreicht</h2>\s*<p>Niemand\.</p>", page)

    # A mail that failed for good is no longer queued: it is offered again.
    Invitee.objects.filter(person__name="Bernd Boldt").update(
        mail_queued_at=None, mail_error="550 unknown user"
    )
    again = invitations.plan(meeting, invitations.SEND).recipients
    assert [person.name for person, _address in again] == ["Bernd Boldt"]


def test_the_notice_period_is_the_bodys(planned, client, django_capture_on_commit_callbacks):
    body = planned["meeting"].body
    body.notice_days = 21
    body.save()
    assert send(client, planned, django_capture_on_commit_callbacks).status_code == 400
    body.notice_days = 14
    body.save()
    assert send(client, planned, django_capture_on_commit_callbacks).status_code == 302
    assert len(mail.outbox) == 2


# --- changes, reminders, cancelling -------------------------------------------------------------


def test_a_change_is_sent_with_the_next_sequence_and_the_addendum_marked(
    planned, client, django_capture_on_commit_callbacks
):
    send(client, planned, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    meeting = planned["meeting"]
    invitation = Invitation.objects.get(meeting=meeting)
    # Unchanged: nothing to send.
    send(client, planned, django_capture_on_commit_callbacks)
    assert not mail.outbox

    meeting.location = "Online"
    meeting.save()
    AgendaItem.objects.create(meeting=meeting, position=2, title="Dringlichkeitsantrag")
    page = client.get(reverse("protokolle:meeting_invite", args=[meeting.pk]))
    assert "Dringlichkeitsantrag" in page.content.decode()
    html = invitations.render_html(meeting, invitation)
    assert "Nachtrag zur Tagesordnung" in html

    send(client, planned, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    ics = icalendar.Calendar.from_ical(attachment(mail.outbox[0], ".ics"))
    assert int(ics.walk("VEVENT")[0]["sequence"]) == 1
    assert str(ics.walk("VEVENT")[0]["location"]) == "Online"
    # The update's own PDF marks the new item, not only the page before sending.
    mailed = "".join(
        page.extract_text()
        for page in PdfReader(io.BytesIO(attachment(mail.outbox[0], ".pdf"))).pages
    )
    assert "Nachtrag zur Tagesordnung" in mailed and "Dringlichkeitsantrag" in mailed
    invitation.refresh_from_db()
    assert invitation.sequence == 1
    assert Invitee.objects.filter(meeting=meeting, sent_sequence=1).count() == 2


def test_reminders_go_to_those_who_have_not_answered(
    planned, client, django_capture_on_commit_callbacks
):
    send(client, planned, django_capture_on_commit_callbacks)
    boldt = Invitee.objects.get(meeting=planned["meeting"], person__name="Bernd Boldt")
    invitations.reply(boldt, Invitee.Reply.ACCEPT)
    page = client.get(reverse("protokolle:meeting_invite", args=[planned["meeting"].pk]))
    # Label and number, so that one reply is never „1 Zusagen“.
    counts = "Zusagen: 1 · Absagen: 0 · Vertretungen: 0 · ohne Antwort: 2"
    assert counts in page.content.decode()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("protokolle:meeting_invite", args=[planned["meeting"].pk]),
            {"action": "remind"},
        )
    assert [m.to for m in mail.outbox] == [["schreiber@example.org"]]
    assert RSVP_LINK.search(mail.outbox[0].body)


def test_cancelling_sends_a_cancellation(planned, client, django_capture_on_commit_callbacks):
    send(client, planned, django_capture_on_commit_callbacks)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("protokolle:meeting_invite", args=[planned["meeting"].pk]),
            {"action": "cancel"},
        )
    assert len(mail.outbox) == 2
    ics = icalendar.Calendar.from_ical(attachment(mail.outbox[0], ".ics"))
    assert str(ics["method"]) == "CANCEL"
    assert str(ics.walk("VEVENT")[0]["status"]) == "CANCELLED"
    assert Invitation.objects.get(meeting=planned["meeting"]).cancelled_at is not None


# --- the start page -----------------------------------------------------------------------------


def test_the_start_page_shows_the_meeting_ahead_and_the_invitation_to_send(planned, client):
    client.force_login(planned["writer"])
    page = client.get(reverse("home")).content.decode()
    invite = reverse("protokolle:meeting_invite", args=[planned["meeting"].pk])
    assert 'id="h-upcoming"' in page and invite in page
    assert f"{planned['meeting'].date:%d.%m.%Y}, 10:00 – 12:00 Uhr" in page


# --- the public invitation PDF (issue 16) -------------------------------------------------------


def _stored(meeting):
    record = InvitationPdf.objects.get(invitation__meeting=meeting)
    with record.file.open("rb") as handle:
        data = handle.read()
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())
    return record, data, text


def test_sending_stores_the_public_invitation_pdf_with_public_items_only(
    planned, client, django_capture_on_commit_callbacks
):
    import hashlib

    meeting = planned["meeting"]
    secret = AgendaItem.objects.create(
        meeting=meeting, position=5, title="Personalsache Geheim", public=False
    )
    Presenter.objects.create(agenda_item=secret, name="Vera Verborgen", position=0)
    send(client, planned, django_capture_on_commit_callbacks)
    # The members' PDF has every item; the stored public one only the public ones.
    members = " ".join(
        p.extract_text() for p in PdfReader(io.BytesIO(attachment(mail.outbox[0], ".pdf"))).pages
    )
    assert "Personalsache Geheim" in members
    record, data, text = _stored(meeting)
    assert record.size == len(data)
    assert record.sha512 == hashlib.sha512(data).hexdigest()
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert record.sequence == 0 and record.updated_at
    assert "Einladung" in text and "Haushalt 2027" in text and "Bernd Boldt" in text
    assert "Personalsache" not in text and "Verborgen" not in text
    assert "persönlichen Link" not in text
    embedded = pdf.embedded_document(data).decode("utf-8")
    assert "Haushalt 2027" in embedded
    assert "Personalsache" not in embedded and "Verborgen" not in embedded

    # A reply is in the draft's attendance, never in the public copy; a change replaces
    # the copy (its file too) and marks the new public item as addendum.
    boldt = Invitee.objects.get(meeting=meeting, person__name="Bernd Boldt")
    invitations.reply(boldt, Invitee.Reply.DECLINE, reason="Krank geschrieben")
    first = record.file.name
    AgendaItem.objects.create(meeting=meeting, position=3, title="Dringlichkeitsantrag")
    send(client, planned, django_capture_on_commit_callbacks)
    record, data, text = _stored(meeting)
    assert record.sequence == 1 and record.file.name != first
    assert not record.file.storage.exists(first)
    assert "Nachtrag zur Tagesordnung" in text and "Dringlichkeitsantrag" in text
    embedded = pdf.embedded_document(data).decode("utf-8")
    assert "Krank" not in embedded and '"excused"' not in embedded
    assert InvitationPdf.objects.count() == 1

    # The cancellation is stored too: the public learns the meeting is off.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("protokolle:meeting_invite", args=[meeting.pk]), {"action": "cancel"})
    record, data, text = _stored(meeting)
    assert record.sequence == 2 and "Abgesagt" in text


def test_a_failed_render_of_the_public_copy_keeps_no_mail_from_going_out(
    planned, client, django_capture_on_commit_callbacks, monkeypatch
):
    def broken(*args, **kwargs):
        raise pdf.RenderError("typesetting failed")

    monkeypatch.setattr(invitations, "render_public_pdf", broken)
    send(client, planned, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 2
    assert not InvitationPdf.objects.exists()


def test_the_editor_offers_to_send_a_change_once_the_invitation_went_out(
    planned, client, django_capture_on_commit_callbacks
):
    meeting = planned["meeting"]
    edit = reverse("protokolle:meeting_edit", args=[meeting.pk])
    invite = reverse("protokolle:meeting_invite", args=[meeting.pk])
    client.force_login(planned["writer"])
    # The pages are German, the request's language.
    assert 'id="invitation-changed"' not in client.get(edit).content.decode()  # not sent
    send(client, planned, django_capture_on_commit_callbacks)
    assert 'id="invitation-changed"' not in client.get(edit).content.decode()  # unchanged

    meeting.location = "Online"
    meeting.save()
    AgendaItem.objects.create(meeting=meeting, position=2, title="Dringlichkeitsantrag")
    page = client.get(edit).content.decode()
    notice = re.search(r'<div [^>]*id="invitation-changed".*?</div>', page, re.S)[0]
    assert "Geändert, seit die Einladung versandt wurde: Ort, Tagesordnung." in notice
    assert "Uhrzeit" not in notice
    assert f'href="{invite}"' in notice

    send(client, planned, django_capture_on_commit_callbacks)  # the change is sent
    assert 'id="invitation-changed"' not in client.get(edit).content.decode()

    # Once the meeting has ended, an invitation is of no use: no notice.
    meeting.date = timezone.localdate() - datetime.timedelta(days=1)
    meeting.save()
    assert 'id="invitation-changed"' not in client.get(edit).content.decode()
