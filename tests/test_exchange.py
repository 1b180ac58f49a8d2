import copy
import datetime
import json

import pytest

from protokolle import exchange, pdf, wording, workflow
from protokolle.exchange import DocumentError
from protokolle.models import AgendaItem, Approval, Body, Meeting

from .factories import BodyFactory, MeetingFactory

pytestmark = pytest.mark.django_db

LONG_TEXT = "„Lausitz“ – Strukturwandel: " + "Öffentliche Daseinsvorsorge und Fördermittel. " * 400


def round_trip(document):
    meeting = workflow.import_minutes(copy.deepcopy(document))
    return exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk))


def as_exported(document):
    """``document`` with the keys export always writes and older documents lack.

    ``meeting.confirmation`` (null until confirmed) after ``status``, and each
    attachment's ``file``, ``size`` and ``sha256`` (null without a file).
    """
    document = copy.deepcopy(document)
    meeting = {}
    for key, value in document["meeting"].items():
        meeting[key] = value
        if key == "status":
            meeting["confirmation"] = document["meeting"].get("confirmation")
    meeting["attachments"] = [
        {"file": None, "size": None, "sha256": None} | attachment
        for attachment in meeting.get("attachments", [])
    ]
    document["meeting"] = meeting
    return document


def person(name, organisation=None, function=None):
    return {"name": name, "organisation": organisation, "function": function}


def result(text, kind="information", vote=None, responsible=None, due=None):
    return {"kind": kind, "text": text, "vote": vote, "responsible": responsible, "due": due}


def item(title, number=None, children=(), results=(), presenters=(), public=True):
    return {
        "number": number,
        "title": title,
        "public": public,
        "presenters": list(presenters),
        "results": list(results),
        "children": list(children),
    }


