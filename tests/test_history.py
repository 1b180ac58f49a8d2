"""The history of a meeting: one sentence per action, in local time, the raw log for admins."""

import datetime

import pytest
from auditlog.context import set_actor
from auditlog.models import LogEntry
from django.conf import settings
from django.urls import reverse
from django.utils import translation

from protokolle import history, workflow
from protokolle.models import AgendaItem, Result

from .factories import PersonFactory, UserFactory, user_in, writer_of

pytestmark = pytest.mark.django_db
UTC = datetime.UTC


@pytest.fixture(autouse=True)
def english():
    # The German comes with the merged translations; the tests read the msgids.
    with translation.override("en"):
        yield


IMPORTED = datetime.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@pytest.fixture
def meeting(minutes):
    meeting = minutes()
    # The import's rows lie in the past, apart from what each test does.
    LogEntry.objects.update(timestamp=IMPORTED)
    return meeting


def new_rows(**filters):
    return list(LogEntry.objects.filter(timestamp__gt=IMPORTED, **filters).order_by("pk"))


@pytest.fixture
def writer(meeting):
    user = UserFactory(username="boldt", first_name="Alex", last_name="B.")
    return writer_of(meeting.body, user=user, name="Alexander Boldt")


@pytest.fixture
def member(meeting):
    return user_in(meeting.body, user=UserFactory(username="boll"), name="Katja Boll")


def at(moment, *rows):
    """Move audit rows to ``moment`` (UTC)."""
    LogEntry.objects.filter(pk__in=[row.pk for row in rows]).update(timestamp=moment)


def touch(result):
    """Change a result (auditlog records only rows that changed)."""
    result.text += " (ergänzt)"
    result.save()


def first_result(meeting):
    return Result.objects.filter(agenda_item__meeting=meeting).order_by("pk").first()


def texts(meeting):
    return [entry.text for entry in history.for_meeting(meeting)]


def test_a_save_of_many_rows_is_one_entry(meeting, writer):
    with set_actor(writer):
        for result in Result.objects.filter(agenda_item__meeting=meeting)[:3]:
            result.text += " (ergänzt)"
            result.save()

    entries = history.for_meeting(meeting)

    assert len(entries) == 2  # and the import
    assert entries[0].actor == "Alexander Boldt"
    assert entries[0].text.startswith("Alexander Boldt changed 3 results on ")
    assert len(entries[0].log_entries) == 3


def test_actions_of_one_save_are_joined_in_one_sentence(meeting, writer):
    with set_actor(writer):
        AgendaItem.objects.create(meeting=meeting, position=10, title="Neu 1")
        AgendaItem.objects.create(meeting=meeting, position=11, title="Neu 2")
        result = Result.objects.filter(agenda_item__meeting=meeting).first()
        result.text = "Geändert"
        result.save()

    assert texts(meeting)[0].startswith(
        "Alexander Boldt added 2 agenda items and changed 1 result on "
    )


def test_actions_apart_in_time_or_by_others_are_separate_entries(meeting, writer, member):
    results = list(Result.objects.filter(agenda_item__meeting=meeting)[:3])
    with set_actor(writer):
        touch(results[0])
    with set_actor(member):
        touch(results[1])
    with set_actor(writer):
        touch(results[2])
    rows = new_rows()
    at(datetime.datetime(2026, 11, 29, 15, 0, tzinfo=UTC), rows[0])
    at(datetime.datetime(2026, 11, 29, 15, 1, tzinfo=UTC), rows[1])
    at(datetime.datetime(2026, 11, 29, 15, 1, 2, tzinfo=UTC), rows[2])

    assert [entry.actor for entry in history.for_meeting(meeting)][:3] == [
        "Alexander Boldt",
        "Katja Boll",
        "Alexander Boldt",
    ]


def test_only_the_newest_entries_are_told(meeting, writer, member):
    results = list(Result.objects.filter(agenda_item__meeting=meeting)[:2])
    with set_actor(writer):
        touch(results[0])
    with set_actor(member):
        touch(results[1])

    entries = history.for_meeting(meeting, limit=2)

    assert [entry.actor for entry in entries] == ["Katja Boll", "Alexander Boldt"]


def test_one_actors_actions_minutes_apart_are_separate_entries(meeting, writer):
    results = list(Result.objects.filter(agenda_item__meeting=meeting)[:2])
    with set_actor(writer):
        touch(results[0])
        touch(results[1])
    first, second = new_rows()
    at(datetime.datetime(2026, 11, 29, 15, 0, tzinfo=UTC), first)
    at(datetime.datetime(2026, 11, 29, 15, 1, tzinfo=UTC), second)

    assert [text.split(" on ")[0] for text in texts(meeting)][:2] == [
        "Alexander Boldt changed 1 result",
        "Alexander Boldt changed 1 result",
    ]


def test_times_are_local_and_machine_readable(meeting, writer):
    assert settings.TIME_ZONE == "Europe/Berlin"
    with set_actor(writer):
        touch(first_result(meeting))
    at(datetime.datetime(2026, 11, 29, 15, 45, tzinfo=UTC), *new_rows())

    entry = history.for_meeting(meeting)[0]

    assert entry.text == "Alexander Boldt changed 1 result on 29.11.2026 at 16:45."
    assert '<time datetime="2026-11-29T16:45:00+01:00">29.11.2026</time>' in entry.html


