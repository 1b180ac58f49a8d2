import copy
import datetime
import threading

import pytest
from auditlog.context import set_actor
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse
from django.utils import timezone

from protokolle import exchange, workflow
from protokolle.models import (
    AgendaItem,
    Approval,
    ArchivedPdf,
    Attachment,
    ConfirmedMinutesError,
    Meeting,
    Membership,
    Participant,
    Presenter,
    Response,
    Result,
)

from .conftest import row_counts
from .factories import MembershipFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def make_meeting(reference_document, number=8, date="2022-03-21", status="draft"):
    document = copy.deepcopy(reference_document)
    document["meeting"].update(number=number, date=date, status=status)
    document["meeting"]["approves_minutes_of"] = []
    document["meeting"]["next_meeting"] = None
    return workflow.import_minutes(document)


def user_with(body, role=Membership.Role.MEMBER, voting=True, **person):
    user = UserFactory()
    MembershipFactory(
        body=body,
        person=PersonFactory(user=user, email=f"{user.username}@example.org", **person),
        role=role,
        voting=voting,
    )
    return user


@pytest.fixture
def meeting(reference_document):
    return make_meeting(reference_document)


@pytest.fixture
def people(meeting):
    body = meeting.body
    admin = UserFactory(username="site-admin", is_superuser=True, is_staff=True)
    other = UserFactory()
    MembershipFactory(person=PersonFactory(user=other), role=Membership.Role.MINUTE_TAKER)
    return {
        "outsider": other,
        "member": user_with(body),
        "chair": user_with(body, Membership.Role.CHAIR),
        "minute_taker": user_with(body, Membership.Role.MINUTE_TAKER, voting=False),
        "admin": admin,
    }


def snapshot(meeting):
    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    return (
        exchange.export_document(loaded),
        row_counts(),
        Meeting.objects.filter(pk=meeting.pk).values("status", "circulation_deadline").get(),
    )


def set_status(meeting, status, reference_document=None):
    """Bring a draft to ``status`` through the workflow itself."""
    writer = user_with(meeting.body, Membership.Role.MINUTE_TAKER)
    if status in ("circulated", "confirmed"):
        workflow.circulate(meeting.pk, writer)
    if status == "confirmed":
        deciding = make_meeting(reference_document, number=meeting.number + 1, date="2022-05-23")
        workflow.record_approval(deciding.pk, meeting.pk, Approval.Outcome.APPROVED, writer)
    return Meeting.objects.get(pk=meeting.pk)


def later_meeting(meeting, reference_document):
    return make_meeting(reference_document, number=meeting.number + 20, date="2022-12-01")


TRANSITIONS = {
    "circulate": ("meeting_circulate", {}),
    "reopen": ("meeting_reopen", {}),
    "respond": ("meeting_respond", {"kind": "agree"}),
    "circulation": ("meeting_circulation", {"deadline": "2099-01-31"}),
}
ALLOWED = {
    ("circulate", "draft"): {"minute_taker", "admin"},
    ("reopen", "circulated"): {"minute_taker", "admin"},
    ("respond", "circulated"): {"member", "chair", "minute_taker"},
    ("circulation", "circulated"): {"minute_taker", "admin"},
}


@pytest.mark.parametrize("status", ["draft", "circulated", "confirmed"])
@pytest.mark.parametrize("transition", list(TRANSITIONS))
@pytest.mark.parametrize("role", ["outsider", "member", "chair", "minute_taker", "admin"])
def test_each_transition_is_allowed_exactly_where_it_should_be(
    client, meeting, people, reference_document, status, transition, role
):
    meeting = set_status(meeting, status, reference_document)
    client.force_login(people[role])
    before = snapshot(meeting)
    url_name, data = TRANSITIONS[transition]

    response = client.post(reverse(f"protokolle:{url_name}", args=[meeting.pk]), data, follow=True)

    if role == "outsider":
        assert response.status_code == 404
        assert snapshot(meeting) == before
    elif role in ALLOWED.get((transition, status), set()):
        assert response.status_code == 200
        assert snapshot(meeting) != before
        assert response.context["messages"]
        assert all(m.level_tag == "success" for m in response.context["messages"])
    else:
        assert snapshot(meeting) == before
        text = " ".join(str(m) for m in response.context["messages"])
        assert text, "a refusal must say why"
        assert any(
            phrase in text
            for phrase in ("nicht möglich", "Nur die Protokollführung", "Nur Mitglieder")
        ), text


