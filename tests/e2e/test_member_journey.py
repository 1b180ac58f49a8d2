"""A member on a phone: opens the circulated minutes from the mail, reads them, asks for
a correction at one item, and agrees to the corrected version; finds minutes by search."""

import copy
import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from protokolle import workflow
from protokolle.models import AgendaItem, Response, Result
from tests.factories import MembershipFactory, PersonFactory, UserFactory

from .conftest import check_page, log_in
from .test_confirmation_journey import add_writer_and_member

pytestmark = pytest.mark.django_db(transaction=True)

PHONE = {"width": 390, "height": 844}


def either(german, english):
    """A text in German, or its msgid while the German translation is not merged yet."""
    return re.compile(f"{re.escape(german)}|{re.escape(english)}")


def phone(browser):
    return browser.new_context(locale="en-US", viewport=PHONE).new_page()


def mail_link(live_server, message):
    """The read view's URL from a notification, on the test server."""
    link = re.search(r"https?://\S+/meetings/\d+/", message.body).group(0)
    return live_server.url + urlsplit(link).path


@pytest.fixture
def circulated(reference_document):
    document = copy.deepcopy(reference_document)
    document["meeting"]["approves_minutes_of"] = []
    minutes = workflow.import_minutes(document)
    writer, member = add_writer_and_member(minutes.body)
    workflow.circulate(minutes.pk, writer)
    return minutes, writer, member


def test_a_member_reads_corrects_and_agrees_on_a_phone(browser, live_server, circulated):
    minutes, writer, member = circulated
    item = AgendaItem.objects.get(meeting=minutes, title="Sonstiges")
    page = phone(browser)

    # The mail's link leads through the login straight to the minutes.
    (notification,) = [m for m in mail.outbox if "katja.boll@example.org" in m.to]
    page.goto(mail_link(live_server, notification))
    page.get_by_label("Benutzername").fill("mitglied")
    page.get_by_label("Passwort").fill("secret")
    page.locator("#content").get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{live_server.url}/meetings/{minutes.pk}/")
    expect(page.get_by_role("heading", name="Ergebnisprotokoll")).to_be_visible()
    agree = page.get_by_role("button", name=either("Ich stimme zu", "I agree"))
    expect(agree).to_be_in_viewport()
    check_page(page, "circulated minutes")

    # Reading down to the last item, the agree button stays in view.
    row = page.locator(f"#top-{item.pk}")
    row.scroll_into_view_if_needed()
    expect(agree).to_be_in_viewport()
    row.locator("summary").click()
    text = "Der Termin der nächsten Sitzung ist der 30.05.2022."
    row.get_by_role("textbox").fill(text)
    check_page(page, "correction at an item")
    row.get_by_role("button", name=either("Korrektur senden", "Send correction")).click()
    expect(page.get_by_text("Danke: Ihre Rückmeldung ist erfasst.")).to_be_visible()
    answer = Response.objects.get(person__user=member)
    assert (answer.kind, answer.agenda_item_id, answer.text) == ("objection", item.pk, text)
    # The correction shows at its item, and the bar says what the member answered.
    expect(page.locator(f"#top-{item.pk}")).to_contain_text(text)
    expect(page.locator("#respond-status")).to_contain_text(
        either("Korrektur zu Fassung 1", "correction to version 1")
    )

    # The minute-taker works the correction in and circulates version 2.
    workflow.reopen(minutes.pk, writer)
    result = Result.objects.get(agenda_item=item)
    result.text = "Die nächste Werkstattsitzung wird für den 30.05.2022 angekündigt."
    result.save()
    workflow.circulate(minutes.pk, writer)

    page.goto(mail_link(live_server, mail.outbox[-1]))
    expect(page.locator(f"#top-{item.pk}")).to_contain_text("30.05.2022 angekündigt")
    expect(page.locator("#respond-status")).to_contain_text(
        either("Fassung 2 ist neu", "Version 2 is new")
    )
    agree.click()
    expect(page.get_by_text("Danke: Ihre Rückmeldung ist erfasst.")).to_be_visible()
    expect(page.locator("#respond-status")).to_contain_text("✓")
    expect(agree).to_have_count(0)
    check_page(page, "agreed to version 2")
    latest = Response.objects.filter(person__user=member).latest("created_at")
    assert (latest.kind, latest.version.number) == ("agree", 2)


def test_a_search_hit_opens_the_minutes_at_its_item_on_a_phone(
    browser, live_server, reference_document
):
    document = copy.deepcopy(reference_document)
    document["meeting"]["status"] = "confirmed"
    minutes = workflow.import_minutes(document)
    member = UserFactory(username="mitglied")
    MembershipFactory(body=minutes.body, person=PersonFactory(user=member))
    page = phone(browser)
    log_in(page, live_server, "mitglied")

    # The navigation hides behind its menu button on a phone.
    search_link = page.get_by_role("link", name="Suche", exact=True)
    expect(search_link).to_be_hidden()
    page.get_by_role("button", name=either("Menü", "Menu")).click()
    search_link.click()
    page.get_by_label("Suchbegriffe").fill("Trinkwasserverbundsystem")
    page.get_by_role("button", name="Suche", exact=True).click()
    check_page(page, "search")
    page.locator(".search-hits a").first.click()

    item = AgendaItem.objects.get(meeting=minutes, title__startswith="Information zu weiteren")
    page.wait_for_url(re.compile(rf"/meetings/{minutes.pk}/\?hit=.*#top-{item.pk}$"))
    hit = page.locator(f"#top-{item.pk}")
    expect(hit).to_have_class(re.compile(r"\bis-hit\b"))
    expect(hit).to_be_in_viewport()
    expect(hit.locator("mark")).to_have_text("Trinkwasserverbundsystem")
    check_page(page, "search hit")
