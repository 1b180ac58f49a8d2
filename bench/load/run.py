"""Load and fault benchmark: gunicorn on PostgreSQL, mixed traffic, a worker killed.

Prepares what it needs (migrations, ``collectstatic`` into a temporary STATIC_ROOT since
the server runs with DEBUG off, a seal in a temporary folder, users, sessions, drafts
and confirmed minutes with their archival copy), starts gunicorn (``--preload``, 3
workers) on 127.0.0.1 against the PostgreSQL database in DATABASE_URL, then for
``--seconds`` (at most 60) runs, from threads of this process:

- minute-takers on drafts of the reference minutes (7 items), each loading the editor
  and saving the whole form with two fields changed (the place and a result text);
- one minute-taker on a draft of 60 items x 5 results, the same round;
- members who read the preview of confirmed minutes, download their stored PDF, and
  download the PDF of a draft, which the server renders per request.

After a third of the time it kills one gunicorn worker with SIGKILL. Then it checks that
no save was half-written (both fields from the same save) and that every draft holds
what its writer was last told was saved (or a later save whose answer was lost with the
killed worker). The run fails (exit status 1, with the reason) on any server error,
unexpected status, answer missing other than the one request each client had in flight
on the killed worker, a client thread that died, a kind of request that never got an
answer, a static file the pages name that cannot be fetched, or a mismatch in the
database. Loopback only; bounded in time.

    createdb werkstatt_load
    DATABASE_URL=postgres://localhost/werkstatt_load .venv/bin/python bench/load/run.py
"""

import argparse
import copy
import http.client
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SECRET = "load-benchmark-secret-key-" + "k3y" * 20
CSRF = "loadbenchcsrftoken0123456789abcd"  # 32 characters: an unmasked CSRF secret
WORKERS = 3
BIG_ITEMS = 60
BIG_RESULTS = 5
# The result text each save rewrites (it starts so in the reference minutes too).
MARKED = "Die nächste Sitzung findet am 23.05.2022 statt."

# Request kinds, as the report names them: exactly what was requested.
EDITOR_SMALL = "editor GET, draft 7 items"
SAVE_SMALL = "save POST, draft 7 items"
EDITOR_BIG = f"editor GET, draft {BIG_ITEMS}x{BIG_RESULTS}"
SAVE_BIG = f"save POST, draft {BIG_ITEMS}x{BIG_RESULTS}"
PREVIEW = "preview GET, confirmed 7 items"
PDF_STORED = "PDF GET, confirmed: stored copy"
PDF_RENDERED = "PDF GET, draft: rendered per GET"
KINDS = [EDITOR_SMALL, SAVE_SMALL, EDITOR_BIG, SAVE_BIG, PREVIEW, PDF_STORED, PDF_RENDERED]


class Failed(Exception):
    """The run cannot go on; the message says why."""


def big_document(reference):
    """The reference minutes with 60 agenda items of 5 results each; the last result of
    the last item is the one the saves rewrite."""
    document = copy.deepcopy(reference)
    document["meeting"]["agenda"] = [
        {
            "title": f"Tagesordnungspunkt {n + 1}: Bericht zur Strukturentwicklung in der Lausitz",
            "presenters": [
                {"name": "Dr. Elena Herzog", "organisation": "WRL", "function": "Projektmanagerin"}
            ],
            "results": [
                {
                    "text": f"Ergebnis {n + 1}.{r + 1}: Die Werkstatt nimmt den Bericht zur "
                    "Kenntnis und bittet die Geschäftsstelle, die Fördervoraussetzungen zu prüfen.",
                    "kind": "information" if r else "decision",
                }
                for r in range(BIG_RESULTS)
            ],
        }
        for n in range(BIG_ITEMS)
    ]
    document["meeting"]["agenda"][-1]["results"][-1]["text"] = MARKED
    return document