@pytest.mark.parametrize("status", ["draft", "circulated", "confirmed"])
@pytest.mark.parametrize("role", ["outsider", "member", "chair", "minute_taker", "admin"])
def test_recording_an_approval_is_allowed_exactly_where_it_should_be(
    client, meeting, people, reference_document, status, role
):
    earlier = set_status(meeting, status, reference_document)
    deciding = later_meeting(earlier, reference_document)
    client.force_login(people[role])
    before = snapshot(earlier), snapshot(deciding)

    response = client.post(
        reverse("protokolle:meeting_approve", args=[deciding.pk]),
        {"approved_meeting": earlier.pk, "outcome": "approved"},
        follow=True,
    )

    if role == "outsider":
        assert response.status_code == 404
    allowed = status == "circulated" and role in {"minute_taker", "admin"}
    if allowed:
        assert Meeting.objects.get(pk=earlier.pk).status == "confirmed"
        assert Approval.objects.filter(meeting=deciding, approved_meeting=earlier).exists()
    else:
        assert (snapshot(earlier), snapshot(deciding)) == before
        if role != "outsider":
            assert any(m.level_tag == "error" for m in response.context["messages"])


# --- circulate, versions, e-mail -------------------------------------------------------


def test_circulating_freezes_a_version_and_mails_the_members(
    meeting, people, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        version = workflow.circulate(meeting.pk, people["minute_taker"])

    assert version.number == 1
    loaded = Meeting.objects.for_export().get(pk=meeting.pk)
    assert version.document == exchange.export_document(loaded)
    recipients = sorted(address for message in mail.outbox for address in message.to)
    assert recipients == sorted(
        f"{people[r].username}@example.org" for r in ("member", "chair", "minute_taker")
    )
    assert f"/meetings/{meeting.pk}/" in mail.outbox[0].body


@pytest.mark.parametrize("status", ["draft", "circulated", "confirmed"])
@pytest.mark.parametrize("role", ["outsider", "member", "chair", "minute_taker", "admin"])
def test_sending_the_mail_again_is_allowed_exactly_where_it_should_be(
    meeting, people, reference_document, status, role
):
    meeting = set_status(meeting, status, reference_document)
    allowed = status == "circulated" and role in {"minute_taker", "admin"}
    before = snapshot(meeting)

    assert ("notify" in workflow.allowed_actions(people[role], meeting)) == allowed
    if allowed:
        notice = workflow.notify_members(meeting.pk, people[role])
        assert notice.sent and notice.number == 1
        assert mail.outbox
    else:
        with pytest.raises(workflow.WorkflowError):
            workflow.notify_members(meeting.pk, people[role])
        assert not mail.outbox
    assert snapshot(meeting) == before


def test_the_audit_trail_of_a_step_records_the_client_behind_the_proxy(
    client, meeting, people, settings
):
    from auditlog.models import LogEntry

    settings.PROXY_COUNT = 1
    client.force_login(people["minute_taker"])
    seen = LogEntry.objects.count()

    # nginx appends the address it saw to what the client sent (see test_proxy).
    client.post(
        reverse("protokolle:meeting_circulate", args=[meeting.pk]),
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.5, 198.51.100.7",
    )

    entries = list(LogEntry.objects.order_by("pk")[seen:])
    status = [e for e in entries if e.content_type.model == "meeting" and "status" in e.changes]
    assert status, "circulating records the status change"
    assert {(e.remote_addr, e.actor) for e in entries} == {("198.51.100.7", people["minute_taker"])}


def test_a_step_without_a_request_records_the_actor_and_no_address(meeting, people):
    from auditlog.models import LogEntry

    seen = LogEntry.objects.count()

    workflow.circulate(meeting.pk, people["minute_taker"])

    entries = list(LogEntry.objects.order_by("pk")[seen:])
    assert entries
    assert {(e.remote_addr, e.actor) for e in entries} == {(None, people["minute_taker"])}


def test_reopening_and_circulating_again_makes_a_new_version_with_a_readable_diff(
    client, meeting, people
):
    writer = people["minute_taker"]
    workflow.circulate(meeting.pk, writer)
    workflow.reopen(meeting.pk, writer)
    result = Result.objects.get(text__startswith="Die nächste Werkstattsitzung")
    result.text = "Die nächste Werkstattsitzung wird für den 30.05.2022 angekündigt."
    result.save()
    workflow.circulate(meeting.pk, writer)
    client.force_login(people["member"])

    response = client.get(reverse("protokolle:version_diff", args=[meeting.pk, 2]))

    assert response.status_code == 200
    changes = response.context["changes"]
    assert [c.label for c in changes] == ["TOP 6 · Ergebnis 1"]
    page = response.content.decode()
    assert "<del>23.05.2022</del>" in page and "<ins>30.05.2022</ins>" in page


# --- responses -------------------------------------------------------------------------


def test_a_member_objects_with_text_tied_to_an_item(client, meeting, people):
    workflow.circulate(meeting.pk, people["minute_taker"])
    item = AgendaItem.objects.get(meeting=meeting, parent=None, position=1)
    client.force_login(people["member"])

    client.post(
        reverse("protokolle:meeting_respond", args=[meeting.pk]),
        {"kind": "objection", "text": "Name falsch geschrieben", "agenda_item": item.pk},
    )

    response = Response.objects.get()
    assert (response.kind, response.text, response.agenda_item) == (
        "objection",
        "Name falsch geschrieben",
        item,
    )
    client.force_login(people["minute_taker"])
    page = client.get(reverse("protokolle:meeting_detail", args=[meeting.pk])).content.decode()
    assert "Name falsch geschrieben" in page


def test_an_objection_without_text_is_refused_and_keeps_the_choice(client, meeting, people):
    workflow.circulate(meeting.pk, people["minute_taker"])
    client.force_login(people["member"])

    response = client.post(
        reverse("protokolle:meeting_respond", args=[meeting.pk]), {"kind": "objection", "text": ""}
    )

    assert response.status_code == 400
    assert response.context["response_form"].errors["text"]
    assert not Response.objects.exists()


def test_members_of_another_body_can_neither_see_nor_respond(client, meeting, people):
    workflow.circulate(meeting.pk, people["minute_taker"])
    client.force_login(people["outsider"])
    assert client.get(reverse("protokolle:meeting_detail", args=[meeting.pk])).status_code == 404
    response = client.post(
        reverse("protokolle:meeting_respond", args=[meeting.pk]), {"kind": "agree"}
    )
    assert response.status_code == 404
    assert not Response.objects.exists()


# --- approval in a later meeting -------------------------------------------------------


@pytest.fixture
def circulated(meeting, people):
    workflow.circulate(meeting.pk, people["minute_taker"])
    return meeting


def test_approved_confirms_at_once_archives_and_writes_the_bullet(
    circulated, people, reference_document
):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")

    workflow.record_approval(
        deciding.pk,
        circulated.pk,
        "approved",
        people["minute_taker"],
        vote={"yes": 12, "no": 0, "abstain": 1},
    )

    earlier = Meeting.objects.get(pk=circulated.pk)
    assert earlier.status == "confirmed"
    assert ArchivedPdf.objects.filter(meeting=earlier).count() == 2
    bullet = Result.objects.get(approval__isnull=False)
    assert (
        bullet.text == "Das Protokoll der 8. Sitzung vom 21.03.2022 wird angenommen und bestätigt."
    )
    assert (bullet.agenda_item.position, bullet.agenda_item.parent) == (0, None)
    assert (bullet.vote_yes, bullet.vote_no, bullet.vote_abstain) == (12, 0, 1)


def test_approved_with_changes_confirms_when_the_corrected_version_is_circulated(
    circulated, people, reference_document
):
    writer = people["minute_taker"]
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")

    workflow.record_approval(
        deciding.pk, circulated.pk, "approved_with_changes", writer, note="TOP 2"
    )

    assert Meeting.objects.get(pk=circulated.pk).status == "draft"
    workflow.circulate(circulated.pk, writer)
    earlier = Meeting.objects.get(pk=circulated.pk)
    assert earlier.status == "confirmed"
    assert earlier.versions.count() == 2
    assert "mit Änderungen angenommen (TOP 2)" in Result.objects.get(approval__isnull=False).text


def test_rejected_reopens_the_minutes(circulated, people, reference_document):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    workflow.record_approval(deciding.pk, circulated.pk, "rejected", people["minute_taker"])
    assert Meeting.objects.get(pk=circulated.pk).status == "draft"
    assert "nicht bestätigt" in Result.objects.get(approval__isnull=False).text


def test_the_editor_lists_the_minutes_that_wait(client, circulated, people, reference_document):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    client.force_login(people["minute_taker"])
    response = client.get(reverse("protokolle:meeting_edit", args=[deciding.pk]))
    assert response.context["waiting"] == [circulated]


def test_a_meeting_that_has_not_taken_place_decides_nothing(
    client, circulated, people, reference_document
):
    """Today's minutes may decide; the minutes of a meeting still ahead may not."""
    today = timezone.localdate()
    ahead = make_meeting(reference_document, number=9, date=str(today + datetime.timedelta(days=1)))
    writer = people["minute_taker"]

    with pytest.raises(workflow.WorkflowError, match="ab diesem Tag festgehalten werden"):
        workflow.record_approval(ahead.pk, circulated.pk, "approved", writer)
    assert Meeting.objects.get(pk=circulated.pk).status == "circulated"
    assert not Approval.objects.exists()

    # The editor says why and offers no decision, but still names what waits.
    client.force_login(writer)
    page = client.get(reverse("protokolle:meeting_edit", args=[ahead.pk])).content.decode()
    assert "ab diesem Tag festgehalten werden" in page
    assert 'name="approve"' not in page
    assert "Protokoll der 8. Sitzung vom 21.03.2022" in page

    # Posted anyway (a page opened the day before): refused with the reason, input saved.
    response = client.post(
        reverse("protokolle:meeting_approve", args=[ahead.pk]),
        {"approved_meeting": circulated.pk, "outcome": "approved"},
        follow=True,
    )
    assert "ab diesem Tag festgehalten werden" in response.content.decode()
    assert not Approval.objects.exists()

    on_the_day = make_meeting(reference_document, number=10, date=str(today))
    workflow.record_approval(on_the_day.pk, circulated.pk, "approved", writer)
    assert Meeting.objects.get(pk=circulated.pk).status == "confirmed"


def test_confirming_over_an_open_objection_needs_the_meeting_to_have_dealt_with_it(
    client, circulated, people, reference_document
):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    writer, member, chair = people["minute_taker"], people["member"], people["chair"]
    workflow.respond(circulated.pk, member, "objection", "Bitte TOP 2 korrigieren")
    workflow.respond(circulated.pk, chair, "objection", "TOP 3: Name falsch")
    workflow.respond(circulated.pk, chair, "agree", "")  # the chair withdrew it

    client.force_login(writer)
    page = client.get(reverse("protokolle:meeting_edit", args=[deciding.pk])).content.decode()
    assert "1 offener Einwand zu diesem Protokoll:" in page
    assert "„Bitte TOP 2 korrigieren“" in page
    assert "Name falsch" not in page

    with pytest.raises(workflow.WorkflowError, match="Zu diesem Protokoll ist 1 Einwand offen"):
        workflow.record_approval(deciding.pk, circulated.pk, "approved", writer)
    assert Meeting.objects.get(pk=circulated.pk).status == "circulated"
    assert not Approval.objects.exists()

    url = reverse("protokolle:meeting_approve", args=[deciding.pk])
    refused = client.post(
        url, {"approved_meeting": circulated.pk, "outcome": "approved"}, follow=True
    )
    assert "Zu diesem Protokoll ist 1 Einwand offen." in refused.content.decode()
    assert not Approval.objects.exists()

    client.post(
        url,
        {"approved_meeting": circulated.pk, "outcome": "approved", "objections_considered": "on"},
    )
    assert Meeting.objects.get(pk=circulated.pk).status == "confirmed"


def test_rejecting_minutes_with_an_open_objection_needs_no_statement(
    circulated, people, reference_document
):
    deciding = make_meeting(reference_document, number=9, date="2022-05-23")
    workflow.respond(circulated.pk, people["member"], "objection", "Bitte TOP 2 korrigieren")
    workflow.record_approval(deciding.pk, circulated.pk, "rejected", people["minute_taker"])
    assert Meeting.objects.get(pk=circulated.pk).status == "draft"


@pytest.mark.django_db(transaction=True)
def test_two_approvals_at_the_same_time_record_exactly_one(reference_document):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises all writers; CI runs this race on PostgreSQL")
    earlier = make_meeting(reference_document)
    writer = user_with(earlier.body, Membership.Role.MINUTE_TAKER)
    workflow.circulate(earlier.pk, writer)
    deciding = [
        make_meeting(reference_document, number=n, date=f"2022-0{n - 4}-01") for n in (9, 10)
    ]
    barrier = threading.Barrier(2)
    outcomes = []

    def approve(target):
        try:
            barrier.wait()
            workflow.record_approval(target.pk, earlier.pk, "approved", writer)
            outcomes.append("ok")
        except workflow.WorkflowError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(d,)) for d in deciding]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok", "refused"]
    assert Approval.objects.filter(approved_meeting=earlier).count() == 1
    assert Meeting.objects.get(pk=earlier.pk).status == "confirmed"


