"""Bounded work for texts of any length (issue 12, finding 4, second half).

A PDF render has a time limit: it runs in a child process that is killed after
``PDF_RENDER_TIMEOUT`` seconds, and the caller gets ``RenderTimeout`` with a message.
The word diff of two versions takes about linear time and a bounded number of steps.
"""

import copy
import io
import os
import random
import signal
import threading
import time

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from pypdf import PdfReader

from protokolle import exchange, pdf, versions, workflow
from protokolle.models import Meeting

pytestmark = pytest.mark.django_db


def children():
    """This process's child processes, by pid, those that ended but were not reaped too."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == me:
            found.add(int(entry))
    return found


@pytest.fixture
def draft(reference_document):
    meeting = workflow.import_minutes(copy.deepcopy(reference_document))
    return Meeting.objects.for_minutes().get(pk=meeting.pk)


# --- the time limit ---------------------------------------------------------------------------


def test_a_render_that_takes_too_long_is_stopped_with_a_message(draft):
    pdf.write_pdf("<p>warm</p>", b"{}")  # the typesetting child is there
    typesetter = pdf._typesetter.process.pid
    before = children()
    assert typesetter in before

    with translation.override("en"), pytest.raises(pdf.RenderTimeout) as raised:
        pdf.render_pdf(draft, timeout=0.001)

    assert isinstance(raised.value, pdf.RenderError)
    assert raised.value.seconds == 0.001
    assert str(raised.value).startswith("The PDF is too long to be typeset within 0.001 seconds")
    # The child was killed and reaped: no process is left behind, not even a zombie.
    assert typesetter not in children()
    assert children() <= before - {typesetter}
    assert pdf._typesetter is None


def test_the_time_limit_comes_from_the_settings(draft, settings):
    settings.PDF_RENDER_TIMEOUT = 0.001

    with pytest.raises(pdf.RenderTimeout) as raised:
        pdf.render_pdf(draft)

    assert raised.value.seconds == 0.001


def test_the_limit_stops_a_render_that_would_take_minutes():
    """The finding: a draft with a 1 MB result did not finish in 240 s."""
    huge = "<html lang='de'><body><table><tr><td>" + "Protokollnotiz " * 70_000
    started = time.monotonic()

    with pytest.raises(pdf.RenderTimeout):
        pdf.write_pdf(huge, b"{}", timeout=1)

    # Stopped at the limit, not when the render would have ended (minutes later).
    assert time.monotonic() - started < 30
    assert pdf._typesetter is None


def test_after_a_timeout_the_next_render_works(draft):
    with pytest.raises(pdf.RenderTimeout):
        pdf.render_pdf(draft, timeout=0.001)

    data = pdf.render_pdf(draft)

    assert data.startswith(b"%PDF-")
    assert pdf.embedded_document(data)


def test_a_render_that_fails_in_the_child_raises_render_error(fresh_typesetter, monkeypatch):
    def failing(html, embedded):
        raise MemoryError("out of memory while typesetting")

    monkeypatch.setattr(pdf, "_write_pdf_here", failing)

    with pytest.raises(pdf.RenderError) as raised:
        pdf.write_pdf("<p>x</p>", b"{}")

    assert not isinstance(raised.value, pdf.RenderTimeout)
    assert pdf._typesetter is None


def test_a_render_interrupted_in_the_parent_never_answers_another():
    """Its answer may still come: the next render must not get it (another meeting's PDF)."""
    pdf.write_pdf("<p>warm</p>", b"{}")

    def interrupted(timeout):
        raise KeyboardInterrupt

    pdf._typesetter.connection.poll = interrupted
    with pytest.raises(KeyboardInterrupt):
        pdf.write_pdf("<p>Vertraulich</p>", b"{}")

    second = pdf.write_pdf("<p>Öffentlich</p>", b"{}")

    text = PdfReader(io.BytesIO(second)).pages[0].extract_text()
    assert "Öffentlich" in text and "Vertraulich" not in text


def test_a_typesetting_child_that_died_is_replaced(draft):
    pdf.write_pdf("<p>warm</p>", b"{}")
    dead = pdf._typesetter.process
    os.kill(dead.pid, signal.SIGKILL)
    dead.join()

    assert pdf.render_pdf(draft).startswith(b"%PDF-")
    assert pdf._typesetter.process is not dead


def test_two_renders_at_once_both_succeed_and_leave_at_most_one_child():
    pdf.write_pdf("<p>warm</p>", b"{}")
    # Children of other tests' making (a browser driver of the e2e tests) are not ours.
    others = children() - {pdf._typesetter.process.pid}
    results, barrier = [], threading.Barrier(2)

    def render(word):
        barrier.wait()
        results.append(pdf.write_pdf(f"<p>{word}</p>", b"{}"))

    threads = [threading.Thread(target=render, args=(w,)) for w in ("eins", "zwei")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(results) == 2 and all(r.startswith(b"%PDF-") for r in results)
    assert children() - others == {pdf._typesetter.process.pid}


def test_the_child_fetches_nothing_typed_into_the_minutes(
    reference_document, fresh_typesetter, monkeypatch, tmp_path
):
    """What the child's fetcher is asked for, written to a file the test can read."""
    meeting = reference_document["meeting"]
    meeting["location"] = '<img src="http://127.0.0.1:9/tracker.png">'
    meeting["agenda"][0]["title"] = '<link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
    meeting["agenda"][1]["results"][0]["text"] = "![bild](file:///etc/passwd) <img src=x.png>"
    loaded = Meeting.objects.for_minutes().get(
        pk=workflow.import_minutes(copy.deepcopy(reference_document)).pk
    )
    log = tmp_path / "fetched.txt"
    _weasyprint, _fonts, fetcher, _css = pdf._weasyprint()
    original = type(fetcher).fetch

    def recording_fetch(self, url, headers=None):
        with open(log, "a") as handle:
            handle.write(url + "\n")
        return original(self, url, headers)

    monkeypatch.setattr(type(fetcher), "fetch", recording_fetch)

    assert pdf.render_pdf(loaded).startswith(b"%PDF-")
    assert not log.exists()

    # The recording works in the child: a stylesheet of our own is fetched and logged.
    pdf.write_pdf('<link rel="stylesheet" href="static/css/minutes.css"><p>x</p>', b"{}")
    assert log.read_text() == pdf.BASE_URL + "static/css/minutes.css\n"


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


def test_the_typesetting_child_holds_none_of_the_parents_files(fresh_typesetter):
    """A pipe of the parent's (a browser driver's input, a client's socket) must not stay
    open in the child: whoever waits for it to close would wait forever."""
    read_end, write_end = os.pipe()
    try:
        pdf.write_pdf("<p>x</p>", b"{}")  # forks the child now, with the pipe open
        child = pdf._typesetter.process.pid
        inherited = {
            os.readlink(f"/proc/{child}/fd/{fd}") for fd in os.listdir(f"/proc/{child}/fd")
        }
        pipe = os.readlink(f"/proc/self/fd/{write_end}")
        assert pipe not in inherited
        # The child's own pipe to us and its standard streams are all it keeps.
        assert len(inherited) <= 4
    finally:
        os.close(read_end)
        os.close(write_end)
