import copy
import csv
import datetime
import hashlib
import io
import json
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from protokolle import archive, drafting, workflow
from protokolle.models import ArchivedPdf, Meeting, Membership, Result, TaskDone

from .factories import MembershipFactory, PersonFactory, UserFactory

pytestmark = pytest.mark.django_db


def confirmed_minutes(reference_document, number=8, date="2022-03-21", body=None, change=None):
    document = copy.deepcopy(reference_document)
    document["meeting"].update(number=number, date=date, status="confirmed")
    if body:
        document["body"]["name"] = body
    if change:
        change(document["meeting"])
    return workflow.import_minutes(document)


@pytest.fixture
def werkstatt(reference_document):
    return confirmed_minutes(reference_document)


def member_of(body, role=Membership.Role.MEMBER):
    user = UserFactory()
    MembershipFactory(body=body, person=PersonFactory(user=user), role=role)
    return user


# --- the archive list -------------------------------------------------------------------


def test_the_archive_lists_confirmed_minutes_newest_first_with_their_hash(
    client, reference_document, werkstatt
):
    later = confirmed_minutes(reference_document, number=9, date="2022-05-23")
    draft = copy.deepcopy(reference_document)
    draft["meeting"].update(number=10, date="2022-07-01")
    workflow.import_minutes(draft)
    client.force_login(member_of(werkstatt.body))

    response = client.get(reverse("protokolle:archive"))

    assert list(response.context["page"]) == [later, werkstatt]
    stored = ArchivedPdf.objects.get(meeting=werkstatt, variant="members")
    assert stored.sha256 in response.content.decode()


def test_the_archive_shows_only_bodies_the_user_may_read(client, reference_document, werkstatt):
    other = confirmed_minutes(reference_document, body="Andere Werkstatt")
    client.force_login(member_of(other.body))
    assert list(client.get(reverse("protokolle:archive")).context["page"]) == [other]


def test_the_archive_filters_by_year_and_pages(client, reference_document, werkstatt):
    for number in range(9, 36):
        confirmed_minutes(
            reference_document,
            number=number,
            date=f"2023-01-{number - 8:02d}",
            change=lambda m: m.update(agenda=m["agenda"][:1]),
        )
    client.force_login(member_of(werkstatt.body))

    first = client.get(reverse("protokolle:archive"), {"year": 2023})
    second = client.get(reverse("protokolle:archive"), {"year": 2023, "page": 2})

    assert first.context["page"].paginator.count == 27
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 2
    assert werkstatt not in second.context["page"]


def test_the_archive_costs_a_fixed_number_of_queries(
    client, reference_document, werkstatt, django_assert_num_queries
):
    user = member_of(werkstatt.body)
    client.force_login(user)
    client.get(reverse("protokolle:archive"))
    with django_assert_num_queries(7):
        client.get(reverse("protokolle:archive"))
    for number in range(9, 14):
        confirmed_minutes(
            reference_document,
            number=number,
            date=f"2023-02-{number:02d}",
            change=lambda m: m.update(agenda=m["agenda"][:1]),
        )
    with django_assert_num_queries(7):
        client.get(reverse("protokolle:archive"))


# --- search -----------------------------------------------------------------------------


def search(client, **params):
    return client.get(reverse("protokolle:search"), params)


def hits(response):
    return [(hit.kind, hit.text[:40]) for hit in response.context["page"]]


def test_search_finds_words_in_results_titles_presenters_and_participants(
    client, reference_document
):
    def attendance(meeting):
        meeting["participants"] = [{"name": "Gisela Gastmann", "status": "guest"}]

    minutes = confirmed_minutes(reference_document, change=attendance)
    client.force_login(member_of(minutes.body))

    assert search(client, q="Trinkwasserverbundsystem").context["page"].paginator.count == 1
    assert ("item", "Vorstellung des DGB-Projektes „Revierwen") in hits(
        search(client, q="Revierwende")
    )
    assert hits(search(client, q="Siebert"))[0][0] == "item"
    assert hits(search(client, q="Gastmann"))[0][0] == "meeting"