# --- confirmation by circulation -------------------------------------------------------


def test_all_voting_members_agreeing_confirms(circulated, people):
    workflow.start_confirmation_by_circulation(
        circulated.pk, people["minute_taker"], datetime.date(2099, 1, 1)
    )
    workflow.respond(circulated.pk, people["member"], "agree")
    assert Meeting.objects.get(pk=circulated.pk).status == "circulated"

    workflow.respond(circulated.pk, people["chair"], "agree")

    meeting = Meeting.objects.get(pk=circulated.pk)
    assert (meeting.status, meeting.confirmed_by_circulation) == ("confirmed", True)


def test_minutes_confirmed_by_circulation_say_so_in_their_pdf(circulated, people):
    import io

    from pypdf import PdfReader

    workflow.start_confirmation_by_circulation(
        circulated.pk, people["minute_taker"], datetime.date(2099, 1, 1)
    )
    for role in ("member", "chair"):
        workflow.respond(circulated.pk, people[role], "agree")

    stored = ArchivedPdf.objects.get(meeting=circulated, variant="members")
    with stored.file.open("rb") as handle:
        first_page = PdfReader(io.BytesIO(handle.read())).pages[0].extract_text()
    today = Meeting.objects.get(pk=circulated.pk).confirmed_at
    from django.utils import timezone

    assert f"Bestätigt im Umlaufverfahren am {timezone.localtime(today):%d.%m.%Y}" in first_page


