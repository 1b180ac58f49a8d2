"""Property tests (Hypothesis): the exchange format and the editor hold for any input."""

import copy

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from protokolle import exchange, wording, workflow
from protokolle.models import Meeting

from .conftest import row_counts

pytestmark = pytest.mark.django_db
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def _schema_without_confirmed():
    """The format's schema; confirmed minutes (a PDF per example) are tested apart."""
    schema = copy.deepcopy(exchange.schema())
    # hypothesis-jsonschema would take the relative $id for a remote base of the $refs.
    del schema["$id"]
    defs = schema["$defs"]
    defs["meeting"]["properties"]["status"] = {"enum": ["draft", "circulated"]}
    # hypothesis-jsonschema cannot follow a recursive $ref: unroll the agenda's nesting
    # to three levels, as deep as minutes go.
    for depth in range(3):
        level = copy.deepcopy(defs["agendaItem"])
        children = level["properties"]["children"]
        if depth < 2:
            children["items"] = {"$ref": f"#/$defs/agendaItem{depth + 1}"}
            children["maxItems"] = 2
        else:
            level["properties"]["children"] = {"type": "array", "maxItems": 0}
        level["properties"]["results"]["maxItems"] = 3
        defs[f"agendaItem{depth}"] = level
    del defs["agendaItem"]
    meeting = defs["meeting"]["properties"]
    meeting["agenda"]["items"] = {"$ref": "#/$defs/agendaItem0"}
    for name in ("agenda", "participants", "attachments", "approves_minutes_of"):
        meeting[name]["maxItems"] = 4
    return schema


DOCUMENTS = from_schema(_schema_without_confirmed())

PERSON = {"organisation": None, "function": None}
DEFAULTS = {
    "body": {"short_name": None, "organisation": None, "place": None},
    "meeting": {
        "number": None,
        "title": None,
        "start": None,
        "end": None,
        "location": None,
        "public": True,
        "status": "draft",
        "chair": None,
        "minute_taker": None,
        "attachments": [],
        "participants": [],
        "agenda": [],
        "approves_minutes_of": [],
        "next_meeting": None,
        "closing": None,
    },
    "participant": {
        **PERSON,
        "voting": None,
        "substitute_for": None,
        "arrived": None,
        "left": None,
    },
    "item": {"number": None, "public": True, "presenters": [], "results": [], "children": []},
    "result": {"kind": "information", "vote": None, "responsible": None, "due": None},
    "vote": {"yes": None, "no": None, "abstain": None, "text": None},
    "approval": {"number": None, "date": None, "outcome": "approved", "note": None},
    "next_meeting": {"time": None, "location": None},
    "closing": {"place": None, "date": None},
}


def filled(values, kind):
    return {**DEFAULTS[kind], **values}


def normalized(document):
    """The document as export writes it: every absent optional key with its default."""
    document = copy.deepcopy(document)
    meeting = filled(document["meeting"], "meeting")
    for role in ("chair", "minute_taker"):
        if meeting[role] is not None:
            meeting[role] = {**PERSON, **meeting[role]}
    meeting["participants"] = [filled(p, "participant") for p in meeting["participants"]]
    meeting["approves_minutes_of"] = [filled(a, "approval") for a in meeting["approves_minutes_of"]]
    if meeting["next_meeting"] is not None:
        meeting["next_meeting"] = filled(meeting["next_meeting"], "next_meeting")
    if meeting["closing"] is not None:
        meeting["closing"] = filled(meeting["closing"], "closing")

    def item(entry):
        entry = filled(entry, "item")
        entry["presenters"] = [{**PERSON, **p} for p in entry["presenters"]]
        entry["results"] = [result(r) for r in entry["results"]]
        entry["children"] = [item(child) for child in entry["children"]]
        return entry

    def result(entry):
        entry = filled(entry, "result")
        if entry["vote"] is not None:
            entry["vote"] = filled(entry["vote"], "vote")
        return entry

    meeting["agenda"] = [item(entry) for entry in meeting["agenda"]]
    # A typed number that the item gets anyway is not kept (wording.needed_numbers).
    flat = []

    def walk(entries, depth):
        for entry in entries:
            flat.append((entry, depth))
            walk(entry["children"], depth + 1)

    walk(meeting["agenda"], 0)
    typed = [(depth, entry["number"]) for entry, depth in flat]
    for (entry, _depth), number in zip(flat, wording.needed_numbers(typed), strict=True):
        entry["number"] = number
    return {
        "format": document["format"],
        "body": filled(document["body"], "body"),
        "meeting": meeting,
    }


