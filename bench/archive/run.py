"""Archive benchmark: list, search and tasks pages over many confirmed minutes.

Fills the database named by DATABASE_URL with ``--meetings`` generated confirmed
meetings (manage.py generate_load) unless it holds that many already, then
measures through django.test.Client, in one process, the median time of the
archive list, search and tasks pages (first and deep pages; each label names the
word searched and the role of the user), every page once per round, in turn, so
that the pages are compared side by side. Then it shows, for each page, the plan
of its slowest query: EXPLAIN (ANALYZE, BUFFERS) on PostgreSQL, EXPLAIN QUERY
PLAN on SQLite. Run from the project folder, e.g.:

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
    from django.db import connection

    if connection.vendor == "postgresql":
        # The same planner statistics in every run, whether or not autovacuum has
        # analysed the tables since they were filled (measured without: 0.7-1 s for the
        # common words' search, as the planner then guesses a few hits, not 260,000).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    measure(args.runs)


def user_with_role(username, role):
    """A user with ``role`` in every body (so a page shows all 10,000 meetings)."""
    from django.contrib.auth import get_user_model

    from protokolle.models import Body, Membership, Person

    User = get_user_model()
    user = User.objects.filter(username=username).first() or User.objects.create_user(
        username, password="x"
    )
    person, _ = Person.objects.get_or_create(name=f"Bench {username}", defaults={"user": user})
    for body in Body.objects.all():
        Membership.objects.update_or_create(body=body, person=person, defaults={"role": role})
    return user


def deep_cursor(word, after_hits):
    """The ``after`` of the page that starts past hit ``after_hits`` of ``word``
    newest first: what following the "next hits" links that far would give."""
    from protokolle import search
    from protokolle.models import SearchEntry

    matching = search._postgresql(
        SearchEntry.objects.all(),
        search.SearchQuery(word, config=search.CONFIG, search_type="websearch"),
    )
    date, pk = matching.order_by("-date", "-pk").values_list("date", "pk")[after_hits - 1]
    return f"d:{date.isoformat()}:{pk}"


def task_cursor(after_tasks):
    """The ``after`` of the task page that starts past open task ``after_tasks``
    (due date, none last, then entry), as the "next" links would lead there."""
    from django.db.models import F

    from protokolle.models import Result

    due, pk = (
        Result.objects.filter(kind="task", done__isnull=True)
        .order_by(F("due").asc(nulls_last=True), "pk")
        .values_list("due", "pk")[after_tasks - 1]
    )
    return f"{due.isoformat() if due else '-'}:{pk}"


def slowest_plan(connection, queries):
    """EXPLAIN ANALYZE of the slowest of ``queries`` (as captured), run once more."""
    slowest = max(queries, key=lambda query: float(query["time"]))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            plan = [row[0] for row in cursor.fetchall()]
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + slowest["sql"])
            plan = [row[-1] for row in cursor.fetchall()]
    return float(slowest["time"]) * 1000, slowest["sql"], plan


def measure(runs):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from protokolle.models import Meeting, Membership, Result, SearchEntry

    member = Client()
    member.force_login(user_with_role("bench-member", Membership.Role.MEMBER))
    taker = Client()
    taker.force_login(user_with_role("bench-taker", Membership.Role.MINUTE_TAKER))

    counts = {
        "confirmed meetings": Meeting.objects.filter(status="confirmed").count(),
        "results": Result.objects.count(),
        "open tasks": Result.objects.filter(kind="task", done__isnull=True).count(),
        "search entries": SearchEntry.objects.count(),
    }
    print(
        f"Archive benchmark on {connection.vendor}, {time.strftime('%Y-%m-%d %H:%M')}: "
        + ", ".join(f"{value:,} {name}" for name, value in counts.items())
    )
    print(
        f"median (fastest–slowest) of {runs} rounds after 2 warm-up rounds; each round "
        f"requests every page once, in turn; load average {os.getloadavg()[0]:.2f} at start"
    )
    print(
        "own CPU: median CPU time of this process (Django, templates; not the database "
        "server's), less disturbed than wall time when other work shares the machine"
    )
    print("member: role member in all 5 bodies; minute-taker: role minute-taker in all 5 bodies")
    open_tasks = counts["open tasks"]
    deep = ""
    if connection.vendor == "postgresql":
        deep = deep_cursor("Werkstatt", 10_000)
    pages = [
        ("archive list, page 1, member", member, "/archive/"),
        ("archive list, page 200, member", member, "/archive/?page=200"),
        ("archive list, last page (401), member", member, "/archive/?page=401"),
        ("search 'Werkstatt' (common), page 1, member", member, "/archive/search/?q=Werkstatt"),
        (
            "search 'Batteriewerks' (frequent topic), page 1, member",
            member,
            "/archive/search/?q=Batteriewerks",
        ),
        (f"search '{RARE}' (rare: 1 hit), member", member, f"/archive/search/?q={RARE}"),
        (
            "search 'Projekt', decisions only, page 1, member",
            member,
            "/archive/search/?q=Projekt&kind=decision",
        ),
        (
            "search 'Projekt', person 'Siebert', page 1, member",
            member,
            "/archive/search/?q=Projekt&person=Siebert",
        ),
        ("tasks, open, page 1, member", member, "/tasks/"),
        ("tasks, open, page 1, minute-taker", taker, "/tasks/"),
        (
            "tasks, open, page 201 (after task 5,000), minute-taker",
            taker,
            f"/tasks/?after={task_cursor(5_000)}",
        ),
        (
            f"tasks, open, last page (after task {open_tasks - 10:,}), minute-taker",
            taker,
            f"/tasks/?after={task_cursor(open_tasks - 10)}",
        ),
        ("tasks, overdue, page 1, minute-taker", taker, "/tasks/?state=overdue"),
    ]
    if deep:
        pages.insert(
            4,
            (
                "search 'Werkstatt', page 401 (after hit 10,000), member",
                member,
                f"/archive/search/?q=Werkstatt&after={deep}",
            ),
        )
    for _label, client, url in pages:
        for _ in range(2):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            assert len(response.context["page"]) > 0, url
    times = {label: [] for label, _client, _url in pages}
    cpu = {label: [] for label, _client, _url in pages}
    for _ in range(runs):
        for label, client, url in pages:
            start, start_cpu = time.perf_counter(), time.process_time()
            client.get(url)
            times[label].append((time.perf_counter() - start) * 1000)
            cpu[label].append((time.process_time() - start_cpu) * 1000)
    width = max(len(label) for label, _client, _url in pages)
    print(
        f"{'page':{width}} {'median':>10} {'(range)':>12} {'own CPU':>8} {'queries':>8} "
        f"{'hits':>12}"
    )
    plans = []
    for label, client, url in pages:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        page = response.context["page"]
        hits = f"> {page.count:,}" if getattr(page, "more", False) else f"{page.paginator.count:,}"
        series = times[label]
        print(
            f"{label:{width}} {statistics.median(series):7.1f} ms "
            f"({min(series):.0f}–{max(series):.0f}){'':3} "
            f"{statistics.median(cpu[label]):5.0f} ms {len(queries):>8} {hits:>12}"
        )
        plans.append((label, url, *slowest_plan(connection, queries.captured_queries)))
    print(f"load average {os.getloadavg()[0]:.2f} at the end")
    print()
    for label, url, took, sql, plan in plans:
        print(f"== {label} ({url}): its slowest query ({took:.1f} ms as captured)")
        print("  " + sql[:600] + (" …" if len(sql) > 600 else ""))
        print("\n".join("  " + line for line in plan))
        print()


if __name__ == "__main__":
    main()
