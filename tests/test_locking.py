"""Row locks of the workflow and the archival PDFs rendered outside them (issue 12, finding 2).

Every step locks only the meetings' own rows (``of=("self",)``), two meetings in one
query in primary-key order, and confirming renders the archival PDFs after its
transaction, so nobody waits for another meeting's rendering.
"""

import copy
import datetime
import threading

import pytest
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext

from protokolle import pdf, seal, workflow
from protokolle.models import Approval, ArchivedPdf, Body, Meeting, Membership

from .factories import MembershipFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db

FAKE_PDF = b"%PDF-1.7 stand-in\n"


def make_meeting(reference_document, number=8, date="2022-03-21", status="draft"):
    document = copy.deepcopy(reference_document)
    document["meeting"].update(number=number, date=date, status=status)
    document["meeting"]["approves_minutes_of"] = []
    document["meeting"]["next_meeting"] = None
    return workflow.import_minutes(document)


def user_with(body, role=Membership.Role.MEMBER, voting=True):
    user = UserFactory()
    MembershipFactory(body=body, person=PersonFactory(user=user), role=role, voting=voting)
    return user


@pytest.fixture
def meeting(reference_document):
    return make_meeting(reference_document)


@pytest.fixture
def writer(meeting):
    return user_with(meeting.body, Membership.Role.MINUTE_TAKER, voting=False)


@pytest.fixture
def select_for_update_calls(monkeypatch):
    """The keyword arguments of every select_for_update() while the test runs."""
    calls = []
    original = QuerySet.select_for_update

    def recording(self, *args, **kwargs):
        calls.append(kwargs)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "select_for_update", recording)
    return calls


def as_archival(fake_render):
    """``fake_render(meeting, public_only=...)`` as ``pdf.render_archival``: unsealed bytes."""

    def render_archival(meeting, variant):
        data = fake_render(meeting, public_only=variant == ArchivedPdf.Variant.PUBLIC)
        return seal.Sealed(data, "", None)

    return render_archival


@pytest.fixture
def renders(monkeypatch):
    """Stand in for the typesetting; record how deep in transactions each render ran."""
    seen = []

    def fake_render(meeting, *, public_only=False, timeout=None):
        seen.append(
            {
                "meeting": meeting.pk,
                "public_only": public_only,
                "depth": len(connection.atomic_blocks),
                "status": Meeting.objects.get(pk=meeting.pk).status,
            }
        )
        return FAKE_PDF

    monkeypatch.setattr(pdf, "render_archival", as_archival(fake_render))
    return seen


# --- locks on the meeting's row only -----------------------------------------------------


def test_the_workflow_locks_meetings_only_not_their_body():
    query = workflow._for_update().query
    assert query.select_for_update
    assert query.select_for_update_of == ("self",)
    # The body still comes in the same query, so the checks need no second one.
    assert query.select_related == {"body": {}}


def test_every_step_asks_for_the_meetings_rows_only(
    meeting, writer, reference_document, select_for_update_calls, renders
):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    workflow.circulate(meeting.pk, writer)
    workflow.reopen(meeting.pk, writer)
    workflow.circulate(meeting.pk, writer)
    workflow.respond(meeting.pk, user_with(meeting.body), "agree")
    workflow.record_approval(deciding.pk, meeting.pk, "approved", writer)

    assert select_for_update_calls
    assert all(call.get("of") == ("self",) for call in select_for_update_calls)


def test_record_approval_locks_both_meetings_in_one_query_in_primary_key_order(
    meeting, writer, reference_document, renders
):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    # The deciding meeting was made later, so it has the larger key: locking it first
    # (as the step reads) would be the opposite order to a step that locks by key.
    assert deciding.pk > meeting.pk
    workflow.circulate(meeting.pk, writer)

    with CaptureQueriesContext(connection) as queries:
        workflow.record_approval(deciding.pk, meeting.pk, "rejected", writer)

    table = connection.ops.quote_name(Meeting._meta.db_table)
    locking = [
        q["sql"]
        for q in queries
        if q["sql"].lstrip().startswith("SELECT") and f"FROM {table}" in q["sql"]
    ]
    first = locking[0]
    assert " IN (" in first and f"ORDER BY {table}.{connection.ops.quote_name('id')} ASC" in first
    if connection.features.has_select_for_update_of:
        # PostgreSQL: one locking query, and it names the meetings' table alone.
        assert first.rstrip().endswith(f"FOR UPDATE OF {table}")
        assert sum("FOR UPDATE" in sql for sql in locking) == 1


