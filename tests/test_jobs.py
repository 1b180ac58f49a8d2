"""Background tasks: no request waits on rendering or mail (protokolle/jobs.py).

Most tests here use Django's dummy task backend, which keeps what was enqueued
instead of running it; "the worker" is the task function called directly.
"""

import pytest
from django.core import mail
from django.urls import reverse
from django_tasks import default_task_backend

from protokolle import jobs, pdf, workflow
from protokolle.models import ArchivedPdf, Meeting

from .factories import MembershipFactory, PersonFactory, writer_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(settings):
    """Tasks are kept, not run: the list of what was enqueued (TaskResult objects)."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    default_task_backend.clear()
    return default_task_backend.results


@pytest.fixture
def circulated(minutes):
    meeting = minutes()
    writer = writer_of(meeting.body)
    workflow.circulate(meeting.pk, writer)
    return meeting, writer


def no_render(*args, **kwargs):
    pytest.fail("rendered in the request")


def names(results):
    return [result.task.name for result in results]


def test_confirming_enqueues_the_archival_copies_and_renders_nothing(
    circulated, queued, monkeypatch
):
    meeting, writer = circulated
    monkeypatch.setattr(pdf, "write_pdf", no_render)

    workflow.confirm(meeting.pk, writer)

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CONFIRMED
    assert names(queued) == ["archive_minutes"]
    assert queued[0].args == [meeting.pk]
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()


def test_the_worker_stores_the_copies_and_a_second_run_changes_nothing(circulated, queued):
    meeting, writer = circulated
    workflow.confirm(meeting.pk, writer)

    stored = jobs.archive_minutes.call(*queued[0].args, **queued[0].kwargs)

    assert stored == ["members", "public"]
    before = list(ArchivedPdf.objects.filter(meeting=meeting).values_list("pk", "sha256"))
    assert len(before) == 2
    assert jobs.archive_minutes.call(meeting.pk) == ["members", "public"]
    assert list(ArchivedPdf.objects.filter(meeting=meeting).values_list("pk", "sha256")) == before


def test_the_read_view_says_the_copy_is_being_made_until_it_is_stored(client, circulated, queued):
    meeting, writer = circulated
    workflow.confirm(meeting.pk, writer)
    client.force_login(writer)
    page = reverse("protokolle:meeting_detail", args=[meeting.pk])

    assert b"archive-pending" in client.get(page).content

    jobs.archive_minutes.call(meeting.pk)

    assert b"archive-pending" not in client.get(page).content


def test_a_failed_archival_task_is_retried_later_then_reported(
    circulated, queued, monkeypatch, settings
):
    settings.ADMINS = [("Office", "office@example.org")]
    meeting, writer = circulated
    workflow.confirm(meeting.pk, writer)
    queued.clear()

    def failing(meeting):
        raise pdf.RenderError("the seal cannot be loaded")

    monkeypatch.setattr(pdf, "ensure_archived", failing)

    with pytest.raises(pdf.RenderError):
        jobs.archive_minutes.call(meeting.pk)

    assert names(queued) == ["archive_minutes"]
    assert queued[0].args == [meeting.pk] and queued[0].kwargs == {"attempt": 2}
    assert queued[0].task.run_after is not None  # after a pause, not at once
    assert not mail.outbox

    with pytest.raises(pdf.RenderError):
        jobs.archive_minutes.call(meeting.pk, attempt=jobs.ATTEMPTS)

    assert len(queued) == 1  # the last attempt is not enqueued again
    assert [m.to for m in mail.outbox] == [["office@example.org"]]
    assert f"meeting {meeting.pk}" in mail.outbox[0].subject
    assert "the seal cannot be loaded" in mail.outbox[0].body
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CONFIRMED


def test_the_pause_grows_between_attempts():
    pauses = [jobs.retry_delay(attempt) for attempt in range(1, jobs.ATTEMPTS)]
    assert pauses == sorted(pauses) and len(set(pauses)) == len(pauses)
    assert sum(p.total_seconds() for p in pauses) < 3600  # before verify_archive says missing


def test_the_circulation_mail_is_enqueued_after_the_commit(
    minutes, queued, django_capture_on_commit_callbacks
):
    meeting = minutes()
    writer = writer_of(meeting.body)
    MembershipFactory(body=meeting.body, person=PersonFactory(email="eh@example.org"))

    with django_capture_on_commit_callbacks() as callbacks:
        version = workflow.circulate(meeting.pk, writer)
        assert queued == []  # nothing before the commit
    assert queued == []
    for callback in callbacks:
        callback()

    assert names(queued) == ["send_mails"]
    assert not version.notice.sent and not version.notice.error  # queued: not sent yet
    assert not mail.outbox

    sent = jobs.send_mails.call(*queued[0].args, **queued[0].kwargs)

    assert sent == 1
    assert [m.to for m in mail.outbox] == [["eh@example.org"]]


def test_a_failed_mail_is_sent_again_later_only_to_whom_it_failed(queued, monkeypatch, settings):
    settings.ADMINS = [("Office", "office@example.org")]
    send = jobs.send_mass_mail

    def refuse_one(messages, **kwargs):
        if messages[0][3] == ["down@example.org"]:
            raise ConnectionRefusedError(111, "Connection refused")
        return send(messages, **kwargs)

    monkeypatch.setattr(jobs, "send_mass_mail", refuse_one)
    messages = [
        ["Betreff", "Text", "p@localhost", ["up@example.org"]],
        ["Betreff", "Text", "p@localhost", ["down@example.org"]],
    ]

    with pytest.raises(jobs.MailNotSent, match="Connection refused"):
        jobs.send_mails.call(messages)

    assert [m.to for m in mail.outbox] == [["up@example.org"]]
    assert names(queued) == ["send_mails"]
    assert queued[0].args == [[messages[1]]] and queued[0].kwargs == {"attempt": 2}

    with pytest.raises(jobs.MailNotSent):
        jobs.send_mails.call([messages[1]], attempt=jobs.ATTEMPTS)

    assert len(queued) == 1
    assert mail.outbox[-1].to == ["office@example.org"]
    assert "down@example.org" in mail.outbox[-1].subject


def test_with_the_immediate_backend_a_failed_mail_is_reported_and_not_called_sent(
    minutes, monkeypatch, settings, django_capture_on_commit_callbacks
):
    # The immediate backend cannot defer: it reports at once instead of retrying.
    meeting = minutes()
    writer = writer_of(meeting.body)
    MembershipFactory(body=meeting.body, person=PersonFactory(email="eh@example.org"))
    settings.ADMINS = [("Office", "office@example.org")]
    calls = []

    def refuse(messages, **kwargs):
        calls.append(messages)
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(jobs, "send_mass_mail", refuse)

    with django_capture_on_commit_callbacks(execute=True):
        version = workflow.circulate(meeting.pk, writer)

    assert len(calls) == 1
    assert not version.notice.sent
    assert "Connection refused" in version.notice.error
    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CIRCULATED


def test_immediate_backend_end_to_end_confirming_stores_the_copies(circulated):
    meeting, writer = circulated

    workflow.confirm(meeting.pk, writer)

    copies = ArchivedPdf.objects.filter(meeting=meeting)
    assert sorted(copies.values_list("variant", flat=True)) == ["members", "public"]
    for copy in copies:
        assert pdf.verify(copy) is None
