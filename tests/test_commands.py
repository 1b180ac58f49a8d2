import datetime
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings

from protokolle import pdf
from protokolle.models import ArchivedPdf, Body, Meeting, Membership, Person

from .conftest import REFERENCE, row_counts

pytestmark = pytest.mark.django_db
PROJECT = Path(__file__).resolve().parent.parent


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_minutes_prints_the_new_meetings_id_last():
    out, _err = run("import_minutes", str(REFERENCE))
    meeting = Meeting.objects.get()
    assert out.splitlines()[-1] == f"imported meeting {meeting.pk}"


def test_import_minutes_reads_standard_input(monkeypatch):
    stdin = io.TextIOWrapper(io.BytesIO(REFERENCE.read_bytes()), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    out, _err = run("import_minutes", "-")
    assert out.startswith("imported meeting ")
    assert Meeting.objects.get().number == 8


def test_import_minutes_names_each_problem_and_fails(tmp_path, unchanged_database):
    document = json.loads(REFERENCE.read_text())
    document["meeting"]["start"] = "25:00"
    document["meeting"]["agenda"][2]["results"][0]["owner"] = "WRL"
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    err = io.StringIO()

    with pytest.raises(CommandError, match="nothing imported"):
        call_command("import_minutes", str(path), stdout=io.StringIO(), stderr=err)

    assert err.getvalue().splitlines() == [
        "meeting.agenda[2].results[0]: unbekannter Schlüssel „owner“",
        "meeting.start: „25:00“ ist keine Uhrzeit im Format HH:MM",
    ]


def test_import_minutes_reports_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="missing.json"):
        run("import_minutes", str(tmp_path / "missing.json"))


def as_exported(path):
    """The document at ``path`` as the export writes it: the typed numbers that the
    items get anyway (all but 3.1 and 3.2 of the reference) come back as null."""
    document = json.loads(path.read_text(encoding="utf-8"))
    for item in document["meeting"]["agenda"]:
        if item["number"] not in ("3.1", "3.2"):
            item["number"] = None
    return document


def test_export_minutes_writes_the_document_to_a_file(tmp_path):
    run("import_minutes", str(REFERENCE))
    target = tmp_path / "out.json"

    run("export_minutes", str(Meeting.objects.get().pk), "--format", "json", "-o", str(target))

    assert json.loads(target.read_text(encoding="utf-8")) == as_exported(REFERENCE)
    assert "„Revierwende“" in target.read_text(encoding="utf-8")


def test_export_minutes_writes_to_standard_output():
    run("import_minutes", str(REFERENCE))
    out, _err = run("export_minutes", str(Meeting.objects.get().pk))
    assert json.loads(out) == as_exported(REFERENCE)


def test_export_minutes_refuses_an_unknown_meeting():
    with pytest.raises(CommandError, match="4711"):
        run("export_minutes", "4711")


def timing_out(*args, **kwargs):
    raise pdf.RenderTimeout(45)


@pytest.fixture
def unarchived(minutes, monkeypatch):
    """Confirmed minutes whose archival render failed after the confirmation: no copies."""
    with monkeypatch.context() as patch:
        patch.setattr(pdf, "write_pdf", timing_out)
        meeting = minutes(status="confirmed")
    assert not ArchivedPdf.objects.filter(meeting=meeting).exists()
    return meeting


def test_export_minutes_answers_a_render_that_times_out_with_its_message(
    minutes, monkeypatch, tmp_path
):
    draft = minutes()
    monkeypatch.setattr(pdf, "write_pdf", timing_out)
    target = tmp_path / "out.pdf"

    with pytest.raises(CommandError) as refusal:
        run("export_minutes", str(draft.pk), "--format", "pdf", "-o", str(target))

    assert str(refusal.value) == str(pdf.RenderTimeout(45))
    assert not target.exists()


def test_export_minutes_renders_and_stores_the_copies_confirmed_minutes_lack(unarchived, tmp_path):
    target = tmp_path / "out.pdf"

    run("export_minutes", str(unarchived.pk), "--format", "pdf", "--public", "-o", str(target))

    stored = ArchivedPdf.objects.get(meeting=unarchived, variant="public")
    with stored.file.open("rb") as handle:
        assert target.read_bytes() == handle.read()
    assert ArchivedPdf.objects.filter(meeting=unarchived).count() == 2


def test_export_minutes_of_confirmed_minutes_whose_copies_cannot_be_rendered_fails(
    unarchived, monkeypatch, tmp_path
):
    monkeypatch.setattr(pdf, "write_pdf", timing_out)

    with pytest.raises(CommandError, match="45"):
        run("export_minutes", str(unarchived.pk), "--format", "pdf", "-o", str(tmp_path / "x"))

    assert not ArchivedPdf.objects.filter(meeting=unarchived).exists()


