"""What changed between two circulated versions of the minutes, item by item."""

import bisect
import difflib
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import wording
from .models import Result, build_agenda, flatten_agenda
from .wording import number_tree


@dataclass
class Change:
    """One change a reader sees: of a meeting field, or of a part of an agenda item."""

    label: str  # where, in full: "Datum", "TOP 6 · Ergebnis 1"
    kind: str  # "added", "removed", "changed", "moved"
    old: str = ""
    new: str = ""
    inline: str = field(default="")  # the word diff of old and new (HTML)
    part: str = ""  # where within its agenda item: "Titel", "Ergebnis 1"
    was: str = ""  # where a moved part was before: "Ergebnis 2", "TOP 3 · Ergebnis 1"
    details: list = field(default_factory=list)  # a result's further fields, as Changes


@dataclass
class ItemChange:
    """What happened to one agenda item: added, removed, moved or changed.

    ``number`` is its printed number in the new version, ``old_number`` in the old
    one; a number that changed only because items before it came or went is context,
    not a change. ``changes`` are the parts that changed (all of them for an added or
    removed item).
    """

    kind: str  # "added", "removed", "moved", "changed"
    number: str
    old_number: str
    title: str
    depth: int
    changes: list = field(default_factory=list)
    key: object = field(default=None, repr=False, compare=False)

    @property
    def label(self):
        return f"TOP {self.number or self.old_number}"

    @property
    def renumbered(self):
        """Numbered anew by items before it (context); a change of the number alone
        is one of its ``changes``."""
        return bool(
            self.number
            and self.old_number
            and self.number != self.old_number
            and not any(change.part == "Nummer" for change in self.changes)
        )


@dataclass
class Diff:
    """The changes from one version to the next: the meeting's fields, then its items.

    Iterating gives every change as one ``Change`` (an added, removed or moved item is
    one change, besides the changes within a moved item), in the new version's order.
    """

    meeting: list
    items: list
    by_identity: bool

    def __iter__(self):
        yield from self.meeting
        for item in self.items:
            if item.kind == "added":
                yield Change(item.label, "added", new=item.title)
            elif item.kind == "removed":
                yield Change(item.label, "removed", old=item.title)
            else:
                if item.kind == "moved":
                    yield Change(item.label, "moved", was=f"TOP {item.old_number}")
                yield from item.changes

    def __len__(self):
        return sum(1 for _change in self)

    def __bool__(self):
        return bool(self.meeting or self.items)


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


def _meeting_fields(document):
    """The meeting's own fields as ordered (label, text) pairs a reader can compare."""
    meeting = document["meeting"]
    next_meeting = meeting.get("next_meeting") or {}
    closing = meeting.get("closing") or {}
    return [
        ("Titel", meeting.get("title") or ""),
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
        (
            "Nächste Sitzung",
            " ".join(
                part
                for part in (
                    next_meeting.get("date"),
                    next_meeting.get("time"),
                    next_meeting.get("location"),
                )
                if part
            ),
        ),
        (
            "Ort und Datum",
            ", ".join(part for part in (closing.get("place"), closing.get("date")) if part),
        ),
    ]


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


# --- which item and result of one version is which of the other ----------------------------


@dataclass
class _Node:
    """An agenda item of one version, with the keys that say which record it is."""

    key: object
    number: str
    depth: int
    parent: object  # the parent's key, None at the top level
    item: dict
    result_keys: list


def _nodes(document):
    """The agenda items of a document in reading order, keyed by their place for now."""
    nodes, parents = [], []
    for index, (item, number, depth) in enumerate(
        number_tree(
            document["meeting"]["agenda"],
            lambda item: item["children"],
            lambda item: item["number"],
        )
    ):
        del parents[depth:]
        nodes.append(
            _Node(
                index,
                number,
                depth,
                parents[-1] if parents else None,
                item,
                [(index, r) for r in range(len(item["results"]))],
            )
        )
        parents.append(index)
    return nodes


