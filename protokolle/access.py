"""Who may read and who may write a body's minutes: decided here, asked everywhere."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils import timezone

from .models import Body, Meeting, Membership, Participant, Person, Presenter


def readable_bodies(user):
    """The bodies whose minutes ``user`` may read (members, and site staff)."""
    if not user.is_authenticated or not user.is_active:
        return Body.objects.none()
    if user.is_staff or user.is_superuser:
        return Body.objects.all()
    return Body.objects.filter(memberships__person__user=user).distinct()


def writable_bodies(user):
    """The bodies whose drafts ``user`` edits."""
    if not user.is_authenticated or not user.is_active:
        return Body.objects.none()
    if user.is_superuser:
        return Body.objects.all()
    return Body.objects.filter(
        memberships__person__user=user, memberships__role=Membership.Role.MINUTE_TAKER
    ).distinct()


def can_write(user, body):
    """Minute-takers of the body, and site administrators, edit its drafts."""
    if user.is_superuser:
        return True
    return Membership.objects.filter(
        body=body, person__user=user, role=Membership.Role.MINUTE_TAKER
    ).exists()


def get_meeting_for_user(request, queryset, pk, *, write=False):
    """Load a meeting from ``queryset`` for the request's user.

    404 to anyone who may not read the body's minutes (outsiders do not learn
    that a meeting exists), 403 to readers when ``write`` is asked.
    """
    try:
        meeting = queryset.get(pk=pk, body__in=readable_bodies(request.user))
    except queryset.model.DoesNotExist as exc:
        raise Http404("no such meeting") from exc
    if write and not can_write(request.user, meeting.body):
        raise PermissionDenied
    return meeting


def membership_of(user, body):
    """The user's current membership in ``body``, or None."""
    if not user.is_authenticated:
        return None
    today = timezone.localdate()
    for membership in Membership.objects.filter(body=body, person__user=user).select_related(
        "person"
    ):
        if membership.is_active_on(today):
            return membership
    return None


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
