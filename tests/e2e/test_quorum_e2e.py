"""The quorum indicator in the editor follows the attendance as it is clicked."""

import copy
import re

import pytest
from playwright.sync_api import expect

from protokolle import workflow
from protokolle.models import Membership
from tests.factories import MembershipFactory, PersonFactory, UserFactory

from .conftest import log_in
from .guards import check_page

pytestmark = pytest.mark.django_db(transaction=True)

MEMBERS = ["Anna Arndt", "Bernd Bauer", "Carla Cramer", "Dr. Elena Herzog", "Fritz Fuchs"]


@pytest.fixture
def attended(reference_document):
    """The 8th meeting as a draft: five voting members, three present, two excused."""
    document = copy.deepcopy(reference_document)
    document["meeting"]["approves_minutes_of"] = []
    document["meeting"]["participants"] = [
        {
            "name": name,
            "organisation": None,
            "function": None,
            "status": "present" if index < 3 else "excused",
            "voting": True,
            "substitute_for": None,
            "arrived": None,
            "left": None,
        }
        for index, name in enumerate(MEMBERS)
    ]
    meeting = workflow.import_minutes(document)
    writer = UserFactory(username="protokoll")
    MembershipFactory(
        body=meeting.body,
        person=PersonFactory(user=writer, name="Alexander Boldt"),
        role=Membership.Role.MINUTE_TAKER,
        voting=False,
    )
    return meeting


def participant_row(page, name):
    return page.locator("#participant-list .participant-row").filter(
        has=page.locator(f"input[value='{name}']")
    )


def test_clicking_a_member_absent_changes_the_indicator(page, live_server, attended):
    log_in(page, live_server, "protokoll")
    page.goto(f"{live_server.url}/meetings/{attended.pk}/edit/")
    state = page.locator("#quorum-state")
    # Rendered by the server: 3 of 5, quorate.
    expect(state).to_have_text(re.compile(r"\b3\D+5\b"))
    expect(state).to_have_attribute("aria-live", "polite")
    indicator = page.locator("#quorum-indicator")
    expect(indicator).not_to_have_class(re.compile("is-not-quorate"))
    check_page(page, "editor with quorum")

    # One present member marked absent: 2 of 5, not quorate, without saving.
    participant_row(page, "Anna Arndt").locator(
        "label", has_text=re.compile("abwesend|absent")
    ).click()
    expect(state).to_have_text(re.compile(r"\b2\D+5\b"))
    expect(indicator).to_have_class(re.compile("is-not-quorate"))

    # The decision of item 1 now carries the check (the item's count and the warning).
    decision = (
        page.locator(".result-row")
        .filter(has=page.locator("option[value='decision'][selected]"))
        .first
    )
    expect(decision.locator("[data-quorum-check] .quorum-warning")).to_have_count(1)

    # Back to present: quorate again, the warning gone.
    participant_row(page, "Anna Arndt").locator(
        "label", has_text=re.compile("^(anwesend|present)$")
    ).click()
    expect(state).to_have_text(re.compile(r"\b3\D+5\b"))
    expect(decision.locator("[data-quorum-check] .quorum-warning")).to_have_count(0)

    # Too many votes for those present: a warning at once.
    decision.locator("summary").click()
    decision.locator("input[name^='results-'][name$='-vote_yes']").fill("4")
    expect(decision.locator("[data-quorum-check] .quorum-warning")).to_have_count(1)
    check_page(page, "editor with a vote warning")


def test_a_voting_member_left_unmarked_is_named_until_marked(page, live_server, attended):
    """Left unmarked, a voting member is in neither number ("1 von 1" for a body of
    two): the indicator names them, until they are marked."""
    MembershipFactory(body=attended.body, person=PersonFactory(name="Gustav Gruber"), voting=True)
    log_in(page, live_server, "protokoll")
    page.goto(f"{live_server.url}/meetings/{attended.pk}/edit/")
    note = page.locator("#quorum-unmarked")
    expect(note).to_have_text(re.compile(r"ohne Eintrag: Gustav Gruber\."))
    expect(page.locator("#quorum-state")).to_have_text(re.compile(r"\b3\D+5\b"))
    check_page(page, "unmarked voting member")

    participant_row(page, "Gustav Gruber").locator(
        "label", has_text=re.compile("abwesend|absent")
    ).click()
    expect(note).to_be_hidden()
    expect(page.locator("#quorum-state")).to_have_text(re.compile(r"\b3\D+6\b"))