OUTLINES = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),
        st.one_of(
            st.none(),
            st.sampled_from(["1", "2", "3", "3.1", "3.2", "3.2.1", "4", "A", " 5 ", "2.1", "10"]),
        ),
    ),
    max_size=12,
)


@given(entries=OUTLINES)
def test_dropping_the_redundant_typed_numbers_prints_the_same_numbers(entries):
    needed = wording.needed_numbers(entries)
    kept = [(level, number) for (level, _typed), number in zip(entries, needed, strict=True)]
    assert wording.outline_numbers(kept) == wording.outline_numbers(entries)
    # Nothing more can be dropped: the result is its own normal form.
    assert wording.needed_numbers(kept) == needed


@SETTINGS
@given(document=DOCUMENTS)
def test_any_schema_valid_document_imports_and_exports_unchanged_or_is_refused_cleanly(
    document,
):
    with transaction.atomic():
        before = row_counts()
        try:
            meeting = workflow.import_minutes(copy.deepcopy(document))
        except exchange.DocumentError as error:
            # Refused for what the schema cannot say (impossible dates, end before
            # start, numbers used twice, texts too long for the database), with nothing
            # written, and each problem named by its place.
            assert error.problems
            assert all(": " in problem for problem in error.problems)
            assert row_counts() == before
        else:
            exported = exchange.export_document(Meeting.objects.for_export().get(pk=meeting.pk))
            assert exported == normalized(document)
        transaction.set_rollback(True)


@SETTINGS
@given(
    document=DOCUMENTS,
    path_choice=st.integers(min_value=0, max_value=3),
    junk=st.one_of(st.integers(), st.text(max_size=5), st.none(), st.lists(st.integers())),
)
def test_any_invalid_document_is_refused_with_nothing_written(document, path_choice, junk):
    broken = copy.deepcopy(document)
    if path_choice == 0:
        del broken["meeting"]["date"]
    elif path_choice == 1:
        broken["meeting"]["unknown_key"] = junk
    elif path_choice == 2:
        broken["format"] = "werkstatt-protokoll/0"
    else:
        broken["meeting"]["agenda"] = {"not": "a list"}
    with transaction.atomic():
        before = row_counts()
        with pytest.raises(exchange.DocumentError):
            workflow.import_minutes(broken)
        assert row_counts() == before
        transaction.set_rollback(True)


JUNK = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["-1", "99999999999999", "2022-02-30", "25:61", "\x00", "<script>", "1e9"]),
    st.integers().map(str),
)


@pytest.fixture
def editor_page(client, reference_document):
    from protokolle.models import Membership

    from .factories import MembershipFactory, PersonFactory, UserFactory
    from .html_forms import form_data

    meeting = workflow.import_minutes(copy.deepcopy(reference_document))
    writer = UserFactory()
    MembershipFactory(
        body=meeting.body, person=PersonFactory(user=writer), role=Membership.Role.MINUTE_TAKER
    )
    client.force_login(writer)
    url = f"/meetings/{meeting.pk}/edit/"
    return url, form_data(client.get(url).content)


@SETTINGS
@given(changes=st.lists(st.tuples(st.integers(min_value=0), JUNK), min_size=1, max_size=6))
def test_no_input_to_the_editor_produces_a_server_error(client, editor_page, changes):
    url, loaded = editor_page
    names = sorted(name for name in loaded if name != "csrfmiddlewaretoken")
    data = dict(loaded)
    for index, value in changes:
        data[names[index % len(names)]] = value
    with transaction.atomic():
        response = client.post(url, data)
        assert response.status_code in (302, 400, 409), response.status_code
        transaction.set_rollback(True)
