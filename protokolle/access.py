"""Who may see what, and who may write: decided here, and only here.

Views, search, templates and the workflow ask the functions below; nothing else
looks at memberships, ``is_staff`` or ``is_superuser`` to decide a right.

The rule
--------
A membership gives rights only while it is current: from its start to its end,
both days included, either of them open (``Membership.is_active_on``). A former
member, and one whose seat begins later, has no right from it at all, for
reading as for writing.

- Members of a body (any role) read its minutes: its meetings and their versions,
  the members' version with the non-public items, in the pages, the PDF, the
  preview and the search alike; its attachments, archive and tasks. They respond
  to circulated minutes.
- Minute-takers of a body also write its minutes: create a meeting, open the
  editor and save, decide on earlier minutes, circulate, reopen, set a deadline,
  mark tasks done.
- Site staff (``is_staff``, not superuser) read every body's minutes exactly as a
  member does: the members' version, non-public items included, in the pages,
  PDF, preview AND search. They write only where they are a current
  minute-taker.
- Superusers read and write everywhere.
- Responding is a member's own act: staff and superusers respond only where they
  hold a current membership.
- Everyone else, and anonymous or inactive users, read and write nothing. A
  meeting they may not read answers 404: outsiders do not learn that it exists.

Whoever reads a body's minutes reads its members' version. The public version is
a variant a reader may ask for (``?version=public``); it exists only for public
meetings.

Every right is a query (the dates are compared in the database), so pages ask a
fixed number of queries whatever the number of memberships.
"""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from .models import (
    ArchivedPdf,
    Attachment,
    Body,
    Meeting,
    Membership,
    MinutesVersion,
    Participant,
    Person,
    Presenter,
    SearchEntry,
)

# The query parameter that asks for a variant of the minutes (PDF and preview).
VARIANT_PARAMETER = "version"


# --- who the user is ---------------------------------------------------------------------


def _signed_in(user):
    return user.is_authenticated and user.is_active


def _reads_everything(user):
    """Staff and superusers read every body's minutes (see the rule above)."""
    return _signed_in(user) and (user.is_staff or user.is_superuser)


def _writes_everything(user):
    return _signed_in(user) and user.is_superuser


def current(day=None, prefix=""):
    """A Q for memberships current on ``day`` (default today): start and end included.

    ``prefix`` reaches memberships through a relation, e.g. ``"memberships__"``.
    The same rule as ``Membership.is_active_on``, asked of the database.
    """
    day = day or timezone.localdate()
    return (Q(**{f"{prefix}start__isnull": True}) | Q(**{f"{prefix}start__lte": day})) & (
        Q(**{f"{prefix}end__isnull": True}) | Q(**{f"{prefix}end__gte": day})
    )


def current_memberships(user, day=None):
    """The user's memberships that are current on ``day`` (default today)."""
    if not _signed_in(user):
        return Membership.objects.none()
    return Membership.objects.filter(current(day), person__user=user)


# --- bodies ------------------------------------------------------------------------------


def member_bodies(user):
    """The bodies in which ``user`` holds a current membership (any role)."""
    return Body.objects.filter(pk__in=current_memberships(user).values("body"))


def readable_bodies(user):
    """The bodies whose minutes ``user`` reads: current members', and every body for
    staff and superusers."""
    if not _signed_in(user):
        return Body.objects.none()
    if _reads_everything(user):
        return Body.objects.all()
    return member_bodies(user)


def writable_bodies(user):
    """The bodies whose minutes ``user`` writes: current minute-takers', and every body
    for superusers."""
    if not _signed_in(user):
        return Body.objects.none()
    if _writes_everything(user):
        return Body.objects.all()
    takers = current_memberships(user).filter(role=Membership.Role.MINUTE_TAKER)
    return Body.objects.filter(pk__in=takers.values("body"))


def can_read(user, body):
    """Whether ``user`` reads ``body``'s minutes (the members' version)."""
    if _reads_everything(user):
        return True
    return current_memberships(user).filter(body=body).exists()