def full_document():
    """A complete document exercising every part of the format, as export writes it."""
    return {
        "format": "werkstatt-protokoll/1",
        "body": {
            "name": "Werkstatt „Fachkräfte“",
            "short_name": "WS FK",
            "organisation": "Wirtschaftsregion Lausitz GmbH (WRL)",
            "place": "Görlitz",
        },
        "meeting": {
            "number": 12,
            "title": "Sondersitzung Übergänge",
            "date": "2023-11-30",
            "start": "09:30",
            "end": "16:45",
            "location": "Rathaus Görlitz, Saal 2 – Untermarkt 6",
            "public": False,
            "status": "draft",
            "confirmation": None,
            "chair": person("Dr. Jörg Weiß", "Stadt Görlitz", "Werkstattsprecher"),
            "minute_taker": person("Anna Müller"),
            "attachments": [
                {"name": "Präsentation DABB.pdf", "file": None, "size": None, "sha256": None},
                {"name": "Anwesenheitsliste", "file": None, "size": None, "sha256": None},
            ],
            "participants": [
                {
                    "name": "Dr. Jörg Weiß",
                    "organisation": "Stadt Görlitz",
                    "function": "Werkstattsprecher",
                    "status": "present",
                    "voting": True,
                    "substitute_for": None,
                    "arrived": None,
                    "left": None,
                },
                {
                    "name": "Sören Groß",
                    "organisation": "IHK Cottbus",
                    "function": None,
                    "status": "present",
                    "voting": True,
                    "substitute_for": "Petra Klein",
                    "arrived": "10:15",
                    "left": "14:00",
                },
                {
                    "name": "Petra Klein",
                    "organisation": "IHK Cottbus",
                    "function": None,
                    "status": "excused",
                    "voting": True,
                    "substitute_for": None,
                    "arrived": None,
                    "left": None,
                },
                {
                    "name": "Uwe Schulz",
                    "organisation": None,
                    "function": None,
                    "status": "absent",
                    "voting": False,
                    "substitute_for": None,
                    "arrived": None,
                    "left": None,
                },
                {
                    "name": "Katrin Ölmann",
                    "organisation": "DGB",
                    "function": "Referentin",
                    "status": "guest",
                    "voting": None,
                    "substitute_for": None,
                    "arrived": None,
                    "left": None,
                },
            ],
            "agenda": [
                item(
                    "Begrüßung",
                    presenters=[person("Dr. Jörg Weiß", None, "Werkstattsprecher")],
                    results=[
                        result(
                            "Das Protokoll der 11. Sitzung wird bestätigt.",
                            kind="decision",
                            vote={"yes": 16, "no": 0, "abstain": 1, "text": None},
                        )
                    ],
                ),
                item(
                    "Projekte",
                    children=[
                        item(
                            "Trinkwasserverbund",
                            presenters=[
                                person("Anna Müller", "WRL", "Projektmanagerin"),
                                person("Bernd Ärger", "SWAZ", None),
                            ],
                            results=[
                                result(LONG_TEXT),
                                result(
                                    "Steckbrief überarbeiten:\n\n"
                                    "- Kosten\n- *Zeitplan*\n  - Phase 1",
                                    kind="task",
                                    responsible="WRL / Frau Müller",
                                    due="2024-01-31",
                                ),
                                result(
                                    "Vorlage wird angenommen.",
                                    kind="decision",
                                    vote={
                                        "yes": None,
                                        "no": None,
                                        "abstain": None,
                                        "text": "einstimmig",
                                    },
                                ),
                                result(
                                    "Abstimmung vertagt.",
                                    kind="decision",
                                    vote={"yes": None, "no": None, "abstain": None, "text": None},
                                ),
                            ],
                            children=[
                                item(
                                    "Finanzierung (nicht öffentlich)",
                                    public=False,
                                    results=[result("Vertraulich.", kind="note")],
                                ),
                            ],
                        ),
                        item("Kita-Projekte"),
                    ],
                ),
                item("Bericht der DABB", number="3.1") | {"start": "11:15"},
                item("Diskussion", number="3.2")
                | {
                    "start": "11:40",
                    "conflicts_of_interest": [
                        {"name": "Frau Dr. Elena Herzog", "reason": "Geschäftsführerin"},
                        {"name": "Hans Hahn", "reason": None},
                        {"name": "Ida Ilse"},
                    ],
                },
                item("Sonstiges", number="15"),
                item("Ohne Nummer"),
            ],
            "approves_minutes_of": [
                {"number": 10, "date": "2023-09-12", "outcome": "approved", "note": None},
                {
                    "number": 11,
                    "date": None,
                    "outcome": "approved_with_changes",
                    "note": "TOP 2: Name korrigiert",
                },
                {"number": None, "date": None, "outcome": "rejected", "note": None},
            ],
            "next_meeting": {"date": "2024-02-15", "time": "10:00", "location": "Online"},
            "closing": {"place": None, "date": None},
        },
    }


def test_the_reference_minutes_come_back_unchanged(reference_document):
    """Unchanged but for the numbers the rule gives anyway: the original prints every
    number; only 3.1 and 3.2 differ from what the items get by their position."""
    expected = as_exported(reference_document)
    typed = [item["number"] for item in expected["meeting"]["agenda"]]
    assert typed == ["1", "2", "3.1", "3.2", "4", "5", "6"]
    for item, number in zip(
        expected["meeting"]["agenda"], [None, None, "3.1", "3.2", None, None, None], strict=True
    ):
        item["number"] = number
    assert round_trip(reference_document) == expected


def test_imported_minutes_print_their_numbers_and_number_an_added_item_in_order(
    reference_document,
):
    meeting = workflow.import_minutes(copy.deepcopy(reference_document))
    printed = [entry.printed_number for entry in pdf.context(meeting)["items"]]
    assert printed == ["1", "2", "3.1", "3.2", "4", "5", "6"]

    # An item added after 4 takes 5, and the items after it move on: no number twice.
    items = list(meeting.agenda_items.order_by("position"))
    for item in items[5:]:
        item.position += 1
        item.save()
    AgendaItem.objects.create(meeting=meeting, position=5, title="Neuer Punkt")
    printed = [entry.printed_number for entry in pdf.context(meeting)["items"]]
    assert printed == ["1", "2", "3.1", "3.2", "4", "5", "6", "7"]


