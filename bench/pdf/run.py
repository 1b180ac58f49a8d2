"""PDF benchmark: our render_pdf against a bare WeasyPrint render, stored against rendered
PDFs, and memory over many renders, all in one process and one run.

Run from the project folder:

    .venv/bin/python bench/pdf/run.py

Uses a throwaway SQLite database and media folder in a temporary directory; prints a table
and writes it to bench/pdf/results.txt.
"""

import copy
import datetime
import hashlib
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REFERENCE = ROOT / "protokolle" / "demo" / "ergebnisprotokoll-2022-03-21.json"
STYLESHEET = ROOT / "static" / "css" / "minutes.css"
TEMPLATE = ROOT / "templates" / "protokolle" / "pdf" / "minutes.html"
RESULTS = HERE / "results.txt"

WARMUP = 2
RUNS = 15
# A 60-item render takes seconds: fewer runs keep the whole benchmark near 3 minutes.
RUNS_BIG = 7
BIG_ITEMS = 60
BIG_RESULTS = 5
BIG_NUMBER = 60
CONFIRMED_NUMBER = 9
MEMORY_CHECKPOINTS = [1, 50, 100, 150, 195]  # below pdf.RENDERS_PER_CHILD


def setup_django(workdir):
    """Django on a fresh SQLite database and media folder inside ``workdir``."""
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "werkstatt.settings"
    sys.path.insert(0, str(ROOT))
    # WhiteNoise warns that collectstatic has not run; the PDF does not need it.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.MEDIA_ROOT = workdir / "media"
    # As in production: no query log kept in memory (the settings default to DEBUG on).
    settings.DEBUG = False


# --- measuring ------------------------------------------------------------------------


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def compare(first, second, runs=RUNS, warmup=WARMUP):
    """Seconds per run and last output of two callables, warmed up, run interleaved
    (the order alternating from run to run)."""
    for _ in range(warmup):
        first()
        second()
    times = {first: [], second: []}
    outputs = {}
    for run in range(runs):
        order = (first, second) if run % 2 == 0 else (second, first)
        for function in order:
            seconds, outputs[function] = timed(function)
            times[function].append(seconds)
    return (times[first], outputs[first]), (times[second], outputs[second])


def fingerprint():
    """Short SHA-256 of the stylesheet and the template: render_pdf reads the stylesheet once
    per process, the bare render on every run, so an edit during the run skews the comparison."""
    return {
        path.relative_to(ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in (STYLESHEET, TEMPLATE)
    }


def rss_kib(pid="self"):
    """(peak RSS, current RSS) in KiB of this process or of process ``pid``."""
    peak = current = None
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                peak = int(line.split()[1])
            elif line.startswith("VmRSS:"):
                current = int(line.split()[1])
    return peak, current


def typesetter_rss_kib():
    """RSS of the typesetting child, where WeasyPrint's memory lives since renders run there."""
    from protokolle import pdf

    return rss_kib(pdf._typesetter.process.pid)


def page_count(data):
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(data)).pages)


# --- the minutes ----------------------------------------------------------------------

SUBJECTS = [
    "Die Werkstatt",
    "Die Wirtschaftsregion Lausitz GmbH (WRL)",
    "Das Ministerium für Wirtschaft, Arbeit und Energie",
    "Der Landkreis Spree-Neiße",
    "Die Stadt Cottbus",
    "Die DigitalAgentur Brandenburg (DABB)",
]
VERBS = [
    "berichtet über den Stand der Qualifizierung",
    "stellt die überarbeiteten Projektsteckbriefe vor",
    "weist auf die Fristen der Förderrichtlinie hin",
    "erläutert die Abstimmung mit den Fachressorts",
    "schlägt eine gemeinsame Arbeitsgruppe vor",
]
TOPICS = [
    "zum Trinkwasserverbundsystem Lausitz",
    "zur Ertüchtigung der Gewerbegebiete in Spremberg",
    "zum Ausbau der Kindertagesstätten im ländlichen Raum",
    "zur Fachkräftesicherung in kleinen und mittleren Unternehmen",
    "zu den Smart-Region-Anwendungen für Kommunen",
    "zur Anbindung des Bahnhofs Weißwasser",
    "zum Radwegenetz entlang der Bergbaufolgeseen",
]
TAILS = [
    "Eine Rückmeldung der Fachressorts wird bis zur nächsten Sitzung erwartet.",
    "Die Unterlagen werden dem Protokoll nicht beigefügt und können bei der WRL "
    "angefordert werden.",
    "Aus der Werkstatt wird angeregt, die Kommunen frühzeitig einzubeziehen, damit "
    "personelle und organisatorische Aufwände realistisch eingeschätzt werden können.",
    "Über die Förderfähigkeit einzelner Maßnahmen nach dem InvKG wird gesondert beraten.",
]
KINDS = ["information", "decision", "information", "task", "note"]


