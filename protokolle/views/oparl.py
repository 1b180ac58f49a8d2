"""OParl 1.1, anonymous and read-only: ``/oparl/v1/`` is the ``System`` object.

JSON with ``Access-Control-Allow-Origin: *`` as the specification asks; a list
request with a parameter that cannot be understood gets 400 with an OParl error
object, an unknown object 404. The objects are built in ``protokolle.oparl``.
"""

import json

from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_GET

from .. import oparl

ERROR_TYPE = "https://schema.oparl.org/1.1/Error"


def _json(data, status=200):
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=1),
        content_type="application/json; charset=utf-8",
        status=status,
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _error(status, message):
    return _json({"type": ERROR_TYPE, "message": message}, status=status)


def _url_maker(request):
    def url(name, *args):
        return request.build_absolute_uri(reverse(f"protokolle:{name}", args=args))

    return url


@require_GET
def system(request):
    return _json(oparl.system(_url_maker(request)))


@require_GET
def bodies(request):
    url = _url_maker(request)
    try:
        limit, page, _filters = oparl.list_parameters(request.GET)
    except oparl.BadRequest as error:
        return _error(400, str(error))
    data = [oparl.body(url)] if page == 1 else []
    return _json(oparl.page_of(url, ("oparl_bodies",), request.GET, 1, limit, page, data))


@require_GET
def body(request, key):
    if key != oparl.BODY_KEY:
        return _error(404, "No such body.")
    return _json(oparl.body(_url_maker(request)))


@require_GET
def object_list(request, key, name):
    if key != oparl.BODY_KEY or name not in oparl.LISTS:
        return _error(404, "No such list.")
    try:
        return _json(oparl.LISTS[name](_url_maker(request), request.GET))
    except oparl.BadRequest as error:
        return _error(400, str(error))


@require_GET
def single(request, kind, key):
    try:
        return _json(oparl.find(_url_maker(request), kind, key))
    except oparl.NotFound:
        return _error(404, "No such object.")
