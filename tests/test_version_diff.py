"""The version diff follows agenda items and results by what they are, not by their place."""

import copy
import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from protokolle import versions, workflow
from protokolle.models import AgendaItem, MinutesVersion, Result, build_agenda
from protokolle.wording import number_tree

from .factories import user_in, writer_of

# --- documents with an identity -------------------------------------------------------------

ids = itertools.count(1000)


def tag(document):
    """Give every item and result of the document a made-up primary key (``_pk``)."""
    for item, _number, _depth in walk(document):
        item.setdefault("_pk", next(ids))
        for result in item["results"]:
            result.setdefault("_pk", next(ids))
    return document


def walk(document):
    return number_tree(
        document["meeting"]["agenda"], lambda item: item["children"], lambda item: item["number"]
    )


def identity(document):
    """What ``versions.identity`` stores for a meeting, read from the made-up keys."""
    items = [item for item, _number, _depth in walk(document)]
    return {
        "items": [item["_pk"] for item in items],
        "results": [[result["_pk"] for result in item["results"]] for item in items],
    }


def compare(old, new, by_identity):
    if by_identity:
        return versions.diff(old, new, identity(old), identity(new))
    return versions.diff(old, new)


def item(title, *texts, number=None, children=()):
    return {
        "number": number,
        "title": title,
        "public": True,
        "presenters": [],
        "results": [
            {"kind": "information", "text": text, "vote": None, "responsible": None, "due": None}
            for text in texts
        ],
        "children": list(children),
    }


@pytest.fixture
def old(reference_document):
    """The reference minutes: seven agenda items, numbered 1, 2, 3.1, 3.2, 4, 5, 6."""
    document = tag(reference_document)
    assert len(document["meeting"]["agenda"]) == 7
    return document


def shape(diff):
    """(kind, old number, new number) of each item that changed."""
    return [(change.kind, change.old_number, change.number) for change in diff.items]


both = pytest.mark.parametrize("by_identity", [True, False], ids=["identity", "content"])


# --- the four cases on a 7-item agenda ------------------------------------------------------


@both
def test_inserting_one_item_shows_one_added_item(old, by_identity):
    new = copy.deepcopy(old)
    new["meeting"]["agenda"].insert(2, tag_item(item("Haushalt 2023", "Der Haushalt liegt vor.")))

    diff = compare(old, new, by_identity)

    assert diff.by_identity is by_identity
    assert diff.meeting == []
    assert shape(diff) == [("added", "", diff.items[0].number)]
    assert diff.items[0].title == "Haushalt 2023"
    assert [(c.part, c.kind, c.new) for c in diff.items[0].changes] == [
        ("Ergebnis 1", "added", "Der Haushalt liegt vor.")
    ]
    assert len(diff) == 1


def tag_item(entry):
    return tag({"meeting": {"agenda": [entry]}})["meeting"]["agenda"][0]


@both
def test_inserting_one_item_into_automatic_numbers_renumbers_the_rest_without_a_change(
    old, by_identity
):
    for entry in old["meeting"]["agenda"]:
        entry["number"] = None  # printed 1 … 7
    new = copy.deepcopy(old)
    new["meeting"]["agenda"].insert(0, tag_item(item("Eröffnung")))

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("added", "", "1")]
    assert len(diff) == 1


@both
def test_deleting_one_item_shows_one_removed_item(old, by_identity):
    new = copy.deepcopy(old)
    gone = new["meeting"]["agenda"].pop(3)

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("removed", "3.2", "")]
    assert diff.items[0].title == gone["title"]
    assert [c.kind for c in diff.items[0].changes] == ["removed"] * (
        len(gone["presenters"]) + len(gone["results"])
    )
    assert len(diff) == 1


@both
def test_moving_one_item_shows_that_one_item_moved(old, by_identity):
    for entry in old["meeting"]["agenda"]:
        entry["number"] = None
    new = copy.deepcopy(old)
    agenda = new["meeting"]["agenda"]
    agenda.insert(5, agenda.pop(1))  # 2 goes after 5: 3 … 6 move up, but did not move

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("moved", "2", "6")]
    assert diff.items[0].changes == []
    assert [(c.label, c.kind, c.was) for c in diff] == [("TOP 6", "moved", "TOP 2")]


