"""Quorum (Beschlussfähigkeit), conflicts of interest (Befangenheit) and vote checks.

A decision holds only when the body was quorate at that moment and members with a
conflict of interest took no part. Everything here is computed from the attendance
as recorded; nothing is stored. The same rules run in the editor's script
(``static/js/quorum.js``); both are tested against ``tests/data/quorum.json``.

Who counts:
- A seat is a participant with voting right (``voting is True``) who is listed as a
  member (present, excused or absent), or a stand-in (``substitute_for``) with voting
  right or standing in for a member listed with it. A stand-in takes the seat of the
  member represented: it is counted once, and present when the stand-in is there.
- A seat is present at a moment when someone holding it is listed present and had
  arrived by then and not yet left. Where the moment is unknown, arrival and leave
  times are not looked at.
- An agenda item's moment is its start time; an item without one is taken to start
  when the item before it did (items run in order), the first ones when the meeting did.
- A member excluded for Befangenheit from an item is not present for that item.

Where the attendance names no voting member, there is no count: unknown is not
"not quorate".
"""

import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

MAJORITY, FRACTION, MINIMUM = "majority", "fraction", "minimum"
ATTENDANCE_FIELDS = ("name", "status", "voting", "substitute_for", "arrived", "left")
PRESENT, GUEST = "present", "guest"
# A row without a status is not in the attendance list (the editor's unmarked members).
MEMBER_STATUSES = ("present", "excused", "absent")


@dataclass(frozen=True)
class Rule:
    """A body's quorum rule: more than half, at least a fraction, at least a number."""

    kind: str = MAJORITY
    numerator: int | None = None
    denominator: int | None = None
    minimum: int | None = None

    @classmethod
    def of(cls, body):
        return cls(
            kind=body.quorum_rule or MAJORITY,
            numerator=body.quorum_numerator,
            denominator=body.quorum_denominator,
            minimum=body.quorum_minimum,
        )

    def met(self, present, total):
        if self.kind == FRACTION and self.numerator and self.denominator:
            return present * self.denominator >= total * self.numerator
        if self.kind == MINIMUM and self.minimum:
            return present >= self.minimum
        # An incomplete rule falls back to the default (the database refuses one anyway).
        return present * 2 > total

    def as_data(self):
        """For the editor's script."""
        return {
            "kind": self.kind,
            "numerator": self.numerator,
            "denominator": self.denominator,
            "minimum": self.minimum,
        }


@dataclass(frozen=True)
class Count:
    """Voting members present at one moment, of all voting members listed."""

    present: int
    total: int
    quorate: bool


@dataclass
class ItemQuorum:
    """The count for one agenda item and the members excluded from it for Befangenheit."""

    count: Count | None
    differs: bool = False
    recusals: list = field(default_factory=list)


def normal(name):
    """A name compared: case and spacing do not matter."""
    return re.sub(r"\s+", " ", (name or "").strip()).casefold()


def _attr(row, name):
    return row.get(name) if isinstance(row, dict) else getattr(row, name, None)


def seats(participants):
    """``{seat: [participant, …]}``: who holds each voting seat (members and stand-ins)."""
    rows = [p for p in participants if (_attr(p, "name") or "").strip()]
    voting_members = {
        normal(_attr(p, "name"))
        for p in rows
        if _attr(p, "voting") is True
        and _attr(p, "status") in MEMBER_STATUSES
        and not (_attr(p, "substitute_for") or "").strip()
    }
    result = {}
    for p in rows:
        represented = (_attr(p, "substitute_for") or "").strip()
        voting = _attr(p, "voting")
        if represented:
            if voting is False or not _attr(p, "status"):
                continue
            if voting is not True and normal(represented) not in voting_members:
                continue
            key = normal(represented)
        elif voting is True and _attr(p, "status") in MEMBER_STATUSES:
            key = normal(_attr(p, "name"))
        else:
            continue
        result.setdefault(key, []).append(p)
    return result


def _there(participant, moment):
    if _attr(participant, "status") not in (PRESENT, GUEST):
        return False
    if moment is None:
        return True
    arrived, left = _attr(participant, "arrived"), _attr(participant, "left")
    return not (arrived and arrived > moment) and not (left and left <= moment)


def count(participants, rule, moment=None, excluded=()):
    """The count at ``moment`` (a time or None), leaving out the ``excluded`` names."""
    seated = seats(participants)
    if not seated:
        return None
    excluded = {normal(name) for name in excluded}
    present = 0
    for key, holders in seated.items():
        if key in excluded:
            continue
        if any(_there(p, moment) and normal(_attr(p, "name")) not in excluded for p in holders):
            present += 1
    total = len(seated)
    return Count(present=present, total=total, quorate=rule.met(present, total))


def match_participant(name, participants):
    """The participant a recorded name means: the same name, or the only one whose name
    ends with it or with whose name it ends ("Frau Dr. Elena Herzog", "Elena Herzog")."""
    wanted = normal(name)
    if not wanted:
        return None
    names = [(normal(_attr(p, "name")), p) for p in participants if _attr(p, "name")]
    for known, p in names:
        if known == wanted:
            return p
    close = [
        p for known, p in names if known.endswith(" " + wanted) or wanted.endswith(" " + known)
    ]
    return close[0] if len(close) == 1 else None


