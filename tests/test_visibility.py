"""The rule of access.py: memberships count only while current; staff read as members do;
one place decides the members' or the public variant of the minutes.

The URL × role table is in test_access.py; these tests look at what a request leaves
behind (nothing, for those without the right) and at the rule's edges.
"""

import datetime
import functools

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from protokolle import access, workflow
from protokolle.models import ArchivedPdf, Meeting, Membership, Result, SearchEntry

from .factories import BodyFactory, UserFactory, user_in
from .html_forms import form_data

pytestmark = pytest.mark.django_db

ENDED = datetime.date(2021, 12, 31)
HIDDEN_ITEM = 4  # "Soziale Infrastruktur …": the item the tests make non-public
HIDDEN_WORD = "Kindertagesstätten"  # occurs in that item only


@pytest.fixture
def alone(minutes):
    """Minutes without decisions on earlier ones and without a next meeting."""
    return functools.partial(minutes, alone=True)


def hide_item(meeting):
    meeting["agenda"][HIDDEN_ITEM]["public"] = False


@pytest.fixture
def draft(alone):
    return alone()


@pytest.fixture
def writer(draft):
    return user_in(draft.body, Membership.Role.MINUTE_TAKER)


@pytest.fixture
def former(draft):
    """A minute-taker of the body until 31.12.2021: before today, before the minutes."""
    return user_in(
        draft.body, Membership.Role.MINUTE_TAKER, start=datetime.date(2019, 1, 1), end=ENDED
    )


def status_of(meeting):
    return Meeting.objects.get(pk=meeting.pk).status


# --- a former minute-taker has no right at all ---------------------------------------------


def test_a_former_minute_taker_cannot_open_the_editor(client, draft, former):
    client.force_login(former)
    response = client.get(reverse("protokolle:meeting_edit", args=[draft.pk]))
    assert response.status_code == 404


def test_a_former_minute_taker_cannot_save(client, draft, writer, former):
    client.force_login(writer)
    page = client.get(reverse("protokolle:meeting_edit", args=[draft.pk]))
    data = form_data(page.content)
    data["meeting-location"] = "Cottbus, Rathaus"
    before = Meeting.objects.get(pk=draft.pk)

    client.force_login(former)
    response = client.post(reverse("protokolle:meeting_edit", args=[draft.pk]), data)

    assert response.status_code == 404
    after = Meeting.objects.get(pk=draft.pk)
    assert (after.location, after.version) == (before.location, before.version)


def test_a_former_minute_taker_cannot_circulate(client, draft, former):
    client.force_login(former)
    response = client.post(reverse("protokolle:meeting_circulate", args=[draft.pk]))
    assert response.status_code == 404
    assert status_of(draft) == Meeting.Status.DRAFT
    with pytest.raises(workflow.WorkflowError):
        workflow.circulate(draft.pk, former)
    assert status_of(draft) == Meeting.Status.DRAFT
    assert not draft.versions.exists()


def test_a_former_minute_taker_cannot_reopen(client, draft, writer, former):
    workflow.circulate(draft.pk, writer)
    client.force_login(former)
    response = client.post(reverse("protokolle:meeting_reopen", args=[draft.pk]))
    assert response.status_code == 404
    with pytest.raises(workflow.WorkflowError):
        workflow.reopen(draft.pk, former)
    assert status_of(draft) == Meeting.Status.CIRCULATED


def test_a_former_minute_taker_cannot_set_a_deadline_approve_or_confirm(
    client, draft, writer, former, alone
):
    workflow.circulate(draft.pk, writer)
    deadline = timezone.localdate() + datetime.timedelta(days=14)
    client.force_login(former)
    url = reverse("protokolle:meeting_circulation", args=[draft.pk])
    assert client.post(url, {"deadline": deadline.isoformat()}).status_code == 404
    with pytest.raises(workflow.WorkflowError):
        workflow.start_confirmation_by_circulation(draft.pk, former, deadline)
    with pytest.raises(workflow.WorkflowError):
        workflow.confirm(draft.pk, former)
    deciding = alone(number=9, date="2022-05-23")
    with pytest.raises(workflow.WorkflowError):
        workflow.record_approval(deciding.pk, draft.pk, "approved", former)
    after = Meeting.objects.get(pk=draft.pk)
    assert (after.status, after.circulation_deadline) == (Meeting.Status.CIRCULATED, None)


def test_a_former_member_cannot_respond(client, draft, writer):
    workflow.circulate(draft.pk, writer)
    gone = user_in(draft.body, end=ENDED)
    client.force_login(gone)
    response = client.post(
        reverse("protokolle:meeting_respond", args=[draft.pk]), {"kind": "agree"}
    )
    assert response.status_code == 404
    assert not draft.responses.exists()