def _fits(identity, nodes):
    """Whether a version's stored identity describes these items and results."""
    if not isinstance(identity, dict):
        return False
    items, results = identity.get("items"), identity.get("results")
    if not isinstance(items, list) or not isinstance(results, list):
        return False
    if len(items) != len(nodes) or len(results) != len(nodes):
        return False
    pks = [pk for group in results if isinstance(group, list) for pk in group]
    if not all(isinstance(pk, int) for pk in [*items, *pks]):
        return False
    if len(set(items)) != len(items) or len(set(pks)) != len(pks):
        return False
    return all(
        isinstance(group, list) and len(group) == len(node.item["results"])
        for group, node in zip(results, nodes, strict=True)
    )


def _rekey(nodes, item_keys, result_keys):
    """Give items and results new keys: ``item_keys[index]``, ``result_keys[(index, r)]``."""
    for node in nodes:
        node.result_keys = [result_keys[key] for key in node.result_keys]
    by_place = {node.key: item_keys[node.key] for node in nodes}
    for node in nodes:
        node.key = by_place[node.key]
        node.parent = None if node.parent is None else by_place[node.parent]


def _by_identity(old_nodes, new_nodes, old_identity, new_identity):
    """Key items and results by the records they are (their primary keys)."""
    for nodes, identity in ((old_nodes, old_identity), (new_nodes, new_identity)):
        results = {
            (index, r): ("result", pk)
            for index, group in enumerate(identity["results"])
            for r, pk in enumerate(group)
        }
        _rekey(nodes, {i: ("item", pk) for i, pk in enumerate(identity["items"])}, results)


# Pairs of unmatched items (or results) whose similarity is measured at most; beyond
# that only equal titles (texts) are matched. Words per text the similarity looks at.
SIMILARITY_PAIRS = 2_500
SIMILARITY_WORDS = 500
# How alike (shared words over all words) an old and a new text must be to be taken
# for the same one, changed.
SIMILAR = 0.5


# How alike an old and a new item in the same place must be to be taken for the same.
SOMEWHAT_ALIKE = 0.2


def _words(text):
    return frozenset(text.split()[:SIMILARITY_WORDS])


def _share(old, new):
    """Words two texts share, over all their words (their first ``SIMILARITY_WORDS``)."""
    a, b = _words(old), _words(new)
    return len(a & b) / len(a | b) if a or b else 1.0


def _align(old, new, key, words):
    """``{old index: new index}`` pairing old and new entries by their content.

    First the longest common subsequence of equal keys (Myers), then equal keys
    anywhere (an entry that moved), then the most alike remaining pairs by their
    shared words (an entry that moved or changed). For versions stored before items
    and results kept their identity.
    """
    old_keys, new_keys = [key(x) for x in old], [key(x) for x in new]
    pairs = {}
    opcodes, _steps = _myers(old_keys, new_keys, MYERS_BUDGET)
    for tag, i1, i2, j1, _j2 in opcodes or []:
        if tag == "equal":
            pairs.update((i1 + offset, j1 + offset) for offset in range(i2 - i1))
    waiting = {}
    for i, k in enumerate(old_keys):
        if i not in pairs:
            waiting.setdefault(k, []).append(i)
    taken = set(pairs.values())
    for j, k in enumerate(new_keys):
        if j not in taken and waiting.get(k):
            pairs[waiting[k].pop(0)] = j
            taken.add(j)
    rest_old = [i for i in range(len(old)) if i not in pairs]
    rest_new = [j for j in range(len(new)) if j not in taken]
    if not rest_old or not rest_new or len(rest_old) * len(rest_new) > SIMILARITY_PAIRS:
        return pairs
    old_words = {i: words(old[i]) for i in rest_old}
    new_words = {j: words(new[j]) for j in rest_new}
    shares = {}
    for i in rest_old:
        for j in rest_new:
            union = old_words[i] | new_words[j]
            share = len(old_words[i] & new_words[j]) / len(union) if union else 0
            if share >= SIMILAR:
                shares[i, j] = share
    # Alike entries in the same order first (the common case: edited in place), then
    # the most alike of the rest (moved and edited).
    for i, j in _in_order_pairs(rest_old, rest_new, shares):
        pairs[i] = j
        taken.add(j)
    for (i, j), _share in sorted(shares.items(), key=lambda entry: -entry[1]):
        if i not in pairs and j not in taken:
            pairs[i] = j
            taken.add(j)
    return pairs