def test_record_approval_of_missing_minutes_is_refused(meeting, writer, unchanged_database):
    with pytest.raises(workflow.WorkflowError):
        workflow.record_approval(meeting.pk, meeting.pk + 1000, "approved", writer)


@pytest.mark.django_db(transaction=True)
def test_a_step_on_one_meeting_does_not_wait_for_another_of_the_same_body(reference_document):
    """Before: both locked the body's row, so the second waited for the first to end."""
    if not connection.features.has_select_for_update_of:
        pytest.skip("SQLite has no row locks; CI runs this on PostgreSQL")
    first = make_meeting(reference_document)
    second = make_meeting(reference_document, number=9, date="2022-05-23")
    writer = user_with(first.body, Membership.Role.MINUTE_TAKER, voting=False)
    workflow.circulate(second.pk, writer)
    locked, release = threading.Event(), threading.Event()

    def hold_the_first():
        try:
            with transaction.atomic():
                workflow._locked(first.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_first)
    holder.start()
    try:
        assert locked.wait(30)
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '2s'")
            workflow.reopen(second.pk, writer)
            # The body's row is free too: nothing but the first meeting is locked.
            Body.objects.select_for_update(nowait=True).get(pk=first.body_id)
    finally:
        release.set()
        holder.join()
    assert Meeting.objects.get(pk=second.pk).status == Meeting.Status.DRAFT


def race(*steps):
    """Run the steps in threads started together; what became of each, in no order."""
    barrier = threading.Barrier(len(steps))
    outcomes = []

    def run(step):
        try:
            barrier.wait()
            step()
            outcomes.append("ok")
        except workflow.WorkflowError:
            outcomes.append("refused")
        except Exception as error:  # "deadlock detected" would land here
            outcomes.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_approving_from_a_later_draft_while_the_minutes_are_reopened_never_deadlocks(
    reference_document,
):
    """The deadlock of the finding: record_approval(B → A) against reopen(A), many times."""
    if not connection.features.has_select_for_update_of:
        pytest.skip("SQLite has no row locks; CI runs this on PostgreSQL")
    outcomes = []
    for round_ in range(6):
        earlier = make_meeting(reference_document, number=10 + 2 * round_, date="2021-01-04")
        later = make_meeting(reference_document, number=11 + 2 * round_, date="2021-02-01")
        writer = user_with(earlier.body, Membership.Role.MINUTE_TAKER, voting=False)
        workflow.circulate(earlier.pk, writer)
        outcomes += race(
            lambda: workflow.record_approval(later.pk, earlier.pk, "rejected", writer),  # noqa: B023
            lambda: workflow.reopen(earlier.pk, writer),  # noqa: B023
        )
    assert set(outcomes) <= {"ok", "refused"}, outcomes


# --- archival PDFs rendered after the transaction ---------------------------------------------


def _circulated_with_deadline(meeting, writer):
    workflow.circulate(meeting.pk, writer)
    Meeting.objects.filter(pk=meeting.pk).update(circulation_deadline=datetime.date(2020, 1, 1))


def _confirm_by_responses(meeting, writer, reference_document):
    voters = [user_with(meeting.body) for _ in range(2)]
    workflow.circulate(meeting.pk, writer)
    workflow.start_confirmation_by_circulation(meeting.pk, writer, datetime.date(2099, 1, 1))
    workflow.respond(meeting.pk, voters[0], "agree")
    return lambda: workflow.respond(meeting.pk, voters[1], "agree")


def _confirm_by_deadline_setting(meeting, writer, reference_document):
    voters = [user_with(meeting.body) for _ in range(2)]
    workflow.circulate(meeting.pk, writer)
    for voter in voters:
        workflow.respond(meeting.pk, voter, "agree")
    return lambda: workflow.start_confirmation_by_circulation(
        meeting.pk, writer, datetime.date(2099, 1, 1)
    )


def _confirm_by_closing(meeting, writer, reference_document):
    _circulated_with_deadline(meeting, writer)
    return workflow.close_circulations


