from django.conf import settings
from django.utils import translation


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