def test_close_circulations_confirms_after_the_deadline_without_objection(circulated, people):
    Meeting.objects.filter(pk=circulated.pk).update(circulation_deadline=datetime.date(2020, 1, 1))

    call_command("close_circulations")
    after_first = row_counts()
    call_command("close_circulations")

    assert Meeting.objects.get(pk=circulated.pk).status == "confirmed"
    assert row_counts() == after_first


def test_close_circulations_leaves_minutes_with_an_objection(circulated, people, capsys):
    workflow.respond(circulated.pk, people["member"], "objection", "Bitte TOP 2 korrigieren")
    Meeting.objects.filter(pk=circulated.pk).update(circulation_deadline=datetime.date(2020, 1, 1))

    call_command("close_circulations")

    assert Meeting.objects.get(pk=circulated.pk).status == "circulated"
    assert "with objections" in capsys.readouterr().out


# --- immutability ----------------------------------------------------------------------


@pytest.fixture
def confirmed(reference_document):
    document = copy.deepcopy(reference_document)
    document["meeting"]["status"] = "confirmed"
    return workflow.import_minutes(document)


def refused(action):
    with pytest.raises((ConfirmedMinutesError, IntegrityError)), transaction.atomic():
        action()


def test_the_orm_refuses_saving_or_deleting_confirmed_minutes(confirmed):
    meeting = Meeting.objects.get(pk=confirmed.pk)
    meeting.title = "geändert"
    refused(meeting.save)
    refused(Meeting.objects.get(pk=confirmed.pk).delete)


