import copy
import re

import pytest
from playwright.sync_api import expect

from protokolle import exchange
from protokolle.models import (
    AgendaItem,
    Meeting,
    Membership,
    Participant,
    Result,
    build_agenda,
    flatten_agenda,
)
from tests.factories import MembershipFactory, PersonFactory, UserFactory

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def werkstatt(reference_document):
    """The 8th meeting (circulated, waiting for confirmation), a minute-taker and a member."""
    document = copy.deepcopy(reference_document)
    document["meeting"]["status"] = "circulated"
    meeting = exchange.import_document(document)
    writer = UserFactory(username="protokoll")
    MembershipFactory(
        body=meeting.body,
        person=PersonFactory(user=writer, name="Alexander Boldt", function="Projektmanager"),
        role=Membership.Role.MINUTE_TAKER,
    )
    MembershipFactory(
        body=meeting.body,
        person=PersonFactory(name="Katja Boll", organisation="ver.di"),
        role=Membership.Role.MEMBER,
    )
    MembershipFactory(
        body=meeting.body,
        person=PersonFactory(
            name="Sven Guntermann", organisation=None, function="Werkstattsprecher"
        ),
        role=Membership.Role.CHAIR,
    )
    return meeting


def item(page, title):
    """The editor's card of the agenda item whose title field holds ``title``."""
    return page.locator(".agenda-item").filter(has=page.locator(f"textarea:text-is('{title}')"))


def add_item(page, title):
    page.get_by_role("button", name="Tagesordnungspunkt hinzufügen").click()
    page.locator(".agenda-item").last.get_by_label("Titel").fill(title)


def test_a_minute_taker_writes_new_minutes(page, live_server, werkstatt, check_accessibility):
    log_in(page, live_server, "protokoll")
    check_accessibility(page)

    page.get_by_role("link", name="Neue Sitzung").click()
    expect(page.get_by_label("Nummer")).to_have_value("9")
    expect(
        page.get_by_text("Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022")
    ).to_be_visible()
    check_accessibility(page)
    page.get_by_label("Datum").fill("2022-05-23")
    page.get_by_role("button", name="Sitzung anlegen").click()
    expect(page.get_by_text("Die Sitzung wurde angelegt.")).to_be_visible()
    check_accessibility(page)

    # Attendance: one click per member.
    page.get_by_role("group", name="Anwesenheit: Katja Boll").get_by_label("anwesend").check()
    page.get_by_role("group", name="Anwesenheit: Sven Guntermann").get_by_label(
        "entschuldigt"
    ).check()

    # Three new items and a sub-item.
    add_item(page, "Bericht der Geschäftsstelle")
    add_item(page, "Trinkwasserverbund")
    add_item(page, "Finanzierung")
    add_item(page, "Kita-Projekte")
    finanzierung = page.locator(".agenda-item").nth(4)
    finanzierung.get_by_role("button", name="Einrücken (Unterpunkt)").click()
    expect(finanzierung.locator(".item-number")).to_have_text("4.1")

    # Results with a vote and a task.
    trinkwasser = page.locator(".agenda-item").nth(3)
    trinkwasser.get_by_role("button", name="Ergebnis hinzufügen").click()
    result = trinkwasser.locator(".result-row").last
    result.get_by_label("Art").select_option("decision")
    result.locator("textarea").fill("Die Werkstatt empfiehlt den **Trinkwasserverbund**.")
    result.get_by_text("Abstimmung und Aufgabe").click()
    result.get_by_label("Ja").fill("16")
    result.get_by_label("Nein").fill("0")
    result.get_by_label("Enthaltung").fill("1")
    trinkwasser.get_by_role("button", name="Ergebnis hinzufügen").click()
    task = trinkwasser.locator(".result-row").last
    task.get_by_label("Art").select_option("task")
    task.locator("textarea").fill("Steckbrief überarbeiten")
    task.get_by_text("Abstimmung und Aufgabe").click()
    task.get_by_label("verantwortlich").fill("WRL")
    task.get_by_label("erledigen bis").fill("2022-06-30")

    # Reorder: "Bericht der Geschäftsstelle" moves below the Trinkwasserverbund and its
    # sub-item; "Sonstiges" moves to the end with the keyboard.
    bericht = page.locator(".agenda-item").nth(2)
    bericht.get_by_role("button", name="Nach unten").click()
    sonstiges = item(page, "Sonstiges").get_by_label("Titel")
    for _ in range(3):
        sonstiges.press("Alt+ArrowDown")
    numbers = page.locator(".agenda-item .item-number").all_text_contents()
    assert numbers == ["1", "2", "2.1", "3", "4", "5"]
    check_accessibility(page)

    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Gespeichert.")).to_be_visible()

    meeting = Meeting.objects.get(number=9)
    titles = [
        (i.printed_number, i.title)
        for i in flatten_agenda(build_agenda(meeting.agenda_items.all()))
    ]
    assert titles == [
        ("1", "Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022"),
        ("2", "Trinkwasserverbund"),
        ("2.1", "Finanzierung"),
        ("3", "Bericht der Geschäftsstelle"),
        ("4", "Kita-Projekte"),
        ("5", "Sonstiges"),
    ]
    vote = Result.objects.get(kind="decision", agenda_item__title="Trinkwasserverbund")
    assert (vote.vote_yes, vote.vote_no, vote.vote_abstain, vote.voted) == (16, 0, 1, True)
    task_row = Result.objects.get(kind="task")
    assert (task_row.responsible, task_row.due.isoformat()) == ("WRL", "2022-06-30")
    assert set(Participant.objects.filter(meeting=meeting).values_list("name", "status")) == {
        ("Katja Boll", "present"),
        ("Sven Guntermann", "excused"),
    }

    # The preview beside the editor shows the saved minutes.
    preview = page.frame_locator("#preview-frame")
    expect(preview.get_by_text("Die Werkstatt empfiehlt den Trinkwasserverbund.")).to_be_visible()
    expect(preview.get_by_text("Abstimmung: Ja 16 · Nein 0 · Enthaltung 1")).to_be_visible()
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/preview/")
    check_accessibility(page)
    page.goto(f"{live_server.url}/meetings/{meeting.pk}/")
    check_accessibility(page)


