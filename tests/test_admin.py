import pytest
from django.urls import reverse

from protokolle import workflow
from protokolle.models import Meeting

pytestmark = pytest.mark.django_db


@pytest.fixture
def meeting(reference_document):
    return workflow.import_minutes(reference_document)


@pytest.fixture
def confirmed(reference_document):
    reference_document["meeting"]["status"] = "confirmed"
    return workflow.import_minutes(reference_document)


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
def confirmed_other(reference_document):
    reference_document["meeting"]["number"] = 9
    reference_document["meeting"]["status"] = "confirmed"
    return workflow.import_minutes(reference_document)


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
