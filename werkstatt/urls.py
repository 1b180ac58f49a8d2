from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path
from django.views.decorators.http import require_GET

from protokolle.views import health, meetings


@require_GET
def favicon(request):
    """Browsers ask for /favicon.ico where a page names no icon (PDFs, feeds, API)."""
    return redirect(static("favicon.svg"), permanent=True)


urlpatterns = [
    path("favicon.ico", favicon, name="favicon"),
    path("", meetings.home, name="home"),
    path("healthz/", health.healthz, name="healthz"),
    path("", include("protokolle.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("_nested_admin/", include("nested_admin.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
]
