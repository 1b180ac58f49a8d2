from django.contrib import admin
from django.urls import include, path

from protokolle.views import health, meetings

urlpatterns = [
    path("", meetings.home, name="home"),
    path("healthz/", health.healthz, name="healthz"),
    path("", include("protokolle.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