def german_sentence(index):
    return (
        f"{SUBJECTS[index % len(SUBJECTS)]} {VERBS[index % len(VERBS)]} "
        f"{TOPICS[index % len(TOPICS)]}. {TAILS[index % len(TAILS)]}"
    )


def big_result(item, position):
    index = item * BIG_RESULTS + position
    kind = KINDS[position % len(KINDS)]
    result = {
        "kind": kind,
        "text": german_sentence(index),
        "vote": None,
        "responsible": None,
        "due": None,
    }
    if kind == "decision":
        result["vote"] = {"yes": 9 + index % 4, "no": index % 2, "abstain": index % 3, "text": None}
    if kind == "task":
        result["responsible"] = "WRL, Geschäftsstelle"
        result["due"] = f"2022-{4 + item % 8:02d}-{1 + item % 28:02d}"
    return result


def big_document(reference):
    """The reference document with 60 agenda items of 5 results each."""
    document = copy.deepcopy(reference)
    presenters = [
        presenter for item in reference["meeting"]["agenda"] for presenter in item["presenters"]
    ]
    document["meeting"]["number"] = BIG_NUMBER
    document["meeting"]["agenda"] = [
        {
            "number": str(item + 1),
            "title": f"Tagesordnungspunkt {item + 1}: Beratung "
            f"{TOPICS[item % len(TOPICS)]} und weiteres Vorgehen",
            "public": True,
            "presenters": [presenters[item % len(presenters)]],
            "results": [big_result(item, position) for position in range(BIG_RESULTS)],
            "children": [],
        }
        for item in range(BIG_ITEMS)
    ]
    return document


def import_minutes(document):
    from protokolle import exchange, workflow

    # Through parse() as an uploaded file would go.
    data = json.dumps(document, ensure_ascii=False).encode("utf-8")
    return workflow.import_minutes(exchange.parse(data))


# --- the benchmarks -------------------------------------------------------------------


def bench_memory(meeting):
    """The typesetting child's RSS after 1, 50, ... renders of the same minutes.

    The child is replaced after pdf.RENDERS_PER_CHILD renders; checkpoints stay below.
    """
    from protokolle import pdf

    pdf.write_pdf("<p>start</p>", b"{}")  # the typesetting child is there
    rows = [(0, *typesetter_rss_kib())]
    done = 0
    for checkpoint in MEMORY_CHECKPOINTS:
        while done < checkpoint:
            pdf.render_pdf(meeting)
            done += 1
        rows.append((done, *typesetter_rss_kib()))
    return rows


def bench_render(name, meeting, runs):
    """Our render_pdf against a bare WeasyPrint render of the same HTML and stylesheet."""
    import weasyprint

    from protokolle import pdf

    html = pdf.render_html(meeting, for_pdf=True)

    def ours():
        return pdf.render_pdf(meeting)

    def bare():
        return weasyprint.HTML(string=html).write_pdf(
            stylesheets=[weasyprint.CSS(filename=str(STYLESHEET))]
        )

    (ours_times, ours_pdf), (bare_times, bare_pdf) = compare(ours, bare, runs=runs)
    return {
        "name": name,
        "runs": runs,
        "ours": ours_times,
        "bare": bare_times,
        "ours_bytes": len(ours_pdf),
        "bare_bytes": len(bare_pdf),
        "ours_pages": page_count(ours_pdf),
        "bare_pages": page_count(bare_pdf),
        "html_chars": len(html),
    }


