"""Load and fault benchmark: gunicorn on PostgreSQL, mixed traffic, a worker killed.

Starts gunicorn (``--preload``, 3 workers) on 127.0.0.1 against the PostgreSQL
database in DATABASE_URL, then for ``--seconds`` (at most 60) runs minute-takers
who load their draft's editor and save it (two fields in one save: the place and
a result text), and members who read a preview and download a confirmed PDF.
After a third of the time it kills one gunicorn worker with SIGKILL. Then it
checks that no save was half-written (both fields from the same save) and that
every draft holds what its writer was last told was saved (or a later save whose
answer was lost with the killed worker). Loopback only; bounded in time.

    createdb werkstatt_load
    DATABASE_URL=postgres://localhost/werkstatt_load .venv/bin/python bench/load/run.py
"""

import argparse
import copy
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SECRET = "load-benchmark-secret-key-" + "k3y" * 20
CSRF = "loadbenchcsrftoken0123456789abcd"  # 32 characters: an unmasked CSRF secret


def setup(writers, readers):
    """Users, sessions, one draft per writer and a confirmed meeting, in the database."""
    # The same key as the server's: the sessions made here must be valid there.
    os.environ.update(
        DJANGO_SETTINGS_MODULE="werkstatt.settings",
        DJANGO_DEBUG="true",
        DJANGO_SECRET_KEY=SECRET,
    )
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
    from protokolle import workflow
    from protokolle.models import Body, Meeting, Membership, Person

    reference = json.loads((ROOT / "protokolle/demo/ergebnisprotokoll-2022-03-21.json").read_text())
    stamp = int(time.time())
    body_name = f"Lastprobe {stamp}"
    confirmed = copy.deepcopy(reference)
    confirmed["body"]["name"] = body_name
    confirmed["meeting"]["status"] = "confirmed"
    archive = workflow.import_minutes(confirmed)
    body = Body.objects.get(name=body_name)

    def session(user):
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        return store.session_key

    User = get_user_model()
    clients = {"writers": [], "readers": []}
    for index in range(writers):
        document = copy.deepcopy(reference)
        document["body"]["name"] = body_name
        document["meeting"]["number"] = 100 + index
        draft = workflow.import_minutes(document)
        user = User.objects.create_user(f"writer-{stamp}-{index}", password="x")
        Membership.objects.create(
            body=body,
            person=Person.objects.create(name=f"W{index}", user=user),
            role="minute_taker",
        )
        clients["writers"].append({"session": session(user), "meeting": draft.pk})
    for index in range(readers):
        user = User.objects.create_user(f"reader-{stamp}-{index}", password="x")
        Membership.objects.create(
            body=body, person=Person.objects.create(name=f"R{index}", user=user)
        )
        clients["readers"].append({"session": session(user), "meeting": archive.pk})
    return clients, Meeting


def result_field(data):
    """The text field of the result this benchmark rewrites (item "Sonstiges")."""
    for name, value in data.items():
        if name.startswith("results-") and name.endswith("-text"):
            if value.startswith(("Die nächste", "save ")):
                return name
    raise LookupError("no result to rewrite")


class Client:
    def __init__(self, port, session):
        self.port = port
        self.cookie = f"sessionid={session}; csrftoken={CSRF}"
        self.connection = None

    def request(self, method, path, body=None):
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
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


def run(args):
    from tests.html_forms import form_data

    clients, Meeting = setup(args.writers, args.readers)
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": SECRET,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
    }
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "werkstatt.wsgi",
            "--preload",
            "--workers",
            "3",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--timeout",
            "60",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(60):
            try:
                Client(args.port, "").request("GET", "/healthz/")
                break
            except OSError:
                time.sleep(0.5)
        return traffic(args, clients, server, Meeting, form_data)
    finally:
        server.terminate()
        server.wait(timeout=30)


