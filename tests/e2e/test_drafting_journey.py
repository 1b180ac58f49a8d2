import copy
import re

import pytest
from playwright.sync_api import expect

from protokolle import workflow
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
from .guards import check_page

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def werkstatt(reference_document):
    """The 8th meeting (circulated, waiting for confirmation), a minute-taker and a member."""
    document = copy.deepcopy(reference_document)
    document["meeting"]["status"] = "circulated"
    meeting = workflow.import_minutes(document)
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
    MembershipFactory(
        body=meeting.body,
        person=PersonFactory(
            name="Dr. Elena Herzog", organisation="WRL", function="Projektmanagerin"
        ),
        role=Membership.Role.MEMBER,
    )
    return meeting


def item(page, title):
    """The editor's card of the agenda item whose title field holds ``title``."""
    return page.locator(".agenda-item").filter(has=page.locator(f"textarea:text-is('{title}')"))


class Interactions:
    """Drives the page and counts what a person would do, per section of the minutes.

    Every click, focus change (a click into a field, a Tab), keyboard shortcut and
    select choice counts 1; typing a field's text counts 0 and is reported apart.
    """

    def __init__(self, page):
        self.page = page
        self.section = "setup"
        self.counts = {}
        self.typed = {}

    def _count(self, n=1):
        self.counts[self.section] = self.counts.get(self.section, 0) + n

    def click(self, locator):
        locator.click()
        self._count()

    def press(self, keys):
        self.page.keyboard.press(keys)
        self._count()

    def select(self, locator, value):
        locator.select_option(value)
        self._count()

    def type(self, text):
        """Text into the focused field: no interaction, only characters."""
        self.page.keyboard.insert_text(text)
        self.typed[self.section] = self.typed.get(self.section, 0) + len(text)

    @property
    def total(self):
        return sum(self.counts.values())

    def report(self):
        lines = [f"  {name}: {count}" for name, count in self.counts.items()]
        chars = sum(self.typed.values())
        return "\n".join(
            [
                "interactions per section:",
                *lines,
                f"  total: {self.total}",
                f"typed characters (not counted): {chars}",
            ]
        )


def focused_name(page):
    return page.evaluate("document.activeElement && document.activeElement.name")


