"""Import and export of ``werkstatt-protokoll/1``, one meeting's minutes as JSON.

The format is the contract for import, export, the data embedded in the
archival PDF and the tests. Its JSON Schema ships in ``schema/``. An import
either writes the whole meeting or nothing; every problem it finds is named
with its place in the document (``meeting.agenda[2].results[0].due``).

Every text, number and list of the format has a limit, stated in the schema; agenda
items nest at most ``MAX_AGENDA_DEPTH`` levels, checked here without recursion before
anything recurses over a document. A hostile document, however long its numbers or
deep its nesting, ends in a DocumentError, never in a traceback.
"""

import datetime
import hashlib
import json
import os
import re
import unicodedata
from functools import cache
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from jsonschema import Draft202012Validator

from .models import (
    AgendaItem,
    Approval,
    Attachment,
    Body,
    Meeting,
    Participant,
    Presenter,
    Result,
    build_agenda,
)
from .uploads import validate as validate_upload
from .wording import needed_numbers, number_tree

FORMAT = "werkstatt-protokoll/1"
# meeting.confirmation.by
BY_MEETING = "meeting"
BY_CIRCULATION = "circulation"
# Agenda items nest at most this deep (real minutes nest 3); the schema says so in words.
MAX_AGENDA_DEPTH = 6
# Objects and lists nest at most this deep anywhere: the deepest a valid document goes
# is 17 (a vote of a result of an item at level 6). Checked without recursion before
# anything recurses over the document (the schema validator, error messages).
MAX_NESTING = 20
# Longer integers are refused as the text is read: no limit needs more digits, and
# Python refuses to convert more than 4300 (sys.get_int_max_str_digits()).
MAX_INTEGER_DIGITS = 20
SCHEMA_PATH = Path(__file__).resolve().parent / "schema" / "werkstatt-protokoll-1.schema.json"

JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    bool: "boolean",
    int: "integer",
    float: "number",
    type(None): "null",
}


class DocumentError(Exception):
    """A document that cannot be imported; ``problems`` lists each reason."""

    def __init__(self, problems):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@cache
def schema():
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def validator():
    return Draft202012Validator(schema())


# --- reading -------------------------------------------------------------------------


class _LongInteger(ValueError):
    def __init__(self, digits):
        super().__init__(digits)
        self.digits = digits


class _UnknownConstant(ValueError):
    def __init__(self, name):
        super().__init__(name)
        self.name = name


def _integer(digits):
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _LongInteger(digits)
    return int(digits)


def _constant(name):
    # NaN and Infinity are not JSON, though Python's reader takes them.
    raise _UnknownConstant(name)


# JSON text as its strings and its integers, to find where an integer stands.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+')


def _place(data, digits):
    """Line and column of the integer ``digits`` in ``data``, outside any string."""
    for match in _TOKENS.finditer(data):
        if match.group() == digits and data[match.end() : match.end() + 1] not in (".", "e", "E"):
            line = data.count("\n", 0, match.start()) + 1
            column = match.start() - (data.rfind("\n", 0, match.start()) + 1) + 1
            return line, column
    return "?", "?"


def parse(data):
    """Parse JSON text or bytes; raise DocumentError naming line and column."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(
                [_("The file is not UTF-8 text (byte %(pos)s).") % {"pos": exc.start}]
            ) from exc
    try:
        return json.loads(data, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise DocumentError(
            [
                _("Invalid JSON in line %(line)s, column %(column)s: %(msg)s")
                % {"line": exc.lineno, "column": exc.colno, "msg": exc.msg}
            ]
        ) from exc
    except _LongInteger as exc:
        line, column = _place(data, exc.digits)
        raise DocumentError(
            [
                _(
                    "Line %(line)s, column %(column)s: a number with %(count)s digits; "
                    "no number in minutes has more than %(limit)s digits"
                )
                % {
                    "line": line,
                    "column": column,
                    "count": len(exc.digits.lstrip("-")),
                    "limit": MAX_INTEGER_DIGITS,
                }
            ]
        ) from None
    except _UnknownConstant as exc:
        raise DocumentError(
            [_("Invalid JSON: %(name)s is not a number in JSON") % {"name": exc.name}]
        ) from None
    except RecursionError:
        raise DocumentError(
            [
                _(
                    "The document nests objects and lists too deeply to be read; "
                    "minutes nest them at most %(limit)s levels deep."
                )
                % {"limit": MAX_NESTING}
            ]
        ) from None


def format_path(path):
    """``["meeting", "agenda", 2, "due"]`` → ``meeting.agenda[2].due``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or _("(document)")