def _confirm_by_approval(meeting, writer, reference_document):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    workflow.circulate(meeting.pk, writer)
    return lambda: workflow.record_approval(deciding.pk, meeting.pk, "approved", writer)


def _confirm_by_corrected_version(meeting, writer, reference_document):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    workflow.circulate(meeting.pk, writer)
    workflow.record_approval(deciding.pk, meeting.pk, "approved_with_changes", writer)
    return lambda: workflow.circulate(meeting.pk, writer)


def _confirm_by_the_office(meeting, writer, reference_document):
    workflow.circulate(meeting.pk, writer)
    return lambda: workflow.confirm(meeting.pk, writer)


CONFIRMING = [
    _confirm_by_responses,
    _confirm_by_deadline_setting,
    _confirm_by_closing,
    _confirm_by_approval,
    _confirm_by_corrected_version,
    _confirm_by_the_office,
]


@pytest.mark.parametrize("prepare", CONFIRMING, ids=lambda f: f.__name__.removeprefix("_"))
def test_each_confirming_step_renders_after_its_transaction_and_stores_both_copies(
    meeting, writer, reference_document, renders, prepare
):
    step = prepare(meeting, writer, reference_document)
    assert not ArchivedPdf.objects.exists()
    depth = len(connection.atomic_blocks)

    step()

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CONFIRMED
    copies = ArchivedPdf.objects.filter(meeting=meeting)
    assert sorted(copies.values_list("variant", flat=True)) == ["members", "public"]
    assert [(r["meeting"], r["public_only"]) for r in renders] == [
        (meeting.pk, False),
        (meeting.pk, True),
    ]
    # Rendered once the step's own transaction was over: no deeper than where the
    # test called the step (the test's transaction), with the status already stored.
    assert all(r["depth"] == depth and r["status"] == "confirmed" for r in renders)


def test_importing_confirmed_minutes_renders_after_the_transaction(reference_document, renders):
    document = copy.deepcopy(reference_document)
    document["meeting"]["status"] = "confirmed"
    depth = len(connection.atomic_blocks)

    imported = workflow.import_minutes(document)

    assert ArchivedPdf.objects.filter(meeting=imported).count() == 2
    assert [r["depth"] for r in renders] == [depth, depth]


@pytest.mark.django_db(transaction=True)
def test_while_the_pdfs_render_no_row_is_locked_and_nothing_is_in_a_transaction(
    reference_document, monkeypatch
):
    meeting = make_meeting(reference_document)
    writer = user_with(meeting.body, Membership.Role.MINUTE_TAKER, voting=False)
    workflow.circulate(meeting.pk, writer)
    seen = []

    def fake_render(loaded, *, public_only=False, timeout=None):
        seen.append(connection.in_atomic_block)
        if connection.features.has_select_for_update_of:
            # Another connection (another request) takes the row at once.
            def take():
                try:
                    with transaction.atomic():
                        Meeting.objects.select_for_update(nowait=True).get(pk=loaded.pk)
                    seen.append("row free")
                except Exception as error:
                    seen.append(repr(error))
                finally:
                    connection.close()

            other = threading.Thread(target=take)
            other.start()
            other.join()
        return FAKE_PDF

    monkeypatch.setattr(pdf, "render_archival", as_archival(fake_render))

    workflow.confirm(meeting.pk, writer)

    assert ArchivedPdf.objects.filter(meeting=meeting).count() == 2
    assert False in seen and True not in seen
    if connection.features.has_select_for_update_of:
        assert seen.count("row free") == 2, seen


def test_inside_a_callers_transaction_the_copies_exist_when_the_step_returns(
    meeting, writer, renders
):
    workflow.circulate(meeting.pk, writer)
    with transaction.atomic():
        workflow.confirm(meeting.pk, writer)
        assert ArchivedPdf.objects.filter(meeting=meeting).count() == 2
    assert ArchivedPdf.objects.filter(meeting=meeting).count() == 2


def test_a_failed_render_leaves_the_minutes_confirmed_and_ensure_archived_catches_up(
    meeting, writer, monkeypatch, caplog
):
    workflow.circulate(meeting.pk, writer)

    def failing(*args, **kwargs):
        raise RuntimeError("the typesetting failed")

    monkeypatch.setattr(pdf, "render_archival", as_archival(failing))

    workflow.confirm(meeting.pk, writer)

    assert Meeting.objects.get(pk=meeting.pk).status == Meeting.Status.CONFIRMED
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()
    assert "ensure_archived" in caplog.text

    monkeypatch.setattr(pdf, "render_archival", as_archival(lambda *a, **k: FAKE_PDF))
    copies = pdf.ensure_archived(Meeting.objects.for_minutes().get(pk=meeting.pk))

    assert sorted(c.variant for c in copies) == ["members", "public"]
    assert ArchivedPdf.objects.filter(meeting=meeting).count() == 2