@override_settings(DEBUG=True)
def test_load_demo_loads_minutes_members_and_users():
    out, _err = run("load_demo")

    meeting = Meeting.objects.get(number=8)
    assert (meeting.body.name, meeting.number) == ("Werkstatt", 8)
    assert meeting.chair_person.name == "Sven Guntermann"
    roles = dict(Membership.objects.values_list("person__name", "role"))
    assert roles["Alexander Boldt"] == Membership.Role.MINUTE_TAKER
    assert roles["Katja Boll"] == Membership.Role.MEMBER
    users = get_user_model().objects.order_by("username")
    assert [u.username for u in users] == ["admin", "mitglied", "protokoll"]
    assert all(u.check_password("demo") for u in users)
    assert users.get(username="admin").is_superuser
    assert Person.objects.get(user__username="protokoll").name == "Alexander Boldt"
    assert "password 'demo'" in out


@override_settings(DEBUG=True)
def test_load_demo_is_idempotent():
    run("load_demo")
    before = row_counts()
    users = get_user_model().objects.count()

    run("load_demo")

    assert row_counts() == before
    assert get_user_model().objects.count() == users


@override_settings(DEBUG=True)
def test_load_demo_gives_the_members_e_mail_addresses():
    run("load_demo")

    addresses = dict(Person.objects.values_list("name", "email"))
    assert addresses == {
        "Sven Guntermann": "sven.guntermann@example.org",
        "Alexander Boldt": "alexander.boldt@example.org",
        "Dr. Elena Herzog": "elena.herzog@example.org",
        "Katja Boll": "katja.boll@example.org",
    }


@override_settings(DEBUG=True)
def test_load_demo_completes_addresses_once_and_keeps_changed_ones():
    run("load_demo")
    Person.objects.filter(name="Katja Boll").update(email="")
    Person.objects.filter(name="Sven Guntermann").update(email="sprecher@example.org")

    run("load_demo")
    after = dict(Person.objects.values_list("name", "email"))
    run("load_demo")

    assert after["Katja Boll"] == "katja.boll@example.org"
    assert after["Sven Guntermann"] == "sprecher@example.org"
    assert dict(Person.objects.values_list("name", "email")) == after


def test_demo_addresses_fold_umlauts_and_drop_titles():
    from protokolle.management.commands.load_demo import demo_email

    assert demo_email("Dr. Jörg Weiß-Müller") == "joerg.weiss-mueller@example.org"
    assert demo_email("Zoë Çelik") == "zoe.celik@example.org"


@override_settings(DEBUG=False)
def test_load_demo_refuses_without_debug(unchanged_database):
    with pytest.raises(CommandError, match="--force"):
        run("load_demo")
    assert not get_user_model().objects.exists()


@override_settings(DEBUG=False)
def test_load_demo_runs_without_debug_when_forced():
    run("load_demo", "--force")
    assert Body.objects.filter(name="Werkstatt").exists()


def manage(*args, env=None, stdin=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT,
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_commands_exit_non_zero_on_bad_input(tmp_path):
    """The real exit status and output, through manage.py in its own process."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}", "DJANGO_DEBUG": "true"}
    assert manage("migrate", "-v0", env=env).returncode == 0

    bad = manage("import_minutes", "-", env=env, stdin='{"format": "werkstatt-protokoll/1"')
    good = manage("import_minutes", "-", env=env, stdin=REFERENCE.read_text())

    assert bad.returncode != 0
    assert "Ungültiges JSON in Zeile 1" in bad.stderr
    assert good.returncode == 0, good.stderr
    assert good.stdout.strip().splitlines()[-1].startswith("imported meeting ")


def test_settings_refuse_to_start_without_a_secret_key_when_debug_is_off():
    result = manage("check", env={"DJANGO_DEBUG": "false", "DJANGO_SECRET_KEY": ""})
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


@override_settings(DEBUG=True)
def test_load_demo_plans_the_next_meeting_to_invite_to():
    from protokolle import invitations

    out, _err = run("load_demo")

    planned = Meeting.objects.get(number=9)
    assert planned.status == Meeting.Status.DRAFT
    assert planned.date > datetime.date.today()
    assert invitations.can_invite(planned)
    assert not invitations.is_short_notice(planned)
    assert [item.title for item in planned.agenda_items.order_by("position")][-1] == "Sonstiges"
    assert f"/meetings/{planned.pk}/invite/" in out


def test_the_wsgi_module_sets_up_the_garbage_collector_for_the_server(tmp_path):
    """gunicorn --preload imports werkstatt.wsgi before forking: what it loaded is then
    frozen, so that the garbage collector does not walk it at every full collection, and
    the youngest objects are collected less often."""
    script = (
        "import gc, werkstatt.wsgi; "
        "print(gc.get_freeze_count(), callable(werkstatt.wsgi.application), "
        "gc.get_threshold()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=PROJECT,
        env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.sqlite3'}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    frozen, callable_, threshold = done.stdout.split()
    assert int(frozen) > 10_000
    assert callable_ == "True"
    assert int(threshold) == 20_000  # collections of the youngest objects: see wsgi.py