def test_a_typed_number_that_changes_what_follows_is_kept():
    """Below a typed 3.2, a typed "3.2.1" sets the counter to 2 (the rule reads the
    item's own level of the number), so it is not the same as no number."""
    entries = [(0, "3.2"), (1, "3.2.1"), (1, None), (0, "4"), (0, None)]
    assert wording.needed_numbers(entries) == ["3.2", "3.2.1", None, None, None]
    without = [
        (level, number)
        for (level, _typed), number in zip(entries, wording.needed_numbers(entries), strict=True)
    ]
    assert wording.outline_numbers(without) == wording.outline_numbers(entries)


def test_a_document_without_the_new_keys_comes_back_with_them():
    older = full_document()
    del older["meeting"]["confirmation"]
    older["meeting"]["attachments"] = [{"name": "Anwesenheitsliste"}]
    exported = round_trip(older)["meeting"]
    assert exported["confirmation"] is None
    assert exported["attachments"] == [
        {"name": "Anwesenheitsliste", "file": None, "size": None, "sha256": None}
    ]


def test_a_full_document_comes_back_unchanged():
    document = full_document()
    assert round_trip(document) == document


def test_an_items_start_and_befangenheit_come_back_unchanged(minimal_document):
    """The optional keys of issue 15, each form of them, exactly as imported."""
    agenda = minimal_document["meeting"]["agenda"]
    agenda[0] |= {"start": "10:05", "conflicts_of_interest": []}
    agenda.append(
        item("Antrag", results=[result("Beschlossen.", kind="decision")])
        | {"conflicts_of_interest": [{"name": "Dr. Elena Herzog", "reason": ""}]}
    )
    exported = round_trip(minimal_document)["meeting"]["agenda"]
    assert exported[0]["start"] == "10:05"
    assert exported[0]["conflicts_of_interest"] == []
    assert "start" not in exported[1]
    assert exported[1]["conflicts_of_interest"] == [{"name": "Dr. Elena Herzog", "reason": ""}]


def test_documents_without_an_items_start_or_befangenheit_come_back_without_them(
    reference_document,
):
    exported = round_trip(reference_document)
    for entry in exported["meeting"]["agenda"]:
        assert "start" not in entry
        assert "conflicts_of_interest" not in entry
    exchange.validate(exported)


def test_exported_keys_keep_the_schema_order(reference_document):
    exported = round_trip(reference_document)
    assert list(exported["meeting"]) == list(as_exported(reference_document)["meeting"])
    assert list(exported["meeting"]) == list(exchange.schema()["$defs"]["meeting"]["properties"])
    assert list(exported["meeting"]["agenda"][0]) == list(
        reference_document["meeting"]["agenda"][0]
    )


def test_absent_optional_fields_come_back_with_their_defaults(minimal_document):
    exported = round_trip(minimal_document)

    assert exported == {
        "format": "werkstatt-protokoll/1",
        "body": {"name": "Werkstatt Test", "short_name": None, "organisation": None, "place": None},
        "meeting": {
            "number": None,
            "title": None,
            "date": "2024-05-06",
            "start": None,
            "end": None,
            "location": None,
            "public": True,
            "status": "draft",
            "confirmation": None,
            "chair": None,
            "minute_taker": None,
            "attachments": [],
            "participants": [],
            "agenda": [item("Begrüßung")],
            "approves_minutes_of": [],
            "next_meeting": None,
            "closing": None,
        },
    }