def test_a_minute_taker_drafts_the_reference_minutes(
    page, live_server, werkstatt, reference_document, check_accessibility
):
    """The reference minutes from "Neue Sitzung" to the saved draft, counting interactions."""
    page.set_viewport_size({"width": 1440, "height": 900})
    log_in(page, live_server, "protokoll")
    agenda = reference_document["meeting"]["agenda"]
    ui = Interactions(page)

    ui.section = "new meeting"
    ui.click(page.get_by_role("link", name="Neue Sitzung"))
    expect(page.get_by_label("Nummer")).to_have_value("9")
    proposed = "Begrüßung und Bestätigung des Protokolls der 8. Sitzung vom 21.03.2022"
    expect(page.get_by_text(proposed).first).to_be_visible()
    check_accessibility(page, "new-meeting")
    ui.click(page.get_by_label("Datum"))
    page.get_by_label("Datum").fill("2022-05-23")  # typing the date
    ui.click(page.get_by_role("button", name="Sitzung anlegen"))
    expect(page.get_by_text("Die Sitzung wurde angelegt.")).to_be_visible()
    check_accessibility(page, "editor-new")

    ui.section = "attendance"
    ui.click(page.get_by_role("button", name="Alle anwesend"))
    ui.click(
        page.get_by_role("group", name="Anwesenheit: Sven Guntermann").get_by_text("entschuldigt")
    )

    ui.section = "item 1 and the decision on the 8th minutes"
    ui.click(item(page, proposed).get_by_label("Titel"))
    ui.press("Alt+P")
    ui.type(agenda[0]["presenters"][0]["name"])
    ui.press("Alt+R")
    ui.type(agenda[0]["results"][0]["text"])
    ui.click(page.get_by_role("button", name="Speichern und Beschluss festhalten"))
    expect(page.get_by_text("Der Beschluss ist erfasst")).to_be_visible(timeout=30_000)

    def write_item(source, fixed_number=None):
        ui.press("Alt+N")
        assert focused_name(page).endswith("-title")
        ui.type(source["title"])
        if fixed_number:
            ui.press("Alt+M")
            assert focused_name(page).endswith("-number")
            ui.type(fixed_number)
        for presenter in source["presenters"]:
            ui.press("Alt+P")
            ui.type(presenter["name"])
        for result in source["results"]:
            ui.press("Alt+R")
            ui.type(result["text"])
            if result["kind"] != "information":
                ui.press("Shift+Tab")
                assert focused_name(page).endswith("-kind")
                ui.select(page.locator(":focus"), result["kind"])

    # Each new item goes after the item that has the focus: start from item 1.
    ui.section = "items 2 to 5"
    ui.click(item(page, proposed).get_by_label("Titel"))
    write_item(agenda[1])
    write_item(agenda[2], "3.1")
    write_item(agenda[3], "3.2")
    write_item(agenda[4])
    write_item(agenda[5])

    ui.section = "Sonstiges"
    ui.click(item(page, "Sonstiges").get_by_label("Titel"))
    ui.press("Alt+R")
    ui.type(agenda[6]["results"][0]["text"])

    numbers = page.locator("#agenda-list .item-number").all_text_contents()
    assert numbers == ["1", "2", "3.1", "3.2", "4", "5", "6"]
    # A known presenter's organisation and function are in the form before any save.
    herzog = item(page, agenda[4]["title"]).locator(".presenter-row").first
    expect(herzog.get_by_label("Organisation der vortragenden Person")).to_have_value("WRL")

    ui.section = "save"
    ui.press("Control+S")
    expect(page.locator("#autosave-status")).to_have_text("Gespeichert.")

    print(ui.report())
    height = page.evaluate("document.documentElement.scrollHeight")
    first_field = page.locator("#agenda-list .agenda-item textarea").first
    first_field.focus()
    tabs_to_save = 0
    while focused_name(page) != "" or page.evaluate("document.activeElement.id") != "save-button":
        page.keyboard.press("Shift+Tab")
        tabs_to_save += 1
        assert tabs_to_save < 500
    first_field.focus()
    tabs_to_add = 0
    while page.evaluate("document.activeElement.dataset.add") != "item":
        page.keyboard.press("Tab")
        tabs_to_add += 1
        assert tabs_to_add < 1000
    print(f"editor height at 1440x900: {height} px")
    print(f"Shift+Tab from the first agenda field to Speichern: {tabs_to_save}")
    print(f"Tab from the first agenda field to 'Tagesordnungspunkt hinzufügen': {tabs_to_add}")
    check_accessibility(page, "editor-reference")

    meeting = Meeting.objects.get(number=9)
    saved = [
        (i.printed_number, i.title, i.number)
        for i in flatten_agenda(build_agenda(meeting.agenda_items.all()))
    ]
    assert [number for number, _title, _typed in saved] == numbers
    assert [title for _n, title, _t in saved][1:6] == [entry["title"] for entry in agenda[1:6]]
    assert [typed for _n, _t, typed in saved] == [None, None, "3.1", "3.2", None, None, None]
    kinds = list(
        Result.objects.filter(agenda_item__meeting=meeting, agenda_item__number="3.2")
        .order_by("position")
        .values_list("kind", flat=True)
    )
    assert kinds == [r["kind"] for r in agenda[3]["results"]]
    presenter = AgendaItem.objects.get(meeting=meeting, title=agenda[4]["title"]).presenters.get()
    assert (presenter.organisation, presenter.function) == ("WRL", "Projektmanagerin")
    assert set(Participant.objects.filter(meeting=meeting).values_list("name", "status")) == {
        ("Alexander Boldt", "present"),
        ("Dr. Elena Herzog", "present"),
        ("Katja Boll", "present"),
        ("Sven Guntermann", "excused"),
    }
    # Item 1 carries the decision on the 8th minutes, written from the record.
    first = AgendaItem.objects.get(meeting=meeting, parent=None, position=0)
    assert first.results.filter(text__contains="8. Sitzung").exists()
    assert ui.total <= 40, ui.report()


