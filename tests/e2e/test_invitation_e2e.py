"""Issue 14 in the browser: plan a meeting, send the invitation, a member declines through
the link in their mail without logging in, and the draft's attendance says „entschuldigt“.

Button names match the English msgid or its German translation (/work/po/invite.po), so
the test holds before and after the translations are merged.
"""

import datetime
import re

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from protokolle.models import Body, Membership, Participant
from tests.factories import MembershipFactory, PersonFactory, UserFactory

from .conftest import log_in
from .guards import check_page

pytestmark = pytest.mark.django_db(transaction=True)

RSVP_LINK = re.compile(r"https?://\S+(/rsvp/[A-Za-z0-9_-]+/)")


@pytest.fixture
def werkstatt(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    body = Body.objects.create(name="Werkstatt", place="Cottbus")
    writer = UserFactory(username="protokoll")
    MembershipFactory(
        body=body,
        person=PersonFactory(user=writer, name="Alexander Boldt", email="boldt@example.org"),
        role=Membership.Role.MINUTE_TAKER,
    )
    MembershipFactory(
        body=body,
        person=PersonFactory(name="Katja Boll", organisation="ver.di", email="boll@example.org"),
        role=Membership.Role.MEMBER,
    )
    MembershipFactory(
        body=body,
        person=PersonFactory(name="Sven Guntermann", email=""),
        role=Membership.Role.CHAIR,
    )
    return body


def test_plan_invite_reply_and_find_the_attendance(werkstatt, page, browser, live_server):
    day = timezone.localdate() + datetime.timedelta(days=14)
    log_in(page, live_server, "protokoll")
    page.get_by_role("link", name="Neue Sitzung").click()
    page.get_by_label("Datum").fill(day.isoformat())
    page.get_by_role("button", name="Sitzung anlegen").click()
    expect(page.get_by_text("Die Sitzung wurde angelegt.")).to_be_visible()
    meeting_pk = int(re.search(r"/meetings/(\d+)/edit/", page.url).group(1))

    # The start page shows the meeting ahead, with its invitation still to send.
    page.goto(f"{live_server.url}/")
    page.locator("#h-upcoming ~ div a[href$='/invite/']").first.click()
    expect(page.get_by_text("boll@example.org")).to_be_visible()
    expect(page.get_by_text("Sven Guntermann")).to_be_visible()  # no address
    check_page(page, "invite")
    page.get_by_role("button", name=re.compile("Send the invitation|Einladung versenden")).click()
    expect(page.get_by_text("Katja Boll").first).to_be_visible()
    check_page(page, "invite-sent")  # the table of replies, sideways on a phone

    letter = next(m for m in mail.outbox if m.to == ["boll@example.org"])
    link = live_server.url + RSVP_LINK.search(letter.body).group(1)
    assert any(name.endswith(".ics") for name, _content, _type in letter.attachments)

    # Katja answers from her mail, not logged in.
    member = browser.new_page()
    member.goto(link)
    expect(member.get_by_text("Katja Boll").first).to_be_visible()
    check_page(member, "rsvp")
    member.get_by_label(re.compile("Absage")).check()
    member.get_by_label(re.compile("Reason|Grund")).fill("Urlaub")
    member.get_by_role("button", name=re.compile("Send my answer|Antwort senden")).click()
    expect(member.get_by_role("status").first).to_be_visible()
    member.close()

    # The minute-taker drafts the minutes: Katja is excused already.
    page.goto(f"{live_server.url}/meetings/{meeting_pk}/edit/")
    katja = page.get_by_role("group", name="Anwesenheit: Katja Boll")
    expect(katja.get_by_label("entschuldigt")).to_be_checked()
    assert Participant.objects.get(meeting_id=meeting_pk, name="Katja Boll").status == "excused"