def test_a_former_minute_taker_cannot_mark_tasks(client, alone, former):
    def task(meeting):
        meeting["agenda"][1]["results"].append({"kind": "task", "text": "Steckbrief"})

    alone(status="confirmed", number=7, change=task)
    result = Result.objects.get(text="Steckbrief")
    client.force_login(former)
    response = client.post(reverse("protokolle:task_done", args=[result.pk]))
    assert response.status_code == 404
    assert not hasattr(Result.objects.get(pk=result.pk), "done")


def test_a_former_member_sees_nothing_on_the_start_page_archive_search_and_tasks(
    client, alone, former
):
    confirmed = alone(status="confirmed", number=7, date="2021-12-07")
    client.force_login(former)
    home = client.get(reverse("home"))
    assert list(home.context["bodies"]) == []
    assert list(client.get(reverse("protokolle:archive")).context["page"]) == []
    search = client.get(reverse("protokolle:search"), {"q": "Trinkwasserverbundsystem"})
    assert search.context["page"].paginator.count == 0
    assert list(client.get(reverse("protokolle:tasks")).context["page"]) == []
    # Even the minutes from the years of the seat: rights count today, not then.
    response = client.get(reverse("protokolle:meeting_detail", args=[confirmed.pk]))
    assert response.status_code == 404


# --- the dates of a membership, at the edges -----------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "counts"),
    [
        (None, None, True),
        (-30, None, True),
        (0, 0, True),  # both days included
        (None, -1, False),  # ended yesterday
        (1, None, False),  # begins tomorrow
        (-400, -30, False),
    ],
)
def test_a_membership_counts_from_its_start_to_its_end(draft, start, end, counts):
    today = timezone.localdate()

    def day(offset):
        return None if offset is None else today + datetime.timedelta(days=offset)

    user = user_in(draft.body, Membership.Role.MINUTE_TAKER, start=day(start), end=day(end))

    assert (draft.body in access.readable_bodies(user)) is counts
    assert (draft.body in access.writable_bodies(user)) is counts
    assert (draft.body in access.member_bodies(user)) is counts
    assert access.can_read(user, draft.body) is counts
    assert access.can_write(user, draft.body) is counts
    assert (access.membership_of(user, draft.body) is not None) is counts
    assert access.visible_meetings(user).filter(pk=draft.pk).exists() is counts


def test_a_former_minute_taker_who_is_a_member_now_reads_but_does_not_write(
    client, draft, writer, former
):
    user_in(draft.body, user=former, start=datetime.date(2022, 1, 1))
    workflow.circulate(draft.pk, writer)
    client.force_login(former)

    response = client.get(reverse("protokolle:meeting_detail", args=[draft.pk]))

    assert response.status_code == 200
    assert response.context["actions"] == frozenset({"respond"})
    assert not access.can_write(former, draft.body)
    assert list(access.writable_bodies(former)) == []
    assert access.membership_of(former, draft.body).role == Membership.Role.MEMBER


def test_the_task_list_asks_the_same_queries_for_one_body_and_for_five(
    client, alone, django_assert_max_num_queries
):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    alone(status="confirmed")
    client.get(reverse("protokolle:tasks"))

    counts = []
    for extra in (0, 4):
        for _index in range(extra):
            BodyFactory()
        with django_assert_max_num_queries(20) as captured:
            client.get(reverse("protokolle:tasks"))
        counts.append(len(captured))
    assert counts[0] == counts[1]


# --- staff read as members do, everywhere --------------------------------------------------


@pytest.fixture
def hidden(alone):
    """Confirmed public minutes with one non-public item, and both archived PDFs."""
    return alone(status="confirmed", change=hide_item)


def test_staff_find_non_public_items_in_search_as_members_do(client, hidden):
    member = user_in(hidden.body)
    staff = UserFactory(is_staff=True)
    outsider = user_in(BodyFactory())
    counts = {}
    for name, user in (("member", member), ("staff", staff), ("outsider", outsider)):
        client.force_login(user)
        response = client.get(reverse("protokolle:search"), {"q": HIDDEN_WORD})
        counts[name] = response.context["page"].paginator.count
    assert counts == {"member": 1, "staff": 1, "outsider": 0}
    assert set(access.visible_search_entries(staff)) == set(access.visible_search_entries(member))
    assert access.visible_search_entries(staff).filter(public=False).exists()


def test_staff_get_the_members_pdf_with_the_item_that_search_finds(client, hidden, media_root):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    members_copy = ArchivedPdf.objects.get(meeting=hidden, variant=ArchivedPdf.Variant.MEMBERS)

    response = client.get(reverse("protokolle:minutes_pdf", args=[hidden.pk]))
    preview = client.get(reverse("protokolle:minutes_preview", args=[hidden.pk]))
    search = client.get(reverse("protokolle:search"), {"q": HIDDEN_WORD})

    assert response.status_code == 200
    assert response.filename == members_copy.file.name.rsplit("/", 1)[-1]
    with members_copy.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()
    hit = search.context["page"][0]
    assert not hit.public
    assert hit.agenda_item.title in preview.content.decode()
    assert preview.context["public_only"] is False


