"""Two writers create "Neue Sitzung" with the same number at the same moment.

The form checks that the number is free; the other writer's meeting can land between
that check and our save. The database's unique constraint catches it: the loser gets a
message and the next free number, and keeps everything else typed (issue 12, item 7).
"""

import pytest
from django.urls import reverse

from protokolle import drafting
from protokolle.models import AgendaItem, Meeting

from .factories import writer_of
from .html_forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def body(minutes):
    return minutes().body


@pytest.fixture
def writer(body):
    return writer_of(body)


def test_a_number_taken_meanwhile_gives_a_message_and_the_next_free_number(
    client, body, writer, monkeypatch
):
    client.force_login(writer)
    url = reverse("protokolle:meeting_new", args=[body.pk])
    data = form_data(client.get(url).content, "new-meeting-form")
    assert data["number"] == "9"
    data["location"] = "Cottbus, Stadthalle"

    # The other writer's meeting 9 lands after our form checked the number.
    snapshot = drafting.snapshot_from_members

    def other_writer_first(meeting, role):
        if role == "chair":
            Meeting.objects.create(body=body, number=9, date=meeting.date)
        snapshot(meeting, role)

    monkeypatch.setattr(drafting, "snapshot_from_members", other_writer_first)
    response = client.post(url, data)

    assert response.status_code == 200
    warnings = [str(m) for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1 and "9" in warnings[0] and "10" in warnings[0]
    again = form_data(response.content, "new-meeting-form")
    assert again["number"] == "10"
    assert again["location"] == "Cottbus, Stadthalle"
    # Nothing half-written: only the other writer's meeting 9, without our agenda.
    assert Meeting.objects.filter(body=body).count() == 2
    assert not AgendaItem.objects.filter(meeting__body=body, meeting__number=9).exists()

    monkeypatch.setattr(drafting, "snapshot_from_members", snapshot)
    assert client.post(url, again).status_code == 302
    assert Meeting.objects.get(body=body, number=10).location == "Cottbus, Stadthalle"