def member_client(body):
    from django.contrib.auth import get_user_model
    from django.test import Client

    from protokolle.models import Membership, Person

    user = get_user_model().objects.create_user("bench-member")
    person = Person.objects.create(name="Bench Mitglied", user=user)
    Membership.objects.create(body=body, person=person, role=Membership.Role.MEMBER)
    # The settings allow localhost, not the test client's default "testserver".
    client = Client(SERVER_NAME="localhost")
    client.force_login(user)
    return client


def bench_serving(client, confirmed, draft):
    """GET /meetings/<id>/minutes.pdf: the stored copy against rendering on the fly."""
    from django.urls import reverse

    from protokolle.models import ArchivedPdf

    def getter(url):
        def get():
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url}: {response.status_code}")
            body = b"".join(response.streaming_content)
            response.close()
            return body

        return get

    stored_url = reverse("protokolle:minutes_pdf", args=[confirmed.pk])
    rendered_url = reverse("protokolle:minutes_pdf", args=[draft.pk])
    (stored_times, stored_pdf), (rendered_times, rendered_pdf) = compare(
        getter(stored_url), getter(rendered_url)
    )
    archived = ArchivedPdf.objects.get(meeting=confirmed, variant=ArchivedPdf.Variant.MEMBERS)
    with archived.file.open("rb") as handle:
        if handle.read() != stored_pdf:
            raise RuntimeError("the served confirmed PDF is not the archived copy")
    return [
        (f"confirmed (no. {confirmed.number}): stored", stored_url, stored_times, len(stored_pdf)),
        (f"draft (no. {draft.number}): rendered", rendered_url, rendered_times, len(rendered_pdf)),
    ]


# --- the report -----------------------------------------------------------------------


def ms(seconds):
    return f"{seconds * 1000:,.1f} ms"


def median_ms(times):
    """„414.3 ms (401–455)“: the median, and the fastest and slowest run."""
    return f"{ms(statistics.median(times))} ({min(times) * 1000:,.0f}–{max(times) * 1000:,.0f})"


def kib(value):
    return f"{value:,} KiB"


def table(headers, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]

    def line(cells):
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))

    return [line(headers), line(["-" * width for width in widths]), *(line(r) for r in rows)]


def cpu_model():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine():
    import django
    import weasyprint
    from weasyprint.text.ffi import harfbuzz_subset

    subsetting = "HarfBuzz (libharfbuzz-subset)" if harfbuzz_subset else "fontTools (slower)"
    return [
        f"CPU: {cpu_model()}, {os.cpu_count()} cores",
        f"Python {platform.python_version()}, Django {django.get_version()}, "
        f"WeasyPrint {weasyprint.__version__}, font subsetting by {subsetting}",
    ]