def can_write(user, body):
    """Whether ``user`` writes ``body``'s minutes: its current minute-takers, and
    superusers. Every writing step asks this (editor, save, circulate, reopen,
    decisions on earlier minutes, deadline, tasks)."""
    if not _signed_in(user):
        return False
    if _writes_everything(user):
        return True
    return current_memberships(user).filter(body=body, role=Membership.Role.MINUTE_TAKER).exists()


def membership_of(user, body):
    """The user's current membership in ``body``, or None: whom a response speaks for."""
    return current_memberships(user).filter(body=body).select_related("person").first()


def sees_raw_history(user):
    """The raw audit log under a meeting's history: for those who open the administration."""
    return _signed_in(user) and user.is_staff


# --- meetings and what belongs to them ---------------------------------------------------


def visible_meetings(user, queryset=None):
    """The meetings of ``queryset`` (default: all) whose minutes ``user`` reads."""
    queryset = Meeting.objects.all() if queryset is None else queryset
    return queryset.filter(body__in=readable_bodies(user))


def get_meeting_for_user(request, queryset, pk, *, write=False):
    """Load a meeting from ``queryset`` for the request's user.

    404 to anyone who may not read the body's minutes (outsiders do not learn
    that a meeting exists), 403 to readers when ``write`` is asked.
    """
    try:
        meeting = visible_meetings(request.user, queryset).get(pk=pk)
    except queryset.model.DoesNotExist as exc:
        raise Http404("no such meeting") from exc
    if write and not can_write(request.user, meeting.body):
        raise PermissionDenied
    return meeting


def visible_versions(user):
    """The circulated versions ``user`` reads: every version of the minutes they read."""
    return MinutesVersion.objects.filter(meeting__body__in=readable_bodies(user))


def visible_attachments(user):
    """The attachments ``user`` may download: those of the minutes they read."""
    return Attachment.objects.filter(meeting__body__in=readable_bodies(user))


def visible_search_entries(user):
    """The search entries ``user`` finds: of confirmed minutes they read.

    Non-public entries included, as in the members' version of the PDF that every
    reader gets (staff alike); drafts and circulated minutes are not searched.
    """
    return SearchEntry.objects.filter(
        body__in=readable_bodies(user), meeting__status=Meeting.Status.CONFIRMED
    )


# --- variants of the minutes: members' or public -----------------------------------------


def minutes_variants(meeting):
    """The variants the minutes of ``meeting`` exist in: the members' version always,
    the public version for public meetings only. A reader may ask for each."""
    if meeting.public:
        return [ArchivedPdf.Variant.MEMBERS, ArchivedPdf.Variant.PUBLIC]
    return [ArchivedPdf.Variant.MEMBERS]


def minutes_variant(meeting, asked=None):
    """The variant a reader gets of ``meeting``'s minutes in PDF and preview.

    ``asked`` is the ``?version=`` parameter: ``"public"`` asks for the public
    version (404 for a meeting that has none); anything else is the members'
    version, which every reader reads (staff alike).
    """
    if asked == ArchivedPdf.Variant.PUBLIC:
        if ArchivedPdf.Variant.PUBLIC not in minutes_variants(meeting):
            raise Http404(_("These minutes have no public version."))
        return ArchivedPdf.Variant.PUBLIC
    return ArchivedPdf.Variant.MEMBERS


def requested_variant(request, meeting):
    """``minutes_variant`` for the variant the request's query string asks for."""
    return minutes_variant(meeting, request.GET.get(VARIANT_PARAMETER))


# --- people ------------------------------------------------------------------------------


def suggested_people(body):
    """The people the editor offers for ``body``, newest record first: its members, and
    everyone its minutes link to (participants, presenters, chairs, minute-takers).
    Nobody else's: a name from another body must not bring that body's details along."""
    meetings = Meeting.objects.filter(body=body)
    return (
        Person.objects.filter(
            Q(memberships__body=body)
            | Q(pk__in=Participant.objects.filter(meeting__body=body).values("person"))
            | Q(pk__in=Presenter.objects.filter(agenda_item__meeting__body=body).values("person"))
            | Q(pk__in=meetings.values("chair_person"))
            | Q(pk__in=meetings.values("minute_taker_person"))
        )
        .distinct()
        .order_by("-pk")
    )