@both
def test_moving_the_last_item_first_is_one_move_not_six(old, by_identity):
    for entry in old["meeting"]["agenda"]:
        entry["number"] = None
    new = copy.deepcopy(old)
    agenda = new["meeting"]["agenda"]
    agenda.insert(0, agenda.pop())

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("moved", "7", "1")]


@both
def test_one_changed_word_in_one_result_shows_that_word(old, by_identity):
    new = copy.deepcopy(old)
    result = new["meeting"]["agenda"][4]["results"][0]
    assert result["text"].startswith("Durch die WRL")
    result["text"] = result["text"].replace("Durch die WRL", "Durch die DABB", 1)

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("changed", "4", "4")]
    (change,) = diff.items[0].changes
    assert (change.label, change.kind, change.part) == (
        "TOP 4 · Ergebnis 1",
        "changed",
        "Ergebnis 1",
    )
    assert change.inline.startswith("Durch die <del>WRL</del> <ins>DABB</ins> werden")
    assert len(diff) == 1


@both
def test_a_changed_title_vote_and_due_date_are_shown_in_their_item(old, by_identity):
    new = copy.deepcopy(old)
    entry = new["meeting"]["agenda"][6]
    entry["title"] = "Sonstiges und Termine"
    entry["results"][0].update(
        vote={"yes": 5, "no": 1, "abstain": 0, "text": None}, due="2022-05-23"
    )

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("changed", "6", "6")]
    title, result = diff.items[0].changes
    assert (title.part, title.inline) == ("Titel", "Sonstiges <ins>und Termine</ins>")
    assert result.part == "Ergebnis 1" and "<del>" not in result.inline
    assert [detail.part for detail in result.details] == ["Abstimmung", "Termin"]
    assert "<ins>2022-05-23</ins>" in result.details[1].inline


@both
def test_an_items_start_time_and_befangenheit_are_shown_in_their_item(old, by_identity):
    new = copy.deepcopy(old)
    entry = new["meeting"]["agenda"][4]
    entry["start"] = "11:15"
    entry["conflicts_of_interest"] = [{"name": "Dr. Elena Herzog", "reason": "Projektträgerin"}]

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("changed", "4", "4")]
    start, recusal = diff.items[0].changes
    assert (start.part, start.new) == ("Beginn", "11:15")
    assert (recusal.part, recusal.new) == ("Befangenheit", "Dr. Elena Herzog (Projektträgerin)")


# --- results and nested items ---------------------------------------------------------------


@both
def test_a_result_moved_to_another_item_is_one_moved_result(old, by_identity):
    new = copy.deepcopy(old)
    agenda = new["meeting"]["agenda"]
    moved = agenda[1]["results"].pop(0)
    agenda[4]["results"].append(moved)

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("changed", "4", "4")]
    (change,) = diff.items[0].changes
    assert (change.kind, change.part, change.was) == (
        "moved",
        f"Ergebnis {len(agenda[4]['results'])}",
        "TOP 2 · Ergebnis 1",
    )
    assert change.inline == versions._inline(moved["text"], moved["text"])
    assert len(diff) == 1


@both
def test_results_swapped_within_an_item_show_one_moved_result(old, by_identity):
    new = copy.deepcopy(old)
    results = new["meeting"]["agenda"][0]["results"]
    results.insert(0, results.pop(1))

    diff = compare(old, new, by_identity)

    (change,) = diff.items[0].changes
    assert (change.kind, change.part, change.was) == ("moved", "Ergebnis 1", "Ergebnis 2")


def test_with_identity_a_rewritten_result_and_a_new_one_are_told_apart(old):
    new = copy.deepcopy(old)
    results = new["meeting"]["agenda"][0]["results"]
    results[0]["text"] = "Ganz anders formuliert."
    results.insert(0, tag_item(item("x", "Ein neues Ergebnis."))["results"][0])

    diff = versions.diff(old, new, identity(old), identity(new))

    assert [(c.kind, c.part) for c in diff.items[0].changes] == [
        ("added", "Ergebnis 1"),
        ("changed", "Ergebnis 2"),
    ]


