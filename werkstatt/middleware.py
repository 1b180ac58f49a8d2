from auditlog.middleware import AuditlogMiddleware as BaseAuditlogMiddleware
from django.conf import settings
from django.utils import translation

from .client_ip import client_ip


class LanguageMiddleware:
    """German unless the user chose another language (Django's set_language cookie).

    Django's LocaleMiddleware would follow the browser's Accept-Language; our
    users' offices often run English browsers but work in German.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.available = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in self.available else settings.LANGUAGE_CODE
        request.LANGUAGE_CODE = language
        # override() restores the previous language afterwards, so none leaks into
        # whatever this thread runs next.
        with translation.override(language):
            response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


class AuditlogMiddleware(BaseAuditlogMiddleware):
    """django-auditlog's middleware, recording the client's address as our proxies saw it.

    Its own takes the left-most X-Forwarded-For entry, which any client can write,
    even when no proxy stands in front of the app.
    """

    @staticmethod
    def _get_remote_addr(request):
        if settings.AUDITLOG_DISABLE_REMOTE_ADDR:
            return None
        return client_ip(request)
