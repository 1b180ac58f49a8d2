"""The start page's view ahead: upcoming meetings, the user's reply, invitations to send.

``{% upcoming_meetings bodies writable as upcoming %}`` takes what the start page
already has (the readable bodies with their meetings prefetched, the pks of the
writable ones; access.py decided both) and adds two queries: the user's own replies
and the meetings' invitations. At most ``limit`` meetings from today on whose minutes
are not yet circulated.
"""

from django import template
from django.utils import timezone

from ..models import Invitation, Invitee, Meeting

register = template.Library()


@register.simple_tag(takes_context=True)
def upcoming_meetings(context, bodies, writable, limit=10):
    today = timezone.localdate()
    meetings = sorted(
        (
            meeting
            for body in bodies
            for meeting in body.meetings.all()
            if meeting.date >= today and meeting.status == Meeting.Status.DRAFT
        ),
        key=lambda meeting: (meeting.date, meeting.start is not None, meeting.start, meeting.pk),
    )[:limit]
    if not meetings:
        return []
    user = context["request"].user
    own = {
        invitee.meeting_id: invitee
        for invitee in Invitee.objects.filter(meeting__in=meetings, person__user=user)
    }
    invitations = {i.meeting_id: i for i in Invitation.objects.filter(meeting__in=meetings)}
    rows = []
    for meeting in meetings:
        invitation = invitations.get(meeting.pk)
        rows.append(
            {
                "meeting": meeting,
                "own": own.get(meeting.pk),
                "writer": meeting.body_id in writable,
                "cancelled": bool(invitation and invitation.cancelled_at),
                "to_send": meeting.body_id in writable and not (invitation and invitation.sent_at),
            }
        )
    return rows