def test_two_writers_edit_the_same_draft_and_both_texts_survive(browser, live_server, werkstatt):
    Meeting.objects.filter(pk=werkstatt.pk).update(status=Meeting.Status.DRAFT)
    pages = []
    for _ in range(2):
        context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        log_in(page, live_server, "protokoll")
        page.goto(f"{live_server.url}/meetings/{werkstatt.pk}/edit/")
        pages.append(page)
    first, second = pages

    item(first, "Sonstiges").locator(".result-row textarea").first.fill("Text von Tab A")
    item(second, "Information zu weiteren Projekten in der Bearbeitung").get_by_label("Titel").fill(
        "Information zu weiteren Projekten (Tab B)"
    )
    first.get_by_role("button", name="Speichern").click()
    expect(first.get_by_text("Gespeichert.")).to_be_visible()
    second.get_by_role("button", name="Speichern").click()
    expect(second.get_by_text("Gespeichert.")).to_be_visible()

    assert Result.objects.filter(text="Text von Tab A").exists()
    assert AgendaItem.objects.filter(title="Information zu weiteren Projekten (Tab B)").exists()

    # Now both change the same result: the later save shows the conflict and keeps its input.
    second.reload()
    item(first, "Sonstiges").locator(".result-row textarea").first.fill("Fassung A")
    item(second, "Sonstiges").locator(".result-row textarea").first.fill("Fassung B")
    first.get_by_role("button", name="Speichern").click()
    expect(first.get_by_text("Gespeichert.")).to_be_visible()
    second.get_by_role("button", name="Speichern").click()
    expect(
        second.get_by_role("alert").filter(
            has_text="Jemand anderes hat dieses Protokoll gespeichert"
        )
    ).to_be_visible()
    expect(second.locator("#conflict")).to_contain_text("Fassung A")
    field = item(second, "Fassung B").locator(".result-row textarea").first
    field.fill("Fassung A und B")
    second.get_by_role("button", name="Speichern").click()
    expect(second.get_by_text("Gespeichert.")).to_be_visible()
    assert Result.objects.filter(text="Fassung A und B").exists()


def test_input_survives_a_closed_tab(browser, live_server, werkstatt):
    Meeting.objects.filter(pk=werkstatt.pk).update(status=Meeting.Status.DRAFT)
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, live_server, "protokoll")
    url = f"{live_server.url}/meetings/{werkstatt.pk}/edit/"
    page.goto(url)
    item(page, "Sonstiges").get_by_label("Titel").fill("Sonstiges – nicht gespeichert")
    expect(page.locator("#autosave-status")).to_contain_text("gesichert")
    page.close(run_before_unload=False)

    page = context.new_page()
    page.goto(url)
    expect(page.get_by_role("button", name="Meine Eingaben wiederherstellen")).to_be_visible()
    page.get_by_role("button", name="Meine Eingaben wiederherstellen").click()
    expect(page.locator("textarea").filter(has_text=re.compile("nicht gespeichert"))).to_have_count(
        1
    )
    page.get_by_role("button", name="Speichern").click()
    expect(page.get_by_text("Gespeichert.")).to_be_visible()
    assert AgendaItem.objects.filter(title="Sonstiges – nicht gespeichert").exists()
    # The saved copy is cleared: a new visit offers nothing to restore.
    page.goto(url)
    expect(page.get_by_role("button", name="Meine Eingaben wiederherstellen")).to_be_hidden()


def test_the_accessibility_check_catches_a_violation(page, axe):
    """The axe check above must be able to fail: an unlabelled input is a violation."""
    from .conftest import WCAG_AA

    page.set_content('<html lang="de"><title>x</title><main><input type="text"></main></html>')
    assert axe.run(page, options=WCAG_AA).violations_count > 0
