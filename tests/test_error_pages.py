"""Error pages in the site's language, with a way on: no bare "403 Forbidden" dead end."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views import defaults

from .factories import user_in, writer_of

pytestmark = pytest.mark.django_db


def test_a_member_at_the_editor_gets_a_german_page_with_a_way_on(client, minutes):
    meeting = minutes()
    client.force_login(user_in(meeting.body))

    response = client.get(reverse("protokolle:meeting_edit", args=[meeting.pk]))

    assert response.status_code == 403
    page = response.content.decode()
    assert '<html lang="de">' in page
    assert "Keine Berechtigung" in page
    assert f'href="{reverse("home")}"' in page
    assert "Abmelden" in page  # the site's menu, so the member is not stranded


def test_an_unknown_address_gets_a_german_page_with_a_way_on(client, minutes):
    meeting = minutes()
    client.force_login(writer_of(meeting.body))

    response = client.get("/meetings/999999/")

    assert response.status_code == 404
    page = response.content.decode()
    assert "Seite nicht gefunden" in page
    assert f'href="{reverse("protokolle:search")}"' in page


def test_an_expired_form_says_nothing_was_saved_and_what_to_do(minutes):
    meeting = minutes()
    client = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="de")
    client.force_login(writer_of(meeting.body))

    response = client.post(reverse("protokolle:meeting_edit", args=[meeting.pk]), {})

    assert response.status_code == 403
    page = response.content.decode()
    assert "Das Formular ist abgelaufen" in page
    assert "Es wurde nichts gespeichert" in page


def test_the_server_error_page_needs_no_request_context():
    request = RequestFactory(HTTP_ACCEPT_LANGUAGE="de").get("/")

    response = defaults.server_error(request)

    assert response.status_code == 500
    assert "Serverfehler" in response.content.decode()
