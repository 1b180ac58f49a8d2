"""Simultaneous clicks and saves against a running server: they wait for each other.

On SQLite the server is ``manage.py runserver`` (what ``make run`` starts) in a
process of its own, on a database file of its own: pytest-django's test database
lives in memory, and its live server lets every request thread share the test's
one connection, so it could not show what one file and a connection per request
do. On PostgreSQL the server is pytest-django's ``live_server``.

Either way the data is made, and read back, where that server's database is.
"""

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from django.conf import settings
from django.urls import reverse

from .html_forms import form_data

PROJECT = Path(__file__).resolve().parent.parent
# The CSRF cookie every tab sends; the form token may be this secret itself.
CSRF_SECRET = "c" * 32


# --- where the database is: functions run there, by name ----------------------------


def make_draft(body_name):
    """A draft of the reference minutes and its body's minute-taker, logged in."""
    from django.test import Client

    from protokolle.models import Membership

    from .conftest import REFERENCE
    from .factories import MembershipFactory, PersonFactory, UserFactory
    from .test_workflow import make_meeting

    document = json.loads(REFERENCE.read_text(encoding="utf-8"))
    document["body"]["name"] = body_name
    meeting = make_meeting(document)
    # The factories' sequences start anew in each process: a name of its own.
    writer = UserFactory(username=f"protokoll-{meeting.pk}")
    MembershipFactory(
        body=meeting.body,
        person=PersonFactory(user=writer, email=f"protokoll-{meeting.pk}@example.org"),
        role=Membership.Role.MINUTE_TAKER,
    )
    browser = Client()
    browser.force_login(writer)
    return {"meeting": meeting.pk, "session": browser.cookies[settings.SESSION_COOKIE_NAME].value}


def meeting_state(pk):
    from protokolle.models import Meeting

    meeting = Meeting.objects.get(pk=pk)
    return {
        "status": meeting.status,
        "versions": meeting.versions.count(),
        "location": meeting.location,
        "chair_function": meeting.chair_function,
    }


def sqlite_pragmas():
    from django.db import connection

    with connection.cursor() as cursor:
        return {
            name: cursor.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("journal_mode", "synchronous", "busy_timeout")
        } | {"transaction_mode": connection.transaction_mode}


FUNCTIONS = {
    "make_draft": make_draft,
    "meeting_state": meeting_state,
    "sqlite_pragmas": sqlite_pragmas,
}


class InProcess:
    """PostgreSQL: pytest-django's live server shares the test's database."""

    def __init__(self, url):
        self.url = url

    def run(self, name, *args):
        return json.loads(json.dumps(FUNCTIONS[name](*args)))