def _json_type(value):
    return JSON_TYPES.get(type(value), type(value).__name__)


def _schema_messages(error):
    """Readable messages for one jsonschema error, as (path, message) pairs."""
    kind = error.validator
    value = error.instance
    if kind in ("oneOf", "anyOf") and error.context:
        # "null or a person": report what is wrong with the non-null branch.
        relevant = [
            sub
            for sub in error.context
            if not (sub.validator == "type" and sub.validator_value in ("null", ["null"]))
        ]
        if relevant:
            return [pair for sub in relevant for pair in _schema_messages(sub)]
    path = list(error.absolute_path)
    if kind == "required":
        missing = error.validator_value
        names = [name for name in missing if isinstance(value, dict) and name not in value]
        return [
            (path, _("the required key “%(key)s” is missing") % {"key": name}) for name in names
        ]
    if kind == "additionalProperties":
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(key for key in value if key not in allowed)
        return [(path, _("unknown key “%(key)s”") % {"key": key}) for key in extra]
    if kind == "type":
        expected = error.validator_value
        if isinstance(expected, list):
            expected = _(" or ").join(expected)
        return [
            (
                path,
                _("must be of type %(expected)s, not %(actual)s")
                % {"expected": expected, "actual": _json_type(value)},
            )
        ]
    if kind == "pattern":
        pattern = error.validator_value
        if "2[0-3]" in pattern:
            message = _("“%(value)s” is not a time of day in the form HH:MM")
        elif pattern.startswith("^[0-9a-f]{64}"):
            message = _("“%(value)s” is not a SHA-256: 64 lowercase hexadecimal digits")
        elif pattern.startswith("^\\d{4}"):
            message = _("“%(value)s” is not a date in the form YYYY-MM-DD")
        else:
            message = _("“%(value)s” does not have the required form")
        return [(path, message % {"value": value})]
    if kind == "minLength":
        return [(path, _("must not be empty"))]
    if kind == "maxLength":
        return [(path, _too_long(len(value), error.validator_value))]
    if kind == "maxItems":
        return [
            (
                path,
                _("has %(count)s entries; at most %(limit)s are allowed")
                % {"count": len(value), "limit": error.validator_value},
            )
        ]
    if kind == "minimum":
        return [
            (
                path,
                _("must be at least %(min)s, not %(value)s")
                % {"min": error.validator_value, "value": value},
            )
        ]
    if kind == "maximum":
        return [
            (
                path,
                _("must be at most %(max)s, not %(value)s")
                % {"max": error.validator_value, "value": value},
            )
        ]
    if kind == "enum":
        choices = ", ".join(f"“{choice}”" for choice in error.validator_value)
        return [
            (
                path,
                _("“%(value)s” is not one of %(choices)s") % {"value": value, "choices": choices},
            )
        ]
    if kind == "const":
        return [(path, _("must be “%(value)s”") % {"value": error.validator_value})]
    return [(path, error.message)]


def _too_long(length, limit):
    return _("is %(length)s characters long; at most %(limit)s are allowed") % {
        "length": length,
        "limit": limit,
    }


