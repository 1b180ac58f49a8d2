"""What changed between two circulated versions of the minutes, item by item."""

import difflib
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import wording
from .models import build_agenda, flatten_agenda
from .wording import number_tree


@dataclass
class Change:
    label: str
    kind: str  # "added", "removed", "changed"
    old: str = ""
    new: str = ""
    inline: str = field(default="")


def _person(person):
    if not person:
        return ""
    return wording.person_line(person["name"], person["organisation"], person["function"])


def _vote(vote):
    if not vote:
        return ""
    return wording.vote_line(**vote)


def _items(agenda):
    """(number, item) for every item of an agenda, numbered as printed."""
    for item, number, _depth in number_tree(
        agenda, lambda item: item["children"], lambda item: item["number"]
    ):
        yield number, item


def identity(meeting):
    """Which record each agenda item and result of the meeting's exchange document is.

    ``{"items": [pk, ...], "results": [[pk, ...], ...]}``, items in the document's
    reading order (as ``_items`` walks it), each item's results in its order. Expects
    a meeting from ``Meeting.objects.for_export()`` (no queries then).
    """
    items = list(flatten_agenda(build_agenda(meeting.agenda_items.all())))
    return {
        "items": [item.pk for item in items],
        "results": [[result.pk for result in item.results.all()] for item in items],
    }


def flatten(document):
    """The document as ordered (label, text) pairs a reader can compare."""
    meeting = document["meeting"]
    pairs = [
        ("Datum", meeting["date"]),
        ("Zeit", f"{meeting['start'] or ''} – {meeting['end'] or ''}"),
        ("Ort", meeting["location"] or ""),
        ("Sitzungsleitung", _person(meeting["chair"])),
        ("Protokollführung", _person(meeting["minute_taker"])),
        ("Anlagen", "; ".join(a["name"] for a in meeting["attachments"])),
        (
            "Teilnehmende",
            "; ".join(f"{p['name']} ({p['status']})" for p in meeting["participants"]),
        ),
    ]
    for number, item in _items(meeting["agenda"]):
        label = f"TOP {number}"
        pairs.append((label, item["title"]))
        for index, presenter in enumerate(item["presenters"], start=1):
            pairs.append((f"{label} · Berichterstatter/in {index}", _person(presenter)))
        for index, result in enumerate(item["results"], start=1):
            text = result["text"]
            extra = [_vote(result["vote"]), result["responsible"] or "", result["due"] or ""]
            text += "".join(f" [{part}]" for part in extra if part)
            pairs.append((f"{label} · Ergebnis {index}", text))
    return pairs


# SequenceMatcher takes time quadratic in the words (or worse): it gets the changed
# middle of two texts only when that is this small (words on one side times the other).
SMALL_MIDDLE = 250_000
# Above that, Myers' algorithm, in time (n + m)·d for d changed words: cheap for a few
# changes in a long text. It gives up after this many steps (about 0.25 s); the middle
# is then shown as deleted and inserted whole.
MYERS_BUDGET = 400_000
# Steps one comparison of two versions may take over all its texts (about a second):
# once they are spent, each further changed text is shown as deleted and inserted whole.
DIFF_BUDGET = 1_500_000


class Budget:
    """Steps of word comparison left to spend; ``spent`` counts what was used."""

    def __init__(self, steps):
        self.left = steps
        self.spent = 0

    def take(self, steps):
        self.left -= steps
        self.spent += steps


def _myers(a, b, budget=MYERS_BUDGET):
    """(opcodes of a shortest edit script from ``a`` to ``b``, steps taken).

    Myers (1986), "An O(ND) difference algorithm": for d = 0, 1, … the furthest point
    reached on each diagonal k with d edits. One step per diagonal visited or pair of
    words compared; the opcodes are None when that would take more than ``budget``
    steps, so the work is bounded whatever the input.
    """
    n, m = len(a), len(b)
    furthest = {1: 0}
    trace = []
    steps = 0
    for d in range(n + m + 1):
        trace.append(furthest.copy())
        for k in range(-d, d + 1, 2):
            if k == -d or (k != d and furthest[k - 1] < furthest[k + 1]):
                x = furthest[k + 1]  # a step down: insert b[y - 1]
            else:
                x = furthest[k - 1] + 1  # a step right: delete a[x - 1]
            y = x - k
            start = x
            while x < n and y < m and a[x] == b[y]:
                x += 1
                y += 1
            steps += 1 + x - start
            furthest[k] = x
            if x >= n and y >= m:
                return _opcodes_from_trace(trace, n, m), steps
            if steps > budget:
                return None, steps
    return None, steps  # not reached: d = n + m always ends