class Subprocess:
    """SQLite: ``manage.py runserver`` on a database file, as ``make run`` starts it."""

    def __init__(self, folder):
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DJANGO_SETTINGS_MODULE": "werkstatt.settings",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            "DJANGO_MEDIA_ROOT": str(folder / "media"),
            "DJANGO_DEBUG": "true",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "DJANGO_EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "DJANGO_LOG_LEVEL": "WARNING",
        }
        self.log = folder / "server.log"
        self.manage("migrate", "--no-input", "-v0")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        with self.log.open("w") as log:
            self.server = subprocess.Popen(
                [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                cwd=PROJECT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self.wait_until_up()

    def manage(self, *args):
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout + result.stderr

    def wait_until_up(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert self.server.poll() is None, self.log.read_text()
            try:
                status, _location, _page = Tab(self.url, {}).request("GET", "/healthz/")
            except OSError:
                time.sleep(0.2)
                continue
            assert status == 200, self.log.read_text()
            return
        raise AssertionError("runserver did not answer within 60 s:\n" + self.log.read_text())

    def run(self, name, *args):
        code = (
            "import django, json, sys; django.setup(); "
            "from tests.test_sqlite_concurrency import FUNCTIONS; "
            "print(json.dumps(FUNCTIONS[sys.argv[1]](*json.loads(sys.argv[2]))))"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, name, json.dumps(args)],
            cwd=PROJECT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.strip().splitlines()[-1])

    def stop(self):
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory):
    server = Subprocess(tmp_path_factory.mktemp("sqlite-server"))
    yield server
    server.stop()


ON_SQLITE = settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"

if ON_SQLITE:

    @pytest.fixture
    def site(sqlite_server):
        return sqlite_server

else:

    @pytest.fixture
    def site(live_server):
        return InProcess(live_server.url)


# --- the browser side: one tab per thread ---------------------------------------------


class Tab:
    """One browser tab: its own connection, its own cookies, no JavaScript."""

    def __init__(self, url, cookies):
        self.address = urlsplit(url)
        self.cookies = {"csrftoken": CSRF_SECRET, **cookies}

    def request(self, method, path, data=None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if data is not None:
            body = urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.address.hostname, self.address.port, timeout=90)
        try:
            conn.request(method, path, body, headers)
            response = conn.getresponse()
            page = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.coded_value
            return response.status, response.getheader("Location"), page
        finally:
            conn.close()

    def post(self, path, data):
        """POST, then show the page it leads to: (status of the POST, page shown)."""
        status, location, page = self.request("POST", path, data)
        if status in (301, 302, 303) and location:
            _status, _location, page = self.request("GET", urlsplit(location).path)
        return status, page


def alerts(page, kind):
    return page.count(f'class="alert alert-{kind}"')


def summary(page):
    """What a page says went wrong: its title (Django's error page names the exception),
    its messages and form errors."""
    found = re.findall(r"<title>(.*?)</title>", page, re.S)
    found += re.findall(
        r'class="(?:alert alert-\w+|invalid-feedback[^"]*)"[^>]*>(.*?)<', page, re.S
    )
    return " | ".join(" ".join(text.split()) for text in found)


def at_once(tasks):
    """Run the callables in threads that start together; their results, in order."""
    start = threading.Barrier(len(tasks))
    results = [None] * len(tasks)

    def worker(index, task):
        start.wait()
        try:
            results[index] = task()
        except Exception as error:  # reported below, with the others
            results[index] = error

    threads = [threading.Thread(target=worker, args=item) for item in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(isinstance(r, Exception) for r in results), results
    return results


# --- the tests ----------------------------------------------------------------------


def test_eight_simultaneous_circulate_clicks_circulate_once(site):
    scene = site.run("make_draft", "Werkstatt Verteilen")
    path = reverse("protokolle:meeting_circulate", args=[scene["meeting"]])
    tabs = [Tab(site.url, {"sessionid": scene["session"]}) for _ in range(8)]

    results = at_once(
        [lambda tab=tab: tab.post(path, {"csrfmiddlewaretoken": CSRF_SECRET}) for tab in tabs]
    )

    statuses = [status for status, _page in results]
    assert statuses == [302] * 8, [summary(page) for status, page in results if status != 302]
    pages = [page for _status, page in results]
    assert not any("database is locked" in page for page in pages)
    # One tab circulated; the seven others say why not, in words.
    assert sum(alerts(page, "success") + alerts(page, "warning") for page in pages) == 1
    refusals = [page for page in pages if alerts(page, "danger")]
    assert len(refusals) == 7
    assert all("nicht möglich" in page for page in refusals)
    state = site.run("meeting_state", scene["meeting"])
    assert (state["status"], state["versions"]) == ("circulated", 1)


def test_two_tabs_saving_different_fields_at_once_both_keep_their_input(site):
    scene = site.run("make_draft", "Werkstatt Speichern")
    path = reverse("protokolle:meeting_edit", args=[scene["meeting"]])
    tabs = [Tab(site.url, {"sessionid": scene["session"]}) for _ in range(2)]
    forms = []
    for tab in tabs:
        status, _location, page = tab.request("GET", path)
        assert status == 200, summary(page)
        forms.append(form_data(page))
    forms[0]["meeting-location"] = "Cottbus, Rathaus"
    forms[1]["meeting-chair_function"] = "Sprecherin der Werkstatt"

    results = at_once(
        [lambda t=tab, f=form: t.post(path, f) for tab, form in zip(tabs, forms, strict=True)]
    )

    statuses = [status for status, _page in results]
    assert statuses == [302, 302], [summary(page) for status, page in results if status != 302]
    assert all(alerts(page, "success") == 1 for _status, page in results)
    state = site.run("meeting_state", scene["meeting"])
    assert state["location"] == "Cottbus, Rathaus"
    assert state["chair_function"] == "Sprecherin der Werkstatt"


@pytest.mark.skipif(not ON_SQLITE, reason="SQLite's own settings")
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_immediate_transactions(site):
    assert site.run("sqlite_pragmas") == {
        "journal_mode": "wal",
        "synchronous": 1,  # NORMAL
        "busy_timeout": 20_000,
        "transaction_mode": "IMMEDIATE",
    }