def nesting_problems(document):
    """Agenda items deeper than MAX_AGENDA_DEPTH, anything deeper than MAX_NESTING.

    Walks the document without recursion, so that a hostile one, however deep,
    is named here before the schema validator or a message recurses over it.
    Nothing below a place named here is looked at.
    """
    problems = []
    stack = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, dict):
            entries = list(value.items())
        elif isinstance(value, list):
            entries = list(enumerate(value))
        else:
            continue
        if len(path) >= MAX_NESTING:
            problems.append(
                f"{format_path(list(path))}: "
                + _("nests objects and lists more than %(limit)s levels deep")
                % {"limit": MAX_NESTING}
            )
            continue
        if isinstance(value, dict) and _agenda_level(path) == MAX_AGENDA_DEPTH:
            children = value.get("children")
            if isinstance(children, list) and children:
                problems.append(
                    f"{format_path([*path, 'children'])}: "
                    + _("agenda items nest at most %(limit)s levels deep")
                    % {"limit": MAX_AGENDA_DEPTH}
                )
                entries = [(key, item) for key, item in entries if key != "children"]
        stack.extend((item, (*path, key)) for key, item in reversed(entries))
    return problems


def _agenda_level(path):
    """1 for ``meeting.agenda[0]``, 2 for its ``children[0]`` …; 0 for any other place."""
    if len(path) < 3 or len(path) % 2 == 0 or path[:2] != ("meeting", "agenda"):
        return 0
    if any(key != "children" for key in path[3::2]):
        return 0
    return (len(path) - 1) // 2


def schema_problems(document):
    """Every place where ``document`` breaks the schema, sorted by place."""
    pairs = []
    for error in validator().iter_errors(document):
        pairs.extend(_schema_messages(error))
    pairs.sort(key=lambda pair: [(0, p) if isinstance(p, int) else (1, p) for p in pair[0]])
    problems = []
    for path, message in pairs:
        line = f"{format_path(path)}: {message}"
        if line not in problems:
            problems.append(line)
    return problems


def _typed_number(entry):
    number = entry.get("number")
    return number if isinstance(number, str) else None