def test_search_stems_german_words_on_postgresql(client, werkstatt):
    if connection.vendor != "postgresql":
        pytest.skip("stemming needs PostgreSQL's German text search; CI runs this there")
    client.force_login(member_of(werkstatt.body))
    # The minutes say "Projektsteckbriefe", "Projekte" and "Projektteilen"; "Projekt" is
    # the stem of "Projekte".
    found = search(client, q="Projekt")
    assert found.context["page"].paginator.count >= 1
    assert any("Projekte" in hit.text for hit in found.context["page"])


def test_search_ranks_and_highlights(client, werkstatt):
    client.force_login(member_of(werkstatt.body))
    response = search(client, q="Kommunen")
    page = response.content.decode()
    assert "<mark>Kommunen</mark>" in page


def test_snippets_are_escaped(client, reference_document):
    minutes = confirmed_minutes(
        reference_document,
        change=lambda m: m["agenda"][0]["results"].append(
            {"text": "Achtung <script>alert('x')</script> Wasserstoffnetz"}
        ),
    )
    client.force_login(member_of(minutes.body))
    page = search(client, q="Wasserstoffnetz").content.decode()
    assert "<script>alert" not in page
    # SQLite's excerpt shows the typed markup as text; PostgreSQL's ts_headline drops it.
    assert "&lt;script&gt;" in page or "alert(&#x27;x&#x27;)" in page


def test_non_public_items_are_found_by_those_who_read_the_members_version(
    client, reference_document
):
    """Members of the body and site staff (access.py's one staff rule) find non-public
    items, as their PDF shows them; members of another body find nothing of it."""

    def hide(meeting):
        meeting["agenda"][4]["public"] = False

    minutes = confirmed_minutes(reference_document, change=hide)
    other = confirmed_minutes(reference_document, body="Andere Werkstatt", date="2019-05-05")
    client.force_login(member_of(minutes.body))
    assert search(client, q="Kindertagesstätten").context["page"].paginator.count == 1
    client.force_login(UserFactory(is_staff=True))
    assert search(client, q="Kindertagesstätten").context["page"].paginator.count == 2
    client.force_login(member_of(other.body))
    # The other body's own minutes have the item as public; these minutes are not theirs.
    hits = search(client, q="Kindertagesstätten").context["page"]
    assert {hit.meeting for hit in hits} == {other}


def test_search_filters_by_kind_person_year_and_body(client, reference_document, werkstatt):
    other = confirmed_minutes(reference_document, body="Andere Werkstatt", date="2019-05-05")
    user = member_of(werkstatt.body)
    MembershipFactory(body=other.body, person=user.person)
    client.force_login(user)

    assert search(client, q="Protokoll", kind="decision").context["page"].paginator.count == 4
    assert search(client, q="Protokoll", kind="task").context["page"].paginator.count == 0
    assert {h.meeting for h in search(client, q="Protokoll", to=2020).context["page"]} == {other}
    assert {
        h.meeting for h in search(client, q="Protokoll", body=werkstatt.body.pk).context["page"]
    } == {werkstatt}
    by_person = search(client, q="Smart", person="Siebert").context["page"]
    assert by_person.paginator.count >= 1
    assert all("Siebert" in hit.people for hit in by_person)


def test_drafts_are_not_searched(client, reference_document):
    document = copy.deepcopy(reference_document)
    draft = workflow.import_minutes(document)
    client.force_login(member_of(draft.body))
    assert search(client, q="Trinkwasserverbundsystem").context["page"].paginator.count == 0


# --- tasks ------------------------------------------------------------------------------


def with_tasks(meeting):
    meeting["agenda"][1]["results"].append(
        {
            "kind": "task",
            "text": "Steckbrief überarbeiten",
            "responsible": "WRL",
            "due": "2022-04-30",
        }
    )
    meeting["agenda"][1]["results"].append(
        {"kind": "task", "text": "Termin abstimmen", "responsible": "DABB", "due": "2099-01-01"}
    )


@pytest.fixture
def tasks_minutes(reference_document):
    return confirmed_minutes(reference_document, change=with_tasks)


def task_texts(response):
    return [task.text for task in response.context["page"]]


