"""PDF benchmark: our render_pdf against a bare WeasyPrint render of the same HTML and
against the WeasyPrint floor (the same words as plain headings and paragraphs), the cost of
the archival seal, stored against rendered PDFs, memory over many renders, and tagged
PDF/A-3a against PDF/A-3b, each comparison interleaved in one process.

Run from the project folder:

    .venv/bin/python bench/pdf/run.py              # sections 1-3: bench/pdf/results.txt
    .venv/bin/python bench/pdf/run.py --variants   # 3a against 3b only: results-variants.txt

Uses a throwaway SQLite database and media folder in a temporary directory; prints a table
and writes it to the results file.
"""

import argparse
import copy
import datetime
import hashlib
import html as html_module
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from html.parser import HTMLParser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
REFERENCE = ROOT / "protokolle" / "demo" / "ergebnisprotokoll-2022-03-21.json"
STYLESHEET = ROOT / "static" / "css" / "minutes.css"
TEMPLATE = ROOT / "templates" / "protokolle" / "pdf" / "minutes.html"
BODY_TEMPLATE = ROOT / "templates" / "protokolle" / "pdf" / "document.html"
RESULTS = HERE / "results.txt"
RESULTS_VARIANTS = HERE / "results-variants.txt"

WARMUP = 2
RUNS = 15
# A 60-item render takes seconds: fewer runs keep the whole benchmark near 3 minutes.
RUNS_BIG = 7
BIG_ITEMS = 60
BIG_RESULTS = 5
BIG_NUMBER = 60
CONFIRMED_NUMBER = 9
MEMORY_CHECKPOINTS = [1, 50, 100, 150, 195]  # below pdf.RENDERS_PER_CHILD
VARIANTS = ("pdf/a-3b", "pdf/a-3a")