def _in_order_pairs(old, new, shares):
    """Pairs from ``shares`` (``{(i, j): share}``) that keep their order on both sides
    and have the largest total share: dynamic programming over ``old`` × ``new``."""
    best = [[0.0] * (len(new) + 1) for _ in range(len(old) + 1)]
    for a in range(len(old) - 1, -1, -1):
        for b in range(len(new) - 1, -1, -1):
            share = shares.get((old[a], new[b]), 0)
            best[a][b] = max(
                best[a + 1][b], best[a][b + 1], best[a + 1][b + 1] + share if share else 0
            )
    a = b = 0
    while a < len(old) and b < len(new):
        share = shares.get((old[a], new[b]), 0)
        if share and best[a][b] == best[a + 1][b + 1] + share:
            yield old[a], new[b]
            a, b = a + 1, b + 1
        elif best[a][b] == best[a + 1][b]:
            a += 1
        else:
            b += 1


def _in_place(pairs, old_count, new_count, alike=None):
    """``pairs`` with the rest paired where the same number of old and new entries lie
    between two pairs that kept their order: an entry rewritten where it stood (if
    ``alike(i, j)`` says they are alike at all)."""
    anchors = sorted(pairs.items())
    kept = _in_order([j for _i, j in anchors])
    anchors = [(-1, -1)] + [anchors[index] for index in sorted(kept)] + [(old_count, new_count)]
    taken = set(pairs.values())
    pairs = dict(pairs)
    for (i1, j1), (i2, j2) in zip(anchors, anchors[1:], strict=False):
        gap_old = [i for i in range(i1 + 1, i2) if i not in pairs]
        gap_new = [j for j in range(j1 + 1, j2) if j not in taken]
        if len(gap_old) == len(gap_new):
            pairs.update(
                (i, j)
                for i, j in zip(gap_old, gap_new, strict=True)
                if alike is None or alike(i, j)
            )
    return pairs


def _result_text(result):
    return " ".join(
        part
        for part in (
            result["text"],
            _vote(result["vote"]),
            result["responsible"] or "",
            result["due"] or "",
        )
        if part
    )


def _item_text(node):
    return " ".join([node.item["title"], *(_result_text(r) for r in node.item["results"])])


def _by_content(old_nodes, new_nodes):
    """Key items and results by matching their content (versions without identity)."""
    pairs = _in_place(
        _align(
            old_nodes,
            new_nodes,
            lambda node: " ".join(node.item["title"].split()),
            lambda node: _words(_item_text(node)),
        ),
        len(old_nodes),
        len(new_nodes),
        lambda i, j: _share(_item_text(old_nodes[i]), _item_text(new_nodes[j])) >= SOMEWHAT_ALIKE,
    )
    old_items = {node.key: ("item", "old", node.key) for node in old_nodes}
    new_items = {node.key: ("item", "new", node.key) for node in new_nodes}
    for i, j in pairs.items():
        old_items[old_nodes[i].key] = new_items[new_nodes[j].key] = ("item", i)
    old_results = {key: ("result", "old", key) for n in old_nodes for key in n.result_keys}
    new_results = {key: ("result", "new", key) for n in new_nodes for key in n.result_keys}
    # Results within each pair of matched items, then the same text anywhere (moved).
    for i, j in pairs.items():
        old_node, new_node = old_nodes[i], new_nodes[j]
        matched = _in_place(
            _align(
                old_node.item["results"],
                new_node.item["results"],
                _result_text,
                lambda result: _words(_result_text(result)),
            ),
            len(old_node.item["results"]),
            len(new_node.item["results"]),
        )
        for r, s in matched.items():
            old_results[old_node.result_keys[r]] = new_results[new_node.result_keys[s]] = (
                "result",
                old_node.result_keys[r],
            )
    waiting = {}
    for node in old_nodes:
        for key, result in zip(node.result_keys, node.item["results"], strict=True):
            if old_results[key][1] == "old" and result["text"]:
                waiting.setdefault(_result_text(result), []).append(key)
    for node in new_nodes:
        for key, result in zip(node.result_keys, node.item["results"], strict=True):
            if new_results[key][1] == "new" and waiting.get(_result_text(result)):
                old_key = waiting[_result_text(result)].pop(0)
                old_results[old_key] = new_results[key] = ("result", old_key)
    _rekey(old_nodes, old_items, old_results)
    _rekey(new_nodes, new_items, new_results)