def test_empty_objects_come_back_with_nulls(minimal_document):
    minimal_document["meeting"]["closing"] = {}
    minimal_document["meeting"]["approves_minutes_of"] = [{}]
    minimal_document["meeting"]["agenda"][0]["results"] = [{"text": "x", "vote": {}}]

    exported = round_trip(minimal_document)["meeting"]

    assert exported["closing"] == {"place": None, "date": None}
    assert exported["approves_minutes_of"] == [
        {"number": None, "date": None, "outcome": "approved", "note": None}
    ]
    assert exported["agenda"][0]["results"][0]["vote"] == {
        "yes": None,
        "no": None,
        "abstain": None,
        "text": None,
    }


def test_empty_strings_stay_empty_strings(minimal_document):
    minimal_document["body"]["organisation"] = ""
    minimal_document["meeting"]["location"] = ""
    assert round_trip(minimal_document)["body"]["organisation"] == ""


def test_it_prints_numbers_for_nested_and_explicitly_numbered_items():
    meeting = workflow.import_minutes(full_document())
    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    from protokolle.models import build_agenda, flatten_agenda

    numbers = [i.printed_number for i in flatten_agenda(build_agenda(loaded.agenda_items.all()))]
    # Automatic numbers continue after typed ones: after "15" comes 16.
    assert numbers == ["1", "2", "2.1", "2.1.1", "2.2", "3.1", "3.2", "15", "16"]


def test_a_confirmed_document_is_stored_as_confirmed(reference_document):
    reference_document["meeting"]["status"] = "confirmed"
    meeting = workflow.import_minutes(reference_document)
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CONFIRMED


def test_it_reuses_a_body_of_the_same_name(reference_document):
    body = BodyFactory(name="Werkstatt")
    meeting = workflow.import_minutes(reference_document)
    assert meeting.body == body
    assert Body.objects.count() == 1


def test_an_approval_links_to_the_recorded_meeting_where_number_and_date_agree(
    reference_document,
):
    body = BodyFactory(name="Werkstatt")
    sixth = MeetingFactory(body=body, number=6, date=datetime.date(2021, 12, 7))
    # Not the date the document gives:
    MeetingFactory(body=body, number=7, date=datetime.date(2022, 1, 26))

    workflow.import_minutes(reference_document)

    approvals = Approval.objects.order_by("position")
    assert [a.approved_meeting for a in approvals] == [sixth, None]


def test_public_only_export_leaves_out_non_public_items():
    meeting = workflow.import_minutes(full_document())
    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    exported = exchange.export_document(loaded, public_only=True)
    titles = json.dumps(exported, ensure_ascii=False)
    assert "Finanzierung" not in titles
    assert "Vertraulich" not in titles
    assert "Trinkwasserverbund" in titles


def test_export_costs_a_fixed_number_of_queries(django_assert_num_queries):
    small = workflow.import_minutes(full_document())
    document = full_document()
    document["meeting"]["number"] = 13
    document["meeting"]["agenda"] = [
        item(f"Punkt {n}", results=[result(f"Ergebnis {n}.{r}") for r in range(5)])
        for n in range(60)
    ]
    large = workflow.import_minutes(document)

    for meeting in (small, large):
        with django_assert_num_queries(7):
            exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk))


# --- bad input ------------------------------------------------------------------------


def set_at(document, path, value):
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def delete_at(document, path):
    target = document
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]


