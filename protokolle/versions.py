"""What changed between two circulated versions of the minutes, item by item."""

import difflib
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe

from . import wording
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


def _inline(old, new):
    """Word-level diff as HTML with <del> and <ins>."""
    a, b = old.split(), new.split()
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape(" ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(' '.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(' '.join(b[j1:j2]))}</ins>")
    return mark_safe(" ".join(out))  # noqa: S308 - every piece is escaped


def diff(old_document, new_document):
    """The changes from one version to the next, in the order of the new version."""
    old = dict(flatten(old_document))
    new_pairs = flatten(new_document)
    new = dict(new_pairs)
    changes = []
    for label, text in new_pairs:
        if label not in old:
            changes.append(Change(label, "added", new=text))
        elif old[label] != text:
            changes.append(Change(label, "changed", old[label], text, _inline(old[label], text)))
    for label, text in flatten(old_document):
        if label not in new:
            changes.append(Change(label, "removed", old=text))
    return changes
