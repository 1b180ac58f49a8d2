import pytest
from playwright.sync_api import expect

from protokolle.models import ArchivedPdf, Meeting, Result
from tests.factories import UserFactory, user_in, writer_of

from .conftest import log_in
from .guards import check_page

pytestmark = pytest.mark.django_db(transaction=True)


def add_writer_and_member(body):
    """The demo's minute-taker ``protokoll`` and member ``mitglied`` in ``body``."""
    writer = writer_of(body, user=UserFactory(username="protokoll"), name="Alexander Boldt")
    member = user_in(
        body,
        user=UserFactory(username="mitglied"),
        name="Katja Boll",
        email="katja.boll@example.org",
    )
    return writer, member


@pytest.fixture
def setup(minutes):
    draft = minutes()

    def welcome_only(meeting):
        meeting["agenda"] = [{**meeting["agenda"][0], "results": [], "title": "Begrüßung"}]

    nine = minutes(number=9, date="2022-05-23", alone=True, change=welcome_only)
    add_writer_and_member(draft.body)
    return draft, nine


def as_user(browser, live_server, username):
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, live_server, username)
    return page


def circulate(writer):
    """Circulate from the read view: the link opens the confirmation page, which sends."""
    writer.get_by_role("link", name="An die Mitglieder in Umlauf geben").click()
    check_page(writer, "circulate-confirmation")
    writer.locator("form[action$='/circulate/'] button[type=submit]").click()
    expect(writer.get_by_role("button", name="Zur Korrektur zurückholen")).to_be_visible()


def test_minutes_go_from_draft_to_confirmed(browser, live_server, setup):
    draft, nine = setup
    detail = f"{live_server.url}/meetings/{draft.pk}/"
    writer = as_user(browser, live_server, "protokoll")
    member = as_user(browser, live_server, "mitglied")

    writer.goto(detail)
    check_page(writer, "draft-read-view")
    circulate(writer)
    check_page(writer, "circulated")

    member.goto(f"{live_server.url}/")
    check_page(member, "member-home")
    member.get_by_role("link", name="8. Sitzung Werkstatt vom 21.03.2022").first.click()
    check_page(member, "member-reads-circulated")
    correction = member.locator("details.item-correction").filter(
        has=member.locator("summary", has_text="6 Sonstiges")
    )
    correction.locator("summary").click()
    check_page(member, "correction-to-item-6-open")
    correction.locator("textarea").fill("TOP 6: Der Termin ist der 30.05.2022.")
    correction.locator("button[type=submit]").click()
    expect(member.get_by_text("Danke: Ihre Rückmeldung ist erfasst.")).to_be_visible()
    check_page(member, "correction-sent")

    writer.goto(detail)
    expect(
        writer.locator(".item-corrections").get_by_text("TOP 6: Der Termin ist der 30.05.2022.")
    ).to_be_visible()
    writer.get_by_role("button", name="Zur Korrektur zurückholen").click()
    writer.get_by_role("link", name="Bearbeiten").click()
    check_page(writer, "editor-after-recall")
    writer.locator("textarea").filter(has_text="23.05.2022 angekündigt").fill(
        "Die nächste Werkstattsitzung wird für den 30.05.2022 angekündigt."
    )
    # Twice in CI a click on "Speichern" right after filling started no save: the status
    # line showed the browser copy (written 800 ms after the last keystroke) and no request
    # went out; never reproduced here. The click now comes after that copy is written, and
    # waits for the save's own answer, so a lost click fails here with that message.
    expect(writer.locator("#autosave-status")).to_contain_text("Im Browser gesichert")
    with writer.expect_response(lambda r: r.request.method == "POST" and "/edit/" in r.url):
        writer.get_by_role("button", name="Speichern").click()
    expect(writer.locator("#autosave-status")).to_have_text("Gespeichert.")
    assert Result.objects.filter(text__contains="30.05.2022 angekündigt").exists()
    writer.goto(detail)
    circulate(writer)
    writer.get_by_role("link", name="was sich in Fassung 2 geändert hat").click()
    expect(writer.locator("ins")).to_contain_text("30.05.2022")
    check_page(writer, "diff-to-version-1")

    member.goto(detail)
    # The answer bar's button (its label is not translated yet: "I agree").
    member.locator(".respond-bar button[type=submit]").click()
    expect(member.get_by_text("Danke: Ihre Rückmeldung ist erfasst.")).to_be_visible()

    writer.goto(f"{live_server.url}/meetings/{nine.pk}/edit/")
    approvals = writer.locator("#sec-approvals")
    approvals.get_by_label("bestätigt", exact=True).check()
    approvals.get_by_label("Ja").fill("9")
    approvals.get_by_label("Nein").fill("0")
    approvals.get_by_label("Enthaltung").fill("0")
    check_page(writer, "approvals-in-editor")
    # "Save and record the decision" (being redesigned, not translated yet).
    approvals.locator("button[name=approve]").click()
    # Confirming archives the 8th meeting's PDF within the request: slow on a busy machine.
    expect(writer.get_by_text("Der Beschluss ist erfasst")).to_be_visible(timeout=60_000)
    expect(
        writer.locator("textarea").filter(
            has_text="Das Protokoll der 8. Sitzung vom 21.03.2022 wird angenommen und bestätigt."
        )
    ).to_have_count(1)

    member.goto(detail)
    expect(member.get_by_text("Bestätigt in der 9. Sitzung am 23.05.2022.")).to_be_visible()
    with member.expect_download() as download_info:
        member.get_by_role("link", name="PDF herunterladen").click()
    downloaded = download_info.value.path().read_bytes()
    stored = ArchivedPdf.objects.get(meeting=draft, variant="members")
    with stored.file.open("rb") as handle:
        assert downloaded == handle.read()
    assert Meeting.objects.get(pk=draft.pk).status == "confirmed"
    assert Result.objects.get(approval__isnull=False).vote_yes == 9


def test_the_archive_pages_are_accessible(page, live_server, minutes):
    task = {
        "kind": "task",
        "text": "Steckbrief überarbeiten",
        "responsible": "WRL",
        "due": "2022-04-30",
    }
    confirmed = minutes(status="confirmed", change=lambda m: m["agenda"][1]["results"].append(task))
    writer_of(confirmed.body, user=UserFactory(username="protokoll"))
    log_in(page, live_server, "protokoll")

    page.get_by_role("link", name="Archiv", exact=True).click()
    expect(page.get_by_role("heading", name="Archiv")).to_be_visible()
    check_page(page, "archive")
    page.get_by_role("link", name="Suche", exact=True).click()
    page.get_by_label("Suchbegriffe").fill("Trinkwasserverbundsystem")
    page.get_by_role("button", name="Suche", exact=True).click()
    expect(page.get_by_text("1 Treffer")).to_be_visible()
    check_page(page, "search-hit")
    page.get_by_role("link", name="Aufgaben", exact=True).click()
    check_page(page, "tasks")
    page.get_by_role("button", name="Erledigt").click()
    expect(page.get_by_text("Die Aufgabe ist als erledigt markiert.")).to_be_visible()
    check_page(page, "task-done")
