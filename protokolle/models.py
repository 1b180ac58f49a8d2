"""The domain: bodies, people, meetings and their minutes.

Optional texts are nullable (``null=True``) on purpose: the exchange format
``werkstatt-protokoll/1`` tells ``null`` from ``""``, and an import followed by
an export must give back the same document.
"""

import hashlib
from collections import defaultdict

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .uploads import random_name
from .wording import number_tree

# The longest texts and largest numbers the minutes hold. A page, a diff or a PDF of
# minutes stays bounded only when every text is; the exchange format's schema states
# the same limits (tests/test_limits.py holds the two together).
RESULT_TEXT_MAX_LENGTH = 20_000
APPROVAL_NOTE_MAX_LENGTH = 5_000
RESPONSE_TEXT_MAX_LENGTH = 10_000
MAX_MEETING_NUMBER = 100_000
MAX_VOTES = 100_000


CONFLICT_NAME_MAX_LENGTH = 200
CONFLICT_REASON_MAX_LENGTH = 500
MAX_CONFLICTS_PER_ITEM = 100


def validate_conflicts_of_interest(value):
    """A list of ``{"name": text, "reason": text or None}``, names given, texts bounded."""
    if value is None:
        return
    if not isinstance(value, list) or len(value) > MAX_CONFLICTS_PER_ITEM:
        raise ValidationError(
            _("At most %(limit)s conflicts of interest per agenda item, as a list."),
            code="conflicts_shape",
            params={"limit": MAX_CONFLICTS_PER_ITEM},
        )
    for entry in value:
        if (
            not isinstance(entry, dict)
            or set(entry) - {"name", "reason"}
            or not isinstance(entry.get("name"), str)
            or not entry["name"].strip()
            or len(entry["name"]) > CONFLICT_NAME_MAX_LENGTH
            or not isinstance(entry.get("reason") or "", str)
            or len(entry.get("reason") or "") > CONFLICT_REASON_MAX_LENGTH
        ):
            raise ValidationError(
                _(
                    "Each conflict of interest needs a name (at most %(name)s characters) "
                    "and may give a reason (at most %(reason)s characters)."
                ),
                code="conflict_entry",
                params={"name": CONFLICT_NAME_MAX_LENGTH, "reason": CONFLICT_REASON_MAX_LENGTH},
            )


class ConfirmedMinutesError(Exception):
    """Confirmed minutes never change, by any path."""

    def __init__(self, meeting=None):
        super().__init__(_("Confirmed minutes never change."))
        self.meeting = meeting