def prepare(workdir):
    """Static files, a seal and the environment of this process and of the server."""
    os.environ.update(
        DJANGO_SETTINGS_MODULE="werkstatt.settings",
        DJANGO_SECRET_KEY=SECRET,  # the server's: sessions made here must be valid there
        DJANGO_STATIC_ROOT=str(workdir / "static"),
        DJANGO_PDF_SEAL_DEMO_PATH=str(workdir / "demo-seal.p12"),
        DJANGO_MEDIA_ROOT=str(workdir / "media"),
    )
    server_env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    # DEBUG off serves static files from STATIC_ROOT (WhiteNoise, hashed names): without
    # collectstatic every page that names one answers 500.
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
        cwd=ROOT,
        env=server_env,
        check=True,
    )
    os.environ["DJANGO_DEBUG"] = "true"  # this process: the demo seal, migrations
    return server_env


def setup(writers, readers):
    """Users, sessions, one draft per writer, a large draft and confirmed minutes."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import (
        BACKEND_SESSION_KEY,
        HASH_SESSION_KEY,
        SESSION_KEY,
        get_user_model,
    )
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from protokolle import pdf, workflow
    from protokolle.models import ArchivedPdf, Body, Meeting, Membership, Person

    reference = json.loads((ROOT / "protokolle/demo/ergebnisprotokoll-2022-03-21.json").read_text())
    stamp = int(time.time())
    body_name = f"Lastprobe {stamp}"

    def draft(document, number):
        document = copy.deepcopy(document)
        document["body"]["name"] = body_name
        document["meeting"]["number"] = number
        return workflow.import_minutes(document)

    confirmed = copy.deepcopy(reference)
    confirmed["body"]["name"] = body_name
    confirmed["meeting"]["status"] = "confirmed"
    archive = workflow.import_minutes(confirmed)
    # Archival copies may be made by a background task: make sure the stored copy is
    # there, so that "stored copy" measures serving a stored file.
    pdf.ensure_archived(Meeting.objects.for_minutes().get(pk=archive.pk))
    if not ArchivedPdf.objects.filter(meeting=archive).exists():
        raise Failed("the confirmed minutes have no stored archival copy")
    body = Body.objects.get(name=body_name)

    def session(user):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    User = get_user_model()

    def person(name, role):
        user = User.objects.create_user(f"{name}-{stamp}", password="x")
        Membership.objects.create(
            body=body, person=Person.objects.create(name=name, user=user), role=role
        )
        return session(user)

    clients = {"writers": [], "readers": []}
    for index in range(writers):
        clients["writers"].append(
            {
                "session": person(f"W{index}", "minute_taker"),
                "meeting": draft(reference, 100 + index).pk,
                "kinds": (EDITOR_SMALL, SAVE_SMALL),
            }
        )
    clients["writers"].append(
        {
            "session": person("W-big", "minute_taker"),
            "meeting": draft(big_document(reference), 200).pk,
            "kinds": (EDITOR_BIG, SAVE_BIG),
        }
    )
    rendered = draft(reference, 300)  # a draft nobody edits: its PDF is rendered per GET
    for index in range(readers):
        clients["readers"].append(
            {
                "session": person(f"R{index}", "member"),
                "confirmed": archive.pk,
                "draft": rendered.pk,
            }
        )
    return clients, Meeting


def result_field(data):
    """The text field of the result this benchmark rewrites."""
    for name, value in data.items():
        if name.startswith("results-") and name.endswith("-text"):
            if value.startswith(("Die nächste", "save ")):
                return name
    raise LookupError("no result to rewrite in the editor's form")


class Client:
    def __init__(self, port, session):
        self.port = port
        self.cookie = f"sessionid={session}; csrftoken={CSRF}"
        self.connection = None

    def request(self, method, path, body=None):
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": self.cookie, "Host": "127.0.0.1"}
        if body is not None:
            body = urllib.parse.urlencode(body)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            self.connection = None
            raise


def wait_for(server, port):
    for _ in range(120):
        if server.poll() is not None:
            raise Failed(f"gunicorn exited with status {server.returncode} before answering")
        try:
            status, _ = Client(port, "").request("GET", "/healthz/")
        except OSError:
            time.sleep(0.5)
            continue
        if status != 200:
            raise Failed(f"GET /healthz/ answered {status}")
        return
    raise Failed("gunicorn did not answer within 60 seconds")


def check_static(port, session, meeting):
    """Every stylesheet and script the editor names must be served (collectstatic ran)."""
    client = Client(port, session)
    status, page = client.request("GET", f"/meetings/{meeting}/edit/")
    if status != 200:
        raise Failed(f"editor GET before the run answered {status}")
    urls = re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"', page.decode())
    if not urls:
        raise Failed("the editor names no static files: cannot check that they are served")
    for url in urls:
        status, _ = client.request("GET", url)
        if status != 200:
            raise Failed(f"GET {url} answered {status}: static files are not served")
    return len(urls)


def run(args):
    from tests.html_forms import form_data

    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        server_env = prepare(Path(folder))
        clients, Meeting = setup(args.writers, args.readers)
        server = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/gunicorn"),
                "werkstatt.wsgi",
                "--preload",
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{args.port}",
                "--timeout",
                "60",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=server_env,
        )
        try:
            wait_for(server, args.port)
            writer = clients["writers"][0]
            static = check_static(args.port, writer["session"], writer["meeting"])
            return traffic(args, clients, server, Meeting, form_data, static)
        finally:
            server.terminate()
            server.wait(timeout=30)


def traffic(args, clients, server, Meeting, form_data, static):
    seconds = min(args.seconds, 60)
    deadline = time.monotonic() + seconds
    lock = threading.Lock()
    timings = {kind: [] for kind in KINDS}
    counts = {"requests": 0, "5xx": 0, "unexpected": 0}
    failures = []  # what makes the run fail, in words
    lost = []  # (client, kind, started, ended): requests that got no answer
    kill = {"at": None}
    saves = {}

    def record(kind, started, status, expected=200):
        with lock:
            counts["requests"] += 1
            timings[kind].append((time.perf_counter() - started) * 1000)
            if status >= 500:
                counts["5xx"] += 1
                failures.append(f"{kind}: server error {status}")
            elif status != expected:
                counts["unexpected"] += 1
                failures.append(f"{kind}: status {status}, expected {expected}")

    def no_answer(name, kind, started):
        with lock:
            lost.append((name, kind, started, time.perf_counter()))

    def writer(name, spec):
        client = Client(args.port, spec["session"])
        url = f"/meetings/{spec['meeting']}/edit/"
        get_kind, save_kind = spec["kinds"]
        state = saves.setdefault(spec["meeting"], {"confirmed": None, "unknown": []})
        n = 0
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                status, page = client.request("GET", url)
            except (OSError, http.client.HTTPException):
                no_answer(name, get_kind, started)
                continue
            record(get_kind, started, status)
            if status != 200:
                continue
            data = form_data(page)
            n += 1
            value = f"save {name} {n}"
            data["meeting-location"] = value
            data[result_field(data)] = value
            data["csrfmiddlewaretoken"] = CSRF
            started = time.perf_counter()
            try:
                status, _ = client.request("POST", url, data)
            except (OSError, http.client.HTTPException):
                no_answer(name, save_kind, started)
                state["unknown"].append(value)  # sent, but no answer: may or may not be saved
                continue
            record(save_kind, started, status, expected=302)
            if status == 302:
                state["confirmed"], state["unknown"] = value, []

    def reader(name, spec):
        client = Client(args.port, spec["session"])
        rounds = (
            (PREVIEW, f"/meetings/{spec['confirmed']}/preview/"),
            (PDF_STORED, f"/meetings/{spec['confirmed']}/minutes.pdf"),
            (PDF_RENDERED, f"/meetings/{spec['draft']}/minutes.pdf"),
        )
        while time.monotonic() < deadline:
            for kind, url in rounds:
                started = time.perf_counter()
                try:
                    status, body = client.request("GET", url)
                except (OSError, http.client.HTTPException):
                    no_answer(name, kind, started)
                    continue
                record(kind, started, status)
                if kind != PREVIEW and status == 200 and not body.startswith(b"%PDF-"):
                    with lock:
                        failures.append(f"{kind}: the answer is not a PDF")

    def guarded(name, target, spec):
        def body():
            try:
                target(name, spec)
            except Exception:  # noqa: BLE001 - a dead client thread fails the run
                with lock:
                    failures.append(
                        f"client thread {name} died: " + traceback.format_exc(limit=3).strip()
                    )

        return threading.Thread(target=body, name=name)

    threads = [guarded(f"writer{i}", writer, s) for i, s in enumerate(clients["writers"])]
    threads += [guarded(f"reader{i}", reader, s) for i, s in enumerate(clients["readers"])]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(seconds / 3)
    workers = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
    ).stdout.split()
    killed = int(workers[0]) if workers else None
    if killed:
        kill["at"] = time.perf_counter()
        os.kill(killed, signal.SIGKILL)
    else:
        failures.append("no gunicorn worker found to kill")
    for thread in threads:
        thread.join(timeout=seconds + 120)
        if thread.is_alive():
            failures.append(f"client thread {thread.name} still waiting after the run")
    elapsed = time.monotonic() - began
    replaced = len(
        subprocess.run(
            ["pgrep", "-P", str(server.pid), "-f", "gunicorn"], capture_output=True, text=True
        ).stdout.split()
    )
    if replaced != WORKERS:
        failures.append(f"{replaced} gunicorn workers after the run, expected {WORKERS}")

    # An answer may be missing only for the one request each client had in flight on the
    # killed worker: sent before the kill, given up on within a few seconds after it.
    excused = set()
    for name, kind, started, ended in lost:
        in_flight = kill["at"] is not None and started <= kill["at"] <= ended <= kill["at"] + 5
        if in_flight and name not in excused:
            excused.add(name)
        else:
            failures.append(f"{kind}: no answer (client {name})")
    for kind in KINDS:
        if not timings[kind]:
            failures.append(f"{kind}: not one answer in the whole run")

    # What the database holds against what the clients were told.
    from protokolle.models import Result

    for meeting_pk, state in saves.items():
        location = Meeting.objects.get(pk=meeting_pk).location
        texts = set(
            Result.objects.filter(
                agenda_item__meeting_id=meeting_pk, text__startswith="save "
            ).values_list("text", flat=True)
        )
        if texts and texts != {location}:
            failures.append(f"meeting {meeting_pk}: half-written save ({location!r} vs {texts})")
        allowed = {state["confirmed"], *state["unknown"]}
        if state["confirmed"] is None and not state["unknown"]:
            failures.append(f"meeting {meeting_pk}: not one save answered")
        elif location not in allowed:
            failures.append(
                f"meeting {meeting_pk}: holds {location!r}, told {state['confirmed']!r}"
            )
    return report(args, counts, timings, elapsed, killed, failures, saves, lost, static)


def report(args, counts, timings, elapsed, killed, failures, saves, lost, static):
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    lines = [
        f"Load benchmark, {stamp}: gunicorn --preload, {WORKERS} "
        "sync workers, DEBUG off, PostgreSQL; "
        f"{args.writers} minute-takers on 7-item drafts, 1 on a {BIG_ITEMS}x{BIG_RESULTS} draft, "
        f"{args.readers} members; {elapsed:.0f} s; worker {killed} killed with SIGKILL after "
        f"{min(args.seconds, 60) / 3:.0f} s",
        f"load average (1 min) at the end: {os.getloadavg()[0]:.2f}; nproc {os.cpu_count()}; "
        f"{static} static files the editor names served before the run",
        f"requests answered {counts['requests']}, throughput {counts['requests'] / elapsed:.1f}/s, "
        f"server errors (5xx) {counts['5xx']}, other unexpected statuses {counts['unexpected']}, "
        f"no answer {len(lost)}",
        "latency: from sending the request to the last byte of the answer, per client thread",
        f"{'request':34} {'count':>6} {'p50':>9} {'p95':>9}",
    ]
    for kind, values in timings.items():
        if values:
            p95 = statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
            lines.append(
                f"{kind:34} {len(values):>6} {statistics.median(values):7.0f}ms {p95:7.0f}ms"
            )
    confirmed = sum(1 for s in saves.values() if s["confirmed"])
    lines.append(
        f"drafts checked: {len(saves)} ({confirmed} with an answered save); "
        + ("each holds what its writer was told, no save half-written" if not failures else "")
    )
    if failures:
        lines.append(f"FAILED ({len(failures)}):")
        lines += [f"- {failure}" for failure in failures[:40]]
        if len(failures) > 40:
            lines.append(f"- ... and {len(failures) - 40} more")
    print("\n".join(lines))
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--writers", type=int, default=4, help="minute-takers on 7-item drafts")
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    try:
        sys.exit(run(args))
    except Failed as failure:
        sys.exit(f"FAILED: {failure}")


if __name__ == "__main__":
    main()