def test_queryset_updates_and_deletes_are_refused_by_the_database(confirmed):
    refused(lambda: Meeting.objects.filter(pk=confirmed.pk).update(title="geändert"))
    refused(lambda: Meeting.objects.filter(pk=confirmed.pk)._raw_delete(Meeting.objects.db))
    refused(lambda: AgendaItem.objects.filter(meeting=confirmed).update(title="x"))
    refused(lambda: Result.objects.filter(agenda_item__meeting=confirmed).update(text="x"))
    refused(lambda: Presenter.objects.filter(agenda_item__meeting=confirmed).delete())
    refused(lambda: ArchivedPdf.objects.filter(meeting=confirmed).update(sha256="0" * 64))
    refused(lambda: ArchivedPdf.objects.filter(meeting=confirmed).delete())


@pytest.mark.parametrize(
    "make",
    [
        lambda m: AgendaItem.objects.create(meeting=m, title="neu"),
        lambda m: Participant.objects.create(meeting=m, name="Neu"),
        lambda m: Attachment.objects.create(meeting=m, name="neu.pdf"),
        lambda m: Result.objects.create(agenda_item=m.agenda_items.first(), text="neu"),
        lambda m: Presenter.objects.bulk_create(
            [Presenter(agenda_item=m.agenda_items.first(), name="x")]
        ),
        lambda m: Approval.objects.create(meeting=m, number=1),
    ],
)
def test_no_row_can_be_added_to_confirmed_minutes(confirmed, make):
    refused(lambda: make(confirmed))