def test_ensure_archived_renders_nothing_when_nothing_is_missing(
    meeting, writer, renders, monkeypatch, django_assert_num_queries
):
    workflow.circulate(meeting.pk, writer)
    workflow.confirm(meeting.pk, writer)
    loaded = Meeting.objects.for_minutes().get(pk=meeting.pk)
    monkeypatch.setattr(pdf, "render_archival", lambda *a, **k: pytest.fail("rendered again"))

    with django_assert_num_queries(0):
        copies = pdf.ensure_archived(loaded)

    assert len(copies) == 2


def test_ensure_archived_leaves_minutes_that_are_not_confirmed_alone(meeting, renders):
    assert pdf.ensure_archived(meeting) == []
    assert renders == []


def test_ensure_archived_renders_only_the_missing_copy(meeting, writer, renders, monkeypatch):
    workflow.circulate(meeting.pk, writer)
    with monkeypatch.context() as patched:
        patched.setattr(workflow, "_archive", lambda meeting: [])
        workflow.confirm(meeting.pk, writer)
    # As if the process stopped after the members' copy was stored.
    members = seal.Sealed(FAKE_PDF, "", None)
    pdf._store(Meeting.objects.get(pk=meeting.pk), ArchivedPdf.Variant.MEMBERS, members)

    copies = pdf.ensure_archived(Meeting.objects.for_minutes().get(pk=meeting.pk))

    assert sorted(c.variant for c in copies) == ["members", "public"]
    assert [r["public_only"] for r in renders] == [True]


def test_two_archivers_at_once_store_one_row_per_variant_and_one_file(
    meeting, writer, monkeypatch, media_root
):
    """The other process stores its copy while this one renders: its row wins."""
    workflow.circulate(meeting.pk, writer)
    monkeypatch.setattr(workflow, "_archive", lambda meeting: [])  # confirm without archiving
    workflow.confirm(meeting.pk, writer)
    confirmed = Meeting.objects.get(pk=meeting.pk)
    winners = {}

    def render_while_another_stores(loaded, *, public_only=False, timeout=None):
        variant = ArchivedPdf.Variant.PUBLIC if public_only else ArchivedPdf.Variant.MEMBERS
        other = seal.Sealed(b"%PDF- the other process", "", None)
        winners[variant] = pdf._store(confirmed, variant, other)
        return FAKE_PDF

    monkeypatch.setattr(pdf, "render_archival", as_archival(render_while_another_stores))

    copies = pdf.archive(confirmed)

    assert sorted(c.pk for c in copies) == sorted(c.pk for c in winners.values())
    assert ArchivedPdf.objects.filter(meeting=meeting).count() == 2
    stored = sorted(p.name for p in media_root.rglob("*.pdf"))
    assert stored == sorted(c.file.name.rsplit("/", 1)[-1] for c in winners.values())
    for copy_ in copies:
        assert pdf.verify(copy_) is None


def test_archiving_again_changes_nothing(meeting, writer, renders):
    workflow.circulate(meeting.pk, writer)
    workflow.confirm(meeting.pk, writer)
    before = list(ArchivedPdf.objects.values_list("pk", "sha256", "file"))

    pdf.archive(Meeting.objects.get(pk=meeting.pk))
    pdf.ensure_archived(Meeting.objects.get(pk=meeting.pk))

    assert list(ArchivedPdf.objects.values_list("pk", "sha256", "file")) == before
    assert len(renders) == 2


def test_an_approval_racing_stays_one_approval(meeting, writer, reference_document, renders):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    workflow.circulate(meeting.pk, writer)
    workflow.record_approval(deciding.pk, meeting.pk, "approved", writer)
    with pytest.raises(workflow.WorkflowError):
        workflow.record_approval(deciding.pk, meeting.pk, "approved", writer)
    assert Approval.objects.filter(approved_meeting=meeting).count() == 1
