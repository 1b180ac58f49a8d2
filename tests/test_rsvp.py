"""Replies without logging in (/rsvp/<token>/), the attendance they make, and the
private calendar feeds (issue 14)."""

import datetime
import io
import json
import re

import icalendar
import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from protokolle import invitations
from protokolle.models import AgendaItem, CalendarFeed, Invitee, Meeting, Participant

from .factories import BodyFactory, MeetingFactory, user_in, writer_of

pytestmark = pytest.mark.django_db

RSVP_LINK = re.compile(r"/rsvp/([A-Za-z0-9_-]+)/")


@pytest.fixture(autouse=True)
def locmem_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def plan(body, days=14, **fields):
    meeting = MeetingFactory(
        body=body,
        date=timezone.localdate() + datetime.timedelta(days=days),
        start=datetime.time(10, 0),
        end=datetime.time(12, 0),
        **fields,
    )
    AgendaItem.objects.create(meeting=meeting, position=0, title="Haushalt 2027")
    return meeting


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    body = BodyFactory(name="Werkstatt Antwort")
    writer = writer_of(body, name="Anna Schreiber", email="schreiber@example.org")
    member = user_in(body, name="Bernd Boldt", email="boldt@example.org")
    deputy = user_in(body, name="Dora Vertreterin", email="dora@example.org")
    meeting = plan(body, number=9)
    other = plan(body, days=21, number=10)
    links = {}
    for target in (meeting, other):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            invitations.send(target.pk, writer)
        links[target.pk] = {m.to[0]: RSVP_LINK.search(m.body).group(1) for m in mail.outbox}
    return {
        "meeting": meeting,
        "other": other,
        "writer": writer,
        "member": member,
        "deputy": deputy,
        "token": links[meeting.pk]["boldt@example.org"],
        "other_token": links[other.pk]["boldt@example.org"],
    }


def url(token):
    return reverse("protokolle:rsvp", args=[token])


def invitee(world, meeting="meeting", name="Bernd Boldt"):
    return Invitee.objects.get(meeting=world[meeting], person__name=name)


def attendance(meeting):
    return {
        (p.name, p.status, p.substitute_for)
        for p in Participant.objects.filter(meeting=meeting).order_by("position")
    }


def test_the_link_shows_the_meeting_without_logging_in(world, client):
    page = client.get(url(world["token"]))
    assert page.status_code == 200
    content = page.content.decode()
    assert "Haushalt 2027" in content and "Bernd Boldt" in content


def test_a_declined_reply_is_excused_in_the_attendance_and_the_export(world, client):
    response = client.post(url(world["token"]), {"reply": "decline", "reason": "Urlaub"})
    assert response.status_code == 302
    row = invitee(world)
    assert (row.reply, row.reason) == ("decline", "Urlaub")
    assert attendance(world["meeting"]) == {("Bernd Boldt", "excused", None)}

    out = io.StringIO()
    call_command("export_minutes", world["meeting"].pk, "--format", "json", stdout=out)
    exported = json.loads(out.getvalue())["meeting"]["participants"]
    assert [(p["name"], p["status"]) for p in exported] == [("Bernd Boldt", "excused")]


def test_accepting_proposes_present_and_the_answer_can_change(world, client):
    client.post(url(world["token"]), {"reply": "accept"})
    assert attendance(world["meeting"]) == {("Bernd Boldt", "present", None)}
    client.post(url(world["token"]), {"reply": "decline"})
    assert attendance(world["meeting"]) == {("Bernd Boldt", "excused", None)}


def test_a_stand_in_appears_as_such(world, client):
    deputy = world["deputy"].person
    client.post(url(world["token"]), {"reply": "stand_in", "stand_in_member": deputy.pk})
    assert attendance(world["meeting"]) == {
        ("Bernd Boldt", "excused", None),
        ("Dora Vertreterin", "present", "Bernd Boldt"),
    }
    # A typed stand-in replaces her; accepting again removes the stand-in.
    client.post(url(world["token"]), {"reply": "stand_in", "stand_in_name": "Erik Extern"})
    assert attendance(world["meeting"]) == {
        ("Bernd Boldt", "excused", None),
        ("Erik Extern", "present", "Bernd Boldt"),
    }
    client.post(url(world["token"]), {"reply": "accept"})
    assert attendance(world["meeting"]) == {("Bernd Boldt", "present", None)}


