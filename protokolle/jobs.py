"""Background tasks: the archival PDFs of confirmed minutes, and every e-mail.

No request waits on rendering or mail: the workflow enqueues these through Django's
tasks API (the ``django-tasks`` backport; built into Django 6 as ``django.tasks``,
so moving there is an import change). With the database backend (settings.TASKS)
the queue is a table of our database and ``manage.py db_worker`` runs it, on this
machine or another one sharing the database. Tests use the immediate backend: a
task runs when it is enqueued.

When to enqueue: only once the data a task reads is committed. The workflow enqueues
after its step's transaction (``archive_later``), or from ``transaction.on_commit``
(the circulation mail). Inside a caller's outer transaction the database backend
writes the task's row in that transaction, so a worker never sees it earlier.

A task that fails is enqueued again, at most ``ATTEMPTS`` times in all, after a
growing pause (``retry_delay``), where the backend can defer (the database backend
can; the immediate one cannot, and reports at once). A task that failed for good is
logged and reported to the administrators (``settings.ADMINS``); each failed attempt
stays as a failed task result, which the admin lists (Django Tasks › Task results).
"""

import logging
from datetime import timedelta

from django.core.mail import get_connection, mail_admins, send_mass_mail
from django.utils import timezone
from django_tasks import TaskResultStatus, task

from . import pdf
from .models import Meeting

logger = logging.getLogger(__name__)

# In all, with the first: after 1, 4 and 16 minutes, so a copy is stored (or reported
# missing) well within the hour after which verify_archive calls it missing.
ATTEMPTS = 4


class MailNotSent(Exception):
    """Some of a task's e-mails could not be sent; the message says to whom and why."""


def retry_delay(attempt):
    """The pause before attempt ``attempt + 1``: 1, 4, 16 minutes."""
    return timedelta(minutes=4 ** (attempt - 1))


def retry_or_report(task_, args, attempt, what, error):
    """Enqueue ``task_`` again after a pause, or report that ``what`` failed for good.

    Returns True when it was enqueued again.
    """
    backend = task_.get_backend()
    if attempt < ATTEMPTS and backend.supports_defer:
        later = task_.using(run_after=timezone.now() + retry_delay(attempt))
        later.enqueue(*args, attempt=attempt + 1)
        logger.warning(
            "%s failed (attempt %s of %s), tried again later: %s", what, attempt, ATTEMPTS, error
        )
        return True
    report(what, error, attempt)
    return False


def report(what, error, attempts):
    """Tell the administrators that a background task failed for good (and log it)."""
    logger.error("%s failed for good after %s attempt(s): %s", what, attempts, error)
    # The mail server may be what failed: then the log above is the report.
    mail_admins(
        f"Failed for good: {what}",
        f"{what} failed after {attempts} attempt(s).\n\n{error}\n\n"
        "The failed attempts are listed in the admin under Django Tasks › Task results.",
        fail_silently=True,
    )


# --- archival PDFs ---------------------------------------------------------------------


def in_background():
    """True when tasks wait for a worker (the database backend), False when they run
    at once in the caller (the immediate backend of the tests)."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks.backends.immediate import ImmediateBackend

    return not isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], ImmediateBackend)


def archive_later(meeting_pk):
    """Enqueue the archival PDFs of just confirmed minutes; call after the commit."""
    return archive_minutes.enqueue(meeting_pk)


@task()
def archive_minutes(meeting_pk, attempt=1):
    """Render and store the sealed archival copies of confirmed minutes that lack them.

    Returns the variants stored. Minutes that are gone or not confirmed (any more)
    are left alone. A failure (render timeout, a seal that cannot be loaded, a full
    disk) is retried, then reported; the minutes stay confirmed meanwhile and their
    download renders on the fly.
    """
    meeting = Meeting.objects.filter(pk=meeting_pk).select_related("body").first()
    if meeting is None or not meeting.is_confirmed:
        return []
    try:
        copies = pdf.ensure_archived(meeting)
    except Exception as error:
        logger.exception("Archival PDFs of meeting %s failed", meeting_pk)
        what = f"The archival PDFs of meeting {meeting_pk} ({meeting})"
        retry_or_report(archive_minutes, (meeting_pk,), attempt, what, error)
        raise
    return sorted(copy.variant for copy in copies)


# --- e-mail ----------------------------------------------------------------------------


def mail_later(messages):
    """Enqueue e-mails, each ``(subject, body, sender, [address, ...])``; returns the
    task's result (finished already with the immediate backend).

    For every mail of the app (circulation notices, invitations, reminders): call it
    after the commit, e.g. from ``transaction.on_commit``.
    """
    return send_mails.enqueue([[s, b, f, list(to)] for s, b, f, to in messages])


def outcome(result):
    """What became of ``mail_later``'s mails as known now: "sent", "failed" or "queued",
    and the reason when they failed. Nothing is called sent before it was."""
    if result.status == TaskResultStatus.SUCCEEDED:
        return "sent", ""
    if result.status == TaskResultStatus.FAILED:
        last = result.errors[-1].traceback.strip().splitlines() if result.errors else []
        reason = last[-1].split(": ", 1)[-1] if last else ""
        return "failed", reason or "?"
    return "queued", ""


def _reason(error):
    return str(error) or error.__class__.__name__


def deliver(messages):
    """Send each message on one connection; return [(message, reason)] of those that failed.

    One by one, so that a refused address does not keep the others from their mail,
    and a retry sends only what did not go out.
    """
    failed = []
    try:
        connection = get_connection(fail_silently=False)
        connection.open()
    except Exception as error:  # the server is down: nothing was sent
        return [(message, _reason(error)) for message in messages]
    try:
        for message in messages:
            try:
                send_mass_mail([tuple(message)], fail_silently=False, connection=connection)
            except Exception as error:  # SMTP refused, a bad header, a timeout, ...
                failed.append((message, _reason(error)))
    finally:
        try:
            connection.close()
        except Exception:  # closing a connection that broke
            logger.warning("Closing the mail connection failed", exc_info=True)
    return failed


@task()
def send_mails(messages, attempt=1):
    """Send ``messages`` (lists of subject, body, sender, addresses); returns how many.

    Those that fail are sent again later (only they), then reported; the task's
    result is failed while any of its mails is unsent, so none is recorded as sent.
    """
    failed = deliver(messages)
    if not failed:
        return len(messages)
    addresses = ", ".join(address for message, _ in failed for address in message[3])
    error = MailNotSent(failed[0][1])
    logger.error("E-mail to %s failed: %s", addresses, failed[0][1])
    what = f"E-mail “{failed[0][0][0]}” to {addresses}"
    retry_or_report(send_mails, ([message for message, _ in failed],), attempt, what, error)
    raise error