class Body(models.Model):
    """A standing committee (Werkstatt, Gremium)."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    short_name = models.CharField(_("short name"), max_length=50, null=True, blank=True)
    organisation = models.CharField(
        _("organisation"),
        max_length=200,
        null=True,
        blank=True,
        help_text=_("Organisation that runs the body."),
    )
    place = models.CharField(
        _("place"),
        max_length=100,
        null=True,
        blank=True,
        help_text=_("Default place for the closing line, e.g. Cottbus."),
    )

    # The quorum rule (Beschlussfähigkeit), computed from the attendance by ``quorum``.
    class QuorumRule(models.TextChoices):
        MAJORITY = "majority", _("more than half of the voting members present")
        FRACTION = "fraction", _("at least a given fraction of the voting members present")
        MINIMUM = "minimum", _("at least a given number of voting members present")

    quorum_rule = models.CharField(
        _("quorum rule"), max_length=20, choices=QuorumRule, default=QuorumRule.MAJORITY
    )
    quorum_numerator = models.PositiveSmallIntegerField(
        _("fraction: numerator"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For “at least a fraction”: 2 of “two thirds”."),
    )
    quorum_denominator = models.PositiveSmallIntegerField(
        _("fraction: denominator"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For “at least a fraction”: 3 of “two thirds”."),
    )
    quorum_minimum = models.PositiveSmallIntegerField(
        _("minimum number present"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("For “at least a given number”."),
    )
    quorum_source = models.CharField(
        _("source of the quorum rule"),
        max_length=300,
        null=True,
        blank=True,
        help_text=_("e.g. “§ 5 Abs. 2 Geschäftsordnung”"),
    )
    notice_days = models.PositiveSmallIntegerField(
        _("notice period in days"),
        default=7,
        validators=[MaxValueValidator(365)],
        help_text=_("Ladungsfrist: invitations go out at least this many days before."),
    )

    # Publication (issue 16): the public pages, OParl and the feeds show a published
    # body's public, confirmed minutes. ``published_changed_at`` is when the switch
    # last changed: a body that was published and is no longer answers in OParl as
    # deleted from then on; one never published is unknown there.
    published = models.BooleanField(
        _("publicly accessible"),
        default=False,
        help_text=_(
            "Show the public version of confirmed minutes and the upcoming meetings "
            "on the public pages, in OParl and in the feeds, without login."
        ),
    )
    published_changed_at = models.DateTimeField(
        _("publication changed at"), null=True, blank=True, editable=False
    )

    class Meta:
        verbose_name = _("body")
        verbose_name_plural = _("bodies")
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(quorum_rule="fraction")
                | (
                    Q(quorum_numerator__isnull=False, quorum_denominator__isnull=False)
                    & Q(quorum_numerator__gte=1)
                    & Q(quorum_denominator__gte=1)
                    & Q(quorum_numerator__lte=F("quorum_denominator"))
                ),
                name="body_quorum_fraction_complete",
            ),
            models.CheckConstraint(
                condition=~Q(quorum_rule="minimum")
                | Q(quorum_minimum__isnull=False, quorum_minimum__gte=1),
                name="body_quorum_minimum_given",
            ),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        # When the publishing switch changes (or a body is created published); not
        # for a body loaded without the field (``only()``), whose switch is unknown.
        loaded = getattr(self, "_loaded_published", False)
        if loaded is not None and self.published != loaded:
            self.published_changed_at = timezone.now()
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "published_changed_at"}
        super().save(*args, **kwargs)
        self._loaded_published = self.published

    def clean(self):
        super().clean()
        if self.quorum_rule == self.QuorumRule.FRACTION:
            if not (self.quorum_numerator and self.quorum_denominator):
                raise ValidationError(
                    _("Please give the fraction: numerator and denominator."),
                    code="fraction_missing",
                )
            if self.quorum_numerator > self.quorum_denominator:
                raise ValidationError(
                    {"quorum_numerator": _("The fraction can be at most one (e.g. 2 of 3).")},
                    code="fraction_above_one",
                )
        if self.quorum_rule == self.QuorumRule.MINIMUM and not self.quorum_minimum:
            raise ValidationError(
                {"quorum_minimum": _("Please give the minimum number of members present.")},
                code="minimum_missing",
            )

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_published = instance.__dict__.get("published")
        return instance


class Person(models.Model):
    """A person who takes part in bodies; minutes keep their own snapshot of them."""

    name = models.CharField(_("name"), max_length=200)
    organisation = models.CharField(_("organisation"), max_length=200, null=True, blank=True)
    function = models.CharField(_("function"), max_length=200, null=True, blank=True)
    email = models.EmailField(_("email"), blank=True)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="person",
    )

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("people")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Membership(models.Model):
    """A person's seat in a body."""

    class Role(models.TextChoices):
        MEMBER = "member", _("member")
        CHAIR = "chair", _("chair")
        MINUTE_TAKER = "minute_taker", _("minute-taker")

    body = models.ForeignKey(
        Body, verbose_name=_("body"), on_delete=models.CASCADE, related_name="memberships"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role, default=Role.MEMBER)
    voting = models.BooleanField(_("voting right"), default=True)
    start = models.DateField(_("from"), null=True, blank=True)
    end = models.DateField(_("until"), null=True, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        ordering = ["body", "person__name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gte=F("start")),
                name="membership_end_not_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.person} ({self.get_role_display()}, {self.body})"

    def is_active_on(self, day):
        return (self.start is None or self.start <= day) and (self.end is None or self.end >= day)


class PersonSnapshot(models.Model):
    """A person as printed in one set of minutes, optionally linked to the record."""

    name = models.CharField(_("name"), max_length=200)
    organisation = models.CharField(_("organisation"), max_length=200, null=True, blank=True)
    function = models.CharField(_("function"), max_length=200, null=True, blank=True)
    person = models.ForeignKey(
        Person,
        verbose_name=_("person (record)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        abstract = True

    def __str__(self):
        return ", ".join(part for part in (self.name, self.organisation, self.function) if part)


class MeetingQuerySet(models.QuerySet):
    """The loaders: each fetches what one use of the minutes shows, in a fixed number of queries."""

    def for_export(self):
        """Everything the exchange document holds (agenda, people, approvals, attachments)."""
        return self.select_related("body").prefetch_related(
            models.Prefetch(
                "agenda_items",
                queryset=AgendaItem.objects.prefetch_related("presenters", "results"),
            ),
            "participants",
            "approvals",
            "attachments",
        )

    def for_minutes(self):
        """Everything the printed minutes show: the document, the confirming meeting, the PDFs."""
        return self.for_export().prefetch_related(
            models.Prefetch(
                "approved_by",
                queryset=Approval.objects.select_related("meeting").filter(
                    outcome__in=[
                        Approval.Outcome.APPROVED,
                        Approval.Outcome.APPROVED_WITH_CHANGES,
                    ]
                ),
                to_attr="confirmations",
            ),
            "archived_pdfs",
        )


class Meeting(models.Model):
    """One meeting of a body and its minutes (Ergebnisprotokoll)."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        CIRCULATED = "circulated", _("circulated")
        CONFIRMED = "confirmed", _("confirmed")

    body = models.ForeignKey(
        Body, verbose_name=_("body"), on_delete=models.PROTECT, related_name="meetings"
    )
    number = models.PositiveIntegerField(
        _("number"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_MEETING_NUMBER)],
        help_text=_("Running number within the body."),
    )
    title = models.CharField(_("title"), max_length=300, null=True, blank=True)
    date = models.DateField(_("date"))
    start = models.TimeField(_("start"), null=True, blank=True)
    end = models.TimeField(_("end"), null=True, blank=True)
    location = models.CharField(_("place"), max_length=500, null=True, blank=True)
    public = models.BooleanField(_("public"), default=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status, default=Status.DRAFT, db_index=True
    )

    # Chair and minute-taker as printed on that day.
    chair_name = models.CharField(_("chair"), max_length=200, null=True, blank=True)
    chair_organisation = models.CharField(
        _("chair's organisation"), max_length=200, null=True, blank=True
    )
    chair_function = models.CharField(_("chair's function"), max_length=200, null=True, blank=True)
    chair_person = models.ForeignKey(
        Person,
        verbose_name=_("chair (record)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    minute_taker_name = models.CharField(_("minute-taker"), max_length=200, null=True, blank=True)
    minute_taker_organisation = models.CharField(
        _("minute-taker's organisation"), max_length=200, null=True, blank=True
    )
    minute_taker_function = models.CharField(
        _("minute-taker's function"), max_length=200, null=True, blank=True
    )
    minute_taker_person = models.ForeignKey(
        Person,
        verbose_name=_("minute-taker (record)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    next_meeting_date = models.DateField(_("next meeting on"), null=True, blank=True)
    next_meeting_time = models.TimeField(_("next meeting at"), null=True, blank=True)
    next_meeting_location = models.CharField(
        _("next meeting in"), max_length=500, null=True, blank=True
    )

    # The closing line ("Cottbus, 21.03.2022"); empty parts fall back to the
    # body's place and the meeting's date when printed.
    has_closing = models.BooleanField(_("print closing line"), default=True)
    closing_place = models.CharField(_("closing place"), max_length=100, null=True, blank=True)
    closing_date = models.DateField(_("closing date"), null=True, blank=True)

    # Raised on every save through the editor.
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # Confirmation by circulation (Umlaufverfahren): members agree in writing until then.
    circulation_deadline = models.DateField(
        _("confirmation by circulation until"), null=True, blank=True
    )
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by_circulation = models.BooleanField(_("confirmed by circulation"), default=False)
    # The confirmation as the record states it (exchange format ``meeting.confirmation``):
    # the day, the deciding meeting as it was named (it need not be recorded here) and
    # the circulated version that was confirmed. Kept exactly when minutes are imported.
    confirmed_on = models.DateField(_("confirmed on"), null=True, blank=True)
    confirmed_in_number = models.PositiveIntegerField(
        _("confirmed in meeting number"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(MAX_MEETING_NUMBER)],
    )
    confirmed_in_date = models.DateField(_("confirmed in the meeting on"), null=True, blank=True)
    confirmed_version = models.PositiveIntegerField(_("confirmed version"), null=True, blank=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["body", "-date", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["body", "number"], name="meeting_number_unique_in_body"
            ),
            models.CheckConstraint(
                condition=Q(start__isnull=True) | Q(end__isnull=True) | Q(end__gt=F("start")),
                name="meeting_ends_after_start",
            ),
        ]

    def __str__(self):
        if self.number:
            return _("%(number)s. meeting of %(body)s on %(date)s") % {
                "number": self.number,
                "body": self.body.name,
                "date": self.date.strftime("%d.%m.%Y"),
            }
        return _("%(title)s of %(body)s on %(date)s") % {
            "title": self.title or _("Meeting"),
            "body": self.body.name,
            "date": self.date.strftime("%d.%m.%Y"),
        }

    def save(self, *args, **kwargs):
        # The database refuses it too (see migration 0004); this gives the clearer error.
        if getattr(self, "_loaded_status", None) == self.Status.CONFIRMED:
            raise ConfirmedMinutesError(self)
        super().save(*args, **kwargs)
        self._loaded_status = self.status

    def get_absolute_url(self):
        return reverse("protokolle:meeting_detail", args=[self.pk])

    def delete(self, *args, **kwargs):
        if getattr(self, "_loaded_status", None) == self.Status.CONFIRMED:
            raise ConfirmedMinutesError(self)
        return super().delete(*args, **kwargs)

    @classmethod
    def from_db(cls, db, field_names, values):
        instance = super().from_db(db, field_names, values)
        instance._loaded_status = instance.__dict__.get("status")
        return instance

    @property
    def is_confirmed(self):
        return self.status == self.Status.CONFIRMED


class MeetingPart:
    """A row that belongs to a meeting; the audit trail files it under that meeting."""

    def get_additional_data(self):
        return {"meeting": self.meeting_id}


class ItemPart:
    """A row that belongs to an agenda item (presenters, results)."""

    def get_additional_data(self):
        return {"meeting": self.agenda_item.meeting_id}


class Participant(MeetingPart, PersonSnapshot):
    """Attendance of one person at a meeting, as printed."""

    class Status(models.TextChoices):
        PRESENT = "present", _("present")
        EXCUSED = "excused", _("excused")
        ABSENT = "absent", _("absent")
        GUEST = "guest", _("guest")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="participants"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.PRESENT)
    voting = models.BooleanField(_("voting right"), null=True, blank=True)
    substitute_for = models.CharField(_("stands in for"), max_length=200, null=True, blank=True)
    arrived = models.TimeField(_("arrived"), null=True, blank=True)
    left = models.TimeField(_("left"), null=True, blank=True)

    class Meta:
        verbose_name = _("participant")
        verbose_name_plural = _("participants")
        ordering = ["meeting", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(arrived__isnull=True) | Q(left__isnull=True) | Q(left__gt=F("arrived")),
                name="participant_leaves_after_arriving",
            ),
        ]


class AgendaItem(MeetingPart, models.Model):
    """One item of the agenda (TOP); items nest through ``parent``."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="agenda_items"
    )
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent item"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    number = models.CharField(
        _("number"),
        max_length=20,
        null=True,
        blank=True,
        help_text=_("Leave empty to number automatically (1, 2, 3.1 …)."),
    )
    title = models.CharField(_("title"), max_length=500)
    public = models.BooleanField(_("public"), default=True)
    # When the item was taken up: the quorum for its decisions counts who was there then.
    start = models.TimeField(_("start time"), null=True, blank=True)
    # Befangenheit: the members who took no part in deliberation and vote on this item,
    # ``[{"name": …, "reason": … or None}]``; None where none were recorded (an imported
    # document without the key gives it back without the key).
    conflicts_of_interest = models.JSONField(
        _("conflicts of interest"),
        null=True,
        blank=True,
        validators=[validate_conflicts_of_interest],
    )

    class Meta:
        verbose_name = _("agenda item")
        verbose_name_plural = _("agenda items")
        ordering = ["meeting", "parent_id", "position", "id"]

    def __str__(self):
        return f"{self.number or ''} {self.title}".strip()


def build_agenda(items):
    """Arrange one meeting's agenda items as a tree and number them.

    Takes the items already fetched (no queries). Sets ``printed_number``,
    ``depth`` and ``child_items`` on every item and returns the top level in
    order, numbered by the one rule in ``numbering``.
    """
    by_parent = defaultdict(list)
    for item in sorted(items, key=lambda item: (item.position, item.pk or 0)):
        by_parent[item.parent_id].append(item)
    roots = by_parent.get(None, [])
    for item in items:
        item.child_items = by_parent.get(item.pk, []) if item.pk else []
    for item, number, depth in number_tree(roots, lambda item: item.child_items, _number_of):
        item.printed_number = number
        item.depth = depth
    return roots


def _number_of(item):
    return item.number


def flatten_agenda(tree):
    """The items of a tree from ``build_agenda`` in reading order."""
    for item in tree:
        yield item
        yield from flatten_agenda(item.child_items)


class Presenter(ItemPart, PersonSnapshot):
    """Who presents an agenda item, as printed on that day."""

    agenda_item = models.ForeignKey(
        AgendaItem,
        verbose_name=_("agenda item"),
        on_delete=models.CASCADE,
        related_name="presenters",
    )
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("presenter")
        verbose_name_plural = _("presenters")
        ordering = ["agenda_item", "position", "id"]


class Result(ItemPart, models.Model):
    """One result bullet of an agenda item."""

    class Kind(models.TextChoices):
        INFORMATION = "information", _("information")
        DECISION = "decision", _("decision")
        TASK = "task", _("task")
        NOTE = "note", _("note")

    agenda_item = models.ForeignKey(
        AgendaItem,
        verbose_name=_("agenda item"),
        on_delete=models.CASCADE,
        related_name="results",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind, default=Kind.INFORMATION)
    text = models.TextField(
        _("text"),
        max_length=RESULT_TEXT_MAX_LENGTH,
        # A TextField's max_length reaches forms only; the validator holds it in full_clean().
        validators=[MaxLengthValidator(RESULT_TEXT_MAX_LENGTH)],
    )
    # A vote was taken when ``voted`` is set; counts and text may still be empty.
    voted = models.BooleanField(_("vote taken"), default=False)
    vote_yes = models.IntegerField(
        _("yes"), null=True, blank=True, validators=[MaxValueValidator(MAX_VOTES)]
    )
    vote_no = models.IntegerField(
        _("no"), null=True, blank=True, validators=[MaxValueValidator(MAX_VOTES)]
    )
    vote_abstain = models.IntegerField(
        _("abstentions"), null=True, blank=True, validators=[MaxValueValidator(MAX_VOTES)]
    )
    vote_text = models.CharField(
        _("vote as text"),
        max_length=200,
        null=True,
        blank=True,
        help_text=_("e.g. “unanimous”"),
    )
    responsible = models.CharField(_("responsible"), max_length=300, null=True, blank=True)
    due = models.DateField(_("until"), null=True, blank=True)
    # A decision bullet written from an approval record ("Das Protokoll der 6. Sitzung …").
    approval = models.OneToOneField(
        "Approval",
        verbose_name=_("approval of minutes"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="result",
    )

    class Meta:
        verbose_name = _("result")
        verbose_name_plural = _("results")
        ordering = ["agenda_item", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vote_yes__isnull=True) | Q(vote_yes__gte=0),
                name="result_vote_yes_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(vote_no__isnull=True) | Q(vote_no__gte=0),
                name="result_vote_no_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(vote_abstain__isnull=True) | Q(vote_abstain__gte=0),
                name="result_vote_abstain_not_negative",
            ),
        ]

    def __str__(self):
        return self.text[:80]


class Approval(MeetingPart, models.Model):
    """Earlier minutes that this meeting decided on (Bestätigung des Protokolls)."""

    class Outcome(models.TextChoices):
        APPROVED = "approved", _("confirmed")
        APPROVED_WITH_CHANGES = "approved_with_changes", _("approved with changes")
        REJECTED = "rejected", _("rejected")

    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("deciding meeting"),
        on_delete=models.CASCADE,
        related_name="approvals",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    approved_meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("approved meeting"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approved_by",
        help_text=_("The meeting whose minutes are decided on, where it is recorded here."),
    )
    number = models.PositiveIntegerField(
        _("number"), null=True, blank=True, validators=[MaxValueValidator(MAX_MEETING_NUMBER)]
    )
    date = models.DateField(_("date"), null=True, blank=True)
    outcome = models.CharField(
        _("result"), max_length=30, choices=Outcome, default=Outcome.APPROVED
    )
    note = models.TextField(
        _("note"),
        max_length=APPROVAL_NOTE_MAX_LENGTH,
        validators=[MaxLengthValidator(APPROVAL_NOTE_MAX_LENGTH)],
        null=True,
        blank=True,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), null=True, blank=True)

    class Meta:
        verbose_name = _("approval of minutes")
        verbose_name_plural = _("approvals of minutes")
        ordering = ["meeting", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "approved_meeting"],
                condition=Q(approved_meeting__isnull=False),
                name="approval_once_per_deciding_meeting",
            ),
        ]

    def __str__(self):
        return _("minutes of the %(number)s. meeting on %(date)s") % {
            "number": self.number or "?",
            "date": self.date.strftime("%d.%m.%Y") if self.date else "?",
        }


