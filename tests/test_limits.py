"""Limits on what minutes hold and what an import may bring (issue 12, findings 4, 5 and 9).

Each finding is reproduced here: a text without a limit, a generated title longer
than its column, a number or a nesting that ended an import in a traceback.
"""

import datetime
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator
from django.db import connection

from protokolle import drafting, exchange, immutability, workflow
from protokolle.exchange import DocumentError
from protokolle.models import (
    AgendaItem,
    Approval,
    Attachment,
    Body,
    Meeting,
    Participant,
    Presenter,
    Response,
    Result,
)

from .factories import BodyFactory, MeetingFactory

pytestmark = pytest.mark.django_db


def nested_items(levels):
    """One agenda item with a child, grandchild … ``levels`` deep, built without recursion."""
    item = {"title": f"Ebene {levels}"}
    for level in range(levels - 1, 0, -1):
        item = {"title": f"Ebene {level}", "children": [item]}
    return [item]


def nested_json(levels):
    """A document whose agenda nests ``levels`` deep, as JSON text (json.dumps would recurse)."""
    opening = '{"title": "TOP", "children": ['
    agenda = "[" + opening * levels + "]}" * levels + "]"
    return (
        '{"format": "werkstatt-protokoll/1", "body": {"name": "Werkstatt Tief"}, '
        f'"meeting": {{"date": "2024-05-06", "agenda": {agenda}}}}}'
    )


def refused(document):
    with pytest.raises(DocumentError) as raised:
        workflow.import_minutes(document)
    return raised.value.problems


# --- finding 4: every text has a maximum length ------------------------------------------


def test_a_40_kb_result_text_is_refused_on_import_with_its_place(
    reference_document, unchanged_database
):
    reference_document["meeting"]["agenda"][2]["results"][0]["text"] = "Fördermittel. " * 2900

    problems = refused(reference_document)

    assert len(problems) == 1
    assert problems[0].startswith("meeting.agenda[2].results[0].text: ")
    assert "40600" in problems[0] and "20000" in problems[0]


def test_a_result_text_of_exactly_the_limit_imports(minimal_document):
    minimal_document["meeting"]["agenda"][0]["results"] = [{"text": "x" * 20_000}]

    meeting = workflow.import_minutes(minimal_document)

    assert len(Result.objects.get(agenda_item__meeting=meeting).text) == 20_000


@pytest.mark.parametrize(
    ("model", "field", "limit"),
    [(Result, "text", 20_000), (Approval, "note", 5_000), (Response, "text", 10_000)],
)
def test_a_too_long_text_is_refused_by_the_model(model, field, limit):
    instance = model(**{field: "x" * (limit + 1)})

    with pytest.raises(ValidationError) as raised:
        instance.full_clean()

    assert field in raised.value.error_dict
    model(**{field: "x" * limit}).clean_fields(
        exclude=[f.name for f in model._meta.fields if f.name != field]
    )


@pytest.mark.parametrize("field", ["vote_yes", "vote_no", "vote_abstain"])
def test_a_vote_count_beyond_the_limit_is_refused_by_the_model(field):
    others = [f.name for f in Result._meta.fields if f.name != field]
    Result(**{field: 100_000}).clean_fields(exclude=others)
    with pytest.raises(ValidationError) as raised:
        Result(**{field: 100_001}).clean_fields(exclude=others)
    assert field in raised.value.error_dict


def test_a_form_for_a_result_renders_its_maximum_length():
    field = Result._meta.get_field("text").formfield()
    assert field.widget.attrs["maxlength"] == "20000"


def _schema_property(*path):
    node = exchange.schema()["$defs"]
    for key in path:
        node = node[key]
    return node