BAD_DOCUMENTS = {
    "missing date": (lambda d: delete_at(d, ["meeting", "date"]), "meeting: ", "date"),
    "start 25:00": (lambda d: set_at(d, ["meeting", "start"], "25:00"), "meeting.start: ", "25:00"),
    "unknown key": (lambda d: set_at(d, ["meeting", "room"], "A"), "meeting: ", "room"),
    "unknown key in a result": (
        lambda d: set_at(d, ["meeting", "agenda", 2, "results", 0, "owner"], "x"),
        "meeting.agenda[2].results[0]: ",
        "owner",
    ),
    "wrong type": (
        lambda d: set_at(d, ["meeting", "number"], "acht"),
        "meeting.number: ",
        "string",
    ),
    "wrong type of a list": (
        lambda d: set_at(d, ["meeting", "agenda"], {}),
        "meeting.agenda: ",
        "",
    ),
    "end before start": (
        lambda d: set_at(d, ["meeting", "end"], "09:00"),
        "meeting.end: ",
        "09:00",
    ),
    "end equals start": (lambda d: set_at(d, ["meeting", "end"], "10:00"), "meeting.end: ", ""),
    "impossible due date": (
        lambda d: set_at(d, ["meeting", "agenda", 2, "results", 0, "due"], "2022-02-30"),
        "meeting.agenda[2].results[0].due: ",
        "2022-02-30",
    ),
    "due date not a date": (
        lambda d: set_at(d, ["meeting", "agenda", 2, "results", 0, "due"], "31.03.2022"),
        "meeting.agenda[2].results[0].due: ",
        "31.03.2022",
    ),
    "empty title": (
        lambda d: set_at(d, ["meeting", "agenda", 0, "title"], ""),
        "meeting.agenda[0].title: ",
        "",
    ),
    "negative vote": (
        lambda d: set_at(
            d, ["meeting", "agenda", 0, "results", 1, "vote"], {"yes": -1, "no": 0, "abstain": 0}
        ),
        "meeting.agenda[0].results[1].vote.yes: ",
        "-1",
    ),
    "unknown result kind": (
        lambda d: set_at(d, ["meeting", "agenda", 0, "results", 0, "kind"], "wish"),
        "meeting.agenda[0].results[0].kind: ",
        "wish",
    ),
    "wrong format": (lambda d: set_at(d, ["format"], "werkstatt-protokoll/2"), "format: ", ""),
    "chair without name": (
        lambda d: set_at(d, ["meeting", "chair"], {"organisation": "WRL"}),
        "meeting.chair: ",
        "name",
    ),
    "agenda number twice": (
        lambda d: set_at(d, ["meeting", "agenda", 3, "number"], "3.1"),
        "meeting.agenda[3].number: ",
        "3.1",
    ),
    "title too long": (
        lambda d: set_at(d, ["meeting", "agenda", 1, "title"], "x" * 501),
        "meeting.agenda[1].title: ",
        "501",
    ),
    "a time with another script's digits": (
        lambda d: set_at(d, ["meeting", "start"], "10:1\u1b56"),
        "meeting.start: ",
        "10:1",
    ),
    "a NUL character in a text": (
        lambda d: set_at(d, ["meeting", "agenda", 1, "results", 0, "text"], "Ziel\x00"),
        "meeting.agenda[1].results[0].text: ",
        "NUL",
    ),
    "number too large": (
        lambda d: set_at(d, ["meeting", "number"], 2**40),
        "meeting.number: ",
        "",
    ),
    "result text too long": (
        lambda d: set_at(d, ["meeting", "agenda", 1, "results", 0, "text"], "x" * 20_001),
        "meeting.agenda[1].results[0].text: ",
        "20001",
    ),
    "vote count too large": (
        lambda d: set_at(d, ["meeting", "agenda", 0, "results", 1, "vote"], {"no": 100_001}),
        "meeting.agenda[0].results[1].vote.no: ",
        "100001",
    ),
    "too many results": (
        lambda d: set_at(d, ["meeting", "agenda", 0, "results"], [{"text": "x"}] * 201),
        "meeting.agenda[0].results: ",
        "201",
    ),
    "item start 24:00": (
        lambda d: set_at(d, ["meeting", "agenda", 1, "start"], "24:00"),
        "meeting.agenda[1].start: ",
        "24:00",
    ),
    "item start null": (
        lambda d: set_at(d, ["meeting", "agenda", 1, "start"], None),
        "meeting.agenda[1].start: ",
        "",
    ),
    "befangenheit without a name": (
        lambda d: set_at(d, ["meeting", "agenda", 1, "conflicts_of_interest"], [{"name": "  "}]),
        "meeting.agenda[1].conflicts_of_interest[0].name: ",
        "",
    ),
    "befangenheit with an unknown key": (
        lambda d: set_at(
            d, ["meeting", "agenda", 1, "conflicts_of_interest"], [{"name": "A", "vote": "no"}]
        ),
        "meeting.agenda[1].conflicts_of_interest[0]: ",
        "vote",
    ),
    "befangenheit reason too long": (
        lambda d: set_at(
            d,
            ["meeting", "agenda", 1, "conflicts_of_interest"],
            [{"name": "A", "reason": "x" * 501}],
        ),
        "meeting.agenda[1].conflicts_of_interest[0].reason: ",
        "501",
    ),
    "participant leaves before arriving": (
        lambda d: set_at(
            d,
            ["meeting", "participants"],
            [{"name": "A", "status": "present", "arrived": "11:00", "left": "10:00"}],
        ),
        "meeting.participants[0].left: ",
        "10:00",
    ),
}