def traffic(args, clients, server, Meeting, form_data):
    deadline = time.monotonic() + min(args.seconds, 60)
    lock = threading.Lock()
    timings = {"editor GET": [], "save POST": [], "preview GET": [], "PDF GET": []}
    counts = {"requests": 0, "5xx": 0, "connection errors": 0, "unexpected": 0}
    saves = {}

    def record(kind, started, status, expected=200):
        with lock:
            counts["requests"] += 1
            timings[kind].append((time.perf_counter() - started) * 1000)
            if status >= 500:
                counts["5xx"] += 1
            elif status != expected:
                counts["unexpected"] += 1

    def writer(spec):
        client = Client(args.port, spec["session"])
        url = f"/meetings/{spec['meeting']}/edit/"
        state = saves.setdefault(spec["meeting"], {"confirmed": None, "unknown": []})
        n = 0
        while time.monotonic() < deadline:
            try:
                started = time.perf_counter()
                status, page = client.request("GET", url)
                record("editor GET", started, status)
                data = form_data(page)
                n += 1
                value = f"save {n}"
                data["meeting-location"] = value
                text = result_field(data)
                data[text] = value
                data["csrfmiddlewaretoken"] = CSRF
                started = time.perf_counter()
                try:
                    status, _ = client.request("POST", url, data)
                except (OSError, http.client.HTTPException):
                    with lock:
                        counts["connection errors"] += 1
                    state["unknown"].append(value)  # sent, but no answer: may or may not be saved
                    continue
                record("save POST", started, status, expected=302)
                if status == 302:
                    state["confirmed"], state["unknown"] = value, []
            except (OSError, http.client.HTTPException):
                with lock:
                    counts["connection errors"] += 1

    def reader(spec):
        client = Client(args.port, spec["session"])
        while time.monotonic() < deadline:
            for kind, url in (
                ("preview GET", f"/meetings/{spec['meeting']}/preview/"),
                ("PDF GET", f"/meetings/{spec['meeting']}/minutes.pdf"),
            ):
                started = time.perf_counter()
                try:
                    status, _ = client.request("GET", url)
                    record(kind, started, status)
                except (OSError, http.client.HTTPException):
                    with lock:
                        counts["connection errors"] += 1

    threads = [threading.Thread(target=writer, args=(s,)) for s in clients["writers"]]
    threads += [threading.Thread(target=reader, args=(s,)) for s in clients["readers"]]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(min(args.seconds, 60) / 3)
    workers = subprocess.run(
        ["pgrep", "-P", str(server.pid)], capture_output=True, text=True
    ).stdout.split()
    killed = int(workers[0]) if workers else None
    if killed:
        os.kill(killed, signal.SIGKILL)
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began

    # What the database holds against what the clients were told.
    from protokolle.models import Result

    problems = []
    for meeting_pk, state in saves.items():
        location = Meeting.objects.get(pk=meeting_pk).location
        texts = set(
            Result.objects.filter(
                agenda_item__meeting_id=meeting_pk, text__startswith="save "
            ).values_list("text", flat=True)
        )
        if texts and texts != {location}:
            problems.append(f"meeting {meeting_pk}: half-written save ({location!r} vs {texts})")
        allowed = {state["confirmed"], *state["unknown"]}
        if state["confirmed"] is None and not state["unknown"]:
            allowed = {"Online"}
        if location not in allowed:
            problems.append(
                f"meeting {meeting_pk}: holds {location!r}, told {state['confirmed']!r}"
            )
    return report(args, counts, timings, elapsed, killed, problems, saves)


def report(args, counts, timings, elapsed, killed, problems, saves):
    lines = [
        f"Load benchmark, {time.strftime('%Y-%m-%d %H:%M')}: gunicorn --preload, 3 workers, "
        f"PostgreSQL; {args.writers} minute-takers, {args.readers} members, {elapsed:.0f} s; "
        f"worker {killed} killed with SIGKILL after {min(args.seconds, 60) / 3:.0f} s",
        f"requests {counts['requests']}, throughput {counts['requests'] / elapsed:.1f}/s, "
        f"server errors (5xx) {counts['5xx']}, other unexpected statuses {counts['unexpected']}, "
        f"connection errors (retryable) {counts['connection errors']}",
        f"{'request':14} {'count':>6} {'p50':>9} {'p95':>9}",
    ]
    for kind, values in timings.items():
        if values:
            p95 = statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]
            lines.append(
                f"{kind:14} {len(values):>6} {statistics.median(values):7.0f}ms {p95:7.0f}ms"
            )
    confirmed = sum(1 for s in saves.values() if s["confirmed"])
    lines.append(
        f"saved drafts checked: {len(saves)} ({confirmed} with a confirmed save); "
        + ("all equal to what the clients were told" if not problems else "PROBLEMS:")
    )
    lines += problems
    print("\n".join(lines))
    return 0 if not problems and counts["5xx"] == 0 and counts["unexpected"] == 0 else 1


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL database (see the docstring).")
    sys.exit(run(args))


if __name__ == "__main__":
    main()
