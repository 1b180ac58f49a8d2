import csv
import datetime
import functools
import hashlib
import io
import json
import zipfile

import pytest
from django.contrib.messages import get_messages
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from protokolle import archive, drafting, pdf
from protokolle.models import ArchivedPdf, Meeting, Membership, Result, TaskDone

from .factories import MembershipFactory, UserFactory, user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmed_minutes(minutes):
    return functools.partial(minutes, status="confirmed")


@pytest.fixture
def werkstatt(confirmed_minutes):
    return confirmed_minutes()


# --- the archive list -------------------------------------------------------------------


def test_the_archive_lists_confirmed_minutes_newest_first_with_their_hash(
    client, werkstatt, confirmed_minutes, minutes
):
    later = confirmed_minutes(number=9, date="2022-05-23")
    minutes(number=10, date="2022-07-01")  # a draft
    client.force_login(user_in(werkstatt.body))

    response = client.get(reverse("protokolle:archive"))

    assert list(response.context["page"]) == [later, werkstatt]
    stored = ArchivedPdf.objects.get(meeting=werkstatt, variant="members")
    assert stored.sha256 in response.content.decode()


def test_the_archive_shows_only_bodies_the_user_may_read(client, confirmed_minutes, werkstatt):
    other = confirmed_minutes(body="Andere Werkstatt")
    client.force_login(user_in(other.body))
    assert list(client.get(reverse("protokolle:archive")).context["page"]) == [other]


def test_the_archive_filters_by_year_and_pages(client, werkstatt, confirmed_minutes):
    for number in range(9, 36):
        confirmed_minutes(
            number=number,
            date=f"2023-01-{number - 8:02d}",
            change=lambda m: m.update(agenda=m["agenda"][:1]),
        )
    client.force_login(user_in(werkstatt.body))

    first = client.get(reverse("protokolle:archive"), {"year": 2023})
    second = client.get(reverse("protokolle:archive"), {"year": 2023, "page": 2})

    assert first.context["page"].paginator.count == 27
    assert len(first.context["page"]) == 25 and len(second.context["page"]) == 2
    assert werkstatt not in second.context["page"]


def test_the_archive_costs_a_fixed_number_of_queries(
    client, werkstatt, django_assert_num_queries, confirmed_minutes
):
    user = user_in(werkstatt.body)
    client.force_login(user)
    client.get(reverse("protokolle:archive"))
    with django_assert_num_queries(7):
        client.get(reverse("protokolle:archive"))
    for number in range(9, 14):
        confirmed_minutes(
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
    client, confirmed_minutes
):
    def attendance(meeting):
        meeting["participants"] = [{"name": "Gisela Gastmann", "status": "guest"}]

    minutes = confirmed_minutes(change=attendance)
    client.force_login(user_in(minutes.body))

    assert search(client, q="Trinkwasserverbundsystem").context["page"].paginator.count == 1
    assert ("item", "Vorstellung des DGB-Projektes „Revierwen") in hits(
        search(client, q="Revierwende")
    )
    assert hits(search(client, q="Siebert"))[0][0] == "item"
    assert hits(search(client, q="Gastmann"))[0][0] == "meeting"


def test_search_stems_german_words_on_postgresql(client, werkstatt):
    if connection.vendor != "postgresql":
        pytest.skip("stemming needs PostgreSQL's German text search; CI runs this there")
    client.force_login(user_in(werkstatt.body))
    # The minutes say "Projektsteckbriefe", "Projekte" and "Projektteilen"; "Projekt" is
    # the stem of "Projekte".
    found = search(client, q="Projekt")
    assert found.context["page"].paginator.count >= 1
    assert any("Projekte" in hit.text for hit in found.context["page"])


def test_search_ranks_and_highlights(client, werkstatt):
    client.force_login(user_in(werkstatt.body))
    response = search(client, q="Kommunen")
    page = response.content.decode()
    assert "<mark>Kommunen</mark>" in page