def test_the_task_list_filters_open_overdue_and_done(client, tasks_minutes):
    writer = member_of(tasks_minutes.body, Membership.Role.MINUTE_TAKER)
    client.force_login(writer)
    tasks_url = reverse("protokolle:tasks")

    assert task_texts(client.get(tasks_url)) == ["Steckbrief überarbeiten", "Termin abstimmen"]
    assert task_texts(client.get(tasks_url, {"state": "overdue"})) == ["Steckbrief überarbeiten"]

    task = Result.objects.get(text="Steckbrief überarbeiten")
    client.post(reverse("protokolle:task_done", args=[task.pk]))

    assert task_texts(client.get(tasks_url)) == ["Termin abstimmen"]
    assert task_texts(client.get(tasks_url, {"state": "done"})) == ["Steckbrief überarbeiten"]
    done = TaskDone.objects.get(result=task)
    assert done.done_by == writer
    task.refresh_from_db()
    assert task.text == "Steckbrief überarbeiten"  # the confirmed minutes are untouched

    client.post(reverse("protokolle:task_open", args=[task.pk]))
    assert not TaskDone.objects.exists()


def test_members_cannot_mark_tasks_done(client, tasks_minutes):
    client.force_login(member_of(tasks_minutes.body))
    task = Result.objects.get(text="Steckbrief überarbeiten")
    assert client.post(reverse("protokolle:task_done", args=[task.pk])).status_code == 403
    assert not TaskDone.objects.exists()


def test_outsiders_see_no_tasks_and_cannot_mark_them(client, tasks_minutes, reference_document):
    other = confirmed_minutes(reference_document, body="Andere Werkstatt")
    outsider = member_of(other.body, Membership.Role.MINUTE_TAKER)
    client.force_login(outsider)
    assert task_texts(client.get(reverse("protokolle:tasks"))) == []
    task = Result.objects.get(text="Steckbrief überarbeiten")
    assert client.post(reverse("protokolle:task_done", args=[task.pk])).status_code == 404


def test_open_tasks_are_proposed_for_the_next_meeting(tasks_minutes):
    TaskDone.objects.create(result=Result.objects.get(text="Termin abstimmen"))
    form = type("Form", (), {})()
    meeting = Meeting(body=tasks_minutes.body, number=9, date=datetime.date(2022, 5, 23))
    form.save = lambda commit=False: meeting

    drafting.create_meeting(form)

    item = meeting.agenda_items.get(title="Offene Aufgaben")
    assert [r.text for r in item.results.all()] == [
        "Steckbrief überarbeiten (WRL, bis 30.04.2022) – aus der 8. Sitzung vom 21.03.2022"
    ]


# --- handing over: the ZIP --------------------------------------------------------------


def read_zip(path_or_bytes):
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else path_or_bytes.read_bytes()
    bundle = zipfile.ZipFile(io.BytesIO(data))
    return {name: bundle.read(name) for name in bundle.namelist()}


def test_export_archive_writes_pdfs_documents_and_a_manifest(
    werkstatt, reference_document, tmp_path, capsys
):
    confirmed_minutes(reference_document, number=9, date="2022-05-23")
    confirmed_minutes(reference_document, number=10, date="2023-01-10")
    target = tmp_path / "werkstatt-2022.zip"

    call_command("export_archive", "--body", "Werkstatt", "--year", "2022", "-o", str(target))

    files = read_zip(target)
    manifest = json.loads(files["manifest.json"])["files"]
    rows = list(csv.DictReader(io.StringIO(files["manifest.csv"].decode())))
    assert len(manifest) == 6  # 2 meetings x (members' PDF, public PDF, JSON)
    assert [row["file"] for row in rows] == [entry["file"] for entry in manifest]
    for entry in manifest:
        assert hashlib.sha256(files[entry["file"]]).hexdigest() == entry["sha256"]
    stored = ArchivedPdf.objects.get(meeting=werkstatt, variant="members")
    assert stored.sha256 in {entry["sha256"] for entry in manifest}
    documents = [json.loads(files[e["file"]]) for e in manifest if e["kind"] == "json"]
    assert {d["meeting"]["number"] for d in documents} == {8, 9}
    assert "[2/2]" in capsys.readouterr().err


