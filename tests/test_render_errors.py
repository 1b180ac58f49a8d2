"""A PDF render that fails or takes too long: a message, never a server error.

The workflow enqueues the archival copies after the commit that confirms the minutes
(a task: at once in tests); when that render fails the minutes stay confirmed without
them. The download then renders the PDF on the fly, unsealed, and stores nothing;
verify_archive --repair and the exports render and store them.

The triggers refuse deleting ArchivedPdf rows, so confirmed minutes without their
copies are made the way they arise: the render fails during the confirmation.
"""

import io
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation

from protokolle import jobs, pdf
from protokolle.management.commands import verify_archive
from protokolle.models import ArchivedPdf

from .conftest import row_counts
from .factories import user_in

pytestmark = pytest.mark.django_db

SECONDS = 45


def timing_out(*args, **kwargs):
    raise pdf.RenderTimeout(SECONDS)


def crashing(*args, **kwargs):
    raise pdf.RenderError()


def no_render(*args, **kwargs):
    pytest.fail("rendered again")


def german(error):
    """The message ``error`` gives in the German UI."""
    with translation.override("de"):
        return str(error)


@pytest.fixture
def unarchived(minutes, monkeypatch):
    """Confirmed (public) minutes whose archival render timed out after the commit."""
    with monkeypatch.context() as patch:
        patch.setattr(pdf, "write_pdf", timing_out)
        meeting = minutes(status="confirmed")
    assert meeting.is_confirmed
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()
    return meeting


@pytest.fixture
def an_hour_later(monkeypatch):
    """verify_archive runs more than an hour after the confirmation: missing, not being made."""
    later = timezone.now() + timedelta(hours=1, minutes=1)
    monkeypatch.setattr(verify_archive.timezone, "now", lambda: later)


@pytest.fixture
def reader(client):
    def login(meeting):
        client.force_login(user_in(meeting.body))
        return client

    return login


def download(client, meeting, **params):
    return client.get(reverse("protokolle:minutes_pdf", args=[meeting.pk]), params)


def shown(response):
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def stored_variants(meeting):
    return set(ArchivedPdf.objects.filter(meeting=meeting).values_list("variant", flat=True))


def content(copy):
    with copy.file.open("rb") as handle:
        return handle.read()


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
    finally:
        run.out, run.err = out.getvalue(), err.getvalue()
    return run.out, run.err


# --- the download ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "message"),
    [(timing_out, pdf.RenderTimeout(SECONDS)), (crashing, pdf.RenderError())],
)
def test_a_draft_pdf_that_cannot_be_rendered_leads_to_the_preview_with_a_message(
    minutes, reader, monkeypatch, failure, message
):
    draft = minutes()
    client = reader(draft)
    monkeypatch.setattr(pdf, "write_pdf", failure)

    response = download(client, draft)

    assert response.status_code == 302
    assert response["Location"] == reverse("protokolle:minutes_preview", args=[draft.pk])
    assert shown(response) == [("error", german(message))]


def test_the_public_version_that_cannot_be_rendered_leads_to_its_own_preview(
    minutes, reader, monkeypatch
):
    draft = minutes()
    client = reader(draft)
    monkeypatch.setattr(pdf, "render_pdf", timing_out)

    response = download(client, draft, version="public")

    assert response.status_code == 302
    assert response["Location"] == (
        reverse("protokolle:minutes_preview", args=[draft.pk]) + "?version=public"
    )


def test_the_download_renders_on_the_fly_until_the_worker_stored_the_copies(
    unarchived, reader, monkeypatch
):
    client = reader(unarchived)

    response = download(client, unarchived)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "-vorlaeufig.pdf" in response["Content-Disposition"]
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert stored_variants(unarchived) == set()  # the request archives nothing

    jobs.archive_minutes.call(unarchived.pk)  # the worker

    assert stored_variants(unarchived) == {"members", "public"}
    response = download(client, unarchived)
    copy = ArchivedPdf.objects.get(meeting=unarchived, variant="members")
    assert pdf.verify(copy) is None
    assert b"".join(response.streaming_content) == content(copy)
    assert copy.file.name.rsplit("/", 1)[-1] in response["Content-Disposition"]
    # Stored once: the next download serves the file and renders nothing.
    monkeypatch.setattr(pdf, "render_pdf", no_render)
    public = download(client, unarchived, version="public")
    stored = ArchivedPdf.objects.get(meeting=unarchived, variant="public")
    assert b"".join(public.streaming_content) == content(stored)


def test_confirmed_minutes_whose_copies_cannot_be_rendered_give_a_message(
    unarchived, reader, monkeypatch
):
    client = reader(unarchived)
    monkeypatch.setattr(pdf, "write_pdf", timing_out)

    response = download(client, unarchived)

    assert response.status_code == 302
    assert response["Location"] == reverse("protokolle:minutes_preview", args=[unarchived.pk])
    assert shown(response) == [("error", german(pdf.RenderTimeout(SECONDS)))]
    assert stored_variants(unarchived) == set()


# --- verify_archive -------------------------------------------------------------------------


def test_verify_archive_lists_copies_being_made_within_the_hour_as_no_problem(
    unarchived, monkeypatch
):
    monkeypatch.setattr(pdf, "render_pdf", no_render)

    out, err = run("verify_archive", "--repair")

    assert f"being made: meeting {unarchived.pk}, " in out
    assert "(members, public)" in out
    assert "missing" not in err and "repaired" not in out
    assert stored_variants(unarchived) == set()  # the worker's to make


def test_verify_archive_reports_confirmed_minutes_without_their_copies_and_writes_nothing(
    unarchived, minutes, monkeypatch, an_hour_later
):
    minutes(status="confirmed", number=9)  # archived as usual
    monkeypatch.setattr(pdf, "render_pdf", no_render)
    before = row_counts()

    with pytest.raises(CommandError, match="1 confirmed minutes lack archived PDFs.*--repair"):
        run("verify_archive")

    assert f"missing: meeting {unarchived.pk}, " in run.err
    assert "(members, public)" in run.err
    assert run.err.count("missing:") == 1
    assert row_counts() == before


def test_verify_archive_repair_renders_and_stores_the_missing_copies(unarchived, an_hour_later):
    out, _err = run("verify_archive", "--repair")

    assert stored_variants(unarchived) == {"members", "public"}
    assert out.count("repaired: ") == 2
    assert "all 2 archived PDF(s) are present and unchanged" in out
    for copy in ArchivedPdf.objects.filter(meeting=unarchived):
        assert pdf.verify(copy) is None
    # Nothing left to report.
    out, err = run("verify_archive")
    assert "all 2 archived PDF(s) are present and unchanged" in out
    assert err == ""


def test_verify_archive_repair_reports_a_render_that_fails_and_exits_non_zero(
    unarchived, monkeypatch, an_hour_later
):
    monkeypatch.setattr(pdf, "write_pdf", timing_out)

    with pytest.raises(CommandError, match="could not be rendered"):
        run("verify_archive", "--repair")

    assert f"not repaired: meeting {unarchived.pk}, " in run.err
    assert str(pdf.RenderTimeout(SECONDS)) in run.err
    assert stored_variants(unarchived) == set()


def test_verify_archive_passes_over_drafts_and_non_public_minutes_have_one_copy(
    minutes, monkeypatch
):
    minutes()  # a draft has no copies to lack
    minutes(status="confirmed", number=9, public=False)
    monkeypatch.setattr(pdf, "render_pdf", no_render)

    out, _err = run("verify_archive")

    assert "all 1 archived PDF(s) are present and unchanged" in out