@pytest.mark.parametrize("case", BAD_DOCUMENTS, ids=list(BAD_DOCUMENTS))
def test_a_bad_document_names_the_problem_and_writes_nothing(
    case, reference_document, unchanged_database
):
    change, place, detail = BAD_DOCUMENTS[case]
    change(reference_document)

    with pytest.raises(DocumentError) as raised:
        workflow.import_minutes(reference_document)

    matching = [p for p in raised.value.problems if p.startswith(place)]
    assert matching, raised.value.problems
    assert any(detail in p for p in matching), matching


def test_it_reports_every_problem_at_once(reference_document, unchanged_database):
    meeting = reference_document["meeting"]
    meeting["start"] = "25:00"
    meeting["room"] = "A"
    del meeting["date"]

    with pytest.raises(DocumentError) as raised:
        workflow.import_minutes(reference_document)

    assert len(raised.value.problems) == 3


def test_a_number_already_used_in_the_body_writes_nothing(reference_document):
    workflow.import_minutes(copy.deepcopy(reference_document))
    reference_document["meeting"]["agenda"][0]["title"] = "Neu"
    from .conftest import row_counts

    before = row_counts()

    with pytest.raises(DocumentError) as raised:
        workflow.import_minutes(reference_document)

    assert raised.value.problems == [
        "meeting.number: Werkstatt hat bereits eine Sitzung mit der Nummer 8"
    ]
    assert row_counts() == before


def test_a_failing_document_creates_no_body(minimal_document, unchanged_database):
    minimal_document["body"]["name"] = "Ganz neues Gremium"
    minimal_document["meeting"]["agenda"][0]["results"] = [{"text": "x", "due": "2024-02-31"}]

    with pytest.raises(DocumentError):
        workflow.import_minutes(minimal_document)

    assert not Body.objects.filter(name="Ganz neues Gremium").exists()


@pytest.mark.parametrize(
    "text",
    ['{"format": ', "", "[1, 2", "{'single': 'quotes'}"],
)
def test_invalid_json_names_line_and_column(text):
    with pytest.raises(DocumentError) as raised:
        exchange.parse(text)
    assert "JSON" in raised.value.problems[0]
    assert "1" in raised.value.problems[0]


def test_text_that_is_not_utf8_is_refused():
    with pytest.raises(DocumentError) as raised:
        exchange.parse("{}".encode("utf-16"))
    assert "UTF-8" in raised.value.problems[0]


def test_a_document_that_is_not_an_object_is_refused(unchanged_database):
    with pytest.raises(DocumentError) as raised:
        workflow.import_minutes([1, 2])
    assert raised.value.problems[0].startswith("(Dokument): ")
