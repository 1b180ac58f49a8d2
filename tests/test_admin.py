import re

import pytest
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django.utils import translation

from protokolle import exchange, pdf, workflow
from protokolle.models import (
    Approval,
    ArchivedPdf,
    Meeting,
    MinutesVersion,
    Participant,
    Person,
    Presenter,
    Response,
)

from .conftest import row_counts
from .factories import MembershipFactory, PersonFactory, UserFactory, user_in, writer_of
from .html_forms import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(minutes):
    return minutes()


@pytest.fixture
def confirmed(minutes):
    return minutes(status="confirmed")


@pytest.mark.parametrize(
    "name",
    ["body", "person", "membership", "meeting"],
)
def test_every_list_and_add_page_opens(admin_client, meeting, name):
    assert admin_client.get(reverse(f"admin:protokolle_{name}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:protokolle_{name}_add")).status_code == 200


def test_the_meeting_page_shows_items_results_and_presenters(admin_client, meeting):
    response = admin_client.get(reverse("admin:protokolle_meeting_change", args=[meeting.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Vorstellung des DGB-Projektes „Revierwende“" in page
    assert "Gewerkschaftssekretärin Landesverwaltungen Brandenburg" in page
    assert "13-Punkte-Programm" in page


def test_the_meeting_list_filters_by_status(admin_client, meeting, confirmed_other):
    response = admin_client.get(
        reverse("admin:protokolle_meeting_changelist") + "?status=confirmed"
    )
    assert list(response.context["cl"].result_list) == [confirmed_other]


def test_the_meeting_list_searches_agenda_titles(admin_client, meeting):
    response = admin_client.get(reverse("admin:protokolle_meeting_changelist") + "?q=Revierwende")
    assert list(response.context["cl"].result_list) == [meeting]


@pytest.fixture
def confirmed_other(minutes):
    return minutes(status="confirmed", number=9)


def test_confirmed_minutes_are_read_only_in_the_admin(admin_client, confirmed):
    url = reverse("admin:protokolle_meeting_change", args=[confirmed.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"title": "geändert"})
    deleted = admin_client.post(
        reverse("admin:protokolle_meeting_delete", args=[confirmed.pk]), {"post": "yes"}
    )

    assert page.status_code == 200
    assert 'name="title"' not in page.content.decode()
    assert posted.status_code == 403
    assert deleted.status_code == 403
    confirmed.refresh_from_db()
    assert confirmed.title is None
    assert Meeting.objects.filter(pk=confirmed.pk).exists()


def test_the_admin_needs_a_login(client):
    response = client.get(reverse("admin:protokolle_meeting_changelist"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- the status changes through the workflow only --------------------------------------


def changelist():
    return reverse("admin:protokolle_meeting_changelist")


def change_page(meeting):
    return reverse("admin:protokolle_meeting_change", args=[meeting.pk])


def run_action(client, action, *objects, url=None, **extra):
    return client.post(
        url or changelist(),
        {"action": action, "_selected_action": [obj.pk for obj in objects], **extra},
    )


def shown(response):
    """The messages the admin queued for the user: [(level tag, text)]."""
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def named(meeting):
    with translation.override("de"):
        return str(meeting)


WORKFLOW_FIELDS = ["status", "circulation_deadline", "confirmed_at", "confirmed_by_circulation"]


@pytest.mark.parametrize("page", ["change", "add"])
def test_the_status_and_what_confirming_sets_are_read_only(admin_client, meeting, page):
    url = change_page(meeting) if page == "change" else reverse("admin:protokolle_meeting_add")

    response = admin_client.get(url)

    fields = form_data(response.content, "meeting_form")
    assert response.status_code == 200
    assert "title" in fields
    assert not set(WORKFLOW_FIELDS) & set(fields)
    assert "Entwurf" in response.content.decode()


def test_a_status_smuggled_into_the_change_form_changes_nothing(admin_client, meeting):
    fields = form_data(admin_client.get(change_page(meeting)).content, "meeting_form")
    fields.update(
        title="Geändert",
        status="confirmed",
        confirmed_at="2022-04-01 10:00:00",
        confirmed_by_circulation="on",
        circulation_deadline="2099-01-31",
    )

    response = admin_client.post(change_page(meeting), fields)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    saved = Meeting.objects.values(*WORKFLOW_FIELDS, "title").get(pk=meeting.pk)
    assert saved == {
        "title": "Geändert",
        "status": "draft",
        "circulation_deadline": None,
        "confirmed_at": None,
        "confirmed_by_circulation": False,
    }
    assert not ArchivedPdf.objects.exists()
    assert not MinutesVersion.objects.exists()


def test_a_new_meeting_is_a_draft_whatever_is_posted(admin_client, meeting):
    add = reverse("admin:protokolle_meeting_add")
    fields = form_data(admin_client.get(add).content, "meeting_form")
    fields.update(body=meeting.body.pk, number="99", date="2022-06-01", status="circulated")

    response = admin_client.post(add, fields)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    created = Meeting.objects.get(body=meeting.body, number=99)
    assert created.status == Meeting.Status.DRAFT
    assert not created.versions.exists()


def test_circulating_in_the_admin_leaves_a_version_and_tells_the_members(
    admin_client, admin_user, meeting, django_capture_on_commit_callbacks
):
    MembershipFactory(body=meeting.body, person=PersonFactory(email="mitglied@example.org"))

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(admin_client, "circulate", meeting)

    assert response.status_code == 302
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CIRCULATED
    version = MinutesVersion.objects.get(meeting=meeting)
    assert (version.number, version.created_by) == (1, admin_user)
    assert version.document == exchange.export_document(
        Meeting.objects.for_export().get(pk=meeting.pk)
    )
    assert [message.to for message in mail.outbox] == [["mitglied@example.org"]]
    [(level, text)] = shown(response)
    assert level == "success"
    assert named(meeting) in text


def test_reopening_in_the_admin_returns_the_minutes_to_draft(admin_client, admin_user, meeting):
    workflow.circulate(meeting.pk, admin_user)

    response = run_action(admin_client, "reopen", meeting)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.DRAFT
    assert MinutesVersion.objects.filter(meeting=meeting).count() == 1
    assert [level for level, _text in shown(response)] == ["success"]


def test_confirming_in_the_admin_leaves_what_the_workflow_leaves(
    admin_client, admin_user, meeting, confirmed_other
):
    workflow.circulate(meeting.pk, admin_user)

    response = run_action(admin_client, "confirm", meeting)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CONFIRMED
    assert meeting.confirmed_at is not None
    assert not meeting.confirmed_by_circulation

    def left(minutes):
        return (
            sorted(minutes.archived_pdfs.values_list("variant", flat=True)),
            sorted(minutes.search_entries.values_list("kind", "text")),
        )

    # The same minutes, confirmed by the workflow itself (as imported confirmed minutes).
    assert left(meeting) == left(confirmed_other)
    assert meeting.archived_pdfs.exists()
    assert meeting.search_entries.exists()
    [(level, text)] = shown(response)
    assert level == "success"
    assert named(meeting) in text


def test_confirming_says_so_when_the_archived_pdf_could_not_be_rendered(
    admin_client, admin_user, meeting, monkeypatch
):
    workflow.circulate(meeting.pk, admin_user)

    def timing_out(*args, **kwargs):
        raise pdf.RenderTimeout(45)

    monkeypatch.setattr(pdf, "write_pdf", timing_out)
    admin_client.cookies["django_language"] = "en"

    response = run_action(admin_client, "confirm", meeting)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CONFIRMED  # the confirmation stands
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()
    [(level, text)] = shown(response)
    assert level == "warning"
    with translation.override("en"):
        assert str(meeting) in text
    assert "the PDF is archived" not in text
    assert "could not be rendered" in text
    assert "verify_archive --repair" in text


def test_a_refused_transition_names_the_meeting_and_changes_nothing(
    admin_client, admin_user, meeting
):
    with translation.override("de"), pytest.raises(workflow.WorkflowError) as refusal:
        workflow.confirm(meeting.pk, admin_user)  # the workflow's own words for it
    before = row_counts()

    response = run_action(admin_client, "confirm", meeting)

    assert response.status_code == 302
    assert row_counts() == before
    saved = Meeting.objects.values(*WORKFLOW_FIELDS).get(pk=meeting.pk)
    assert saved == {
        "status": "draft",
        "circulation_deadline": None,
        "confirmed_at": None,
        "confirmed_by_circulation": False,
    }
    [(level, text)] = shown(response)
    assert level == "error"
    assert named(meeting) in text
    assert str(refusal.value) in text


def test_each_selected_meeting_succeeds_or_fails_on_its_own(admin_client, meeting, confirmed_other):
    response = run_action(admin_client, "circulate", meeting, confirmed_other)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CIRCULATED
    reported = shown(response)
    assert len(reported) == 2
    assert any(level == "success" and named(meeting) in text for level, text in reported)
    assert any(level == "error" and named(confirmed_other) in text for level, text in reported)


def test_only_the_bodys_minute_takers_change_the_status_in_the_admin(client, meeting):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_meeting", "change_meeting"])
    )
    client.force_login(staff)

    response = run_action(client, "circulate", meeting)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.DRAFT
    assert not MinutesVersion.objects.exists()
    [(level, text)] = shown(response)
    assert level == "error"
    assert named(meeting) in text


def test_the_minute_taker_may_circulate_through_the_admin(client, meeting):
    writer = writer_of(meeting.body)
    writer.is_staff = True
    writer.save()
    writer.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_meeting", "change_meeting"])
    )
    client.force_login(writer)

    run_action(client, "circulate", meeting)

    assert MinutesVersion.objects.get(meeting=meeting).created_by == writer


def buttons(client, meeting):
    page = client.get(change_page(meeting)).content.decode()
    return re.findall(r'<button type="submit" class="button" name="action" value="(\w+)"', page)


def test_the_meeting_page_offers_the_transitions_that_are_possible_now(
    admin_client, admin_user, meeting, confirmed_other
):
    assert buttons(admin_client, meeting) == ["circulate"]
    workflow.circulate(meeting.pk, admin_user)
    assert buttons(admin_client, meeting) == ["reopen", "confirm"]
    assert buttons(admin_client, confirmed_other) == []


def test_a_button_on_the_meeting_page_runs_the_action_and_leads_back(admin_client, meeting):
    response = run_action(admin_client, "circulate", meeting, _from_change_page="1")

    assert response.status_code == 302
    assert response["Location"] == change_page(meeting)
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CIRCULATED


# --- people and accounts that confirmed minutes refer to -------------------------------


def confirm_through_the_workflow(meeting, writer):
    workflow.circulate(meeting.pk, writer)
    workflow.confirm(meeting.pk, writer)
    return Meeting.objects.get(pk=meeting.pk)


def refer_to_person(meeting, person, how):
    """Let the draft ``meeting`` refer to ``person`` the way ``how`` names."""
    if how in ("chair", "minute_taker"):
        Meeting.objects.filter(pk=meeting.pk).update(**{f"{how}_person": person})
    elif how == "participant":
        Participant.objects.create(meeting=meeting, position=0, name=person.name, person=person)
    elif how == "presenter":
        presenter = Presenter.objects.filter(agenda_item__meeting=meeting).first()
        presenter.person = person
        presenter.save()


PERSON_REFERENCES = ["chair", "minute_taker", "participant", "presenter", "response"]


@pytest.fixture
def minutes_referring_to(meeting):
    """Confirm ``meeting`` through the workflow, referring to ``person`` as ``how`` says."""

    def confirmed_referring_to(person, how):
        writer = writer_of(meeting.body)
        refer_to_person(meeting, person, how)
        if how == "response":
            person.user = person.user or UserFactory()
            person.save()
            MembershipFactory(body=meeting.body, person=person)
            workflow.circulate(meeting.pk, writer)
            workflow.respond(meeting.pk, person.user, Response.Kind.AGREE)
            workflow.confirm(meeting.pk, writer)
            return Meeting.objects.get(pk=meeting.pk)
        return confirm_through_the_workflow(meeting, writer)

    return confirmed_referring_to


def person_delete_page(person):
    return reverse("admin:protokolle_person_delete", args=[person.pk])


def assert_refused_naming(response, minutes):
    assert response.status_code == 200
    protected = " ".join(str(entry) for entry in response.context["protected"])
    assert named(minutes) in protected
    assert change_page(minutes) in protected
    assert any(level == "error" and named(minutes) in text for level, text in shown(response)), (
        shown(response)
    )


@pytest.mark.parametrize("how", PERSON_REFERENCES)
def test_a_person_that_confirmed_minutes_refer_to_cannot_be_deleted(
    admin_client, minutes_referring_to, how
):
    person = PersonFactory(name="Sven Guntermann")
    minutes = minutes_referring_to(person, how)
    before = row_counts()

    page = admin_client.get(person_delete_page(person))
    posted = admin_client.post(person_delete_page(person), {"post": "yes"})

    assert_refused_naming(page, minutes)
    assert_refused_naming(posted, minutes)
    assert row_counts() == before
    assert Person.objects.filter(pk=person.pk).exists()


@pytest.mark.parametrize("how", ["chair", "participant"])
def test_bulk_delete_refuses_people_that_confirmed_minutes_refer_to(
    admin_client, minutes_referring_to, how
):
    person = PersonFactory()
    other = PersonFactory()
    minutes = minutes_referring_to(person, how)
    before = row_counts()

    response = run_action(
        admin_client,
        "delete_selected",
        person,
        other,
        url=reverse("admin:protokolle_person_changelist"),
        post="yes",
    )

    assert_refused_naming(response, minutes)
    assert row_counts() == before
    assert Person.objects.filter(pk__in=[person.pk, other.pk]).count() == 2


@pytest.mark.parametrize("how", ["chair", "minute_taker", "participant", "presenter"])
def test_a_person_that_only_drafts_refer_to_is_deleted_as_before(admin_client, meeting, how):
    person = PersonFactory()
    refer_to_person(meeting, person, how)

    response = admin_client.post(person_delete_page(person), {"post": "yes"})

    assert response.status_code == 302
    assert not Person.objects.filter(pk=person.pk).exists()
    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.DRAFT


def user_delete_page(user):
    return reverse("admin:auth_user_delete", args=[user.pk])


@pytest.fixture
def minutes_by_user(meeting, minutes):
    """Confirmed minutes that refer to ``user`` as ``how`` says, made through the workflow."""

    def confirmed_by(user, how):
        writer = writer_of(meeting.body)
        if how == "version":  # MinutesVersion.created_by
            return confirm_through_the_workflow(meeting, user)
        if how == "response":  # Response.user
            user_in(meeting.body, user=user)
            workflow.circulate(meeting.pk, writer)
            workflow.respond(meeting.pk, user, Response.Kind.AGREE)
            workflow.confirm(meeting.pk, writer)
            return Meeting.objects.get(pk=meeting.pk)
        # Approval.recorded_by: the deciding meeting, confirmed later, holds the record.
        workflow.circulate(meeting.pk, writer)
        deciding = minutes(number=9, date="2022-05-23")
        workflow.record_approval(deciding.pk, meeting.pk, Approval.Outcome.APPROVED, user)
        return confirm_through_the_workflow(deciding, writer)

    return confirmed_by


@pytest.mark.parametrize("how", ["version", "response", "approval"])
def test_a_user_that_confirmed_minutes_refer_to_cannot_be_deleted(
    admin_client, minutes_by_user, how
):
    user = UserFactory(is_superuser=True, is_staff=True)
    minutes = minutes_by_user(user, how)
    before = row_counts()

    page = admin_client.get(user_delete_page(user))
    posted = admin_client.post(user_delete_page(user), {"post": "yes"})
    bulk = run_action(
        admin_client,
        "delete_selected",
        user,
        url=reverse("admin:auth_user_changelist"),
        post="yes",
    )

    for response in (page, posted, bulk):
        assert_refused_naming(response, minutes)
    assert row_counts() == before
    assert User.objects.filter(pk=user.pk).exists()


def test_a_user_that_only_drafts_refer_to_is_deleted_as_before(admin_client, meeting):
    user = UserFactory(is_superuser=True, is_staff=True)
    workflow.circulate(meeting.pk, user)
    workflow.reopen(meeting.pk, user)
    other = UserFactory()

    response = run_action(
        admin_client,
        "delete_selected",
        user,
        other,
        url=reverse("admin:auth_user_changelist"),
        post="yes",
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk__in=[user.pk, other.pk]).exists()
    assert MinutesVersion.objects.get(meeting=meeting).created_by is None


def test_no_buttons_for_a_minute_taker_who_may_only_view_meetings_in_the_admin(client, meeting):
    writer = writer_of(meeting.body)
    writer.is_staff = True
    writer.save()
    writer.user_permissions.add(Permission.objects.get(codename="view_meeting"))
    client.force_login(writer)

    assert client.get(change_page(meeting)).status_code == 200
    assert buttons(client, meeting) == []


def test_with_a_worker_confirming_says_the_archival_copy_is_being_made(
    admin_client, minutes, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    meeting = minutes(status="circulated", alone=True)
    admin_client.cookies["django_language"] = "en"

    response = run_action(admin_client, "confirm", meeting)

    meeting.refresh_from_db()
    assert meeting.status == Meeting.Status.CONFIRMED
    [(level, text)] = shown(response)
    assert level == "success"
    assert "the archival copy is being made" in text
    assert "could not be rendered" not in text