def random_attachment_name(instance, filename):
    return random_name(instance, filename)


class Attachment(MeetingPart, models.Model):
    """A document that belongs to the minutes (Anlage)."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="attachments"
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    name = models.CharField(_("name"), max_length=300)
    file = models.FileField(_("file"), upload_to=random_attachment_name, blank=True)
    # Of the uploaded file, taken when it is stored: the archival PDF embeds the file
    # with them and ``verify_archive`` checks the stored file against them.
    size = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, default="")

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        ordering = ["meeting", "position", "id"]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        self.take_file_digest()
        super().save(*args, **kwargs)

    def take_file_digest(self):
        """Size and SHA-256 of the file, taken when it is stored (a new or replaced file).

        ``save`` calls it; the editor's bulk writes call it themselves.
        """
        if self.file and (not self.sha256 or not self.file._committed):
            digest = hashlib.sha256()
            size = 0
            committed = self.file._committed
            for chunk in self.file.chunks():
                digest.update(chunk)
                size += len(chunk)
            if committed:
                self.file.close()
            self.sha256, self.size = digest.hexdigest(), size
        elif not self.file:
            self.sha256, self.size = "", None


def archive_upload_to(instance, filename):
    return f"archive/{instance.meeting.date:%Y}/{filename}"


class ArchivedPdf(models.Model):
    """The archival record of confirmed minutes: their PDF, rendered once, and its SHA-256."""

    class Variant(models.TextChoices):
        MEMBERS = "members", _("members' version")
        PUBLIC = "public", _("public version")

    meeting = models.ForeignKey(
        Meeting,
        verbose_name=_("meeting"),
        on_delete=models.PROTECT,
        related_name="archived_pdfs",
    )
    variant = models.CharField(_("version"), max_length=10, choices=Variant)
    file = models.FileField(_("file"), upload_to=archive_upload_to)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    # The electronic seal (PAdES) the file carries: whose certificate, and when.
    sealed_by = models.CharField(_("sealed by"), max_length=300, blank=True, default="")
    sealed_at = models.DateTimeField(_("sealed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("archived PDF")
        verbose_name_plural = _("archived PDFs")
        ordering = ["meeting", "variant"]
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "variant"], name="archived_pdf_one_per_variant"
            ),
        ]

    def __str__(self):
        return f"{self.file.name} ({self.sha256[:12]}…)"


class MinutesVersion(models.Model):
    """A numbered version of the minutes, frozen when they are circulated."""

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="versions"
    )
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("werkstatt-protokoll/1 document"))
    # Which agenda item and result each part of ``document`` is (versions.identity),
    # so that the diff follows items that moved; None for versions from before.
    identity = models.JSONField(_("identity of items and results"), null=True, blank=True)
    created_at = models.DateTimeField(_("circulated at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("circulated by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("version of the minutes")
        verbose_name_plural = _("versions of the minutes")
        ordering = ["meeting", "number"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "number"], name="minutes_version_unique"),
        ]

    def __str__(self):
        return _("version %(number)s") % {"number": self.number}


class Response(MeetingPart, models.Model):
    """A member's answer to a circulated version: agreement, or an objection."""

    class Kind(models.TextChoices):
        AGREE = "agree", _("agrees")
        OBJECTION = "objection", _("objection or correction")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="responses"
    )
    version = models.ForeignKey(
        MinutesVersion,
        verbose_name=_("version"),
        on_delete=models.CASCADE,
        related_name="responses",
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.PROTECT, related_name="responses"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    kind = models.CharField(_("response"), max_length=10, choices=Kind)
    text = models.TextField(
        _("text"),
        max_length=RESPONSE_TEXT_MAX_LENGTH,
        validators=[MaxLengthValidator(RESPONSE_TEXT_MAX_LENGTH)],
        blank=True,
    )
    agenda_item = models.ForeignKey(
        AgendaItem,
        verbose_name=_("agenda item"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="responses",
    )
    created_at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["meeting", "created_at", "id"]

    def __str__(self):
        return f"{self.person}: {self.get_kind_display()}"


class SearchEntry(models.Model):
    """Searchable text of confirmed minutes: the meeting, each agenda item, each result.

    Written once when minutes are confirmed (they never change afterwards). On
    PostgreSQL a GIN index over the German full-text vector of ``text`` serves the
    search (migration 0006).
    """

    class Kind(models.TextChoices):
        MEETING = "meeting", _("meeting")
        ITEM = "item", _("agenda item")
        INFORMATION = "information", _("information")
        DECISION = "decision", _("decision")
        TASK = "task", _("task")
        NOTE = "note", _("note")

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="search_entries")
    body = models.ForeignKey(Body, on_delete=models.CASCADE, related_name="+")
    agenda_item = models.ForeignKey(
        AgendaItem, on_delete=models.CASCADE, null=True, related_name="+"
    )
    result = models.ForeignKey(Result, on_delete=models.CASCADE, null=True, related_name="+")
    date = models.DateField()
    kind = models.CharField(max_length=20, choices=Kind)
    public = models.BooleanField()
    number = models.CharField(max_length=20, blank=True)
    title = models.CharField(max_length=500, blank=True)
    text = models.TextField()
    people = models.TextField(blank=True)

    class Meta:
        verbose_name = _("search entry")
        verbose_name_plural = _("search entries")
        indexes = [models.Index(fields=["body", "date"], name="search_entry_body_date")]

    def __str__(self):
        return self.text[:80]


class TaskDone(models.Model):
    """A task of the minutes marked done: kept beside the minutes, which never change."""

    result = models.OneToOneField(
        Result, verbose_name=_("task"), on_delete=models.CASCADE, related_name="done"
    )
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    done_at = models.DateTimeField(_("done at"), auto_now_add=True)

    class Meta:
        verbose_name = _("task done")
        verbose_name_plural = _("tasks done")

    def __str__(self):
        return f"{self.result} ✓"


# --- before the meeting: invitation, replies, calendar (protokolle.invitations) ----------

INVITATION_REASON_MAX_LENGTH = 1_000


class Invitation(MeetingPart, models.Model):
    """The invitation (Einladung) of a meeting as last sent, with its calendar sequence.

    ``sent_state`` is what the last mail said (date, times, place, agenda titles), so
    that a later change offers „Änderung versenden“ and the PDF marks what is new.
    """

    meeting = models.OneToOneField(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="invitation"
    )
    sequence = models.PositiveIntegerField(_("calendar sequence"), default=0)
    reply_by = models.DateField(_("reply by"), null=True, blank=True)
    sent_at = models.DateTimeField(_("first sent at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("last sent at"), null=True, blank=True)
    sent_state = models.JSONField(_("as last sent"), null=True, blank=True)
    short_notice = models.BooleanField(_("with shortened notice period"), default=False)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self):
        return str(self.meeting)


class Invitee(MeetingPart, models.Model):
    """One member invited to a meeting: whether the mail went out, and their reply."""

    class Reply(models.TextChoices):
        ACCEPT = "accept", _("accepts")
        DECLINE = "decline", _("declines")
        STAND_IN = "stand_in", _("sends a stand-in")

    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, related_name="invitees"
    )
    person = models.ForeignKey(
        Person, verbose_name=_("person"), on_delete=models.CASCADE, related_name="invitations"
    )
    sent_at = models.DateTimeField(_("mail sent at"), null=True, blank=True)
    sent_sequence = models.PositiveIntegerField(_("sequence sent"), null=True, blank=True)
    # The mail of the latest sending: queued for the background task, or why it failed.
    mail_queued_at = models.DateTimeField(_("mail queued at"), null=True, blank=True)
    mail_error = models.CharField(_("mail failed"), max_length=500, blank=True, default="")
    reply = models.CharField(_("reply"), max_length=10, choices=Reply, blank=True, default="")
    reason = models.CharField(
        _("reason"), max_length=INVITATION_REASON_MAX_LENGTH, blank=True, default=""
    )
    stand_in_name = models.CharField(_("stand-in"), max_length=200, blank=True, default="")
    stand_in_person = models.ForeignKey(
        Person,
        verbose_name=_("stand-in (record)"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    replied_at = models.DateTimeField(_("replied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invited member")
        verbose_name_plural = _("invited members")
        ordering = ["meeting", "person__name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "person"], name="invitee_once_per_meeting"),
        ]

    def __str__(self):
        return f"{self.person}: {self.get_reply_display() or '–'}"


class InvitationToken(models.Model):
    """A personal reply link (``/rsvp/<token>/``): only the SHA-256 of the token is kept."""

    invitee = models.ForeignKey(
        Invitee, verbose_name=_("invited member"), on_delete=models.CASCADE, related_name="tokens"
    )
    token_hash = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("reply link")
        verbose_name_plural = _("reply links")

    def __str__(self):
        return f"{self.invitee} ({self.token_hash[:8]}…)"


def invitation_pdf_upload_to(instance, filename):
    return f"invitations/{timezone.localdate():%Y}/{filename}"


class InvitationPdf(models.Model):
    """The public invitation PDF as last sent: public agenda items only (issue 16).

    Stored through Django's storage when an invitation, its change or its cancellation
    goes out, one per meeting (the last sending replaces it), with its size and
    checksums; OParl's ``Meeting.invitation`` and the public pages serve it. ``items``
    are the agenda items it prints: should one of them be made non-public later, the
    file is no longer served.
    """

    invitation = models.OneToOneField(
        Invitation,
        verbose_name=_("invitation"),
        on_delete=models.CASCADE,
        related_name="public_pdf",
    )
    file = models.FileField(_("file"), upload_to=invitation_pdf_upload_to)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    sha512 = models.CharField(_("SHA-512"), max_length=128)
    sequence = models.PositiveIntegerField(_("calendar sequence"), default=0)
    items = models.JSONField(_("agenda items printed"), default=list, blank=True)
    state = models.JSONField(_("as printed"), null=True, blank=True)
    created_at = models.DateTimeField(_("first stored at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last stored at"), default=timezone.now)

    class Meta:
        verbose_name = _("public invitation PDF")
        verbose_name_plural = _("public invitation PDFs")

    def __str__(self):
        return f"{self.file.name} ({self.sha256[:12]}…)"


class CalendarFeed(models.Model):
    """A user's private calendar feed (``/calendar/<token>.ics``): the token's SHA-256 only."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user account"),
        on_delete=models.CASCADE,
        related_name="calendar_feed",
    )
    token_hash = models.CharField(_("SHA-256 of the token"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), auto_now=True)

    class Meta:
        verbose_name = _("calendar feed")
        verbose_name_plural = _("calendar feeds")

    def __str__(self):
        return str(self.user)
