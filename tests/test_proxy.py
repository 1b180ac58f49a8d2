"""The client's address behind our reverse proxy: lockouts and the audit trail.

The proxy (nginx with ``proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for``,
as README.md describes) connects from 127.0.0.1, the test client's REMOTE_ADDR, and
appends the address it saw to whatever X-Forwarded-For the client sent.
"""

import pytest
from auditlog.models import LogEntry
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import reverse
from django.utils.module_loading import import_string

from werkstatt.client_ip import client_ip

from .factories import MeetingFactory, UserFactory

PROXY = "127.0.0.1"
VICTIM = "203.0.113.5"
ATTACKER = "198.51.100.7"


def through_nginx(client_address, sent=None):
    """The request's META as gunicorn gets it from nginx: REMOTE_ADDR is the proxy."""
    header = f"{sent}, {client_address}" if sent else client_address
    return {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": header}


def address(meta):
    return client_ip(RequestFactory().get("/", **meta))


@pytest.mark.parametrize(
    ("count", "meta", "expected"),
    [
        # One proxy: the right-most entry is the one nginx added.
        (1, through_nginx(VICTIM), VICTIM),
        (1, through_nginx(ATTACKER, sent=VICTIM), ATTACKER),
        (1, through_nginx(ATTACKER, sent="10.0.0.1, 203.0.113.5"), ATTACKER),
        (1, through_nginx(ATTACKER, sent="unknown, <script>"), ATTACKER),
        (1, through_nginx("2001:db8::7"), "2001:db8::7"),
        (1, through_nginx("[2001:db8::7]:4711"), "2001:db8::7"),
        (1, through_nginx("203.0.113.5:4711"), VICTIM),
        (1, through_nginx("::ffff:203.0.113.5"), VICTIM),
        # A private client address stays the client's, even behind a public proxy.
        (1, {"REMOTE_ADDR": "192.0.2.1", "HTTP_X_FORWARDED_FOR": "10.1.2.3"}, "10.1.2.3"),
        # Two proxies: the outer one added the client, the inner one the outer proxy.
        (2, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"{VICTIM}, 10.0.0.2"}, VICTIM),
        (2, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": f"1.2.3.4, {VICTIM}, 10.0.0.2"}, VICTIM),
        # Too short, empty, missing or malformed: the socket's address, never an error.
        (2, through_nginx(VICTIM), PROXY),
        (1, {"REMOTE_ADDR": PROXY}, PROXY),
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": ""}, PROXY),
        (1, {"REMOTE_ADDR": PROXY, "HTTP_X_FORWARDED_FOR": " , "}, PROXY),
        (1, through_nginx("unknown"), PROXY),
        (1, through_nginx("203.0.113.500"), PROXY),
        (1, through_nginx("x" * 10_000), PROXY),
        # No proxy: the header is the client's own text and is ignored.
        (0, through_nginx(VICTIM), PROXY),
        (0, {"REMOTE_ADDR": ATTACKER, "HTTP_X_FORWARDED_FOR": VICTIM}, ATTACKER),
    ],
)
def test_the_client_address_is_the_entry_our_outermost_proxy_added(settings, count, meta, expected):
    settings.PROXY_COUNT = count
    assert address(meta) == expected


def test_lockouts_and_the_audit_trail_use_this_address():
    assert settings.AXES_CLIENT_IP_CALLABLE == "werkstatt.client_ip.client_ip"
    assert "werkstatt.middleware.AuditlogMiddleware" in settings.MIDDLEWARE
    assert "auditlog.middleware.AuditlogMiddleware" not in settings.MIDDLEWARE


def login(client, password, meta):
    return client.post(reverse("login"), {"username": "protokoll", "password": password}, **meta)


@pytest.mark.django_db
def test_wrong_passwords_from_a_spoofed_address_lock_out_only_the_sender(client, settings):
    settings.PROXY_COUNT = 1
    UserFactory(username="protokoll")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        # The attacker writes the victim's address into the header itself.
        login(client, "falsch", through_nginx(ATTACKER, sent=VICTIM))

    assert login(client, "secret", through_nginx(ATTACKER, sent=VICTIM)).status_code == 429
    assert login(client, "secret", through_nginx(ATTACKER)).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ATTACKER}

    # The victim, and anyone else behind the same proxy, still logs in.
    assert login(client, "secret", through_nginx(VICTIM)).status_code == 302
    client.logout()
    assert login(client, "secret", through_nginx("192.0.2.99")).status_code == 302


@pytest.mark.django_db
def test_two_clients_behind_the_proxy_count_apart(client, settings):
    settings.PROXY_COUNT = 1
    UserFactory(username="protokoll")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "falsch", through_nginx(VICTIM))
        login(client, "falsch", through_nginx(ATTACKER))

    # Four failures each, not eight from "the proxy": neither is locked out.
    assert login(client, "secret", through_nginx(VICTIM)).status_code == 302
    attempts = dict(AccessAttempt.objects.values_list("ip_address", "failures_since_start"))
    assert attempts == {ATTACKER: settings.AXES_FAILURE_LIMIT - 1}


@pytest.mark.django_db
def test_without_a_proxy_the_header_changes_nothing(client, settings):
    settings.PROXY_COUNT = 0
    UserFactory(username="protokoll")
    for n in range(settings.AXES_FAILURE_LIMIT):
        # A new made-up address each time does not escape the count.
        login(client, "falsch", {"HTTP_X_FORWARDED_FOR": f"203.0.113.{n}"})

    assert login(client, "secret", {}).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


@pytest.mark.django_db
def test_the_audit_trail_records_the_client_behind_the_proxy(settings):
    settings.PROXY_COUNT = 1
    request = RequestFactory().post("/", **through_nginx(ATTACKER, sent=VICTIM))
    request.user = UserFactory()

    def view(request):
        MeetingFactory(location="Cottbus")
        return HttpResponse()

    # The audit middleware as configured, in place of the whole stack.
    middleware = next(path for path in settings.MIDDLEWARE if "AuditlogMiddleware" in path)
    import_string(middleware)(view)(request)

    entry = LogEntry.objects.get()
    assert entry.remote_addr == ATTACKER
    assert entry.actor == request.user