def test_keyboard_only_add_indent_result_move_and_save(page, live_server, werkstatt):
    """Add an item, a sub-item and a result, move one, save: without the mouse."""
    Meeting.objects.filter(pk=werkstatt.pk).update(status=Meeting.Status.DRAFT)
    # As drafted in the editor: only 3.1 and 3.2 are typed numbers.
    werkstatt.agenda_items.exclude(number__in=["3.1", "3.2"]).update(number=None)
    log_in(page, live_server, "protokoll")
    page.goto(f"{live_server.url}/meetings/{werkstatt.pk}/edit/")
    item(page, "Sonstiges").get_by_label("Titel").focus()
    page.keyboard.press("Alt+N")  # after "Sonstiges", since it has the focus
    page.keyboard.insert_text("Neuer Punkt")
    page.keyboard.press("Alt+N")
    page.keyboard.insert_text("Unterpunkt")
    page.keyboard.press("Alt+ArrowRight")
    page.keyboard.press("Alt+R")
    page.keyboard.insert_text("Ein Ergebnis des Unterpunkts.")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    # Back in "Neuer Punkt": move it (with its sub-item) above "Sonstiges".
    item(page, "Neuer Punkt").get_by_label("Titel").focus()
    page.keyboard.press("Alt+ArrowUp")
    numbers = page.locator("#agenda-list .item-number").all_text_contents()
    assert numbers[-3:] == ["6", "6.1", "7"]
    # The outline follows: numbers, titles, and what is not saved yet.
    outline = page.locator("#outline li")
    expect(outline.nth(-3)).to_have_class(re.compile(r"\bis-dirty\b"))
    expect(outline.nth(-3)).to_contain_text("6Neuer Punkt")
    expect(outline.nth(-1)).not_to_have_class(re.compile(r"\bis-dirty\b"))
    page.keyboard.press("Control+S")
    expect(page.locator("#autosave-status")).to_have_text("Gespeichert.")
    # The focus stays where it was, in the moved item's title; the outline marks it saved.
    assert page.evaluate("document.activeElement.value") == "Neuer Punkt"
    expect(outline.nth(-3)).to_have_class(re.compile(r"\bis-saved\b"))
    expect(outline.nth(-3)).to_contain_text("gespeichert")
    check_page(page, "keyboard-after-save")
    saved = [
        (i.printed_number, i.title)
        for i in flatten_agenda(build_agenda(werkstatt.agenda_items.all()))
    ]
    assert saved[-3:] == [("6", "Neuer Punkt"), ("6.1", "Unterpunkt"), ("7", "Sonstiges")]
    result = Result.objects.get(text="Ein Ergebnis des Unterpunkts.")
    assert result.agenda_item.title == "Unterpunkt"


def test_the_shortcut_list_opens_with_the_keyboard(page, live_server, werkstatt):
    Meeting.objects.filter(pk=werkstatt.pk).update(status=Meeting.Status.DRAFT)
    log_in(page, live_server, "protokoll")
    page.goto(f"{live_server.url}/meetings/{werkstatt.pk}/edit/")
    item(page, "Sonstiges").get_by_label("Titel").focus()
    page.keyboard.press("Alt+K")
    dialog = page.get_by_role("dialog", name="Tastenkürzel")
    expect(dialog).to_be_visible()
    check_page(page, "shortcuts", viewports=({"width": 1440, "height": 900},))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    # Enter in a one-line field does not send the page.
    posts = []
    page.on("request", lambda request: request.method == "POST" and posts.append(request.url))
    page.locator(".presenter-row input[type=text]").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    assert posts == []
    expect(page.locator("#autosave-status")).not_to_have_text("Gespeichert.")


def test_two_writers_edit_the_same_draft_and_both_texts_survive(
    browser, live_server, werkstatt, page_guard
):
    page_guard.allow(status=409, url="/edit/")
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


