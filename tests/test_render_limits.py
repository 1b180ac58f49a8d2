"""Bounded work for texts of any length (issue 12, finding 4, second half).

A PDF render has a time limit: it runs in a child process that is killed after
``PDF_RENDER_TIMEOUT`` seconds, and the caller gets ``RenderTimeout`` with a message.
The word diff of two versions takes about linear time and a bounded number of steps.
"""

import copy
import random

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from protokolle import exchange, versions, workflow
from protokolle.models import Meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(reference_document):
    meeting = workflow.import_minutes(copy.deepcopy(reference_document))
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


# --- the word diff ----------------------------------------------------------------------------


def refuse_long_inputs(monkeypatch, limit=1000):
    """SequenceMatcher, quadratic in the words, may see short middles only."""
    original = versions.difflib.SequenceMatcher

    def guarded(*args, a=(), b=(), **kwargs):
        assert len(a) <= limit and len(b) <= limit, (len(a), len(b))
        return original(*args, a=a, b=b, **kwargs)

    monkeypatch.setattr(versions.difflib, "SequenceMatcher", guarded)


def test_a_40_kb_result_with_one_word_changed(monkeypatch):
    """The finding: 76 s. One word repeated is SequenceMatcher's worst case."""
    refuse_long_inputs(monkeypatch)
    old_words = ("Text " * 8000).split()
    new_words = old_words.copy()
    new_words[4000] = "Test"
    budget = versions.Budget(versions.MYERS_BUDGET)

    html = versions._inline(" ".join(old_words), " ".join(new_words), budget)

    assert html == (
        " ".join(old_words[:4000])
        + " <del>Text</del> <ins>Test</ins> "
        + " ".join(old_words[4001:])
    )
    assert budget.spent <= 1


def test_changes_far_apart_in_a_long_text_are_shown_word_by_word(monkeypatch):
    refuse_long_inputs(monkeypatch)
    rng = random.Random(12)
    old_words = [
        rng.choice(["der", "Rat", "beschließt", "die", "Vorlage", "&"]) for _ in range(6000)
    ]
    new_words = old_words.copy()
    new_words[10], new_words[5990] = "ANFANG", "ENDE<"
    budget = versions.Budget(versions.MYERS_BUDGET)

    html = versions._inline(" ".join(old_words), " ".join(new_words), budget)

    assert html.count("<del>") == 2 and html.count("<ins>") == 2
    assert "<ins>ANFANG</ins>" in html and "<ins>ENDE&lt;</ins>" in html
    assert "&amp;" in html and " & " not in html
    assert budget.spent <= 10 * 6000


def test_texts_that_share_little_become_one_deletion_and_one_insertion(monkeypatch):
    refuse_long_inputs(monkeypatch)
    rng = random.Random(4)
    old_words = [f"w{rng.randrange(3000)}" for _ in range(6000)]
    new_words = old_words.copy()
    rng.shuffle(new_words)
    budget = versions.Budget(versions.MYERS_BUDGET)

    html = versions._inline(" ".join(old_words), " ".join(new_words), budget)

    assert old_words[0] != new_words[0] and old_words[-1] != new_words[-1]  # nothing to cut
    assert html == f"<del>{' '.join(old_words)}</del> <ins>{' '.join(new_words)}</ins>"
    # Myers stops once its budget is spent (plus at most the one run of equal words it
    # was following then).
    assert budget.spent <= versions.MYERS_BUDGET + len(old_words) + 1


def test_one_comparison_spends_at_most_its_budget_over_all_its_texts(draft, monkeypatch):
    refuse_long_inputs(monkeypatch)
    document = exchange.export_document(draft)
    rng = random.Random(7)
    budgets = []
    original_budget = versions.Budget

    def recording_budget(steps):
        budgets.append(original_budget(steps))
        return budgets[-1]

    monkeypatch.setattr(versions, "Budget", recording_budget)
    changed = copy.deepcopy(document)
    results = [
        result
        for item in changed["meeting"]["agenda"]
        for result in item["results"]
        if result["text"]
    ]
    for result in results:
        words = [f"w{rng.randrange(500)}" for _ in range(2500)]
        result["text"] = " ".join(words)
    longer = copy.deepcopy(changed)
    for result in (r for item in longer["meeting"]["agenda"] for r in item["results"] if r["text"]):
        words = result["text"].split()
        rng.shuffle(words)
        result["text"] = " ".join(words)

    changes = versions.diff(changed, longer)

    assert len(changes) == len(results) > 3
    assert all("<del>" in c.inline and "<ins>" in c.inline for c in changes)
    (budget,) = budgets
    assert budget.spent <= versions.DIFF_BUDGET + versions.MYERS_BUDGET
    assert budget.left <= 0  # it was spent, and the remaining texts cost nothing more


def test_typed_markup_in_a_diff_comes_out_escaped():
    assert versions._inline("a <b> c", "a <i> c") == (
        "a <del>&lt;b&gt;</del> <ins>&lt;i&gt;</ins> c"
    )


def rebuild(a, b, opcodes):
    """``b`` made from ``a`` by the opcodes; the opcodes cover both lists in order."""
    out, i, j = [], 0, 0
    for tag, i1, i2, j1, j2 in opcodes:
        assert (i1, j1) == (i, j)
        if tag == "equal":
            assert a[i1:i2] == b[j1:j2]
        out += b[j1:j2]
        i, j = i2, j2
    assert (i, j) == (len(a), len(b))
    return out


def longest_common_subsequence(a, b):
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b):
            current.append(previous[j] + 1 if x == y else max(previous[j + 1], current[j]))
        previous = current
    return previous[-1]


words = st.lists(st.sampled_from("abcd"), max_size=25)


@hypothesis_settings(max_examples=300, deadline=None)
@given(a=words, b=words)
def test_myers_finds_a_shortest_edit_script(a, b):
    opcodes, _steps = versions._myers(a, b, budget=10**9)

    assert rebuild(a, b, opcodes) == b
    kept = sum(i2 - i1 for tag, i1, i2, _j1, _j2 in opcodes if tag == "equal")
    assert kept == longest_common_subsequence(a, b)


@hypothesis_settings(max_examples=300, deadline=None)
@given(a=words, b=words, small=st.sampled_from([0, versions.SMALL_MIDDLE]))
def test_every_way_of_diffing_rebuilds_the_new_text(a, b, small):
    original = versions.SMALL_MIDDLE
    versions.SMALL_MIDDLE = small  # 0: Myers for every middle
    try:
        opcodes = versions._opcodes(a, b)
    finally:
        versions.SMALL_MIDDLE = original
    assert rebuild(a, b, opcodes) == b