def setup_django(workdir):
    """Django on a fresh SQLite database and media folder inside ``workdir``."""
    os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "werkstatt.settings"
    # Confirming queues the archival copy as a background task; here it is made at once,
    # so that section 2 finds the stored copy.
    os.environ["DJANGO_TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    sys.path.insert(0, str(ROOT))
    # WhiteNoise warns that collectstatic has not run; the PDF does not need it.
    warnings.filterwarnings("ignore", "No directory at", UserWarning)

    import django

    django.setup()

    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    settings.MEDIA_ROOT = workdir / "media"
    # The render limit guards the server; here it would end the measurement of the 60-item
    # minutes on a busy machine.
    settings.PDF_RENDER_TIMEOUT = 600
    # A seal of our own in the temporary folder: the archival copies of confirmed minutes
    # are sealed, and section 1b measures the seal alone.
    from protokolle import seal

    settings.PDF_SEAL_PKCS12 = str(seal.make_demo_seal(workdir / "bench-seal.p12"))
    settings.PDF_SEAL_PASSWORD = seal.DEMO_PASSWORD.decode()
    # As in production: no query log kept in memory (the settings default to DEBUG on).
    settings.DEBUG = False


# --- measuring ------------------------------------------------------------------------


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def compare(*functions, runs=RUNS, warmup=WARMUP):
    """Seconds per run and last output of each callable, warmed up, run interleaved: in
    each run every callable once, the order rotating from run to run (and reversed every
    other run), so that none always runs first or after the same neighbour."""
    for _ in range(warmup):
        for function in functions:
            function()
    times = {function: [] for function in functions}
    outputs = {}
    count = len(functions)
    for run in range(runs):
        order = [functions[(run + offset) % count] for offset in range(count)]
        if (run // count) % 2:
            order.reverse()
        for function in order:
            seconds, outputs[function] = timed(function)
            times[function].append(seconds)
    return [(times[function], outputs[function]) for function in functions]


def fingerprint():
    """Short SHA-256 of the stylesheet and the templates: render_pdf reads the stylesheet once
    per process, the bare render on every run, so an edit during the run skews the comparison."""
    return {
        path.relative_to(ROOT).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in (STYLESHEET, TEMPLATE, BODY_TEMPLATE)
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


def cpu_seconds(pid):
    """User and system CPU seconds process ``pid`` has used so far (/proc, clock ticks)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # Fields 14 and 15 of proc(5), counted from the state (field 3) here.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


# --- the floor: the same words as plain headings and paragraphs -----------------------

FLOOR_CSS = """
@page { size: A4; margin: 2cm }
body { font-family: "DejaVu Sans"; font-size: 10pt; hyphens: none; margin: 0 }
h1, h2, h3, h4, h5, h6 { font-weight: bold; margin: 0.8em 0 0.3em }
h1 { font-size: 16pt } h2 { font-size: 13pt } h3, h4, h5, h6 { font-size: 11pt }
p { margin: 0 0 0.4em }
"""
HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
# Inline elements continue the current paragraph; every other element starts a new one,
# except table cells, whose row becomes one paragraph.
INLINE = {
    "a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "dfn", "em", "i", "kbd", "mark",
    "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "u", "var", "wbr",
    "td", "th", "br", "img",
}  # fmt: skip
HIDDEN = {"head", "style", "script", "title", "template"}


class _Words(HTMLParser):
    """The visible text of an HTML page as blocks: (heading level or 0, text)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.blocks, self.words, self.hidden, self.heading = [], [], 0, 0

    def flush(self):
        if self.words:
            self.blocks.append((self.heading, " ".join(self.words)))
            self.words = []

    def handle_starttag(self, tag, attrs):
        if tag in HIDDEN:
            self.hidden += 1
        elif tag not in INLINE:
            self.flush()
            if tag in HEADINGS:
                self.heading = int(tag[1])

    def handle_endtag(self, tag):
        if tag in HIDDEN:
            self.hidden -= 1
        elif tag not in INLINE:
            self.flush()
            if tag in HEADINGS:
                self.heading = 0

    def handle_data(self, data):
        if not self.hidden:
            self.words += data.split()


def visible_words(html):
    parser = _Words()
    parser.feed(html)
    parser.close()
    parser.flush()
    return parser.blocks


def floor_html(html):
    """The words of ``html`` (our PDF's HTML) as plain headings and paragraphs: no tables,
    no classes, no language (so no hyphenation), one element per block."""
    body = []
    for level, text in visible_words(html):
        tag = f"h{level}" if level else "p"
        body.append(f"<{tag}>{html_module.escape(text, quote=False)}</{tag}>")
    return "<!DOCTYPE html><html><head><meta charset=utf-8></head><body>\n" + (
        "\n".join(body) + "\n</body></html>"
    )


def word_count(html):
    return sum(len(text.split()) for _, text in visible_words(html))


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


def bench_render(name, meeting, runs, floor_setup):
    """Our render_pdf against a bare WeasyPrint render of the same HTML and stylesheet and
    against the floor: the same words as plain headings and paragraphs."""
    import weasyprint

    from protokolle import pdf

    html = pdf.render_html(meeting, for_pdf=True)
    plain = floor_html(html)
    if word_count(plain) != word_count(html):
        raise RuntimeError("the floor does not hold the same words as our HTML")
    fonts, floor_css = floor_setup

    def ours():
        return pdf.render_pdf(meeting)

    def bare():
        return weasyprint.HTML(string=html).write_pdf(
            stylesheets=[weasyprint.CSS(filename=str(STYLESHEET))]
        )

    def floor():
        return weasyprint.HTML(string=plain).write_pdf(stylesheets=[floor_css], font_config=fonts)

    (ours_times, ours_pdf), (bare_times, bare_pdf), (floor_times, floor_pdf) = compare(
        ours, bare, floor, runs=runs
    )
    return {
        "name": name,
        "runs": runs,
        "ours": ours_times,
        "bare": bare_times,
        "floor": floor_times,
        "ours_pdf": ours_pdf,
        "ours_bytes": len(ours_pdf),
        "bare_bytes": len(bare_pdf),
        "floor_bytes": len(floor_pdf),
        "ours_pages": page_count(ours_pdf),
        "bare_pages": page_count(bare_pdf),
        "floor_pages": page_count(floor_pdf),
        "html_chars": len(html),
        "words": word_count(html),
    }


def floor_setup():
    """The floor's one FontConfiguration and its stylesheet, parsed once, as ours does."""
    import weasyprint
    from weasyprint.text.fonts import FontConfiguration

    fonts = FontConfiguration()
    return fonts, weasyprint.CSS(string=FLOOR_CSS, font_config=fonts)


def bench_seal(name, data, runs):
    """protokolle.seal.seal on our rendered PDF: what sealing an archival copy adds."""
    from protokolle import seal

    for _ in range(WARMUP):
        seal.seal(data)
    times = []
    for _ in range(runs):
        seconds, sealed = timed(lambda: seal.seal(data))
        times.append(seconds)
    if seal.verify(sealed.data).problem:
        raise RuntimeError(f"the sealed PDF does not verify: {seal.verify(sealed.data).problem}")
    return {"name": name, "runs": runs, "times": times, "added": len(sealed.data) - len(data)}


def bench_variants(name, meeting, runs):
    """render_pdf as tagged PDF/A-3a against PDF/A-3b: wall time in this process, CPU time
    of the typesetting child (what the render costs the machine, less sensitive to other
    work on it), output size and pages."""
    from protokolle import pdf

    pdf.stop_typesetter()  # a fresh child that is not replaced during the comparison
    cpu = {variant: [] for variant in VARIANTS}

    def render(variant):
        def run():
            child = pdf._typesetter.process.pid if pdf._typesetter else None
            before = cpu_seconds(child) if child else None
            data = pdf.render_pdf(meeting, variant=variant)
            if child == pdf._typesetter.process.pid:
                cpu[variant].append(cpu_seconds(child) - before)
            return data

        return run

    (times_b, pdf_b), (times_a, pdf_a) = compare(
        render(VARIANTS[0]), render(VARIANTS[1]), runs=runs
    )
    return {
        "name": name,
        "runs": runs,
        "b": times_b,
        "a": times_a,
        "b_cpu": cpu[VARIANTS[0]][-runs:],
        "a_cpu": cpu[VARIANTS[1]][-runs:],
        "b_bytes": len(pdf_b),
        "a_bytes": len(pdf_a),
        "b_pages": page_count(pdf_b),
        "a_pages": page_count(pdf_a),
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
        getter(stored_url), getter(rendered_url), runs=RUNS
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


def head(started, load, inputs):
    return [
        f"PDF benchmark, {started:%Y-%m-%d %H:%M} UTC",
        *machine(),
        "Inputs (SHA-256): " + ", ".join(f"{name} {digest}" for name, digest in inputs.items()),
        "Load average (1 min) at start and end: "
        + " and ".join(f"{value:.2f}" for value in (load, os.getloadavg()[0]))
        + " (this process itself adds about 1; more means other work on the machine)",
        f"Times: median (fastest–slowest) of {RUNS} runs ({RUNS_BIG} for the 60-item minutes)",
        f"after {WARMUP} warm-up runs each; the sides of a row run interleaved.",
        "",
    ]


def variants_report(rows):
    """Section 4: tagged PDF/A-3a against PDF/A-3b."""
    lines = [
        "4. Tagged PDF/A-3a against PDF/A-3b: protokolle.pdf.render_pdf(meeting, variant=...),",
        "   both through the typesetting child (a fresh one, warmed up). Wall: in this process,",
        "   per call; CPU: user + system time of the typesetting child per render (/proc, 10 ms",
        "   ticks), which other work on the machine disturbs less than the wall time.",
        "",
    ]
    lines += table(
        [
            "minutes",
            "runs",
            "3b wall",
            "3a wall",
            "3a/3b",
            "3b CPU",
            "3a CPU",
            "3a/3b",
            "3b PDF",
            "3a PDF",
        ],
        [
            (
                r["name"],
                r["runs"],
                median_ms(r["b"]),
                median_ms(r["a"]),
                f"{statistics.median(r['a']) / statistics.median(r['b']):.2f}",
                median_ms(r["b_cpu"]),
                median_ms(r["a_cpu"]),
                f"{statistics.median(r['a_cpu']) / statistics.median(r['b_cpu']):.2f}",
                f"{r['b_bytes'] / 1024:,.1f} KiB, {r['b_pages']} p.",
                f"{r['a_bytes'] / 1024:,.1f} KiB, {r['a_pages']} p.",
            )
            for r in rows
        ],
    )
    return lines


def report(started, load, inputs, renders, seals, serving, memory):
    lines = [
        *head(started, load, inputs),
        "1. Render, three ways of the same minutes, interleaved in this process:",
        "   ours  = protokolle.pdf.render_pdf(meeting): tagged PDF/A-3a (pdf_variant "
        f"{pdf_variant()!r}),",
        "           the exchange JSON embedded as minutes.json, typeset in our typesetting child",
        "           (one FontConfiguration, minutes.css parsed once); wall time of the call here.",
        "   bare  = weasyprint.HTML(string=html).write_pdf(stylesheets=[CSS(filename="
        "static/css/minutes.css)])",
        "           of the same HTML (render_html(meeting, for_pdf=True)), fresh per run, no "
        "shared",
        "           FontConfiguration, plain PDF.",
        "   floor = the same words (every text of that HTML, in order) as plain <h1>-<h6> and <p>",
        "           only: DejaVu Sans 10 pt, A4, 2 cm margins, no tables, no classes, "
        "hyphens: none,",
        "           one shared FontConfiguration and stylesheet parsed once; plain PDF.",
        "",
    ]
    lines += table(
        ["minutes", "runs", "ours", "bare", "floor", "ours/bare", "ours/floor", "pages o/b/f"],
        [
            (
                r["name"],
                r["runs"],
                median_ms(r["ours"]),
                median_ms(r["bare"]),
                median_ms(r["floor"]),
                f"{statistics.median(r['ours']) / statistics.median(r['bare']):.2f}",
                f"{statistics.median(r['ours']) / statistics.median(r['floor']):.2f}",
                f"{r['ours_pages']}/{r['bare_pages']}/{r['floor_pages']}",
            )
            for r in renders
        ],
    )
    lines += [""]
    lines += table(
        ["minutes", "words", "HTML", "ours PDF", "bare PDF", "floor PDF"],
        [
            (
                r["name"],
                f"{r['words']:,}",
                f"{r['html_chars'] / 1024:,.1f} KiB",
                f"{r['ours_bytes'] / 1024:,.1f} KiB",
                f"{r['bare_bytes'] / 1024:,.1f} KiB",
                f"{r['floor_bytes'] / 1024:,.1f} KiB",
            )
            for r in renders
        ],
    )
    lines += [
        "",
        "1b. Seal: protokolle.seal.seal(data) on ours' PDF above (PAdES, pyHanko, RSA 2048,",
        "    a self-signed seal in the temporary folder, no timestamp server), in this process;",
        "    what archiving confirmed minutes adds to each render of an archival copy.",
        "",
    ]
    lines += table(
        ["minutes", "runs", "seal", "seal/ours render", "bytes added"],
        [
            (
                s["name"],
                s["runs"],
                median_ms(s["times"]),
                f"{statistics.median(s['times']) / statistics.median(r['ours']):.2f}",
                f"{s['added'] / 1024:,.1f} KiB",
            )
            for s, r in zip(seals, renders, strict=True)
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
        "3. Memory: RSS of the typesetting child (where the renders run) over renders of the",
        "   reference minutes with render_pdf (measured first in the run, so that the larger",
        "   renders above do not set the peak).",
        "",
    ]
    if memory is None:
        lines[-4:] = ["3. Memory: left out (--no-memory)."]
        return "\n".join(lines) + "\n"
    lines += table(
        ["renders so far", "peak RSS (VmHWM)", "current RSS (VmRSS)"],
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


def pdf_variant():
    from protokolle import pdf

    return pdf.PDF_VARIANT


def measure_variants(small, big, items):
    print("4. 3a against 3b, reference minutes ...", flush=True)
    rows = [bench_variants(f"reference ({items} items)", small, RUNS)]
    print(f"4. 3a against 3b, {BIG_ITEMS} items x {BIG_RESULTS} results ...", flush=True)
    rows.append(bench_variants(f"{BIG_ITEMS} items x {BIG_RESULTS} results", big, RUNS_BIG))
    return rows


def main():
    global RUNS, RUNS_BIG
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--variants",
        action="store_true",
        help="measure only tagged PDF/A-3a against PDF/A-3b (section 4), into "
        f"{RESULTS_VARIANTS.name}",
    )
    parser.add_argument("--runs", type=int, default=RUNS, help="runs of the reference minutes")
    parser.add_argument(
        "--runs-big", type=int, default=RUNS_BIG, help="runs of the 60-item minutes"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="leave out section 3 (195 renders)"
    )
    arguments = parser.parse_args()
    RUNS, RUNS_BIG = arguments.runs, arguments.runs_big
    started = datetime.datetime.now(datetime.UTC)
    load = os.getloadavg()[0]
    inputs = fingerprint()
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as workdir:
        setup_django(Path(workdir))
        from protokolle.models import Meeting

        reference = json.loads(REFERENCE.read_text(encoding="utf-8"))
        items = len(reference["meeting"]["agenda"])
        small = Meeting.objects.for_minutes().get(pk=import_minutes(reference).pk)
        big = Meeting.objects.for_minutes().get(pk=import_minutes(big_document(reference)).pk)

        if arguments.variants:
            rows = measure_variants(small, big, items)
            text = "\n".join([*head(started, load, inputs), *variants_report(rows)])
            finish(text + "\n", inputs, RESULTS_VARIANTS)
            return

        memory = None
        if not arguments.no_memory:
            print("3. memory over renders ...", flush=True)
            memory = bench_memory(small)

        floor = floor_setup()
        print("1. render, reference minutes ...", flush=True)
        renders = [bench_render(f"reference ({items} items)", small, RUNS, floor)]
        print(f"1. render, {BIG_ITEMS} items x {BIG_RESULTS} results ...", flush=True)
        renders.append(
            bench_render(f"{BIG_ITEMS} items x {BIG_RESULTS} results", big, RUNS_BIG, floor)
        )
        print("1b. seal ...", flush=True)
        seals = [bench_seal(r["name"], r["ours_pdf"], r["runs"]) for r in renders]

        print("2. serving stored against rendered ...", flush=True)
        confirmed_document = copy.deepcopy(reference)
        confirmed_document["meeting"]["status"] = "confirmed"
        confirmed_document["meeting"]["number"] = CONFIRMED_NUMBER
        confirmed = import_minutes(confirmed_document)  # stores the archival copy
        serving = bench_serving(member_client(small.body), confirmed, small)

    finish(report(started, load, inputs, renders, seals, serving, memory), inputs, RESULTS)


def finish(text, inputs, results):
    """Print the report and write it to ``results``, warning when an input changed."""
    changed = [name for name, digest in fingerprint().items() if inputs[name] != digest]
    if changed:
        text += (
            f"\nWARNING: {', '.join(changed)} changed during the run; ours and bare may have "
            "used different versions, so the figures above are not comparable. Run again.\n"
        )
    print()
    print(text, end="")
    results.write_text(text, encoding="utf-8")
    print(f"\nwritten to {results.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
