from django.urls import path

from .views import archive, drafting, editor, invitations, meetings, oparl, public

app_name = "protokolle"

urlpatterns = [
    path("bodies/<int:body_pk>/meetings/new/", drafting.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", meetings.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/edit/", editor.meeting_edit, name="meeting_edit"),
    path("meetings/<int:pk>/circulate/", drafting.meeting_circulate, name="meeting_circulate"),
    path("meetings/<int:pk>/notify/", drafting.meeting_notify, name="meeting_notify"),
    path("meetings/<int:pk>/reopen/", meetings.meeting_reopen, name="meeting_reopen"),
    path("meetings/<int:pk>/respond/", meetings.meeting_respond, name="meeting_respond"),
    path(
        "meetings/<int:pk>/circulation/", meetings.meeting_circulation, name="meeting_circulation"
    ),
    path("meetings/<int:pk>/approve/", editor.meeting_approve, name="meeting_approve"),
    path("meetings/<int:pk>/versions/<int:number>/", meetings.version_diff, name="version_diff"),
    path("meetings/<int:pk>/preview/", meetings.minutes_preview, name="minutes_preview"),
    path("meetings/<int:pk>/minutes.pdf", meetings.minutes_pdf, name="minutes_pdf"),
    path("attachments/<int:pk>/", meetings.attachment_download, name="attachment"),
    # Before the meeting: the invitation, replies without logging in, calendars (issue 14).
    path("meetings/<int:pk>/invitation.pdf", invitations.invitation_pdf, name="invitation_pdf"),
    path("meetings/<int:pk>/invitation.ics", invitations.invitation_ics, name="invitation_ics"),
    path("meetings/<int:pk>/invite/", invitations.meeting_invite, name="meeting_invite"),
    path("rsvp/<str:token>/", invitations.rsvp, name="rsvp"),
    path("profile/", invitations.profile, name="profile"),
    path("profile/calendar/", invitations.calendar_token, name="calendar_token"),
    path("calendar/<str:token>.ics", invitations.calendar_feed, name="calendar_feed"),
    path("archive/", archive.archive_list, name="archive"),
    path("archive/search/", archive.archive_search, name="search"),
    path("tasks/", archive.task_list, name="tasks"),
    path("tasks/<int:pk>/done/", archive.task_toggle, {"done": True}, name="task_done"),
    path("tasks/<int:pk>/open/", archive.task_toggle, {"done": False}, name="task_open"),
    # Public pages and OParl (issue 16): anonymous, read-only, published bodies only.
    path("public/", public.public_index, name="public_index"),
    path("public/minutes.atom", public.public_feed, name="public_feed"),
    path("public/<int:body_pk>/", public.public_body, name="public_body"),
    path("public/<int:body_pk>/meetings.ics", public.public_calendar, name="public_calendar"),
    path("public/meetings/<int:pk>/", public.public_meeting, name="public_meeting"),
    path(
        "public/meetings/<int:pk>/minutes.pdf",
        public.public_minutes_pdf,
        name="public_minutes_pdf",
    ),
    path(
        "public/meetings/<int:pk>/invitation.pdf",
        public.public_invitation_pdf,
        name="public_invitation_pdf",
    ),
    path("oparl/v1/", oparl.system, name="oparl_system"),
    path("oparl/v1/bodies/", oparl.bodies, name="oparl_bodies"),
    path("oparl/v1/body/<str:key>/", oparl.body, name="oparl_body"),
    path("oparl/v1/body/<str:key>/<str:name>/", oparl.object_list, name="oparl_list"),
    path("oparl/v1/<str:kind>/<str:key>/", oparl.single, name="oparl_object"),
]
