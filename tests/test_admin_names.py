"""The admin names every app and model in German, the libraries' too."""

import re

import pytest
from django.urls import reverse

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_admin_index_has_no_english_app_or_model_name(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:index")).content.decode()

    captions = re.findall(r"<caption>\s*<a [^>]*>([^<]+)</a>", page)
    models = re.findall(r'<th scope="row" id="[^"]*">\s*(?:<a [^>]*>)?([^<]+?)\s*<', page)
    assert {"Anmeldeschutz", "Hintergrundaufgaben", "Änderungsverlauf"} <= set(captions)
    assert {"Änderungseinträge", "Aufgabenläufe"} <= set(models)
    english = {"Axes", "Audit log", "Tasks Database Backend", "Task Results", "Log entries"}
    assert not english & (set(captions) | set(models))


def test_the_admin_is_headed_with_the_sites_name(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = client.get(reverse("admin:index")).content.decode()

    assert "Werkstatt-Protokolle: Verwaltung" in page
    assert "Django-Verwaltung" not in page
