import datetime

import pytest
from django.db import IntegrityError, transaction

from protokolle.models import AgendaItem, build_agenda, flatten_agenda

from .factories import (
    AgendaItemFactory,
    BodyFactory,
    MeetingFactory,
    MembershipFactory,
    ParticipantFactory,
    ResultFactory,
)

pytestmark = pytest.mark.django_db


def refused(factory, **fields):
    with pytest.raises(IntegrityError), transaction.atomic():
        factory(**fields)


def test_it_refuses_a_meeting_number_twice_in_one_body():
    body = BodyFactory()
    MeetingFactory(body=body, number=8)
    refused(MeetingFactory, body=body, number=8)


def test_it_allows_the_same_number_in_another_body():
    MeetingFactory(body=BodyFactory(), number=8)
    MeetingFactory(body=BodyFactory(), number=8)


def test_it_allows_several_unnumbered_meetings_in_one_body():
    body = BodyFactory()
    MeetingFactory(body=body, number=None)
    MeetingFactory(body=body, number=None)


def test_it_refuses_a_meeting_that_ends_before_it_starts():
    refused(MeetingFactory, start=datetime.time(12, 0), end=datetime.time(10, 0))


def test_it_refuses_a_meeting_that_ends_when_it_starts():
    refused(MeetingFactory, start=datetime.time(10, 0), end=datetime.time(10, 0))


def test_it_allows_a_meeting_without_an_end():
    MeetingFactory(start=datetime.time(10, 0), end=None)


@pytest.mark.parametrize("field", ["vote_yes", "vote_no", "vote_abstain"])
def test_it_refuses_negative_vote_counts(field):
    refused(ResultFactory, voted=True, **{field: -1})


def test_it_allows_zero_votes():
    ResultFactory(voted=True, vote_yes=0, vote_no=0, vote_abstain=0)


def test_it_refuses_a_participant_who_leaves_before_arriving():
    refused(ParticipantFactory, arrived=datetime.time(11, 0), left=datetime.time(10, 30))


def test_it_refuses_a_membership_that_ends_before_it_starts():
    refused(MembershipFactory, start=datetime.date(2022, 1, 1), end=datetime.date(2021, 12, 31))


def test_agenda_numbers_come_from_positions_and_nesting():
    meeting = MeetingFactory()
    first = AgendaItemFactory(meeting=meeting, position=0)
    second = AgendaItemFactory(meeting=meeting, position=1)
    AgendaItemFactory(meeting=meeting, position=0, parent=second)
    sub = AgendaItemFactory(meeting=meeting, position=1, parent=second)
    AgendaItemFactory(meeting=meeting, position=0, parent=sub)
    AgendaItemFactory(meeting=meeting, position=2)

    tree = build_agenda(AgendaItem.objects.filter(meeting=meeting))

    assert [item.printed_number for item in flatten_agenda(tree)] == [
        "1",
        "2",
        "2.1",
        "2.2",
        "2.2.1",
        "3",
    ]
    assert tree[0] == first
    assert [item.depth for item in flatten_agenda(tree)] == [0, 0, 1, 1, 2, 0]


def test_explicit_agenda_numbers_win_and_prefix_their_children():
    meeting = MeetingFactory()
    AgendaItemFactory(meeting=meeting, position=0, number="8")
    parent = AgendaItemFactory(meeting=meeting, position=1, number="15")
    AgendaItemFactory(meeting=meeting, position=0, parent=parent)

    tree = build_agenda(AgendaItem.objects.filter(meeting=meeting))

    assert [item.printed_number for item in flatten_agenda(tree)] == ["8", "15", "15.1"]


def test_it_shows_a_meeting_by_number_body_and_german_date():
    meeting = MeetingFactory(body=BodyFactory(name="Werkstatt"), number=8)
    assert str(meeting) == "8. Sitzung Werkstatt vom 21.03.2022"