@pytest.fixture
def nested():
    """1 Eröffnung; 2 Bauen (2.1 Straßen, 2.2 Schulen, 2.3 Kitas); 3 Wasser; 4 Sonstiges."""
    return tag(
        {
            "format": "werkstatt-protokoll/1",
            "meeting": {
                "title": None,
                "date": "2024-05-06",
                "start": None,
                "end": None,
                "location": None,
                "chair": None,
                "minute_taker": None,
                "attachments": [],
                "participants": [],
                "agenda": [
                    item("Eröffnung", "Begrüßung."),
                    item(
                        "Bauen",
                        "Überblick.",
                        children=[
                            item("Straßen", "Die B97 wird saniert."),
                            item("Schulen", "Zwei Schulen werden gebaut."),
                            item("Kitas", "Drei Kitas sind geplant."),
                        ],
                    ),
                    item("Wasser", "Das Wasserwerk läuft."),
                    item("Sonstiges"),
                ],
            },
        }
    )


@both
def test_a_parent_moves_with_its_children_as_one_moved_item(nested, by_identity):
    new = copy.deepcopy(nested)
    agenda = new["meeting"]["agenda"]
    agenda.append(agenda.pop(1))  # Bauen with its three children to the end

    diff = compare(nested, new, by_identity)

    assert shape(diff) == [("moved", "2", "4")]


@both
def test_an_added_child_is_one_added_item(nested, by_identity):
    new = copy.deepcopy(nested)
    new["meeting"]["agenda"][1]["children"].insert(1, tag_item(item("Radwege", "Neu.")))

    diff = compare(nested, new, by_identity)

    assert shape(diff) == [("added", "", "2.2")]
    assert diff.items[0].depth == 1


@both
def test_a_child_moved_to_the_top_level_is_one_moved_item(nested, by_identity):
    new = copy.deepcopy(nested)
    agenda = new["meeting"]["agenda"]
    agenda.insert(3, agenda[1]["children"].pop(2))  # Kitas: 2.3 becomes 4

    diff = compare(nested, new, by_identity)

    assert shape(diff) == [("moved", "2.3", "4")]


@both
def test_a_removed_child_is_one_removed_item(nested, by_identity):
    new = copy.deepcopy(nested)
    new["meeting"]["agenda"][1]["children"].pop(0)

    diff = compare(nested, new, by_identity)

    assert shape(diff) == [("removed", "2.1", "")]


# --- identity or content --------------------------------------------------------------------


def test_with_identity_a_renamed_and_rewritten_item_is_still_the_same(old):
    new = copy.deepcopy(old)
    entry = new["meeting"]["agenda"][6]
    entry["title"] = "Verschiedenes"
    entry["results"][0]["text"] = "Keine weiteren Themen."

    diff = versions.diff(old, new, identity(old), identity(new))

    assert shape(diff) == [("changed", "6", "6")]
    assert [c.part for c in diff.items[0].changes] == ["Titel", "Ergebnis 1"]


def test_an_identity_that_does_not_fit_its_document_is_not_trusted(old):
    new = copy.deepcopy(old)
    new["meeting"]["agenda"].insert(0, tag_item(item("Eröffnung")))
    broken = identity(new)
    broken["items"].pop()  # one item short

    diff = versions.diff(old, new, identity(old), broken)

    assert diff.by_identity is False
    assert shape(diff) == [("added", "", diff.items[0].number)]


def test_an_older_version_without_identity_is_matched_by_content(old):
    new = copy.deepcopy(old)
    new["meeting"]["agenda"].pop(0)

    diff = versions.diff(old, new, None, identity(new))

    assert diff.by_identity is False
    assert shape(diff) == [("removed", "1", "")]


def test_only_a_changed_typed_number_is_shown_as_a_change_of_number(old):
    new = copy.deepcopy(old)
    new["meeting"]["agenda"][2]["number"] = "3a"

    diff = versions.diff(old, new, identity(old), identity(new))

    assert shape(diff) == [("changed", "3.1", "3a")]
    assert [(c.part, c.old, c.new) for c in diff.items[0].changes] == [("Nummer", "3.1", "3a")]
    assert not diff.items[0].renumbered


@both
def test_an_item_numbered_anew_by_an_insertion_shows_both_numbers_as_context(old, by_identity):
    for entry in old["meeting"]["agenda"]:
        entry["number"] = None
    new = copy.deepcopy(old)
    new["meeting"]["agenda"].insert(0, tag_item(item("Eröffnung")))
    new["meeting"]["agenda"][-1]["title"] = "Sonstiges und Termine"

    diff = compare(old, new, by_identity)

    assert shape(diff) == [("added", "", "1"), ("changed", "7", "8")]
    assert diff.items[1].renumbered
    assert [c.part for c in diff.items[1].changes] == ["Titel"]