def test_a_stand_in_must_be_named(world, client):
    response = client.post(url(world["token"]), {"reply": "stand_in"})
    assert response.status_code == 400
    assert invitee(world).reply == ""
    assert not Participant.objects.filter(meeting=world["meeting"]).exists()


def test_a_made_up_token_is_404(world, client):
    assert client.get(url("made-up")).status_code == 404
    assert client.post(url("x" * 43), {"reply": "accept"}).status_code == 404
    assert client.get(url("x" * 500)).status_code == 404


def test_an_expired_token_is_refused(world, client):
    Meeting.objects.filter(pk=world["meeting"].pk).update(
        date=timezone.localdate() - datetime.timedelta(days=1)
    )
    assert client.get(url(world["token"])).status_code == 410
    assert client.post(url(world["token"]), {"reply": "decline"}).status_code == 410
    assert invitee(world).reply == ""


def test_after_the_meeting_began_the_answer_stays(world, client):
    now = timezone.localtime()
    Meeting.objects.filter(pk=world["meeting"].pk).update(
        date=now.date(),
        start=datetime.time(0, 0),
        end=datetime.time(23, 59, 59),
    )
    response = client.post(url(world["token"]), {"reply": "decline"})
    assert response.status_code == 400
    assert invitee(world).reply == ""


def test_another_meetings_token_answers_only_for_its_own(world, client):
    client.post(url(world["other_token"]), {"reply": "decline"})
    assert invitee(world, "other").reply == "decline"
    assert invitee(world).reply == ""
    assert not Participant.objects.filter(meeting=world["meeting"]).exists()


def test_a_reply_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url(world["token"]), {"reply": "decline"})
    assert response.status_code == 403
    assert invitee(world).reply == ""


def test_only_the_tokens_hash_is_stored(world):
    from protokolle.models import InvitationToken

    hashes = set(InvitationToken.objects.values_list("token_hash", flat=True))
    assert world["token"] not in hashes
    assert invitations._digest(world["token"]) in hashes


def test_the_writers_table_shows_who_said_what(world, client):
    client.post(url(world["token"]), {"reply": "decline", "reason": "Urlaub"})
    client.force_login(world["writer"])
    page = client.get(reverse("protokolle:meeting_invite", args=[world["meeting"].pk]))
    content = page.content.decode()
    assert "Urlaub" in content
    assert "Dora Vertreterin" in content


# --- the private calendar feed ------------------------------------------------------------


def test_the_calendar_feed_lists_the_bodys_meetings_and_its_address_can_be_replaced(world, client):
    client.force_login(world["member"])
    made = client.post(reverse("protokolle:calendar_token"), follow=True).content.decode()
    assert "Ihre Kalenderadresse ist angelegt." in made  # no "old one" that stops working
    feed = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", made).group(0)
    page = client.get(reverse("protokolle:profile")).content.decode()
    assert feed not in page  # shown once
    # „seit 30.11.2026 um 07:30 Uhr“: the moment in German, in the site's time zone.
    since = timezone.localtime(CalendarFeed.objects.get().created_at)
    assert f"{since:%d.%m.%Y} um {since:%H:%M} Uhr" in page

    plan(world["meeting"].body, days=35, number=11)  # planned, nobody invited yet
    anonymous = Client()
    response = anonymous.get(feed)
    assert response.status_code == 200
    events = icalendar.Calendar.from_ical(response.content).walk("VEVENT")
    status = {int(str(e["summary"]).split(".")[0]): str(e["status"]) for e in events}
    assert status == {9: "CONFIRMED", 10: "CONFIRMED", 11: "TENTATIVE"}

    replaced = client.post(reverse("protokolle:calendar_token"), follow=True).content.decode()
    assert "die alte funktioniert nicht mehr" in replaced
    assert anonymous.get(feed).status_code == 404


def test_a_feed_shows_no_meeting_of_another_body(world, client):
    stranger = writer_of(BodyFactory(name="Andere Werkstatt"))
    plan(stranger.person.memberships.get().body, number=3)
    client.force_login(world["member"])
    client.post(reverse("protokolle:calendar_token"))
    page = client.get(reverse("protokolle:profile")).content.decode()
    feed = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", page).group(0)
    events = icalendar.Calendar.from_ical(Client().get(feed).content).walk("VEVENT")
    assert all("Werkstatt Antwort" in str(e["summary"]) for e in events)