class _Reader:
    """Turns a schema-valid document into unsaved model instances.

    It collects every problem the schema cannot see (impossible dates, end
    before start, duplicate agenda numbers) instead of stopping at the first, so
    the user can fix them all at once. Lengths and numbers the schema checks.
    """

    def __init__(self):
        self.problems = []

    def problem(self, path, message):
        self.problems.append(f"{format_path(path)}: {message}")

    def date(self, value, path):
        if value is None:
            return None
        try:
            if not value.isascii():
                raise ValueError(value)
            return datetime.date.fromisoformat(value)
        except ValueError:
            self.problem(path, _("“%(value)s” is not a valid date") % {"value": value})
            return None

    def time(self, value, path=()):
        if value is None:
            return None
        try:
            # The schema's \d also lets other scripts' digits through ("10:1᭖").
            if not value.isascii():
                raise ValueError(value)
            return datetime.time.fromisoformat(value)
        except ValueError:
            self.problem(path, _("“%(value)s” is not a valid time") % {"value": value})
            return None

    def person(self, prefix, data):
        """Snapshot fields of a person, with ``prefix`` for the meeting's own fields."""
        return {
            f"{prefix}{key}": None if data is None else data.get(key)
            for key in ("name", "organisation", "function")
        }

    def body(self, data):
        return {key: data.get(key) for key in ("name", "short_name", "organisation", "place")}

    def meeting(self, data):
        path = ["meeting"]
        fields = {
            "number": data.get("number"),
            "title": data.get("title"),
            "date": self.date(data["date"], [*path, "date"]),
            "start": self.time(data.get("start"), [*path, "start"]),
            "end": self.time(data.get("end"), [*path, "end"]),
            "location": data.get("location"),
            "public": data.get("public", True),
            "status": data.get("status", Meeting.Status.DRAFT),
        }
        if fields["start"] and fields["end"] and fields["end"] <= fields["start"]:
            self.problem(
                [*path, "end"],
                _("the meeting ends (%(end)s) before it starts (%(start)s)")
                % {"end": data["end"], "start": data["start"]},
            )
        fields.update(self.person("chair_", data.get("chair")))
        fields.update(self.person("minute_taker_", data.get("minute_taker")))
        following = data.get("next_meeting")
        if following is not None:
            fields["next_meeting_date"] = self.date(
                following["date"], [*path, "next_meeting", "date"]
            )
            fields["next_meeting_time"] = self.time(
                following.get("time"), [*path, "next_meeting", "time"]
            )
            fields["next_meeting_location"] = following.get("location")
        closing = data.get("closing")
        fields["has_closing"] = closing is not None
        if closing is not None:
            fields["closing_place"] = closing.get("place")
            fields["closing_date"] = self.date(closing.get("date"), [*path, "closing", "date"])
        return Meeting(**fields)

    def participants(self, data):
        participants = []
        for index, entry in enumerate(data.get("participants", [])):
            path = ["meeting", "participants", index]
            participant = Participant(
                position=index,
                status=entry["status"],
                voting=entry.get("voting"),
                substitute_for=entry.get("substitute_for"),
                arrived=self.time(entry.get("arrived"), [*path, "arrived"]),
                left=self.time(entry.get("left"), [*path, "left"]),
                **self.person("", entry),
            )
            if participant.arrived and participant.left and participant.left <= participant.arrived:
                self.problem(
                    [*path, "left"],
                    _("leaves (%(left)s) before arriving (%(arrived)s)")
                    % {"left": entry["left"], "arrived": entry["arrived"]},
                )
            participants.append(participant)
        return participants

    def agenda(self, entries, path, prefix="", seen=None):
        """Agenda items as (item, presenters, results, children) tuples."""
        if seen is None:
            seen = {}
            # Printed numbers by the one rule, for the check that no number is used twice;
            # a typed number is kept only where it changes what is printed (3.1 at the top
            # level), so that the numbers of the rest follow when the writer adds an item.
            tree = number_tree(entries, lambda entry: entry.get("children") or [], _typed_number)
            self.printed = {id(entry): number for entry, number, _depth in tree}
            needed = needed_numbers([(depth, _typed_number(entry)) for entry, _n, depth in tree])
            self.needed = {
                id(entry): number for (entry, _n, _depth), number in zip(tree, needed, strict=True)
            }
        nodes = []
        for index, entry in enumerate(entries):
            item_path = [*path, index]
            printed = self.printed[id(entry)]
            if printed in seen:
                self.problem(
                    [*item_path, "number"],
                    _("the agenda number %(number)s is already used at %(other)s")
                    % {"number": printed, "other": seen[printed]},
                )
            else:
                seen[printed] = format_path(item_path)
            item = AgendaItem(
                position=index,
                number=self.needed[id(entry)],
                title=entry["title"],
                public=entry.get("public", True),
                start=self.time(entry.get("start"), [*item_path, "start"]),
                conflicts_of_interest=self.conflicts_of_interest(
                    entry.get("conflicts_of_interest"), [*item_path, "conflicts_of_interest"]
                ),
            )
            presenters = [
                Presenter(position=p, **self.person("", person))
                for p, person in enumerate(entry.get("presenters", []))
            ]
            results = [
                self.result(result, [*item_path, "results", r], r)
                for r, result in enumerate(entry.get("results", []))
            ]
            children = self.agenda(
                entry.get("children", []), [*item_path, "children"], printed, seen
            )
            nodes.append((item, presenters, results, children))
        return nodes

    def conflicts_of_interest(self, entries, path):
        """Befangenheit as the document records it (kept exactly, for the round trip)."""
        if entries is None:
            return None
        for index, entry in enumerate(entries):
            if not entry["name"].strip():
                self.problem([*path, index, "name"], _("a name is needed"))
        return [dict(entry) for entry in entries]

    def result(self, data, path, position):
        vote = data.get("vote")
        return Result(
            position=position,
            kind=data.get("kind", Result.Kind.INFORMATION),
            text=data["text"],
            voted=vote is not None,
            vote_yes=(vote or {}).get("yes"),
            vote_no=(vote or {}).get("no"),
            vote_abstain=(vote or {}).get("abstain"),
            vote_text=(vote or {}).get("text"),
            responsible=data.get("responsible"),
            due=self.date(data.get("due"), [*path, "due"]),
        )

    def approvals(self, data):
        approvals = []
        for index, entry in enumerate(data.get("approves_minutes_of", [])):
            path = ["meeting", "approves_minutes_of", index]
            approvals.append(
                Approval(
                    position=index,
                    number=entry.get("number"),
                    date=self.date(entry.get("date"), [*path, "date"]),
                    outcome=entry.get("outcome", Approval.Outcome.APPROVED),
                    note=entry.get("note"),
                )
            )
        return approvals

    def confirmation(self, data, meeting):
        """``meeting.confirmation`` as a dict of model values, or None where it is absent."""
        value = data.get("confirmation")
        if value is None:
            return None
        path = ["meeting", "confirmation"]
        if meeting.status != Meeting.Status.CONFIRMED:
            self.problem(
                path,
                _("only confirmed minutes carry a confirmation; these are “%(status)s”")
                % {"status": meeting.status},
            )
        by = value["by"]
        deciding = value.get("meeting")
        number = deciding_date = None
        if deciding is not None:
            if by == BY_CIRCULATION:
                self.problem(
                    [*path, "meeting"],
                    _(
                        "minutes confirmed by circulation were not confirmed in a meeting: "
                        "“meeting” must be null"
                    ),
                )
            number = deciding.get("number")
            deciding_date = self.date(deciding["date"], [*path, "meeting", "date"])
            if deciding_date and meeting.date and deciding_date <= meeting.date:
                self.problem(
                    [*path, "meeting", "date"],
                    _(
                        "the deciding meeting (%(deciding)s) must be later than the "
                        "meeting of these minutes (%(date)s)"
                    )
                    % {"deciding": deciding["date"], "date": meeting.date.isoformat()},
                )
        return {
            "date": self.date(value["date"], [*path, "date"]),
            "by": by,
            "meeting_number": number,
            "meeting_date": deciding_date,
            "version": value.get("version"),
        }

    def attachments(self, data):
        """Attachments; each carries ``stored`` (file, size, sha256) as the document gives them."""
        attachments = []
        for index, entry in enumerate(data.get("attachments", [])):
            path = ["meeting", "attachments", index]
            name = entry.get("file")
            if name is not None:
                problem = _file_name_problem(name)
                if problem:
                    self.problem([*path, "file"], problem)
            elif entry.get("size") is not None or entry.get("sha256") is not None:
                self.problem(
                    [*path, "file"],
                    _("size and SHA-256 describe a file, but “file” names none"),
                )
            attachment = Attachment(position=index, name=entry["name"])
            attachment.stored = {
                "file": name,
                "size": entry.get("size"),
                "sha256": entry.get("sha256"),
            }
            attachments.append(attachment)
        return attachments