def _opcodes_from_trace(trace, n, m):
    """Walk Myers' trace back from (n, m); group the moves into difflib-style opcodes."""
    moves = []  # (kind, x, y) backwards, one per word: "equal", "delete" or "insert"
    x, y = n, m
    for d in range(len(trace) - 1, -1, -1):
        furthest = trace[d]
        k = x - y
        if k == -d or (k != d and furthest[k - 1] < furthest[k + 1]):
            previous_k = k + 1
        else:
            previous_k = k - 1
        previous_x = furthest[previous_k]
        previous_y = previous_x - previous_k
        while x > previous_x and y > previous_y:
            x, y = x - 1, y - 1
            moves.append(("equal", x, y))
        if d > 0:
            if x == previous_x:
                moves.append(("insert", x, y - 1))
            else:
                moves.append(("delete", x - 1, y))
        x, y = previous_x, previous_y
    opcodes = []
    i = j = 0
    for kind, _x, _y in reversed(moves):
        equal = kind == "equal"
        tag = "equal" if equal else "replace"
        if not opcodes or (opcodes[-1][0] == "equal") != equal:
            opcodes.append([tag, i, i, j, j])
        if kind != "insert":
            i += 1
        if kind != "delete":
            j += 1
        opcodes[-1][2], opcodes[-1][4] = i, j
    return [tuple(opcode) for opcode in opcodes]


def _opcodes(a, b, budget=None):
    """How word list ``a`` becomes ``b``, as difflib's opcodes, in about linear time.

    The common beginning and end are cut off first (one edited word in a long
    result leaves a middle of one word). A small middle goes to SequenceMatcher, a
    large one to Myers' algorithm within its budget, and one beyond that is shown
    as one deletion and one insertion. Either spends from ``budget`` (a ``Budget``;
    SequenceMatcher is charged the product of the lengths, more than it takes).
    """
    budget = budget or Budget(MYERS_BUDGET)
    shorter = min(len(a), len(b))
    prefix = 0
    while prefix < shorter and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < shorter - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    middle_a, middle_b = a[prefix : len(a) - suffix], b[prefix : len(b) - suffix]
    if not middle_a or not middle_b:
        middle = [("replace", 0, len(middle_a), 0, len(middle_b))] if middle_a or middle_b else []
    elif len(middle_a) * len(middle_b) <= min(SMALL_MIDDLE, budget.left):
        budget.take(len(middle_a) * len(middle_b))
        matcher = difflib.SequenceMatcher(a=middle_a, b=middle_b, autojunk=False)
        middle = matcher.get_opcodes()
    else:
        middle, steps = _myers(middle_a, middle_b, min(MYERS_BUDGET, budget.left))
        budget.take(steps)
        middle = middle or [("replace", 0, len(middle_a), 0, len(middle_b))]
    opcodes = [("equal", 0, prefix, 0, prefix)] if prefix else []
    opcodes += [
        (tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix) for tag, i1, i2, j1, j2 in middle
    ]
    if suffix:
        opcodes.append(("equal", len(a) - suffix, len(a), len(b) - suffix, len(b)))
    return opcodes


def _inline(old, new, budget=None):
    """Word-level diff as HTML with <del> and <ins>, spending from ``budget`` (a Budget)."""
    a, b = old.split(), new.split()
    out = []
    for op, i1, i2, j1, j2 in _opcodes(a, b, budget):
        if op == "equal":
            out.append(escape(" ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
    return mark_safe(" ".join(out))  # noqa: S308 - every piece is escaped


def diff(old_document, new_document):
    """The changes from one version to the next, in the order of the new version.

    All word diffs of one comparison share ``DIFF_BUDGET``: however long and however
    many the texts, the page costs about a second at most.
    """
    old = dict(flatten(old_document))
    new_pairs = flatten(new_document)
    new = dict(new_pairs)
    budget = Budget(DIFF_BUDGET)
    changes = []
    for label, text in new_pairs:
        if label not in old:
            changes.append(Change(label, "added", new=text))
        elif old[label] != text:
            inline = _inline(old[label], text, budget)
            changes.append(Change(label, "changed", old[label], text, inline))
    for label, text in flatten(old_document):
        if label not in new:
            changes.append(Change(label, "removed", old=text))
    return changes