def report(started, load, inputs, renders, serving, memory):
    lines = [
        f"PDF benchmark, {started:%Y-%m-%d %H:%M} UTC",
        *machine(),
        "Inputs (SHA-256): " + ", ".join(f"{name} {digest}" for name, digest in inputs.items()),
        "Load average (1 min) at start and end: "
        + " and ".join(f"{value:.2f}" for value in (load, os.getloadavg()[0]))
        + " (this process itself adds about 1; more means other work on the machine)",
        f"Times: median (fastest–slowest) of {RUNS} runs ({RUNS_BIG} for the 60-item minutes)",
        f"after {WARMUP} warm-up runs each; the two sides of a row run interleaved.",
        "",
        "1. Render: ours = protokolle.pdf.render_pdf(meeting); bare = weasyprint.HTML("
        "string=html).write_pdf(stylesheets=[CSS(filename=static/css/minutes.css)])",
        "   of the same HTML (render_html(meeting, for_pdf=True)), fresh per run, no shared "
        "FontConfiguration.",
        "   Not the same output: ours is PDF/A-3b (sRGB output intent, XMP metadata) with the",
        "   exchange JSON embedded as minutes.json; bare is a plain PDF without attachment.",
        "",
    ]
    lines += table(
        ["minutes", "runs", "ours", "bare", "ours/bare", "ours PDF", "bare PDF", "HTML"],
        [
            (
                r["name"],
                r["runs"],
                median_ms(r["ours"]),
                median_ms(r["bare"]),
                f"{statistics.median(r['ours']) / statistics.median(r['bare']):.2f}",
                f"{r['ours_bytes'] / 1024:,.1f} KiB, {r['ours_pages']} p.",
                f"{r['bare_bytes'] / 1024:,.1f} KiB, {r['bare_pages']} p.",
                f"{r['html_chars'] / 1024:,.1f} KiB",
            )
            for r in renders
        ],
    )
    lines += [
        "",
        "2. Serving GET /meetings/<id>/minutes.pdf through django.test.Client as a logged-in",
        "   member (session, middleware, access check, query), whole streaming body read.",
        "",
    ]
    lines += table(
        ["minutes", "URL", "GET", "body"],
        [
            (name, url, median_ms(times), f"{size / 1024:,.1f} KiB")
            for name, url, times, size in serving
        ],
    )
    stored, rendered = (times for _, _, times, _ in serving)
    lines += [
        f"   rendering per GET takes {statistics.median(rendered) / statistics.median(stored):,.0f}"
        " times as long as serving the stored copy (medians)",
        "",
        "3. Memory: RSS of this process over renders of the reference minutes with render_pdf",
        "   (measured first in the run, so that the larger renders above do not set the peak).",
        "",
    ]
    lines += table(
        ["renders so far", "peak RSS (ru_maxrss)", "current RSS (VmRSS)"],
        [(done, kib(peak), kib(current)) for done, peak, current in memory],
    )
    current = {done: rss for done, _, rss in memory}
    first, middle, last = 1, 100, MEMORY_CHECKPOINTS[-1]
    lines += [
        f"   current RSS, render 1 to {MEMORY_CHECKPOINTS[-1]}: "
        f"{(current[last] - current[first]) / 1024:+,.1f} MiB; "
        f"render 100 to {MEMORY_CHECKPOINTS[-1]}: "
        f"{(current[last] - current[middle]) / 1024:+,.1f} MiB",
    ]
    return "\n".join(lines) + "\n"


def main():
    started = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()[0]
    inputs = fingerprint()
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as workdir:
        setup_django(Path(workdir))
        from protokolle.models import Meeting

        reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
        small = Meeting.objects.for_minutes().get(pk=import_minutes(reference).pk)
        big = Meeting.objects.for_minutes().get(pk=import_minutes(big_document(reference)).pk)

        print("3. memory over renders ...", flush=True)
        memory = bench_memory(small)

        print("1. render, reference minutes ...", flush=True)
        items = len(reference["meeting"]["agenda"])
        renders = [bench_render(f"reference ({items} items)", small, RUNS)]
        print(f"1. render, {BIG_ITEMS} items x {BIG_RESULTS} results ...", flush=True)
        renders.append(bench_render(f"{BIG_ITEMS} items x {BIG_RESULTS} results", big, RUNS_BIG))

        print("2. serving stored against rendered ...", flush=True)
        confirmed_document = copy.deepcopy(reference)
        confirmed_document["meeting"]["status"] = "confirmed"
        confirmed_document["meeting"]["number"] = CONFIRMED_NUMBER
        confirmed = import_minutes(confirmed_document)  # stores the archival copy
        serving = bench_serving(member_client(small.body), confirmed, small)

    text = report(started, load, inputs, renders, serving, memory)
    changed = [name for name, digest in fingerprint().items() if inputs[name] != digest]
    if changed:
        text += (
            f"\nWARNING: {', '.join(changed)} changed during the run; ours and bare may have "
            "used different versions, so the figures above are not comparable. Run again.\n"
        )
    print()
    print(text, end="")
    RESULTS.write_text(text, encoding="utf-8")
    print(f"\nwritten to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