def _file_name_problem(name):
    """Why ``name`` cannot be a stored file's name (a base name, nothing else), or None."""
    if any(unicodedata.category(character) in ("Cc", "Cf") for character in name):
        return _("the file name must not contain control characters")
    if "/" in name or "\\" in name or name.startswith(".") or ".." in name:
        return _("“%(name)s” is not a file name without a path") % {"name": name}
    return None


def read(document):
    """Check a parsed document and turn it into unsaved model instances.

    Raises DocumentError listing every problem. Makes no queries. ``parsed["confirmation"]``
    is the document's confirmation as model values (``date``, ``by``, ``meeting_number``,
    ``meeting_date``, ``version``) or None; each attachment's ``stored`` holds the file
    name, size and SHA-256 the document gives for it.
    """
    # Nesting first: the schema validator recurses over the document.
    problems = (
        nesting_problems(document) or schema_problems(document) or list(_nul_problems(document))
    )
    if problems:
        raise DocumentError(problems)
    reader = _Reader()
    data = document["meeting"]
    meeting = reader.meeting(data)
    parsed = {
        "body": reader.body(document["body"]),
        "meeting": meeting,
        "confirmation": reader.confirmation(data, meeting),
        "participants": reader.participants(data),
        "agenda": reader.agenda(data["agenda"], ["meeting", "agenda"]),
        "approvals": reader.approvals(data),
        "attachments": reader.attachments(data),
    }
    if reader.problems:
        raise DocumentError(reader.problems)
    return parsed


