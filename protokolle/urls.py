from django.urls import path

from . import views

app_name = "protokolle"

urlpatterns = [
    path("bodies/<int:body_pk>/meetings/new/", views.meeting_new, name="meeting_new"),
    path("meetings/<int:pk>/", views.meeting_detail, name="meeting_detail"),
    path("meetings/<int:pk>/edit/", views.meeting_edit, name="meeting_edit"),
    path("meetings/<int:pk>/circulate/", views.meeting_circulate, name="meeting_circulate"),
    path("meetings/<int:pk>/reopen/", views.meeting_reopen, name="meeting_reopen"),
    path("meetings/<int:pk>/respond/", views.meeting_respond, name="meeting_respond"),
    path("meetings/<int:pk>/circulation/", views.meeting_circulation, name="meeting_circulation"),
    path("meetings/<int:pk>/approve/", views.meeting_approve, name="meeting_approve"),
    path("meetings/<int:pk>/versions/<int:number>/", views.version_diff, name="version_diff"),
    path("meetings/<int:pk>/preview/", views.minutes_preview, name="minutes_preview"),
    path("meetings/<int:pk>/minutes.pdf", views.minutes_pdf, name="minutes_pdf"),
]