def test_items_and_results_of_confirmed_minutes_cannot_be_saved_or_deleted(confirmed):
    item = AgendaItem.objects.filter(meeting=confirmed).first()
    item.title = "geändert"
    refused(item.save)
    result = Result.objects.filter(agenda_item__meeting=confirmed).first()
    refused(result.delete)


def test_raw_sql_cannot_change_confirmed_minutes(confirmed):
    def raw():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE protokolle_result SET text = 'x'")

    refused(raw)


def test_the_import_cannot_overwrite_confirmed_minutes(confirmed, reference_document):
    with pytest.raises(exchange.DocumentError):
        workflow.import_minutes(reference_document)


def test_the_editor_cannot_change_confirmed_minutes(client, confirmed):
    writer = user_with(confirmed.body, Membership.Role.MINUTE_TAKER)
    client.force_login(writer)
    response = client.post(
        reverse("protokolle:meeting_edit", args=[confirmed.pk]), {"meeting-title": "x"}
    )
    assert response.status_code == 302
    assert Meeting.objects.get(pk=confirmed.pk).title is None


def test_drafts_still_change_freely(meeting):
    AgendaItem.objects.filter(meeting=meeting).update(public=False)
    Meeting.objects.filter(pk=meeting.pk).update(title="Sondersitzung")
    meeting.refresh_from_db()
    meeting.delete()


# --- the read view ---------------------------------------------------------------------


def test_the_meeting_page_shows_the_history(client, circulated, people):
    client.force_login(people["member"])
    response = client.get(reverse("protokolle:meeting_detail", args=[circulated.pk]))
    history = response.context["history"]
    assert history[0].actor == people["minute_taker"].person.name
    assert history[0].log_entries[0].changes_dict["status"] == ["draft", "circulated"]
    assert history[0].html in response.content.decode()


def test_the_start_page_shows_minutes_to_confirm_and_responses(client, circulated, people):
    client.force_login(people["member"])
    assert circulated in client.get(reverse("home")).context["to_confirm"]
    workflow.respond(circulated.pk, people["member"], "agree")
    assert circulated not in client.get(reverse("home")).context["to_confirm"]

    client.force_login(people["minute_taker"])
    responses = list(client.get(reverse("home")).context["responses"])
    assert [r.person.user for r in responses] == [people["member"]]


def test_the_meeting_page_costs_a_fixed_number_of_queries(
    client, circulated, people, reference_document, django_assert_num_queries
):
    big = copy.deepcopy(reference_document)
    big["meeting"].update(number=30, date="2022-09-01")
    big["meeting"]["agenda"] = [
        {"title": f"Punkt {n}", "results": [{"text": f"Ergebnis {r}"} for r in range(5)]}
        for n in range(60)
    ]
    large = workflow.import_minutes(big)
    workflow.circulate(large.pk, people["minute_taker"])
    for meeting in (circulated, large):
        workflow.respond(meeting.pk, people["member"], "objection", "Bitte korrigieren")
        workflow.respond(meeting.pk, people["chair"], "agree")
    # A save of the long minutes writes hundreds of audit rows, told as one entry.
    workflow.reopen(large.pk, people["minute_taker"])
    with set_actor(people["minute_taker"]):
        for result in Result.objects.filter(agenda_item__meeting=large):
            result.text += " (ergänzt)"
            result.save()
    workflow.circulate(large.pk, people["minute_taker"])
    client.force_login(people["member"])
    client.get(reverse("protokolle:meeting_detail", args=[circulated.pk]))

    # Whatever the size: 60 items, 300 results and their history cost the same.
    for meeting in (circulated, large):
        with django_assert_num_queries(17):
            response = client.get(reverse("protokolle:meeting_detail", args=[meeting.pk]))
        assert response.status_code == 200


def test_every_table_of_the_minutes_keeps_its_triggers_after_migrating():
    from protokolle import immutability

    names = immutability.present(connection)
    tables = immutability.MEETING_CHILDREN + immutability.ITEM_CHILDREN
    if connection.vendor == "sqlite":
        expected = {
            f"{table}_confirmed_{op}" for table in tables for op in ("insert", "update", "delete")
        }
    else:
        expected = {f"{table}_confirmed" for table in tables}
    assert expected <= names