# Every text of the format, and the model field that stores it.
TEXTS = {
    ("body", "properties", "name"): [(Body, "name")],
    ("body", "properties", "short_name"): [(Body, "short_name")],
    ("body", "properties", "organisation"): [(Body, "organisation")],
    ("body", "properties", "place"): [(Body, "place")],
    ("person", "properties", "name"): [
        (Presenter, "name"),
        (Meeting, "chair_name"),
        (Meeting, "minute_taker_name"),
    ],
    ("person", "properties", "organisation"): [
        (Presenter, "organisation"),
        (Meeting, "chair_organisation"),
        (Meeting, "minute_taker_organisation"),
    ],
    ("person", "properties", "function"): [
        (Presenter, "function"),
        (Meeting, "chair_function"),
        (Meeting, "minute_taker_function"),
    ],
    ("participant", "properties", "name"): [(Participant, "name")],
    ("participant", "properties", "organisation"): [(Participant, "organisation")],
    ("participant", "properties", "function"): [(Participant, "function")],
    ("participant", "properties", "substitute_for"): [(Participant, "substitute_for")],
    ("vote", "properties", "text"): [(Result, "vote_text")],
    ("result", "properties", "text"): [(Result, "text")],
    ("result", "properties", "responsible"): [(Result, "responsible")],
    ("agendaItem", "properties", "number"): [(AgendaItem, "number")],
    ("agendaItem", "properties", "title"): [(AgendaItem, "title")],
    ("approval", "properties", "note"): [(Approval, "note")],
    ("meeting", "properties", "title"): [(Meeting, "title")],
    ("meeting", "properties", "location"): [(Meeting, "location")],
    ("attachment", "properties", "name"): [(Attachment, "name")],
    ("meeting", "properties", "next_meeting", "oneOf", 1, "properties", "location"): [
        (Meeting, "next_meeting_location")
    ],
    ("meeting", "properties", "closing", "oneOf", 1, "properties", "place"): [
        (Meeting, "closing_place")
    ],
}


@pytest.mark.parametrize("path", TEXTS, ids=[".".join(map(str, path)) for path in TEXTS])
def test_the_schema_states_the_model_s_maximum_length(path):
    stated = _schema_property(*path)["maxLength"]
    for model, field in TEXTS[path]:
        assert model._meta.get_field(field).max_length == stated, (model, field)


def test_every_text_of_the_schema_has_a_maximum_length():
    """Walk the schema: every property that may be a string states how long it may be."""
    defs = exchange.schema()["$defs"]
    text_defs = {"#/$defs/text", "#/$defs/optionalText"}
    unbounded = []
    stack = [((name,), node) for name, node in defs.items()]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            is_text = node.get("$ref") in text_defs or "string" in str(node.get("type"))
            bounded = "maxLength" in node or "pattern" in node or "enum" in node
            if is_text and not bounded and path[0] not in ("text", "optionalText"):
                unbounded.append(".".join(map(str, path)))
            stack.extend(((*path, key), child) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), child) for index, child in enumerate(node))
    assert unbounded == []


NUMBERS = {
    ("vote", "properties", "yes"): (Result, "vote_yes"),
    ("vote", "properties", "no"): (Result, "vote_no"),
    ("vote", "properties", "abstain"): (Result, "vote_abstain"),
    ("meeting", "properties", "number"): (Meeting, "number"),
    ("approval", "properties", "number"): (Approval, "number"),
}


@pytest.mark.parametrize("path", NUMBERS, ids=[".".join(path) for path in NUMBERS])
def test_the_schema_states_the_model_s_largest_number(path):
    model, field = NUMBERS[path]
    limits = [
        validator.limit_value
        for validator in model._meta.get_field(field).validators
        if isinstance(validator, MaxValueValidator)
    ]
    assert _schema_property(*path)["maximum"] == min(limits) == 100_000


def test_the_demo_minutes_and_a_full_document_keep_to_the_limits(reference_document):
    from .test_exchange import full_document

    assert exchange.validate(reference_document) == []
    assert exchange.validate(full_document()) == []


# --- finding 5: a generated title fits its column ----------------------------------------


def test_twenty_waiting_meetings_give_an_item_1_title_that_fits_its_column():
    body = BodyFactory(name="Werkstatt „Fachkräfte und Daseinsvorsorge“")
    for number in range(1001, 1021):
        MeetingFactory(
            body=body,
            number=number,
            status=Meeting.Status.CIRCULATED,
            date=datetime.date(2020, 1, 6) + datetime.timedelta(weeks=number - 1001),
        )
    new = MeetingFactory(body=body, number=1021, date=datetime.date(2021, 1, 4))

    title = drafting.proposed_agenda(body, new.date)[0].title

    assert len(title) <= AgendaItem._meta.get_field("title").max_length
    assert "20 Sitzungen" in title
    AgendaItem(meeting=new, title=title).full_clean()


# --- finding 9: bad imports are named problems, never a traceback -------------------------