def recusals(item, participants):
    """``[(printed name, reason)]`` of an item's Befangenheit, with the attendance's name
    for a participant."""
    found = []
    for entry in _attr(item, "conflicts_of_interest") or []:
        name = (entry.get("name") or "").strip()
        if not name:
            continue
        participant = match_participant(name, participants)
        printed = _attr(participant, "name").strip() if participant else name
        found.append((printed, (entry.get("reason") or "").strip()))
    return found


def for_meeting(participants, items, rule, start=None):
    """``(count at the start, {item key: ItemQuorum})`` for items in reading order.

    ``items`` are agenda items (or dicts) with ``start``, ``conflicts_of_interest`` and
    a ``key`` (their pk where none is given).
    """
    participants = list(participants)
    at_start = count(participants, rule, start)
    per_item = {}
    moment = start
    for item in items:
        moment = _attr(item, "start") or moment
        excluded_rows = recusals(item, participants)
        excluded = [name for name, _reason in excluded_rows]
        item_count = count(participants, rule, moment, excluded) if at_start else None
        differs = bool(
            item_count
            and at_start
            and (item_count.present, item_count.quorate) != (at_start.present, at_start.quorate)
        )
        key = _attr(item, "key") or _attr(item, "pk")
        per_item[key] = ItemQuorum(count=item_count, differs=differs, recusals=excluded_rows)
    return at_start, per_item


# --- the printed minutes (German: the record's language) ---------------------------------


def body_word(body_name):
    """„Die Werkstatt“ for a Werkstatt, „Das Gremium“ for any other body."""
    return "Die Werkstatt" if "werkstatt" in (body_name or "").casefold() else "Das Gremium"


def line(quorum_count, body_name):
    """„Die Werkstatt ist beschlussfähig (5 von 7 stimmberechtigten Mitgliedern anwesend).“"""
    if quorum_count is None:
        return ""
    state = "beschlussfähig" if quorum_count.quorate else "nicht beschlussfähig"
    members = (
        "stimmberechtigten Mitglied" if quorum_count.total == 1 else "stimmberechtigten Mitgliedern"
    )
    verb = "anwesend"
    return (
        f"{body_word(body_name)} ist {state} "
        f"({quorum_count.present} von {quorum_count.total} {members} {verb})."
    )


def recusal_sentence(name, reason=""):
    """„Frau Dr. Elena Herzog hat wegen Befangenheit an Beratung und Abstimmung nicht
    teilgenommen.“ and the reason, where one is recorded, as a sentence of its own."""
    sentence = f"{name} hat wegen Befangenheit an Beratung und Abstimmung nicht teilgenommen."
    reason = (reason or "").strip()
    if reason:
        sentence += f" Grund: {reason}" + ("" if reason[-1] in ".!?" else ".")
    return sentence


# --- checks in the editor (warnings, never refusals) -------------------------------------

_UNANIMOUS = re.compile(r"(?<!nicht )\beinstimmig", re.IGNORECASE)
_ABSTENTION = re.compile(r"enthaltung", re.IGNORECASE)


def item_state(quorum_count):
    """Beside a decision in the editor: the item's quorum („Dieser TOP: beschlussfähig,
    5 von 7 anwesend.“), as the script words it; "" when it is not known."""
    if quorum_count is None:
        return ""
    numbers = {"present": quorum_count.present, "total": quorum_count.total}
    if quorum_count.quorate:
        return _("This item: quorate, %(present)s of %(total)s present.") % numbers
    return _("This item: not quorate, %(present)s of %(total)s present.") % numbers


def warning_messages():
    """The editor's warnings, not yet filled in (the script fills them in too)."""
    return {
        "too_many_votes": _(
            "%(votes)s votes, but only %(present)s voting members were present for this item."
        ),
        "decision_not_quorate": _(
            "A decision while the body is not quorate (%(present)s of %(total)s present)."
        ),
        "not_unanimous": _("“unanimous”, but the counts are not unanimous."),
    }


def vote_problems(kind, yes, no, abstain, text, item_count):
    """``[(code, params)]``: what looks wrong with a result's vote, given the item's count."""
    problems = []
    votes = sum(value or 0 for value in (yes, no, abstain))
    if item_count is not None and votes > item_count.present:
        problems.append(("too_many_votes", {"votes": votes, "present": item_count.present}))
    if kind == "decision" and item_count is not None and not item_count.quorate:
        problems.append(
            (
                "decision_not_quorate",
                {"present": item_count.present, "total": item_count.total},
            )
        )
    if text and _UNANIMOUS.search(text):
        if (no or 0) > 0 or ((abstain or 0) > 0 and not _ABSTENTION.search(text)):
            problems.append(("not_unanimous", {}))
    return problems


def vote_warnings(kind, yes, no, abstain, text, item_count):
    """The same, as sentences a writer reads."""
    messages = warning_messages()
    return [
        messages[code] % params if params else str(messages[code])
        for code, params in vote_problems(kind, yes, no, abstain, text, item_count)
    ]