def test_staff_write_only_where_they_are_current_minute_takers(client, draft, reference_document):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("protokolle:meeting_edit", args=[draft.pk])).status_code == 403
    with pytest.raises(workflow.WorkflowError):
        workflow.circulate(draft.pk, staff)
    assert access.readable_bodies(staff).filter(pk=draft.body.pk).exists()
    assert not access.writable_bodies(staff).exists()

    user_in(draft.body, Membership.Role.MINUTE_TAKER, user=staff, end=ENDED)
    assert not access.can_write(staff, draft.body)
    user_in(draft.body, Membership.Role.MINUTE_TAKER, user=staff)
    assert access.can_write(staff, draft.body)
    assert client.get(reverse("protokolle:meeting_edit", args=[draft.pk])).status_code == 200


def test_superusers_read_and_write_everywhere_but_respond_only_with_a_seat(draft, writer):
    admin = UserFactory(is_staff=True, is_superuser=True)
    workflow.circulate(draft.pk, writer)
    circulated = Meeting.objects.select_related("body").get(pk=draft.pk)
    assert access.can_write(admin, draft.body)
    assert access.visible_meetings(admin).filter(pk=draft.pk).exists()
    actions = workflow.allowed_actions(admin, circulated)
    assert {"reopen", "set_deadline"} <= actions
    assert "respond" not in actions


def test_inactive_and_anonymous_users_have_no_right(draft):
    inactive = user_in(draft.body, Membership.Role.MINUTE_TAKER, user=UserFactory(is_active=False))
    gone_admin = UserFactory(is_superuser=True, is_staff=True, is_active=False)
    for user in (inactive, gone_admin, AnonymousUser()):
        assert not access.readable_bodies(user).exists()
        assert not access.can_write(user, draft.body)
        assert access.membership_of(user, draft.body) is None
        assert not access.visible_search_entries(user).exists()


# --- the variant of the minutes: decided in access -----------------------------------------


def test_access_decides_the_variant_of_the_minutes(draft, alone):
    closed = alone(number=9, change=lambda m: m.update(public=False))
    members, public = ArchivedPdf.Variant.MEMBERS, ArchivedPdf.Variant.PUBLIC

    assert access.minutes_variants(draft) == [members, public]
    assert access.minutes_variants(closed) == [members]
    assert access.minutes_variant(draft, "public") == public
    for asked in (None, "", "members", "anything"):
        assert access.minutes_variant(draft, asked) == members
        assert access.minutes_variant(closed, asked) == members
    with pytest.raises(Http404):
        access.minutes_variant(closed, "public")


@pytest.mark.parametrize("name", ["protokolle:minutes_pdf", "protokolle:minutes_preview"])
def test_a_meeting_that_is_not_public_has_no_public_version(client, alone, name):
    closed = alone(change=lambda m: m.update(public=False))
    client.force_login(user_in(closed.body))
    url = reverse(name, args=[closed.pk])
    assert client.get(url).status_code == 200
    assert client.get(url, {"version": "public"}).status_code == 404


def test_preview_and_pdf_take_their_variant_from_access(client, draft, monkeypatch):
    client.force_login(user_in(draft.body))
    asked = []

    def public(meeting, value=None):
        asked.append(value)
        return ArchivedPdf.Variant.PUBLIC

    monkeypatch.setattr(access, "minutes_variant", public)
    preview = client.get(reverse("protokolle:minutes_preview", args=[draft.pk]), {"version": "x"})
    pdf = client.get(reverse("protokolle:minutes_pdf", args=[draft.pk]))

    assert preview.context["public_only"] is True
    assert pdf.filename.endswith("-oeffentlich-entwurf.pdf")
    assert asked == ["x", None]


def test_the_read_view_offers_the_public_pdf_only_where_one_exists(client, alone):
    open_minutes = alone()
    closed = alone(number=9, change=lambda m: m.update(public=False))
    client.force_login(user_in(open_minutes.body))
    for meeting, offered in ((open_minutes, True), (closed, False)):
        html = client.get(reverse("protokolle:meeting_detail", args=[meeting.pk])).content
        public_url = reverse("protokolle:minutes_pdf", args=[meeting.pk]) + "?version=public"
        assert (public_url.encode() in html) is offered


def test_search_entries_of_drafts_are_never_visible(draft):
    SearchEntry.objects.create(
        meeting=draft, body=draft.body, date=draft.date, kind="meeting", public=True, text="x"
    )
    staff = UserFactory(is_staff=True)
    assert not access.visible_search_entries(staff).exists()