def test_a_correction_names_its_agenda_item(meeting, writer, member):
    workflow.circulate(meeting.pk, writer)
    item = AgendaItem.objects.get(meeting=meeting, parent=None, position=1)
    workflow.respond(meeting.pk, member, "objection", "Bitte ergänzen", item.pk)
    workflow.respond(meeting.pk, member, "agree")
    circulated, objection, agreement = new_rows()
    at(datetime.datetime(2026, 11, 29, 15, 0, tzinfo=UTC), circulated)
    at(datetime.datetime(2026, 11, 29, 15, 30, tzinfo=UTC), objection)
    at(datetime.datetime(2026, 11, 29, 16, 0, tzinfo=UTC), agreement)
    meeting.versions.update(created_at=datetime.datetime(2026, 11, 29, 15, 0, tzinfo=UTC))

    entries = texts(meeting)

    assert entries[0].startswith("Katja Boll agreed to version 1 on 29.11.2026 at 17:00")
    assert entries[1].startswith("Katja Boll asked for a correction to item 2 on ")
    assert entries[2].startswith("Alexander Boldt circulated the minutes (version 1) on ")


def test_circulating_again_names_the_new_version(meeting, writer):
    workflow.circulate(meeting.pk, writer)
    workflow.reopen(meeting.pk, writer)
    circulated, reopened = new_rows()
    at(datetime.datetime(2026, 11, 29, 10, 0, tzinfo=UTC), circulated)
    at(datetime.datetime(2026, 11, 29, 11, 0, tzinfo=UTC), reopened)
    second = workflow.circulate(meeting.pk, writer)
    meeting.versions.filter(number=1).update(
        created_at=datetime.datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
    )

    entries = texts(meeting)

    assert second.number == 2
    assert entries[0].startswith("Alexander Boldt circulated the minutes (version 2) on ")
    assert entries[1].startswith("Alexander Boldt took the minutes back for corrections on ")
    assert entries[2].startswith("Alexander Boldt circulated the minutes (version 1) on ")


def test_creating_a_meeting_is_one_sentence(client, meeting, writer):
    workflow.circulate(meeting.pk, writer)
    client.force_login(writer)
    client.post(
        reverse("protokolle:meeting_new", args=[meeting.body.pk]),
        {"number": "9", "date": "2022-05-23", "minute_taker_name": "Alexander Boldt"},
    )
    new = meeting.body.meetings.get(number=9)

    assert [text.split(" on ")[0] for text in texts(new)] == ["Alexander Boldt created the meeting"]


@pytest.mark.parametrize(
    ("person", "full_name", "expected"),
    [("Katja Boll", "K. B.", "Katja Boll"), (None, "Katja B.", "Katja B."), (None, "", "kb")],
)
def test_the_actor_is_named_by_person_then_full_name_then_username(
    meeting, person, full_name, expected
):
    first, _space, last = full_name.partition(" ")
    user = UserFactory(username="kb", first_name=first, last_name=last)
    if person:
        PersonFactory(name=person, user=user)
    with set_actor(user):
        touch(first_result(meeting))

    assert history.for_meeting(meeting)[0].actor == expected


def test_rows_without_actor_are_the_systems(meeting):
    touch(first_result(meeting))
    assert texts(meeting)[0].startswith("The system changed 1 result on ")


def test_names_are_escaped_in_the_html(meeting):
    user = UserFactory(username="<b>x</b>")
    with set_actor(user):
        touch(first_result(meeting))

    entry = history.for_meeting(meeting)[0]

    assert "<b>" not in entry.html and "&lt;b&gt;x&lt;/b&gt;" in entry.html


def test_only_staff_see_the_raw_log(client, meeting, writer, member):
    workflow.circulate(meeting.pk, writer)
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    page_url = reverse("protokolle:meeting_detail", args=[meeting.pk])

    client.force_login(member)
    page = client.get(page_url).content.decode()
    assert "circulated the minutes" in page or "in Umlauf gegeben" in page
    assert "status: draft → circulated" not in page

    client.force_login(admin)
    page = client.get(page_url).content.decode()
    assert "status: draft → circulated" in page
    assert reverse("admin:auditlog_logentry_changelist") in page
    admin_url = history.for_meeting(meeting).admin_url
    listed = client.get(admin_url)
    assert listed.status_code == 200
    assert list(listed.context["cl"].result_list) == list(
        LogEntry.objects.filter(content_type__model="meeting", object_pk=str(meeting.pk))
    )


def test_the_history_costs_three_queries_however_long(
    meeting, writer, member, django_assert_num_queries
):
    workflow.circulate(meeting.pk, writer)
    item = AgendaItem.objects.get(meeting=meeting, parent=None, position=1)
    workflow.respond(meeting.pk, member, "objection", "Bitte ergänzen", item.pk)
    with set_actor(writer):
        for result in Result.objects.filter(agenda_item__meeting=meeting):
            touch(result)
    history.for_meeting(meeting)  # the content type is cached from here on

    with django_assert_num_queries(3):
        entries = history.for_meeting(meeting)

    assert len(entries) == 4  # circulated, correction, save, import
