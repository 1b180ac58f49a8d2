"""A citizen without an account: the public list of bodies, a body with its upcoming
meeting and its minutes, the minutes in the public version. Each page passes axe (WCAG
AA) at desktop and phone size, with no console error or CSP violation."""

import datetime
import threading

import pytest
from django.db import connections
from django.utils import timezone
from playwright.sync_api import expect

from protokolle.models import AgendaItem, Invitation
from tests.factories import MeetingFactory
from tests.test_oparl import SECRET_ITEM, _secret_item

from .conftest import check_page

pytestmark = pytest.mark.django_db(transaction=True)


def _beside_the_browser(make):
    """Run ``make`` in a thread of its own: sealing the archival PDF runs an asyncio
    loop, which cannot start in the thread where Playwright's loop runs."""
    done = {}

    def run():
        try:
            done["value"] = make()
        finally:
            connections.close_all()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    return done["value"]


@pytest.fixture
def published(minutes):
    confirmed = _beside_the_browser(
        lambda: minutes(status="confirmed", number=8, alone=True, change=_secret_item)
    )
    body = confirmed.body
    body.published = True
    body.save()
    upcoming = MeetingFactory(
        body=body,
        number=20,
        date=timezone.localdate() + datetime.timedelta(days=7),
        location="Rathaus Cottbus",
    )
    AgendaItem.objects.create(meeting=upcoming, position=0, title="Haushalt 2027")
    AgendaItem.objects.create(meeting=upcoming, position=1, title=SECRET_ITEM, public=False)
    Invitation.objects.create(meeting=upcoming, sent_at=timezone.now(), updated_at=timezone.now())
    return confirmed, upcoming


def test_a_citizen_reads_the_public_minutes_without_logging_in(page, live_server, published):
    confirmed, upcoming = published
    page.goto(f"{live_server.url}/public/")
    check_page(page, "public index")
    page.get_by_role("link", name=confirmed.body.name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(confirmed.body.name)
    expect(page.get_by_text("Haushalt 2027")).to_be_visible()
    expect(page.get_by_text(SECRET_ITEM)).to_have_count(0)
    check_page(page, "public body")
    page.locator(f'a[href="/public/meetings/{confirmed.pk}/"]').click()
    expect(page.get_by_text("Smart Regions").first).to_be_visible()
    expect(page.get_by_text(SECRET_ITEM)).to_have_count(0)
    check_page(page, "public minutes")
    page.goto(f"{live_server.url}/public/meetings/{upcoming.pk}/")
    expect(page.get_by_text("Haushalt 2027")).to_be_visible()
    check_page(page, "public upcoming meeting")
