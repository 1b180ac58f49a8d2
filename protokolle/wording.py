"""How the minutes word things, in one place: numbers, meeting names, people, votes.

Everything that prints, exports, compares or indexes minutes words them through
these functions: the PDF and its template filters, the exchange format, the
version diff, search, the new-meeting proposal and the editor.

Numbering: an item without an explicit number gets its parent's number and a
counter among its siblings: 1, 2, 3.1, 3.2.1. An explicit number is printed as
typed, and automatic numbers continue after it: after a typed "3.2" at the top
level comes 4, after a typed "5" comes 6, after a typed "3.7" below item 3 comes
3.8. The counter follows the part of the typed number that stands for the item's
own level; a typed number without digits there ("A", "Anlage") uses up no counter.
The rule is mirrored in ``static/js/numbering.js``; both implementations are
tested against ``tests/data/numbering.json``.
"""

import datetime
import re

_LEADING_DIGITS = re.compile(r"\d+")


def _counter_from(explicit, level):
    """The sibling counter that a typed number sets, or None when it sets none."""
    parts = explicit.split(".")
    part = parts[level] if len(parts) > level else parts[-1]
    match = _LEADING_DIGITS.match(part.strip())
    return int(match.group()) if match else None


def _outline(entries):
    """``(printed, redundant)`` for each ``(level, explicit_number)`` in reading order:
    the number printed, and whether a typed number changes nothing (it is the number
    the item gets without it, and the numbers after it stay the same)."""
    counters, stack = [], []
    for level, explicit in entries:
        level = max(0, min(level, len(stack)))
        del stack[level:]
        del counters[level + 1 :]
        while len(counters) <= level:
            counters.append(0)
        prefix = stack[-1] if stack else ""
        following = counters[level] + 1
        automatic = f"{prefix}.{following}" if prefix else str(following)
        explicit = (explicit or "").strip()
        redundant = False
        if explicit:
            number = explicit
            counter = _counter_from(explicit, level)
            redundant = number == automatic and counter == following
            if counter is not None:
                counters[level] = counter
        else:
            counters[level] = following
            number = automatic
        stack.append(number)
        yield number, redundant


def outline_numbers(entries):
    """Printed numbers for an outline given as ``(level, explicit_number)`` in reading order.

    A level deeper than one below the previous item is taken as one below it.
    """
    return [number for number, _redundant in _outline(entries)]


def needed_numbers(entries):
    """The typed numbers of an outline that change what is printed, in reading order;
    None where the typed number is the one the item gets anyway.

    Minutes written elsewhere print every number; kept as typed, each would stay
    fixed, and an item added in the editor would collide with the next one. Dropping
    the redundant ones prints the same numbers and lets the rest follow the order.
    """
    return [
        None if redundant else (explicit or "").strip() or None
        for (_level, explicit), (_number, redundant) in zip(entries, _outline(entries), strict=True)
    ]


def number_tree(roots, children, explicit):
    """``(node, printed_number, depth)`` for every node of a tree, in reading order.

    ``children(node)`` gives a node's children in order, ``explicit(node)`` its
    typed number or None.
    """
    flat = []

    def walk(nodes, depth):
        for node in nodes:
            flat.append((node, depth))
            walk(children(node), depth + 1)

    walk(roots, 0)
    numbers = outline_numbers([(depth, explicit(node)) for node, depth in flat])
    return [(node, number, depth) for (node, depth), number in zip(flat, numbers, strict=True)]


# --- meetings, people, votes ----------------------------------------------------------


def meeting_name(number, date, preposition="vom"):
    """„9. Sitzung vom 21.03.2022“; „Sitzung vom 21.03.2022“ for a meeting without a number."""
    name = f"{number}. Sitzung" if number else "Sitzung"
    return f"{name} {preposition} {date:%d.%m.%Y}"


def confirmation_line(confirmation):
    """The minutes' confirmation as printed, from ``exchange.confirmation_of``'s dict.

    „Bestätigt in der 9. Sitzung am 23.05.2022“ (the deciding meeting's date),
    „Bestätigt im Umlaufverfahren am 23.05.2022“, „Bestätigtes Protokoll“ where
    the deciding meeting is not known, and "" for None (not confirmed).
    """
    if not confirmation:
        return ""
    day = _day(confirmation.get("date"))
    if confirmation.get("by") == "circulation" and day:
        return f"Bestätigt im Umlaufverfahren am {day:%d.%m.%Y}"
    deciding = confirmation.get("meeting")
    deciding_date = _day(deciding.get("date")) if deciding else None
    if confirmation.get("by") == "meeting" and deciding_date:
        return "Bestätigt in der " + meeting_name(deciding.get("number"), deciding_date, "am")
    return "Bestätigtes Protokoll"


def _day(value):
    """A date from the exchange format's "YYYY-MM-DD" (or a date); None where there is none."""
    if value is None or isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def person_line(name, organisation="", function=""):
    """„Katja Boll, ver.di, Gewerkschaftssekretärin“: the parts that are there."""
    return ", ".join(part for part in (name, organisation, function) if part)


VOTE_FIELDS = ("yes", "no", "abstain", "text")


def vote_taken(yes=None, no=None, abstain=None, text=None):
    """A vote was taken when any count or the vote's text is given (0 is a count)."""
    return any(value not in (None, "") for value in (yes, no, abstain, text))


def vote_line(yes=None, no=None, abstain=None, text=None):
    """„Ja 16 · Nein 0 · Enthaltung 1“, the vote's text, or both, joined by a comma."""
    counts = [
        f"{label} {count}"
        for label, count in (("Ja", yes), ("Nein", no), ("Enthaltung", abstain))
        if count is not None
    ]
    parts = [" · ".join(counts)] if counts else []
    if text:
        parts.append(text)
    return ", ".join(parts)