# --- the changes ----------------------------------------------------------------------------


def _in_order(positions):
    """Indexes of a longest increasing subsequence of ``positions`` (n log n).

    Of entries that are in both versions, these kept their order; the others moved.
    """
    tails, tail_index, previous = [], [], [None] * len(positions)
    for index, position in enumerate(positions):
        at = bisect.bisect_left(tails, position)
        if at == len(tails):
            tails.append(position)
            tail_index.append(index)
        else:
            tails[at] = position
            tail_index[at] = index
        previous[index] = tail_index[at - 1] if at else None
    kept = set()
    index = tail_index[-1] if tail_index else None
    while index is not None:
        kept.add(index)
        index = previous[index]
    return kept


def _moved(old_nodes, new_nodes):
    """Keys of the matched items that moved: to another parent, or out of their order
    among the siblings that stayed (an item that others passed by has not moved)."""
    old_by_key = {node.key: node for node in old_nodes}
    old_place = {}
    for node in old_nodes:
        siblings = old_place.setdefault(node.parent, {})
        siblings[node.key] = len(siblings)
    moved = set()
    groups = {}
    for node in new_nodes:
        old = old_by_key.get(node.key)
        if old is None:
            continue
        if old.parent != node.parent:
            moved.add(node.key)
        else:
            groups.setdefault(node.parent, []).append(node.key)
    for parent, keys in groups.items():
        positions = [old_place[parent][key] for key in keys]
        kept = _in_order(positions)
        moved.update(key for index, key in enumerate(keys) if index not in kept)
    return moved


def _interleave(old_keys, new_keys):
    """Old and new keys in one order: the new order, each old key that is gone placed
    after the one before it that stayed. Yields ("new", key) and ("old", key)."""
    staying = set(new_keys)
    after = {}
    anchor = None
    for key in old_keys:
        if key in staying:
            anchor = key
        else:
            after.setdefault(anchor, []).append(key)
    for key in after.get(None, []):
        yield "old", key
    for key in new_keys:
        yield "new", key
        for gone in after.get(key, []):
            yield "old", gone


def _recusals(item):
    """Befangenheit as a reader compares it: "Name (Grund)" per member, in order."""
    return "; ".join(
        f"{entry['name']} ({entry['reason']})" if entry.get("reason") else entry["name"]
        for entry in item.get("conflicts_of_interest") or []
    )


# Optional keys of an agenda item (issue 15), compared beside title and presenters.
ITEM_FIELDS = [
    ("Beginn", lambda item: item.get("start") or ""),
    ("Befangenheit", _recusals),
]


def _public(item):
    return "öffentlich" if item.get("public", True) else "nicht öffentlich"


def _kind(result):
    try:
        return str(Result.Kind(result["kind"]).label)
    except ValueError:
        return result["kind"] or ""