def test_snippets_are_escaped(client, confirmed_minutes):
    minutes = confirmed_minutes(
        change=lambda m: m["agenda"][0]["results"].append(
            {"text": "Achtung <script>alert('x')</script> Wasserstoffnetz"}
        ),
    )
    client.force_login(user_in(minutes.body))
    page = search(client, q="Wasserstoffnetz").content.decode()
    assert "<script>alert" not in page
    # SQLite's excerpt shows the typed markup as text; PostgreSQL's ts_headline drops it.
    assert "&lt;script&gt;" in page or "alert(&#x27;x&#x27;)" in page


def test_non_public_items_are_found_by_those_who_read_the_members_version(
    client, confirmed_minutes
):
    """Members of the body and site staff (access.py's one staff rule) find non-public
    items, as their PDF shows them; members of another body find nothing of it."""

    def hide(meeting):
        meeting["agenda"][4]["public"] = False

    minutes = confirmed_minutes(change=hide)
    other = confirmed_minutes(body="Andere Werkstatt", date="2019-05-05")
    client.force_login(user_in(minutes.body))
    assert search(client, q="Kindertagesstätten").context["page"].paginator.count == 1
    client.force_login(UserFactory(is_staff=True))
    assert search(client, q="Kindertagesstätten").context["page"].paginator.count == 2
    client.force_login(user_in(other.body))
    # The other body's own minutes have the item as public; these minutes are not theirs.
    hits = search(client, q="Kindertagesstätten").context["page"]
    assert {hit.meeting for hit in hits} == {other}


def test_search_filters_by_kind_person_year_and_body(client, confirmed_minutes, werkstatt):
    other = confirmed_minutes(body="Andere Werkstatt", date="2019-05-05")
    user = user_in(werkstatt.body)
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


def test_years_that_are_no_years_are_left_out_with_a_message(client, confirmed_minutes, werkstatt):
    """A shared or edited link with a year of 20 digits failed with a server error."""
    other = confirmed_minutes(body="Andere Werkstatt", date="2019-05-05")
    user = user_in(werkstatt.body)
    MembershipFactory(body=other.body, person=user.person)
    client.force_login(user)

    for value in ["99999999999999999999", "-3", "zwanzig"]:
        response = search(client, q="Protokoll", **{"from": value})
        assert response.status_code == 200
        assert {h.meeting for h in response.context["page"]} == {werkstatt, other}
        assert "ist keine Jahreszahl" in response.content.decode()
        listing = client.get(reverse("protokolle:archive"), {"year": value})
        assert listing.status_code == 200
        assert listing.context["page"].paginator.count == 2

    # From after to: the years are taken the right way round, and the page says so.
    response = search(client, q="Protokoll", **{"from": 2021, "to": 2018})
    assert {h.meeting for h in response.context["page"]} == {other}
    assert "von 2018 bis 2021" in response.content.decode()


def test_drafts_are_not_searched(client, minutes):
    draft = minutes()
    client.force_login(user_in(draft.body))
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
def tasks_minutes(confirmed_minutes):
    return confirmed_minutes(change=with_tasks)


def task_texts(response):
    return [task.text for task in response.context["page"]]


def test_the_task_list_filters_open_overdue_and_done(client, tasks_minutes):
    writer = user_in(tasks_minutes.body, Membership.Role.MINUTE_TAKER)
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
    client.force_login(user_in(tasks_minutes.body))
    task = Result.objects.get(text="Steckbrief überarbeiten")
    assert client.post(reverse("protokolle:task_done", args=[task.pk])).status_code == 403
    assert not TaskDone.objects.exists()


def test_outsiders_see_no_tasks_and_cannot_mark_them(client, tasks_minutes, confirmed_minutes):
    other = confirmed_minutes(body="Andere Werkstatt")
    outsider = user_in(other.body, Membership.Role.MINUTE_TAKER)
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
    werkstatt, confirmed_minutes, tmp_path, capsys
):
    confirmed_minutes(number=9, date="2022-05-23")
    confirmed_minutes(number=10, date="2023-01-10")
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