def test_the_meeting_fields_are_compared_as_before(old):
    new = copy.deepcopy(old)
    new["meeting"]["location"] = "Cottbus, Rathaus"

    diff = versions.diff(old, new, identity(old), identity(new))

    assert [(c.label, c.kind) for c in diff] == [("Ort", "changed")]
    assert diff.items == []


def test_an_unchanged_version_has_no_changes(old):
    diff = versions.diff(old, copy.deepcopy(old), identity(old), identity(old))

    assert not diff and len(diff) == 0


# --- through the workflow and the page ------------------------------------------------------


@pytest.fixture
def circulated(minutes, db):
    """Minutes circulated once, reopened for editing, and a minute-taker."""
    meeting = minutes(status="draft")
    writer = writer_of(meeting.body)
    workflow.circulate(meeting.pk, writer)
    workflow.reopen(meeting.pk, writer)
    return meeting, writer


def insert_item(meeting, after_number, title):
    """An item inserted after the item numbered ``after_number`` (top level)."""
    items = list(meeting.agenda_items.filter(parent=None).order_by("position", "pk"))
    printed = [entry.printed_number for entry in build_agenda(meeting.agenda_items.all())]
    at = printed.index(after_number) + 1
    for position, entry in enumerate(items):
        entry.position = position if position < at else position + 1
        entry.save()
    AgendaItem.objects.create(meeting=meeting, position=at, number=None, title=title)


def test_the_page_shows_an_inserted_item_as_one_added_item(client, circulated):
    meeting, writer = circulated
    insert_item(meeting, "2", "Haushalt 2023")
    workflow.circulate(meeting.pk, writer)
    assert MinutesVersion.objects.get(meeting=meeting, number=2).identity is not None
    client.force_login(user_in(meeting.body))

    response = client.get(reverse("protokolle:version_diff", args=[meeting.pk, 2]))

    assert response.status_code == 200
    changes = response.context["changes"]
    assert changes.by_identity
    assert [(c.kind, c.title) for c in changes.items] == [("added", "Haushalt 2023")]
    page = response.content.decode()
    assert 'class="badge text-bg-success"' in page
    assert f"<ins>TOP {changes.items[0].number} Haushalt 2023</ins>" in page
    assert page.count('class="diff-item ') == 1


def test_the_page_shows_a_moved_item_and_an_edited_word(client, circulated):
    meeting, writer = circulated
    first = meeting.agenda_items.get(parent=None, position=0)
    first.position = 100  # to the end
    first.number = None
    first.save()
    result = Result.objects.get(text__startswith="Die nächste Werkstattsitzung")
    result.text = result.text.replace("23.05.2022", "30.05.2022")
    result.save()
    workflow.circulate(meeting.pk, writer)
    client.force_login(user_in(meeting.body))

    response = client.get(reverse("protokolle:version_diff", args=[meeting.pk, 2]))

    changes = response.context["changes"]
    assert [(c.kind, c.old_number) for c in changes.items] == [("changed", "6"), ("moved", "1")]
    page = response.content.decode()
    assert "<del>23.05.2022</del> <ins>30.05.2022</ins>" in page
    assert "text-bg-primary" in page  # the "moved" label


def test_the_page_costs_the_same_queries_however_many_items_changed(client, circulated):
    meeting, writer = circulated
    insert_item(meeting, "2", "Eins")
    workflow.circulate(meeting.pk, writer)
    workflow.reopen(meeting.pk, writer)
    for title in ("Zwei", "Drei", "Vier"):
        insert_item(meeting, "4", title)
    Result.objects.filter(agenda_item__meeting=meeting).update(text="Alles neu.")
    workflow.circulate(meeting.pk, writer)
    client.force_login(user_in(meeting.body))

    counts, sizes = [], []
    for number in (2, 3):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("protokolle:version_diff", args=[meeting.pk, number]))
        assert response.status_code == 200
        counts.append(len(queries))
        sizes.append(len(response.context["changes"]))

    assert sizes[0] == 1 and sizes[1] > 10
    assert counts[0] == counts[1]