RESULT_FIELDS = (
    ("Art", _kind),
    ("Abstimmung", lambda result: _vote(result["vote"])),
    ("Verantwortlich", lambda result: result["responsible"] or ""),
    ("Termin", lambda result: result["due"] or ""),
)


class _Comparison:
    """The changes between two keyed agendas; every word diff spends from one budget."""

    def __init__(self, old_nodes, new_nodes, budget):
        self.old_nodes, self.new_nodes = old_nodes, new_nodes
        self.old_by_key = {node.key: node for node in old_nodes}
        self.new_by_key = {node.key: node for node in new_nodes}
        self.budget = budget
        self.old_result = {
            key: (node, r) for node in old_nodes for r, key in enumerate(node.result_keys)
        }
        self.new_result_keys = {key for node in new_nodes for key in node.result_keys}

    def items(self):
        moved = _moved(self.old_nodes, self.new_nodes)
        out = []
        for side, key in _interleave(
            [node.key for node in self.old_nodes], [node.key for node in self.new_nodes]
        ):
            if side == "old":
                out.append(self.removed(self.old_by_key[key]))
                continue
            node = self.new_by_key[key]
            old = self.old_by_key.get(key)
            if old is None:
                out.append(self.added(node))
                continue
            changes = self.changes(old, node)
            if key in moved:
                kind = "moved"
            elif changes:
                kind = "changed"
            else:
                continue
            out.append(
                ItemChange(
                    kind, node.number, old.number, node.item["title"], node.depth, changes, key
                )
            )
        if not any(item.kind in ("added", "removed", "moved") for item in out):
            out = self.renumbered(out)
        return out

    def renumbered(self, out):
        """Without items added, removed or moved, a changed number is a change itself."""
        listed = {item.key: item for item in out}
        result = []
        for node in self.new_nodes:
            old = self.old_by_key[node.key]
            item = listed.get(node.key)
            if old.number != node.number:
                change = Change(
                    f"TOP {node.number} · Nummer",
                    "changed",
                    old.number,
                    node.number,
                    _inline(old.number, node.number, self.budget),
                    part="Nummer",
                )
                if item is None:
                    item = ItemChange(
                        "changed", node.number, old.number, node.item["title"], node.depth
                    )
                item.changes.insert(0, change)
            if item is not None:
                result.append(item)
        return result

    def added(self, node):
        label = f"TOP {node.number}"
        changes = [
            Change(f"{label} · Berichterstatter/in", "added", new=text, part="Berichterstatter/in")
            for text in self.presenters(node.item)
        ]
        for r, (key, result) in enumerate(
            zip(node.result_keys, node.item["results"], strict=True), start=1
        ):
            if key in self.old_result:
                changes.append(self.result_change(node, r, key, result, same_item=False))
            else:
                changes.append(self.result_added(label, r, result))
        return ItemChange("added", node.number, "", node.item["title"], node.depth, changes)

    def removed(self, node):
        label = f"TOP {node.number}"
        changes = [
            Change(
                f"{label} · Berichterstatter/in", "removed", old=text, part="Berichterstatter/in"
            )
            for text in self.presenters(node.item)
        ]
        for r, (key, result) in enumerate(
            zip(node.result_keys, node.item["results"], strict=True), start=1
        ):
            if key not in self.new_result_keys:  # else shown where it went
                changes.append(self.result_removed(label, r, result))
        return ItemChange("removed", "", node.number, node.item["title"], node.depth, changes)

    @staticmethod
    def presenters(item):
        return [_person(p) for p in item["presenters"]]

    def changes(self, old, new):
        """What changed in a matched item, its printed number aside."""
        label = f"TOP {new.number}"
        changes = []
        if old.item["title"] != new.item["title"]:
            changes.append(
                self.changed(f"{label} · Titel", "Titel", old.item["title"], new.item["title"])
            )
        if _public(old.item) != _public(new.item):
            changes.append(
                self.changed(
                    f"{label} · Öffentlichkeit",
                    "Öffentlichkeit",
                    _public(old.item),
                    _public(new.item),
                )
            )
        before, after = "; ".join(self.presenters(old.item)), "; ".join(self.presenters(new.item))
        if before != after:
            changes.append(
                self.changed(f"{label} · Berichterstatter/in", "Berichterstatter/in", before, after)
            )
        for part, show in ITEM_FIELDS:
            if show(old.item) != show(new.item):
                changes.append(
                    self.changed(f"{label} · {part}", part, show(old.item), show(new.item))
                )
        changes += self.results(old, new)
        return changes

    def results(self, old, new):
        label = f"TOP {new.number}"
        here = {key: r for r, key in enumerate(old.result_keys)}
        staying = [key for key in new.result_keys if key in here]
        kept = {staying[i] for i in _in_order([here[key] for key in staying])}
        new_results = dict(zip(new.result_keys, new.item["results"], strict=True))
        changes = []
        for side, key in _interleave(old.result_keys, new.result_keys):
            if side == "old":
                if key not in self.new_result_keys:  # else shown where it went
                    node, r = self.old_result[key]
                    changes.append(
                        self.result_removed(label, r + 1, node.item["results"][r], "Ergebnis")
                    )
                continue
            r = new.result_keys.index(key) + 1
            if key in self.old_result:
                change = self.result_change(new, r, key, new_results[key], key in here, key in kept)
                if change:
                    changes.append(change)
            else:
                changes.append(self.result_added(label, r, new_results[key]))
        return changes

    def result_added(self, label, r, result):
        part = f"Ergebnis {r}"
        return Change(f"{label} · {part}", "added", new=_result_text(result), part=part)

    def result_removed(self, label, r, result, word="Ergebnis"):
        part = f"{word} {r}"
        return Change(f"{label} · {part}", "removed", old=_result_text(result), part=part)

    def result_change(self, node, r, key, result, same_item, in_order=False):
        """A result that is in both versions: moved, changed, both, or None."""
        old_node, old_r = self.old_result[key]
        old = old_node.item["results"][old_r]
        details = [
            self.changed("", name, show(old), show(result))
            for name, show in RESULT_FIELDS
            if show(old) != show(result)
        ]
        moved = not (same_item and in_order)
        if not moved and not details and old["text"] == result["text"]:
            return None
        part = f"Ergebnis {r}"
        was = (
            f"Ergebnis {old_r + 1}"
            if same_item
            else f"TOP {old_node.number} · Ergebnis {old_r + 1}"
        )
        return Change(
            f"TOP {node.number} · {part}",
            "moved" if moved else "changed",
            old["text"],
            result["text"],
            _inline(old["text"], result["text"], self.budget),
            part=part,
            was=was if moved else "",
            details=details,
        )

    def changed(self, label, part, old, new):
        return Change(label, "changed", old, new, _inline(old, new, self.budget), part=part)


def diff(old_document, new_document, old_identity=None, new_identity=None):
    """The changes from one version to the next, in the order of the new version.

    Items and results are matched by the records they are when both versions carry
    their identity (``MinutesVersion.identity``), else by their content. All word
    diffs of one comparison share ``DIFF_BUDGET``: however long and however many the
    texts, the page costs about a second at most.
    """
    budget = Budget(DIFF_BUDGET)
    old_fields = dict(_meeting_fields(old_document))
    meeting = [
        Change(label, "changed", old_fields[label], text, _inline(old_fields[label], text, budget))
        for label, text in _meeting_fields(new_document)
        if old_fields[label] != text
    ]
    old_nodes, new_nodes = _nodes(old_document), _nodes(new_document)
    by_identity = _fits(old_identity, old_nodes) and _fits(new_identity, new_nodes)
    if by_identity:
        _by_identity(old_nodes, new_nodes, old_identity, new_identity)
    else:
        _by_content(old_nodes, new_nodes)
    items = _Comparison(old_nodes, new_nodes, budget).items()
    return Diff(meeting, items, by_identity)