def timing_out(*args, **kwargs):
    raise pdf.RenderTimeout(45)


@pytest.fixture
def unarchived(confirmed_minutes, monkeypatch):
    """Confirmed minutes whose archival render failed after the confirmation: no copies."""
    with monkeypatch.context() as patch:
        patch.setattr(pdf, "write_pdf", timing_out)
        meeting = confirmed_minutes()
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()
    return meeting


def test_export_archive_renders_and_stores_the_copies_confirmed_minutes_lack(unarchived, tmp_path):
    target = tmp_path / "out.zip"

    call_command("export_archive", "--body", "Werkstatt", "-o", str(target))

    files = read_zip(target)
    stored = ArchivedPdf.objects.filter(meeting=unarchived)
    assert {copy.variant for copy in stored} == {"members", "public"}
    manifest = json.loads(files["manifest.json"])["files"]
    assert sorted(e["kind"] for e in manifest) == ["json", "members", "public"]
    assert {copy.sha256 for copy in stored} <= {e["sha256"] for e in manifest}


def test_export_archive_stops_when_a_missing_copy_cannot_be_rendered(
    unarchived, monkeypatch, tmp_path
):
    monkeypatch.setattr(pdf, "write_pdf", timing_out)
    target = tmp_path / "out.zip"

    with pytest.raises(CommandError) as refusal:
        call_command("export_archive", "--body", "Werkstatt", "-o", str(target))

    assert str(pdf.RenderTimeout(45)) in str(refusal.value)
    assert str(unarchived) in str(refusal.value)
    assert not target.exists()
    assert not (tmp_path / "out.zip.part").exists()


def test_the_admin_export_names_minutes_whose_copy_cannot_be_rendered(
    admin_client, unarchived, monkeypatch
):
    monkeypatch.setattr(pdf, "write_pdf", timing_out)

    response = admin_client.post(
        reverse("admin:protokolle_meeting_changelist"),
        {"action": "export_zip", "_selected_action": [unarchived.pk]},
    )

    assert response.status_code == 302
    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert str(unarchived) in message
    assert "45" in message


# --- generated load ---------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the planner statistics it makes are PostgreSQL's"
)
def test_generate_load_leaves_planner_statistics_on_postgresql():
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM pg_statistic WHERE starelid = 'protokolle_result'::regclass")
    call_command("generate_load", "--meetings", "2", stdout=io.StringIO(), stderr=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stats WHERE tablename = 'protokolle_result'")
        assert cursor.fetchone()[0] > 0


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
    writer = user_in(tasks_minutes.body, Membership.Role.MINUTE_TAKER)
    client.force_login(writer)
    task = Result.objects.get(text="Steckbrief überarbeiten")
    assert client.get(reverse("protokolle:task_done", args=[task.pk])).status_code == 405


# --- names inside the ZIP (issue 12, finding 10) ----------------------------------------


def test_a_body_name_cannot_lead_an_entry_out_of_the_archive_folder(confirmed_minutes, tmp_path):
    minutes = confirmed_minutes(body="../../../../tmp/zipslip")
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
def test_archive_folders_are_readable_slugs_of_the_body(confirmed_minutes, body, folder):
    minutes = confirmed_minutes(body=body)
    target = io.BytesIO()

    archive.write_zip(archive.confirmed_meetings(body=minutes.body), target)

    names = zipfile.ZipFile(target).namelist()
    expected = folder.format(pk=minutes.body.pk)
    assert all(name.startswith(f"{expected}/2022/") for name in names if "/" in name)


@pytest.mark.parametrize("name", ["/etc/x", "a/../../x", "a\\..\\x", "a//x", "./x", "C:/x", ""])
def test_no_entry_name_can_leave_the_archive_folder(name):
    with pytest.raises(archive.ArchiveError):
        archive.entry_name(name)
