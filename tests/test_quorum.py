"""Quorum, Befangenheit and vote checks: the rule table (Python and the editor's
script), the printed minutes read back, the editor's warnings and the body's rule."""

import copy
import datetime
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from pypdf import PdfReader

from protokolle import pdf, quorum, workflow
from protokolle.models import AgendaItem, Body, Meeting

from .factories import writer_of
from .html_forms import form_data

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
TABLE = json.loads((ROOT / "tests/data/quorum.json").read_text(encoding="utf-8"))
ATTENDANCE, VOTES = TABLE["attendance"], TABLE["votes"]


def _time(value):
    return datetime.time.fromisoformat(value) if value else None


def _python_case(case):
    participants = [
        {**p, "arrived": _time(p["arrived"]), "left": _time(p["left"])}
        for p in case["participants"]
    ]
    items = [{**item, "start": _time(item["start"])} for item in case["items"]]
    return participants, items, quorum.Rule(**case["rule"]), _time(case["start"])


def _flat(count, differs=None):
    if count is None:
        return None
    values = [count.present, count.total, count.quorate]
    return values if differs is None else [*values, differs]


# --- the rule table ----------------------------------------------------------------------


@pytest.mark.parametrize("case", ATTENDANCE, ids=[case["name"] for case in ATTENDANCE])
def test_python_counts_the_examples(case):
    at_start, per_item = quorum.for_meeting(*_python_case(case))
    assert _flat(at_start) == case["expect"]["start"]
    assert {key: _flat(item.count, item.differs) for key, item in per_item.items()} == case[
        "expect"
    ]["items"]
    for key, expected in case["expect"].get("recusals", {}).items():
        assert [list(pair) for pair in per_item[key].recusals] == expected


