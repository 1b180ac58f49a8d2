"""Editor at size: the editor of 60 items x 5 results beside the admin change page.

Issue 17, item 6: the editor must render in at most a tenth of the time of the
Django admin change page for the same meeting, measured in the same run. Both
pages are requested through django.test.Client in one process, interleaved
(editor, admin, editor, admin, ...) so that a busy machine slows both alike;
the medians and their ratio are printed. With ``--profile`` the editor's GET
runs once more under cProfile and the 25 most costly functions are printed.
Run from the project folder:

    .venv/bin/python bench/editor_size/run.py [--runs 9] [--profile]
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench" / "editor"))

from minutes import big_document, setup_django  # noqa: E402 - bench/editor/minutes.py


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        setup_django(folder)
        run(args.runs, args.profile)


def run(runs, profile):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from protokolle import workflow
    from protokolle.models import Membership, Person

    reference = json.loads((ROOT / "protokolle/demo/ergebnisprotokoll-2022-03-21.json").read_text())
    meeting = workflow.import_minutes(big_document(reference))
    User = get_user_model()
    writer = User.objects.create_user("protokoll", password="x")
    Membership.objects.create(
        body=meeting.body,
        person=Person.objects.create(name="Alexander Boldt", user=writer),
        role=Membership.Role.MINUTE_TAKER,
    )
    User.objects.create_superuser("admin", password="x")
    editor, admin = Client(), Client()
    editor.force_login(writer)
    admin.force_login(User.objects.get(username="admin"))
    pages = {
        "editor": (editor, f"/meetings/{meeting.pk}/edit/"),
        "admin change page": (admin, f"/admin/protokolle/meeting/{meeting.pk}/change/"),
    }

    cpu_times = {name: [] for name in pages}

    def get(name):
        client, url = pages[name]
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        elapsed = (time.perf_counter() - start) * 1000
        cpu_times[name].append((time.process_time() - cpu) * 1000)
        assert response.status_code == 200, (url, response.status_code)
        return elapsed, len(response.content)

    for name in pages:  # warm-up: templates, translations, caches
        get(name)
        get(name)
    times = {name: [] for name in pages}
    cpu_times.update({name: [] for name in pages})
    sizes = {}
    for _ in range(runs):
        for name in pages:
            elapsed, sizes[name] = get(name)
            times[name].append(elapsed)

    print(
        f"Editor at size, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: 60 x 5, "
        "GET through django.test.Client, DEBUG on (as bench/editor), SQLite; "
        f"median (fastest–slowest) of {runs} interleaved runs after 2 warm-up runs each"
    )
    print(f"Load average (1 min): {os.getloadavg()[0]:.2f}")
    print(f"{'page':20} {'wall clock':>24} {'CPU time of this process':>28} {'HTML':>10}")
    for name in pages:
        wall, cpu = times[name], cpu_times[name]
        print(
            f"{name:20} {statistics.median(wall):8.1f} ms ({min(wall):.0f}–{max(wall):.0f})"
            f"   {statistics.median(cpu):8.1f} ms ({min(cpu):.0f}–{max(cpu):.0f})"
            f"   {sizes[name] / 1024:6.0f} KiB"
        )
    for label, values in (("wall clock", times), ("CPU time", cpu_times)):
        ratio = statistics.median(values["editor"]) / statistics.median(values["admin change page"])
        print(f"editor / admin ({label}): {ratio:.3f} (goal: at most 0.100)")
    print("(CPU time counts this process only: other load on the machine does not inflate it)")

    if profile:
        profiler = cProfile.Profile()
        profiler.enable()
        get("editor")
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
