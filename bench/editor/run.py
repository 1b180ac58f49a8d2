"""Editor benchmark: the minute-taker's editor beside the Django admin, in one run.

Measures, through django.test.Client in one process, the median time of
- GET /meetings/<id>/edit/ and a save POST of it (one field changed), and
- GET /admin/protokolle/meeting/<id>/change/ and a save POST of it,
for the reference minutes (7 items) and for 60 items x 5 results. The editor
and the admin page of one size run one after the other in the same process.
Run from the project folder:

    .venv/bin/python bench/editor/run.py [--runs 9]
"""

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from minutes import big_document, setup_django  # noqa: E402 - bench/editor/minutes.py


def timed(function, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return times


def fmt(times):
    return f"{statistics.median(times):8.1f} ms ({min(times):.0f}–{max(times):.0f})"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        run(args.runs)


def page_row(label, name, client, url, form_id, field, runs):
    """Median GET and save POST of one page; queries of one GET and one POST."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.html_forms import form_data

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        return response

    def post(value):
        data = form_data(get().content, form_id)
        data[field] = value
        start = time.perf_counter()
        response = client.post(url, data)
        elapsed = (time.perf_counter() - start) * 1000
        assert response.status_code == 302, (url, response.status_code)
        return elapsed

    for warm in range(2):
        get()
        post(f"Warm-up {warm}")
    gets, posts = [], []
    for run_number in range(runs):
        start = time.perf_counter()
        size = len(get().content)
        gets.append((time.perf_counter() - start) * 1000)
        posts.append(post(f"Online, Durchlauf {run_number}"))
    with CaptureQueriesContext(connection) as get_queries:
        get()
    data = form_data(get().content, form_id)
    data[field] = "Online"
    with CaptureQueriesContext(connection) as post_queries:
        client.post(url, data)
    return (
        f"{label:22} {name:30} {fmt(gets):28} {fmt(posts):28} "
        f"{len(get_queries):>7}/{len(post_queries):<7} {size / 1024:6.0f} KiB"
    )


def run(runs):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from protokolle import workflow
    from protokolle.models import Membership, Person

    reference = json.loads((ROOT / "protokolle/demo/ergebnisprotokoll-2022-03-21.json").read_text())
    meetings = {
        "reference (7 items)": workflow.import_minutes(copy.deepcopy(reference)),
        "60 items x 5 results": workflow.import_minutes(big_document(reference)),
    }
    User = get_user_model()
    writer = User.objects.create_user("protokoll", password="x")
    Membership.objects.create(
        body=meetings["reference (7 items)"].body,
        person=Person.objects.create(name="Alexander Boldt", user=writer),
        role=Membership.Role.MINUTE_TAKER,
    )
    User.objects.create_superuser("admin", password="x")
    editor, admin = Client(), Client()
    editor.force_login(writer)
    admin.force_login(User.objects.get(username="admin"))

    stamp = time.strftime("%Y-%m-%d %H:%M")
    print(f"Editor benchmark, {stamp}: median (fastest–slowest) of {runs} runs, 2 warm-up runs")
    print(f"Load average (1 min) at start: {os.getloadavg()[0]:.2f}")
    header = (
        f"{'minutes':22} {'page':30} {'GET':28} {'save POST (1 field changed)':28} "
        f"{'queries':>15} {'HTML':>10}"
    )
    print(header)
    print("-" * len(header))
    for label, meeting in meetings.items():
        print(
            page_row(
                label,
                "editor /meetings/<id>/edit/",
                editor,
                f"/meetings/{meeting.pk}/edit/",
                "editor-form",
                "meeting-location",
                runs,
            )
        )
        print(
            page_row(
                label,
                "admin change page",
                admin,
                f"/admin/protokolle/meeting/{meeting.pk}/change/",
                "meeting_form",
                "location",
                runs,
            )
        )
    print(f"Load average (1 min) at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
