import copy
import json
from pathlib import Path

import pytest
from django.apps import apps

from protokolle import pdf, workflow

REFERENCE = (
    Path(__file__).resolve().parent.parent
    / "protokolle"
    / "demo"
    / "ergebnisprotokoll-2022-03-21.json"
)


@pytest.fixture
def reference_document():
    """The reference minutes (8th Werkstatt meeting) as a fresh, mutable dict."""
    return json.loads(REFERENCE.read_text(encoding="utf-8"))


@pytest.fixture
def minutes(reference_document):
    """Import the reference minutes as a meeting: ``minutes(status="confirmed", number=9)``.

    ``body`` renames the body (another body), ``change(meeting_dict)`` edits the
    document's meeting before the import, ``alone=True`` drops the decisions on earlier
    minutes and the next meeting's date, and further keywords set fields of the meeting.
    Takes the reference document as the test left it.
    """

    def make(
        status="draft",
        number=8,
        date="2022-03-21",
        body=None,
        change=None,
        alone=False,
        **meeting,
    ):
        document = copy.deepcopy(reference_document)
        document["meeting"].update(status=status, number=number, date=date)
        if alone:
            document["meeting"].update(approves_minutes_of=[], next_meeting=None)
        document["meeting"].update(meeting)
        if body:
            document["body"]["name"] = body
        if change:
            change(document["meeting"])
        return workflow.import_minutes(document)

    return make


@pytest.fixture
def minimal_document():
    return copy.deepcopy(
        {
            "format": "werkstatt-protokoll/1",
            "body": {"name": "Werkstatt Test"},
            "meeting": {"date": "2024-05-06", "agenda": [{"title": "Begrüßung"}]},
        }
    )


def row_counts():
    """How many rows each of our models has: to prove that nothing was written."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_app_config("protokolle").get_models()
    }


@pytest.fixture
def unchanged_database(db):
    """Assert at the end of the test that no row was added or removed."""
    before = row_counts()
    yield
    assert row_counts() == before


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Tests create many users; the real hasher is slow on purpose."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session")
def seal_certificate(tmp_path_factory):
    """A self-signed seal certificate (PKCS#12, password "demo") made once per run."""
    from protokolle import seal

    return seal.make_demo_seal(
        tmp_path_factory.mktemp("seal") / "test-seal.p12", name="Test-Siegel"
    )


@pytest.fixture(autouse=True)
def seal_configured(settings, seal_certificate):
    """Archival PDFs are sealed: every test has the test seal configured."""
    settings.PDF_SEAL_PKCS12 = str(seal_certificate)
    settings.PDF_SEAL_PASSWORD = "demo"
    settings.PDF_SEAL_TIMESTAMP_URL = ""
    return seal_certificate


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored files (archival PDFs, uploads) go to a fresh folder per test."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def allow_flush_of_confirmed_minutes(request):
    """Let the test database be emptied after a transactional test.

    Django empties it with DELETE on SQLite, which the triggers that keep
    confirmed minutes unchanged refuse (PostgreSQL's TRUNCATE fires no row
    triggers). Drop them after the test, before the flush; put them back before
    the next one. Production databases keep them always.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = (
        "transactional_db" in request.fixturenames
        or "live_server" in request.fixturenames
        or (marker is not None and marker.kwargs.get("transaction", False))
    )
    if not transactional:
        yield
        return
    from django.db import connection

    from protokolle import immutability

    request.getfixturevalue("transactional_db")
    immutability.ensure(connection)
    yield
    immutability.drop(connection)


@pytest.fixture
def fresh_typesetter():
    """A PDF typesetting child forked during the test (it inherits the test's patches),
    and none left afterwards that carries them."""
    pdf.stop_typesetter()
    yield
    pdf.stop_typesetter()


@pytest.fixture(autouse=True)
def tasks_run_at_once(settings):
    """Background tasks (protokolle/jobs.py) run when enqueued: the immediate backend.

    Tests of the queue itself set another backend (tests/test_jobs.py).
    """
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