@pytest.fixture
def german_editor(browser, live_server, werkstatt):
    """Open the reference minutes, as a draft, in the editor of a German browser of the
    given size: ``german_editor(width, height)`` gives the page."""
    Meeting.objects.filter(pk=werkstatt.pk).update(status=Meeting.Status.DRAFT)
    contexts = []

    def open_editor(width=1400, height=1000):
        context = browser.new_context(locale="de-DE", viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        log_in(page, live_server, "protokoll")
        page.goto(f"{live_server.url}/meetings/{werkstatt.pk}/edit/")
        return page

    yield open_editor
    for context in contexts:
        context.close()


@pytest.mark.parametrize("size", [(1024, 768), (390, 844)], ids=["narrow-desktop", "phone"])
def test_the_save_bar_keeps_its_height_while_its_messages_change(german_editor, size):
    """A message appearing beside "Speichern" must not push the form down under the writer."""
    page = german_editor(*size)
    bar = page.locator(".action-bar")
    status = page.locator("#autosave-status")
    height = bar.bounding_box()["height"]

    item(page, "Sonstiges").get_by_label("Titel").fill("Sonstiges und Termine")
    expect(status).to_contain_text("Im Browser gesichert um")
    assert bar.bounding_box()["height"] == height
    page.get_by_role("button", name="Speichern").click()
    expect(status).to_have_text("Gespeichert.")
    assert bar.bounding_box()["height"] == height


def test_a_rejected_save_keeps_the_input_and_adds_no_row(german_editor, page_guard):
    page_guard.allow(status=400, url="/edit/")
    page = german_editor()
    rows = page.locator("#participant-list .participant-row")
    count = rows.count()
    item(page, "Sonstiges").get_by_label("Titel").fill("Sonstiges und Termine")

    page.get_by_label("Ende").first.fill("09:00")  # before the start at 10:00
    expect(page.locator("#autosave-status")).to_contain_text("Im Browser gesichert")
    page.get_by_role("button", name="Speichern").click()

    expect(page.get_by_role("alert").filter(has_text="Es wurde nichts gespeichert")).to_be_visible()
    expect(rows).to_have_count(count)
    expect(page.get_by_label("Ende").first).to_have_value("09:00")
    expect(item(page, "Sonstiges und Termine")).to_have_count(1)
    check_page(page, "rejected-save")

    page.get_by_label("Ende").first.fill("12:00")
    page.get_by_role("button", name="Speichern").click()
    expect(page.locator("#autosave-status")).to_have_text("Gespeichert.")
    expect(rows).to_have_count(count)
    assert AgendaItem.objects.filter(title="Sonstiges und Termine").exists()


def test_a_pasted_text_longer_than_allowed_is_kept_whole_and_refused_with_the_reason(
    german_editor, page_guard
):
    """The browser's maxlength cut a pasted 600-character title at 500 without a word."""
    page_guard.allow(status=400, url="/edit/")
    page = german_editor()
    long_title = "Sonstiges: " + " ".join(["Strukturwandel in der Lausitz"] * 20)  # 610 chars
    title = item(page, "Sonstiges").get_by_label("Titel")
    title.fill(long_title)
    assert len(title.input_value()) == len(long_title)
    # The click after the browser copy is written (see the confirmation journey).
    expect(page.locator("#autosave-status")).to_contain_text("Im Browser gesichert")

    page.get_by_role("button", name="Speichern").click()

    expect(page.get_by_role("alert").filter(has_text="Es wurde nichts gespeichert")).to_be_visible()
    field = page.locator("textarea[aria-invalid=true]")
    expect(field).to_have_value(long_title)
    expect(page.get_by_text("höchstens 500 Zeichen")).to_be_visible()
    assert not AgendaItem.objects.filter(title__startswith="Sonstiges: ").exists()


def test_input_survives_a_closed_tab(browser, live_server, werkstatt):
    Meeting.objects.filter(pk=werkstatt.pk).update(status=Meeting.Status.DRAFT)
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    log_in(page, live_server, "protokoll")
    url = f"{live_server.url}/meetings/{werkstatt.pk}/edit/"
    page.goto(url)
    item(page, "Sonstiges").get_by_label("Titel").fill("Sonstiges – nicht gespeichert")
    # The browser's language is English; the page's is German, and so are its times.
    expect(page.locator("#autosave-status")).to_have_text(
        re.compile(r"^Im Browser gesichert um \d\d:\d\d:\d\d Uhr$")
    )
    page.close(run_before_unload=False)

    page = context.new_page()
    page.goto(url)
    expect(page.get_by_role("button", name="Meine Eingaben wiederherstellen")).to_be_visible()
    expect(page.locator("#autosave-text")).to_have_text(
        re.compile(r"vom \d\d\.\d\d\.\d{4}, \d\d:\d\d:\d\d\.$")
    )
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