def _nul_problems(value, path=()):
    """NUL characters: no database keeps them in text (PostgreSQL refuses them)."""
    if isinstance(value, str):
        if "\x00" in value:
            yield f"{format_path(list(path))}: " + _("contains a NUL character (\\u0000)")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _nul_problems(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nul_problems(item, (*path, index))


def validate(document):
    """Every problem that keeps ``document`` from being imported, without the database."""
    try:
        read(document)
    except DocumentError as error:
        return error.problems
    return []


def store(parsed, files=None):
    """Write a meeting, and its body where it is new, from ``read(document)``.

    Writes everything or nothing. Raises DocumentError when the meeting cannot be
    stored (its number is taken, an attachment's file is not what the document
    says). The body is found by its exact name; an existing body keeps its fields.
    Minutes that the document calls confirmed are stored as circulated: confirming
    them is the workflow's step (``workflow.import_minutes``), which also archives
    and indexes them and records the document's confirmation.

    ``files`` maps the attachments' ``file`` names to their content (the files
    embedded in one of our PDFs). An attachment whose file is there is stored with
    it, under that very name in the attachments' directory, once its size and
    SHA-256 agree with the document's; the others are stored without a file.
    """
    body_fields = dict(parsed["body"])
    meeting = parsed["meeting"]
    if meeting.status == Meeting.Status.CONFIRMED:
        meeting.status = Meeting.Status.CIRCULATED
    contents = _attachment_contents(parsed["attachments"], files or {})
    written = []
    try:
        with transaction.atomic():
            body, _created = Body.objects.get_or_create(
                name=body_fields.pop("name"), defaults=body_fields
            )
            if meeting.number is not None and body.meetings.filter(number=meeting.number).exists():
                raise DocumentError(
                    [
                        "meeting.number: "
                        + _("%(body)s already has a meeting number %(number)s")
                        % {"body": body.name, "number": meeting.number}
                    ]
                )
            meeting.body = body
            meeting.save()
            _save_agenda(meeting, parsed["agenda"])
            for related in ("participants", "approvals", "attachments"):
                for instance in parsed[related]:
                    instance.meeting = meeting
            for approval in parsed["approvals"]:
                approval.approved_meeting = _find_meeting(body, approval)
            Participant.objects.bulk_create(parsed["participants"])
            Approval.objects.bulk_create(parsed["approvals"])
            for attachment, name, data in contents:
                _store_file(attachment, name, data, meeting, written)
            Attachment.objects.bulk_create(parsed["attachments"])
    except IntegrityError as exc:
        _remove(written)
        # Another import took the same number between our check and our write.
        raise DocumentError(
            ["meeting: " + _("could not be saved: %(error)s") % {"error": exc}]
        ) from exc
    except BaseException:
        _remove(written)
        raise
    return meeting


def _attachment_contents(attachments, files):
    """(attachment, file name, bytes) for the attachments whose file ``files`` holds.

    Checks each file against the document's size and SHA-256 and as an upload (its
    type, by its content); raises DocumentError naming every problem, before
    anything is written.
    """
    contents, problems = [], []
    for index, attachment in enumerate(attachments):
        stored = getattr(attachment, "stored", None) or {}
        name = stored.get("file")
        if name is None or name not in files:
            continue
        data = bytes(files[name])
        path = f"meeting.attachments[{index}]"
        size, digest = len(data), hashlib.sha256(data).hexdigest()
        if stored.get("size") is not None and stored["size"] != size:
            problems.append(
                f"{path}.size: "
                + _("the file %(name)s has %(actual)s bytes, the document says %(size)s")
                % {"name": name, "actual": size, "size": stored["size"]}
            )
        if stored.get("sha256") is not None and stored["sha256"] != digest:
            problems.append(
                f"{path}.sha256: "
                + _("the file %(name)s has the SHA-256 %(actual)s, the document says %(sha256)s")
                % {"name": name, "actual": digest, "sha256": stored["sha256"]}
            )
        try:
            validate_upload(ContentFile(data, name=name))
        except ValidationError as error:
            problems.extend(f"{path}.file: {message}" for message in error.messages)
        contents.append((attachment, name, data))
    if problems:
        raise DocumentError(problems)
    return contents


def _store_file(attachment, name, data, meeting, written):
    """Store an imported attachment's file under its own name (the record names it so)."""
    storage = Attachment._meta.get_field("file").storage
    wanted = f"attachments/{meeting.date:%Y}/{name}"
    # The storage never overwrites: where the name is taken, it picks another.
    saved = storage.save(wanted, ContentFile(data))
    written.append((storage, saved))
    attachment.file.name = saved
    attachment.size = len(data)
    attachment.sha256 = hashlib.sha256(data).hexdigest()


def _remove(written):
    for storage, name in written:
        try:
            storage.delete(name)
        except OSError:
            pass


def _save_agenda(meeting, nodes, parent=None):
    presenters, results = [], []

    def save(nodes, parent):
        for item, item_presenters, item_results, children in nodes:
            item.meeting = meeting
            item.parent = parent
            item.save()
            for presenter in item_presenters:
                presenter.agenda_item = item
            for result in item_results:
                result.agenda_item = item
            presenters.extend(item_presenters)
            results.extend(item_results)
            save(children, item)

    save(nodes, parent)
    Presenter.objects.bulk_create(presenters)
    Result.objects.bulk_create(results)


def _find_meeting(body, approval):
    """The recorded meeting an approval speaks of, where number and date agree."""
    if approval.number is None:
        return None
    candidate = body.meetings.filter(number=approval.number).first()
    if candidate and approval.date in (None, candidate.date):
        return candidate
    return None


# --- writing -------------------------------------------------------------------------


def _time(value):
    return None if value is None else value.strftime("%H:%M")


def _date(value):
    return None if value is None else value.isoformat()


def _person(name, organisation, function):
    if not name:
        return None
    return {"name": name, "organisation": organisation, "function": function}


def _item(item, public_only):
    data = {
        "number": item.number,
        "title": item.title,
        "public": item.public,
        "presenters": [_person(p.name, p.organisation, p.function) for p in item.presenters.all()],
        "results": [_result(result) for result in item.results.all()],
        "children": [
            _item(child, public_only)
            for child in item.child_items
            if child.public or not public_only
        ],
    }
    # Optional keys, written only where recorded: documents without them stay the same.
    if item.start is not None:
        data["start"] = _time(item.start)
    if item.conflicts_of_interest is not None:
        data["conflicts_of_interest"] = [dict(entry) for entry in item.conflicts_of_interest]
    return data


def _result(result):
    vote = None
    if result.voted:
        vote = {
            "yes": result.vote_yes,
            "no": result.vote_no,
            "abstain": result.vote_abstain,
            "text": result.vote_text,
        }
    return {
        "kind": result.kind,
        "text": result.text,
        "vote": vote,
        "responsible": result.responsible,
        "due": _date(result.due),
    }


def _attachment(attachment):
    return {
        "name": attachment.name,
        "file": os.path.basename(attachment.file.name) if attachment.file else None,
        "size": attachment.size if attachment.file else None,
        "sha256": (attachment.sha256 or None) if attachment.file else None,
    }


def confirmation_of(meeting):
    """``meeting.confirmation`` of the exchange format: how the minutes were confirmed.

    None until they are confirmed. Otherwise ``{"date", "by", "meeting", "version"}``
    as recorded at the confirmation (or imported). For minutes confirmed before that
    was recorded (``confirmed_on`` is empty; their rows can no longer be updated),
    derived as the PDF's line used to be: the day of ``confirmed_at``, circulation
    from ``confirmed_by_circulation``, the deciding meeting from the approval that
    confirmed them, the version from the last circulated one. No query where the
    fields are recorded.
    """
    if not meeting.is_confirmed:
        return None
    if meeting.confirmed_on is not None:
        deciding = None
        if meeting.confirmed_in_date is not None:
            deciding = {
                "number": meeting.confirmed_in_number,
                "date": _date(meeting.confirmed_in_date),
            }
        return {
            "date": _date(meeting.confirmed_on),
            "by": BY_CIRCULATION if meeting.confirmed_by_circulation else BY_MEETING,
            "meeting": deciding,
            "version": meeting.confirmed_version,
        }
    return _derived_confirmation(meeting)


def _derived_confirmation(meeting):
    deciding = None
    if not meeting.confirmed_by_circulation:
        approvals = getattr(meeting, "confirmations", None)
        if approvals is None:
            approvals = list(
                meeting.approved_by.filter(
                    outcome__in=[Approval.Outcome.APPROVED, Approval.Outcome.APPROVED_WITH_CHANGES]
                ).select_related("meeting")
            )
        if approvals:
            deciding = approvals[0].meeting
    if meeting.confirmed_at is not None:
        day = timezone.localdate(meeting.confirmed_at)
    else:
        # Confirmed without any record of when (rows written directly, as by
        # generate_load): the earliest day it can have been, the deciding meeting's
        # or its own.
        day = deciding.date if deciding else meeting.date
    version = meeting.versions.order_by("-number").values_list("number", flat=True).first()
    return {
        "date": _date(day),
        "by": BY_CIRCULATION if meeting.confirmed_by_circulation else BY_MEETING,
        "meeting": None
        if deciding is None
        else {"number": deciding.number, "date": _date(deciding.date)},
        "version": version,
    }


def export_document(meeting, *, public_only=False):
    """The meeting as a ``werkstatt-protokoll/1`` document.

    Expects a meeting from ``Meeting.objects.for_export()`` (otherwise it costs a query
    per related list). ``public_only`` leaves out non-public agenda items.
    """
    body = meeting.body
    agenda = build_agenda(meeting.agenda_items.all())
    next_meeting = None
    if meeting.next_meeting_date:
        next_meeting = {
            "date": _date(meeting.next_meeting_date),
            "time": _time(meeting.next_meeting_time),
            "location": meeting.next_meeting_location,
        }
    closing = None
    if meeting.has_closing:
        closing = {"place": meeting.closing_place, "date": _date(meeting.closing_date)}
    return {
        "format": FORMAT,
        "body": {
            "name": body.name,
            "short_name": body.short_name,
            "organisation": body.organisation,
            "place": body.place,
        },
        "meeting": {
            "number": meeting.number,
            "title": meeting.title,
            "date": _date(meeting.date),
            "start": _time(meeting.start),
            "end": _time(meeting.end),
            "location": meeting.location,
            "public": meeting.public,
            "status": meeting.status,
            "confirmation": confirmation_of(meeting),
            "chair": _person(
                meeting.chair_name, meeting.chair_organisation, meeting.chair_function
            ),
            "minute_taker": _person(
                meeting.minute_taker_name,
                meeting.minute_taker_organisation,
                meeting.minute_taker_function,
            ),
            "attachments": [_attachment(a) for a in meeting.attachments.all()],
            "participants": [
                {
                    "name": p.name,
                    "organisation": p.organisation,
                    "function": p.function,
                    "status": p.status,
                    "voting": p.voting,
                    "substitute_for": p.substitute_for,
                    "arrived": _time(p.arrived),
                    "left": _time(p.left),
                }
                for p in meeting.participants.all()
            ],
            "agenda": [
                _item(item, public_only) for item in agenda if item.public or not public_only
            ],
            "approves_minutes_of": [
                {
                    "number": a.number,
                    "date": _date(a.date),
                    "outcome": a.outcome,
                    "note": a.note,
                }
                for a in meeting.approvals.all()
            ],
            "next_meeting": next_meeting,
            "closing": closing,
        },
    }


def dumps(document):
    """The document as JSON text, UTF-8 with umlauts as they are."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
