from django.urls import path

from . import views

app_name = "protokolle"

urlpatterns = [
    path("meetings/<int:pk>/minutes.pdf", views.minutes_pdf, name="minutes_pdf"),
    path("meetings/<int:pk>/preview/", views.minutes_preview, name="minutes_preview"),
]