def test_export_archive_stops_on_a_changed_pdf_and_leaves_no_zip(werkstatt, tmp_path):
    stored = ArchivedPdf.objects.get(meeting=werkstatt, variant="members")
    with open(stored.file.path, "ab") as handle:
        handle.write(b"tampered")
    target = tmp_path / "out.zip"

    with pytest.raises(CommandError, match="changed"):
        call_command("export_archive", "--body", "Werkstatt", "-o", str(target))

    assert not target.exists()
    assert not (tmp_path / "out.zip.part").exists()


def test_export_archive_names_an_unknown_body(werkstatt, tmp_path):
    with pytest.raises(CommandError, match="Werkstatt"):
        call_command("export_archive", "--body", "Unbekannt", "-o", str(tmp_path / "x.zip"))


def test_administrators_export_a_zip_from_the_admin(admin_client, werkstatt):
    response = admin_client.post(
        reverse("admin:protokolle_meeting_changelist"),
        {"action": "export_zip", "_selected_action": [werkstatt.pk]},
    )
    assert response.status_code == 200
    files = read_zip(b"".join(response.streaming_content))
    assert "manifest.json" in files


# --- generated load ---------------------------------------------------------------------


def test_generate_load_makes_confirmed_searchable_minutes(client):
    call_command("generate_load", "--meetings", "4")

    meetings = Meeting.objects.all()
    assert meetings.count() == 4
    assert set(meetings.values_list("status", flat=True)) == {"confirmed"}
    items = [m.agenda_items.count() for m in meetings]
    assert all(10 <= n <= 30 for n in items)
    user = UserFactory(is_staff=True)
    client.force_login(user)
    assert search(client, q="Werkstatt").context["page"].paginator.count > 0


# --- access ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["protokolle:archive", "protokolle:search", "protokolle:tasks"])
def test_the_archive_pages_need_a_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_task_toggles_are_post_only(client, tasks_minutes):
    writer = member_of(tasks_minutes.body, Membership.Role.MINUTE_TAKER)
    client.force_login(writer)
    task = Result.objects.get(text="Steckbrief überarbeiten")
    assert client.get(reverse("protokolle:task_done", args=[task.pk])).status_code == 405


# --- names inside the ZIP (issue 12, finding 10) ----------------------------------------


def test_a_body_name_cannot_lead_an_entry_out_of_the_archive_folder(reference_document, tmp_path):
    minutes = confirmed_minutes(reference_document, body="../../../../tmp/zipslip")
    target = tmp_path / "out.zip"

    call_command("export_archive", "--body", minutes.body.name, "-o", str(target))

    names = zipfile.ZipFile(target).namelist()
    assert len(names) == 5  # members' and public PDF, JSON, manifest.csv, manifest.json
    for name in names:
        assert not name.startswith(("/", "\\")) and "\\" not in name
        assert ".." not in name.split("/")
    assert {name.split("/")[0] for name in names} == {
        "tmp-zipslip",
        "manifest.csv",
        "manifest.json",
    }
    # Unpacked, everything stays inside the folder it is unpacked to.
    unpacked = tmp_path / "unpacked"
    for name in names:
        assert (unpacked / name).resolve().is_relative_to(unpacked.resolve())


@pytest.mark.parametrize(
    ("body", "folder"),
    [
        (
            "Ausschuss für Ökologie, Übergänge & Straßen",
            "ausschuss-fuer-oekologie-uebergaenge-strassen",
        ),
        ("ÄRZTEKAMMER", "aerztekammer"),
        ("…", "gremium-{pk}"),
    ],
)
def test_archive_folders_are_readable_slugs_of_the_body(reference_document, body, folder):
    minutes = confirmed_minutes(reference_document, body=body)
    target = io.BytesIO()

    archive.write_zip(archive.confirmed_meetings(body=minutes.body), target)

    names = zipfile.ZipFile(target).namelist()
    expected = folder.format(pk=minutes.body.pk)
    assert all(name.startswith(f"{expected}/2022/") for name in names if "/" in name)


@pytest.mark.parametrize("name", ["/etc/x", "a/../../x", "a\\..\\x", "a//x", "./x", "C:/x", ""])
def test_no_entry_name_can_leave_the_archive_folder(name):
    with pytest.raises(archive.ArchiveError):
        archive.entry_name(name)