@pytest.mark.parametrize("case", VOTES, ids=[case["name"] for case in VOTES])
def test_python_checks_the_votes(case):
    count = quorum.Count(*case["count"]) if case["count"] else None
    problems = quorum.vote_problems(
        case["kind"], case["yes"], case["no"], case["abstain"], case["text"], count
    )
    assert [code for code, _params in problems] == case["problems"]


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_javascript_gives_the_same_answers():
    """static/js/quorum.js counts and checks as protokolle/quorum.py does."""
    script = """
const Q = (require(process.argv[1]), globalThis.WerkstattQuorum);
const table = require(process.argv[2]);
const flat = (c, d) => (c ? (d === undefined ? [c.present, c.total, c.quorate]
                                             : [c.present, c.total, c.quorate, d]) : null);
const attendance = table.attendance.map((c) => {
  const r = Q.forMeeting(c.participants, c.items, c.rule, c.start);
  const items = {}, recusals = {};
  for (const [k, v] of Object.entries(r.items)) {
    items[k] = flat(v.count, v.differs);
    recusals[k] = v.recusals;
  }
  return {start: flat(r.start), items, recusals};
});
const votes = table.votes.map((v) => Q.voteProblems(v.kind, v.yes, v.no, v.abstain, v.text,
  v.count ? {present: v.count[0], total: v.count[1], quorate: v.count[2]} : null)
  .map((p) => p[0]));
console.log(JSON.stringify({attendance, votes}));
"""
    output = subprocess.run(
        [
            "node",
            "-e",
            script,
            str(ROOT / "static/js/quorum.js"),
            str(ROOT / "tests/data/quorum.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    answers = json.loads(output)
    for case, answer in zip(ATTENDANCE, answers["attendance"], strict=True):
        assert answer["start"] == case["expect"]["start"], case["name"]
        assert answer["items"] == case["expect"]["items"], case["name"]
        for key, expected in case["expect"].get("recusals", {}).items():
            assert answer["recusals"][key] == expected, case["name"]
    assert answers["votes"] == [case["problems"] for case in VOTES]


@pytest.mark.skipif(not shutil.which("node"), reason="node is not installed")
def test_javascript_reads_conflicts_as_the_form_does():
    from protokolle.forms import ConflictsOfInterestField

    typed = "Dr. Elena Herzog: Geschäftsführerin: Antragstellerin\r\n\r\n  Bernd Bauer  \n"
    script = (
        "require(process.argv[1]);"
        "console.log(JSON.stringify(globalThis.WerkstattQuorum.parseConflicts(process.argv[2])));"
    )
    output = subprocess.run(
        ["node", "-e", script, str(ROOT / "static/js/quorum.js"), typed],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(output) == ConflictsOfInterestField().clean(typed)


def test_the_lines_read_as_the_minutes_print_them():
    assert (
        quorum.line(quorum.Count(5, 7, True), "Werkstatt Fachkräfte")
        == "Die Werkstatt ist beschlussfähig (5 von 7 stimmberechtigten Mitgliedern anwesend)."
    )
    assert (
        quorum.line(quorum.Count(3, 7, False), "Werkstatt Fachkräfte")
        == "Die Werkstatt ist nicht beschlussfähig (3 von 7 stimmberechtigten Mitgliedern "
        "anwesend)."
    )
    assert quorum.line(quorum.Count(3, 7, False), "Lenkungskreis").startswith("Das Gremium ist")
    assert quorum.line(None, "Werkstatt") == ""
    assert (
        quorum.recusal_sentence("Frau Dr. Elena Herzog")
        == "Frau Dr. Elena Herzog hat wegen Befangenheit an Beratung und Abstimmung nicht "
        "teilgenommen."
    )


# --- the printed minutes -----------------------------------------------------------------

SEVEN = [
    "Anna Arndt",
    "Bernd Bauer",
    "Carla Cramer",
    "Frau Dr. Elena Herzog",
    "Fritz Fuchs",
    "Gerda Grün",
    "Hans Hahn",
]


def _participant(name, status, left=None):
    return {
        "name": name,
        "organisation": None,
        "function": None,
        "status": status,
        "voting": True,
        "substitute_for": None,
        "arrived": None,
        "left": left,
    }


def with_attendance(document, present, left=None):
    """The reference minutes with seven voting members, ``present`` of them present;
    ``left`` maps a name to the time they left."""
    document = copy.deepcopy(document)
    meeting = document["meeting"]
    meeting["participants"] = [
        _participant(name, "present" if index < present else "excused", (left or {}).get(name))
        for index, name in enumerate(SEVEN)
    ]
    meeting["approves_minutes_of"] = []
    return document


def pdf_text(meeting):
    data = pdf.render_pdf(Meeting.objects.for_minutes().get(pk=meeting.pk))
    return squeeze("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def squeeze(text):
    """Text without whitespace, soft hyphens or the hyphens hyphenation adds."""
    return re.sub(r"[\s\u00ad\u2010]+", "", text)


def set_item(meeting, index, **fields):
    items = sorted(
        AgendaItem.objects.filter(meeting=meeting, parent=None), key=lambda i: i.position
    )
    AgendaItem.objects.filter(pk=items[index].pk).update(**fields)
    return items[index]


def test_the_pdf_says_the_body_is_quorate_with_the_counts(reference_document):
    meeting = workflow.import_minutes(with_attendance(reference_document, 5))
    text = pdf_text(meeting)
    assert (
        squeeze(
            "Beschlussfähigkeit Die Werkstatt ist beschlussfähig (5 von 7 stimmberechtigten "
            "Mitgliedern anwesend)."
        )
        in text
    )
    assert "nicht beschlussfähig" not in text


def test_the_pdf_says_the_body_is_not_quorate(reference_document):
    meeting = workflow.import_minutes(with_attendance(reference_document, 3))
    text = pdf_text(meeting)
    assert (
        squeeze(
            "Die Werkstatt ist nicht beschlussfähig (3 von 7 stimmberechtigten Mitgliedern "
            "anwesend)."
        )
        in text
    )


def test_without_voting_members_the_pdf_says_nothing_about_the_quorum(reference_document):
    document = with_attendance(reference_document, 5)
    for participant in document["meeting"]["participants"]:
        participant["voting"] = None
    meeting = workflow.import_minutes(document)
    assert "beschlussfähig" not in pdf_text(meeting)


def test_the_befangenheit_sentence_and_the_items_own_line_are_printed_at_the_item(
    reference_document,
):
    meeting = workflow.import_minutes(with_attendance(reference_document, 4))
    item = set_item(meeting, 2, conflicts_of_interest=[{"name": "Elena Herzog", "reason": None}])
    text = pdf_text(meeting)
    sentence = squeeze(
        "Frau Dr. Elena Herzog hat wegen Befangenheit an Beratung und Abstimmung nicht "
        "teilgenommen."
    )
    assert text.count(sentence) == 1
    # In the results, after item 3's title and before item 4's, with the item's own count.
    results = text[text.index("ErgebnisseTOPErgebnis") :]
    this_item = results.index(squeeze(item.title[:40]))
    next_item = results.index(squeeze("Diskussion und Ideensammlung"))
    assert this_item < results.index(sentence) < next_item
    own_line = squeeze(
        "Beschlussfähigkeit: Die Werkstatt ist nicht beschlussfähig (3 von 7 "
        "stimmberechtigten Mitgliedern anwesend)."
    )
    assert this_item < results.index(own_line) < next_item
    # The start is still quorate.
    assert squeeze("Die Werkstatt ist beschlussfähig (4 von 7") in text


def test_a_member_who_left_before_an_item_is_not_counted_there(reference_document):
    document = with_attendance(reference_document, 4, left={"Anna Arndt": "11:00"})
    meeting = workflow.import_minutes(document)
    set_item(meeting, 4, start=datetime.time(11, 15))  # item "4"
    html = pdf.render_html(Meeting.objects.for_minutes().get(pk=meeting.pk))
    assert "Die Werkstatt ist beschlussfähig (4 von 7 stimmberechtigten" in html
    assert html.count('<p class="quorum">') == 3  # items 4, 5 and 6 follow 11:15
    assert "Die Werkstatt ist nicht beschlussfähig (3 von 7 stimmberechtigten" in html


# --- the editor --------------------------------------------------------------------------


@pytest.fixture
def attended(reference_document):
    return workflow.import_minutes(with_attendance(reference_document, 4))


@pytest.fixture
def writer(attended):
    return writer_of(attended.body, name="Alexander Boldt")


def edit_url(meeting):
    return reverse("protokolle:meeting_edit", args=[meeting.pk])


def indicator(content):
    html = content.decode()
    start = html.index('id="quorum-state"')
    return re.sub(r"<[^>]+>", "", html[start : html.index("</span>", start)]).split(">", 1)[1]


def test_the_editor_shows_the_quorum_without_javascript(client, attended, writer):
    client.force_login(writer)
    response = client.get(edit_url(attended))
    assert re.search(r"\b4\D+7\b", indicator(response.content))
    assert b'aria-live="polite"' in response.content
    assert b"is-not-quorate" not in response.content.split(b'id="quorum-state"')[0][-2000:]
    # Beside each decision, without the script: the item's own count.
    assert "Dieser TOP: beschlussfähig, 4 von 7 anwesend." in response.content.decode()


def test_the_editor_warns_at_a_decision_when_the_item_is_not_quorate_and_saves(
    client, attended, writer
):
    """A warning, not a refusal: the counts are saved as typed."""
    client.force_login(writer)
    data = form_data(client.get(edit_url(attended)).content)
    # Two members marked absent: 2 of 7 present.
    marked = 0
    for name, value in list(data.items()):
        if (
            name.startswith("participants-")
            and name.endswith("-name")
            and value in ("Anna Arndt", "Bernd Bauer")
        ):
            data[name.replace("-name", "-status")] = "absent"
            marked += 1
    assert marked == 2
    decision = next(
        name[: -len("-kind")]
        for name, value in data.items()
        if name.startswith("results-") and name.endswith("-kind") and value == "decision"
    )
    data[f"{decision}-vote_yes"] = "5"

    response = client.post(edit_url(attended), data)
    assert response.status_code == 302

    page = client.get(edit_url(attended)).content.decode()
    assert page.count("quorum-warning") >= 2  # too many votes, and not quorate
    assert (
        '<span class="quorum-state is-not-quorate">'
        "Dieser TOP: nicht beschlussfähig, 2 von 7 anwesend.</span>"
    ) in page
    warnings = quorum.warning_messages()
    assert str(warnings["too_many_votes"] % {"votes": 5, "present": 2}) in page
    saved = Meeting.objects.for_export().get(pk=attended.pk)
    assert any(
        result.vote_yes == 5 for item in saved.agenda_items.all() for result in item.results.all()
    )


def test_a_refused_save_shows_the_quorum_of_the_typed_attendance(client, attended, writer):
    client.force_login(writer)
    data = form_data(client.get(edit_url(attended)).content)
    for name, value in list(data.items()):
        if name.startswith("participants-") and name.endswith("-name") and value in SEVEN[:2]:
            data[name.replace("-name", "-status")] = "absent"
    data["meeting-end"] = "09:00"  # before the start: refused
    response = client.post(edit_url(attended), data)
    assert response.status_code == 400
    assert re.search(r"\b2\D+7\b", indicator(response.content))


def test_the_editor_saves_an_items_time_and_befangenheit(client, attended, writer):
    client.force_login(writer)
    data = form_data(client.get(edit_url(attended)).content)
    title = next(
        name
        for name, value in data.items()
        if name.startswith("items-") and name.endswith("-title") and value.startswith("Begrüßung")
    )
    row = title[: -len("-title")]
    data[f"{row}-start"] = "10:15"
    data[f"{row}-conflicts_of_interest"] = "Frau Dr. Elena Herzog: Antragstellerin\nHans Hahn"

    assert client.post(edit_url(attended), data).status_code == 302

    item = next(
        i for i in AgendaItem.objects.filter(meeting=attended) if i.title.startswith("Begrüßung")
    )
    assert item.start == datetime.time(10, 15)
    assert item.conflicts_of_interest == [
        {"name": "Frau Dr. Elena Herzog", "reason": "Antragstellerin"},
        {"name": "Hans Hahn", "reason": None},
    ]
    # Saving the page again unchanged changes nothing (the typed text round-trips).
    version = Meeting.objects.get(pk=attended.pk).version
    data = form_data(client.get(edit_url(attended)).content)
    assert client.post(edit_url(attended), data).status_code == 302
    item.refresh_from_db()
    assert item.conflicts_of_interest[1] == {"name": "Hans Hahn", "reason": None}
    assert Meeting.objects.get(pk=attended.pk).version == version + 1


def test_a_befangenheit_line_without_a_name_is_refused_with_the_input_kept(
    client, attended, writer
):
    client.force_login(writer)
    data = form_data(client.get(edit_url(attended)).content)
    row = next(
        name[: -len("-title")]
        for name in data
        if name.startswith("items-") and name.endswith("-title") and not name.startswith("initial")
    )
    data[f"{row}-conflicts_of_interest"] = ": only a reason"
    response = client.post(edit_url(attended), data)
    assert response.status_code == 400
    assert ": only a reason" in response.content.decode()
    assert not any(i.conflicts_of_interest for i in AgendaItem.objects.filter(meeting=attended))


# --- the body's rule ---------------------------------------------------------------------


def test_a_fraction_rule_needs_its_fraction():
    body = Body(name="Werkstatt Regel", quorum_rule=Body.QuorumRule.FRACTION)
    with pytest.raises(ValidationError):
        body.full_clean()
    body.quorum_numerator, body.quorum_denominator = 3, 2
    with pytest.raises(ValidationError):
        body.full_clean()
    body.quorum_numerator = 1
    body.full_clean()


def test_the_database_refuses_an_incomplete_rule():
    with pytest.raises(IntegrityError), transaction.atomic():
        Body.objects.create(name="Werkstatt A", quorum_rule=Body.QuorumRule.MINIMUM)
    with pytest.raises(IntegrityError), transaction.atomic():
        Body.objects.create(
            name="Werkstatt B",
            quorum_rule=Body.QuorumRule.FRACTION,
            quorum_numerator=3,
            quorum_denominator=2,
        )
    Body.objects.create(name="Werkstatt C", quorum_rule=Body.QuorumRule.MINIMUM, quorum_minimum=3)


def test_the_rule_of_the_body_decides(reference_document):
    meeting = workflow.import_minutes(with_attendance(reference_document, 4))
    Body.objects.filter(pk=meeting.body_id).update(
        quorum_rule="fraction", quorum_numerator=2, quorum_denominator=3
    )
    assert squeeze("nicht beschlussfähig (4 von 7") in pdf_text(meeting)


def test_an_imported_befangenheit_without_a_reason_key_is_edited_without_a_conflict(
    client, reference_document
):
    document = with_attendance(reference_document, 4)
    document["meeting"]["agenda"][0]["conflicts_of_interest"] = [{"name": "Hans Hahn"}]
    meeting = workflow.import_minutes(document)
    client.force_login(writer_of(meeting.body, name="Alexander Boldt"))
    data = form_data(client.get(edit_url(meeting)).content)
    row = next(
        name[: -len("-conflicts_of_interest")]
        for name, value in data.items()
        if name.startswith("items-") and value == "Hans Hahn"
    )
    data[f"{row}-conflicts_of_interest"] = "Hans Hahn\nGerda Grün: Antragstellerin"

    assert client.post(edit_url(meeting), data).status_code == 302
    item = AgendaItem.objects.get(pk=data[f"{row}-id"])
    assert item.conflicts_of_interest == [
        {"name": "Hans Hahn", "reason": None},
        {"name": "Gerda Grün", "reason": "Antragstellerin"},
    ]