def test_a_5000_digit_integer_is_a_named_problem_not_a_traceback():
    before = (
        '{"format": "werkstatt-protokoll/1", "body": {"name": "W"},\n'
        f' "meeting": {{"title": "Nr. {"7" * 30}", "number": '
    )
    text = before + "7" * 5000 + ', "date": "2024-05-06", "agenda": []}}'

    with pytest.raises(DocumentError) as raised:
        exchange.parse(text)

    [problem] = raised.value.problems
    column = len(before.splitlines()[-1]) + 1
    assert "5000" in problem
    assert " 2" in problem and f" {column}" in problem  # line 2, the number's column


def test_a_long_run_of_digits_inside_a_text_is_only_text(minimal_document):
    minimal_document["meeting"]["title"] = "7" * 250
    text = json.dumps(minimal_document)

    assert exchange.parse(text)["meeting"]["title"] == "7" * 250


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["meeting", "number"], 10**20),
        (["meeting", "number"], 100_001),
        (["meeting", "agenda", 0, "results", 1, "vote"], {"yes": 99_999_999_999}),
        (["meeting", "approves_minutes_of", 0, "number"], 123_456),
    ],
)
def test_a_number_beyond_its_limit_is_named_with_its_place(
    reference_document, unchanged_database, path, value
):
    target = reference_document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value

    problems = refused(reference_document)

    place = exchange.format_path(path)
    assert [p for p in problems if p.startswith(place) and re.search(r"\b100000\b", p)], problems


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_number_that_json_does_not_know_is_refused(constant):
    with pytest.raises(DocumentError) as raised:
        exchange.parse('{"meeting": {"number": ' + constant + "}}")
    assert constant in raised.value.problems[0]


def test_six_levels_of_agenda_items_import(minimal_document):
    minimal_document["meeting"]["agenda"] = nested_items(6)

    meeting = workflow.import_minutes(minimal_document)

    assert meeting.agenda_items.count() == 6


def test_seven_levels_of_agenda_items_are_a_named_problem(minimal_document, unchanged_database):
    minimal_document["meeting"]["agenda"] = nested_items(7)

    problems = refused(minimal_document)

    assert len(problems) == 1
    assert problems[0].startswith("meeting.agenda[0]" + ".children[0]" * 5 + ".children: ")
    assert "6" in problems[0]


@pytest.mark.parametrize("levels", [160, 300])
def test_agenda_items_nested_hundreds_of_levels_are_a_named_problem(levels, unchanged_database):
    problems = refused(exchange.parse(nested_json(levels)))

    assert problems[0].startswith("meeting.agenda[0]" + ".children[0]" * 5 + ".children: ")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a": ' * 100_000 + "1" + "}" * 100_000,
        nested_json(500),
        nested_json(100_000),
    ],
    ids=["arrays", "objects", "500 agenda levels", "100000 agenda levels"],
)
def test_a_document_nested_100000_levels_is_a_document_error(text):
    with pytest.raises(DocumentError) as raised:
        exchange.parse(text)
    assert raised.value.problems


def test_a_document_built_100000_levels_deep_is_a_named_problem(
    minimal_document, unchanged_database
):
    """A document handed over as Python objects: json.loads never saw it."""
    minimal_document["meeting"]["agenda"] = nested_items(100_000)
    deep = []
    for _level in range(100_000):
        deep = [deep]
    minimal_document["meeting"]["title"] = deep

    problems = refused(minimal_document)

    assert problems[0].startswith("meeting.agenda[0]" + ".children[0]" * 5 + ".children: ")
    assert problems[1].startswith("meeting.title[0][0]")


def test_a_list_nested_deep_in_a_text_place_is_a_named_problem(
    reference_document, unchanged_database
):
    deep = "x"
    for _level in range(900):
        deep = [deep]
    reference_document["meeting"]["agenda"][1]["results"][0]["text"] = deep

    problems = refused(reference_document)

    assert problems[0].startswith("meeting.agenda[1].results[0].text[0]")


# --- the migration keeps confirmed minutes protected -------------------------------------


def test_the_immutability_triggers_are_there_after_migrating():
    """0008_limits touches the result, approval and response tables' state only: their
    triggers (one per table on PostgreSQL, one per statement kind on SQLite) remain."""
    names = immutability.present(connection)
    for table in ("protokolle_result", "protokolle_approval", "protokolle_response"):
        assert any(name.startswith(f"{table}_confirmed") for name in names), (table, names)
