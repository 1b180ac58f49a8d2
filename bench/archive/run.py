"""Archive benchmark: list, search and tasks pages over many confirmed minutes.

Fills the database named by DATABASE_URL with ``--meetings`` generated confirmed
meetings (manage.py generate_load) unless it holds that many already, then
measures through django.test.Client, in one process, the median time of

- the archive list (first page, newest first),
- a search for a common word and for a rare one,
- the tasks page (open tasks),

and on PostgreSQL prints the plan of the search (EXPLAIN ANALYZE) to show the
GIN index in use. Run from the project folder, e.g.:

    createdb werkstatt_bench
    DATABASE_URL=postgres://localhost/werkstatt_bench .venv/bin/python bench/archive/run.py
    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/archive/run.py
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Only in the reference minutes, which the benchmark imports once beside the load.
RARE = "Trinkwasserverbundsystem"
sys.path.insert(0, str(ROOT))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--meetings", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    if "DATABASE_URL" not in os.environ:
        sys.exit("Set DATABASE_URL to the database to fill and measure (see the docstring).")
    os.environ["DJANGO_SETTINGS_MODULE"] = "werkstatt.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the client then reports each response's context
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from protokolle import workflow
    from protokolle.models import Meeting

    have = Meeting.objects.filter(status=Meeting.Status.CONFIRMED).count()
    if have < args.meetings:
        started = time.perf_counter()
        call_command("generate_load", meetings=args.meetings - have)
        print(f"generated {args.meetings - have} meetings in {time.perf_counter() - started:.0f} s")
    if not Meeting.objects.filter(body__name="Werkstatt", number=8).exists():
        document = json.loads(
            (ROOT / "protokolle/demo/ergebnisprotokoll-2022-03-21.json").read_text()
        )
        document["meeting"]["status"] = "confirmed"
        workflow.import_minutes(document)
    measure(args.runs)


def measure(runs):
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from protokolle import search
    from protokolle.models import Body, Meeting, Membership, Person, Result, SearchEntry

    User = get_user_model()
    user = User.objects.filter(username="bench").first() or User.objects.create_user(
        "bench", password="x"
    )
    person, _ = Person.objects.get_or_create(name="Bench Mitglied", defaults={"user": user})
    for body in Body.objects.all():
        Membership.objects.get_or_create(
            body=body, person=person, defaults={"role": Membership.Role.MINUTE_TAKER}
        )
    client = Client()
    client.force_login(user)

    counts = {
        "confirmed meetings": Meeting.objects.filter(status="confirmed").count(),
        "results": Result.objects.count(),
        "search entries": SearchEntry.objects.count(),
    }
    print(
        f"Archive benchmark on {connection.vendor}, {time.strftime('%Y-%m-%d %H:%M')}: "
        + ", ".join(f"{value:,} {name}" for name, value in counts.items())
    )
    print(
        f"median (fastest–slowest) of {runs} runs after 2 warm-up runs; load average "
        f"{os.getloadavg()[0]:.2f} at start"
    )
    pages = [
        ("archive list, page 1", "/archive/"),
        ("archive list, page 200", "/archive/?page=200"),
        ("search, common word (Werkstatt)", "/archive/search/?q=Werkstatt"),
        ("search, frequent topic (Batteriewerks)", "/archive/search/?q=Batteriewerks"),
        (f"search, rare word ({RARE})", f"/archive/search/?q={RARE}"),
        ("search, common word, decisions only", "/archive/search/?q=Projekt&kind=decision"),
        ("tasks, open", "/tasks/"),
    ]
    print(f"{'page':40} {'time':30} {'queries':>8} {'hits':>10}")
    for label, url in pages:
        for _ in range(2):
            assert client.get(url).status_code == 200
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - start) * 1000)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        page = response.context.get("page")
        hits = page.paginator.count if page is not None else "–"
        median = statistics.median(times)
        print(
            f"{label:40} {median:8.1f} ms ({min(times):.0f}–{max(times):.0f}){'':8} "
            f"{len(queries):>8} {hits:>10}"
        )
    if connection.vendor == "postgresql":
        entries = SearchEntry.objects.all()
        sql, params = search._postgresql(entries, RARE).query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + sql, params)
            plan = [row[0] for row in cursor.fetchall()]
        print(f"EXPLAIN ANALYZE of the search for {RARE!r}:")
        print("\n".join("  " + line for line in plan))
        assert any("search_entry_vector" in line for line in plan), "GIN index not used"


if __name__ == "__main__":
    main()
