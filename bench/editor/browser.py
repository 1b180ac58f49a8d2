"""Editor benchmark in a browser: what the minute-taker waits for, beside the server time.

Serves the app with DEBUG off (static files collected into a temporary STATIC_ROOT,
WhiteNoise) from a threaded WSGI server in this process, on a throwaway SQLite database,
and drives Debian's Chromium (/usr/bin/chromium) with Playwright through the editor of
the 60 x 5 minutes (and of the reference minutes), logged in as the minute-taker:

- editor GET: opening the editor, Navigation Timing from navigation start to the end of
  the load event (request, transfer, HTML parse, deferred scripts);
- save: a field changed, Save clicked, as the page does it (editor.js posts the form with
  fetch, follows the redirect to the editor, parses the 1.9 MB answer and swaps the form in);
  from the click to the end of the swap (the action bar no longer busy), after the next
  frame; the fetch's part from Resource Timing;
- save without JavaScript: the same save in a context with JavaScript off, a plain form
  POST, 302 and GET of the editor: Navigation Timing from the click to the load event;
- preview GET: opening the preview (the editor's "Vorschau" link), Navigation Timing.

Server time: for every request, from the WSGI call to the last byte of the body, measured
in the server. Medians of ``--runs`` rounds after 2 warm-up rounds, the steps of a round
one after the other. Run from the project folder:

    .venv/bin/python bench/editor/browser.py [--runs 5]
"""

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SECRET = "editor-browser-benchmark-" + "k3y" * 20
WARMUP = 2

from minutes import big_document  # noqa: E402 - bench/editor/minutes.py


def setup_django(folder):
    os.environ.update(
        DJANGO_SETTINGS_MODULE="werkstatt.settings",
        DATABASE_URL=f"sqlite:///{folder}/bench.sqlite3",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=SECRET,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_STATIC_ROOT=f"{folder}/static",
        DJANGO_MEDIA_ROOT=f"{folder}/media",
        # The server runs in a thread beside Playwright's event loop.
        DJANGO_ALLOW_ASYNC_UNSAFE="true",
    )
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    # Plain HTTP on loopback: the cookies cannot be "Secure" here.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)


class TimedApp:
    """The WSGI application, with the time of each request from the call to the body's
    last byte (the body is produced here, then handed to the server)."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.records = []

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        result = self.app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        with self.lock:
            self.records.append(
                (
                    environ["REQUEST_METHOD"],
                    environ["PATH_INFO"],
                    (time.perf_counter() - started) * 1000,
                    len(body),
                )
            )
        return [body]

    def take(self):
        with self.lock:
            records, self.records = self.records, []
        return records


def serve():
    from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    app = TimedApp(get_wsgi_application())
    server = ThreadedWSGIServer(("127.0.0.1", 0), Quiet, allow_reuse_address=False)
    server.set_app(app)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, app, f"http://127.0.0.1:{server.server_address[1]}"


def session_cookie(user, base):
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    return {"name": settings.SESSION_COOKIE_NAME, "value": store.session_key, "url": base}


NAVIGATION = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  return {total: n.loadEventEnd - n.startTime, redirect: n.redirectEnd - n.redirectStart,
          ttfb: n.responseStart - n.requestStart, transfer: n.responseEnd - n.responseStart,
          parse: n.domInteractive - n.responseEnd,
          scripts: n.domContentLoadedEventEnd - n.domInteractive,
          load: n.loadEventEnd - n.domContentLoadedEventEnd, bytes: n.decodedBodySize};
}"""

CLICK_SAVE = """() => {
  performance.clearResourceTimings();
  window.__saveStart = performance.now();
  document.getElementById("save-button").click();
  return !!document.querySelector("#editor-form .action-bar[aria-busy]");
}"""

# Done: the action bar of the (new) form is no longer busy; then one more frame.
SAVE_DONE = """() => new Promise((resolve) => {
  function check() {
    if (document.querySelector("#editor-form .action-bar[aria-busy]")) {
      requestAnimationFrame(check);
      return;
    }
    requestAnimationFrame(() => setTimeout(() => {
      const fetched = performance.getEntriesByType("resource")
        .filter((e) => e.initiatorType === "fetch").pop();
      resolve({total: performance.now() - window.__saveStart,
               fetch: fetched ? fetched.responseEnd - fetched.startTime : null,
               after: fetched ? performance.now() - fetched.responseEnd : null,
               bytes: fetched ? fetched.decodedBodySize : null,
               saved: document.querySelector(".messages, .alert-success") !== null});
    }, 0));
  }
  check();
})"""


def server_ms(records, method, path_part):
    return sum(ms for m, path, ms, _ in records if m == method and path_part in path)


def measure(context_js, context_plain, meeting_pk, runs, app, location_value):
    """Rounds of: open the editor, save with JS, save without JS, open the preview."""
    from protokolle.models import Meeting

    edit = f"/meetings/{meeting_pk}/edit/"
    preview = f"/meetings/{meeting_pk}/preview/"
    page = context_js.new_page()
    plain = context_plain.new_page()
    rows = {name: [] for name in ("editor GET", "save (JS)", "save (no JS)", "preview GET")}
    for round_number in range(WARMUP + runs):
        keep = round_number >= WARMUP
        # Opening the editor.
        app.take()
        page.goto(app.base + edit, wait_until="load")
        nav = page.evaluate(NAVIGATION)
        records = app.take()
        if keep:
            rows["editor GET"].append((nav, server_ms(records, "GET", edit)))
        # Saving with the page's script.
        value = location_value(round_number, "js")
        page.fill('[name="meeting-location"]', value)
        if not page.evaluate(CLICK_SAVE):
            raise RuntimeError("the editor did not start saving on the click")
        done = page.evaluate(SAVE_DONE)
        records = app.take()
        if Meeting.objects.get(pk=meeting_pk).location != value:
            raise RuntimeError(f"the save with JavaScript did not store {value!r}")
        if keep:
            post, get = server_ms(records, "POST", edit), server_ms(records, "GET", edit)
            rows["save (JS)"].append((done, post + get, post, get))
        # Saving without JavaScript: a form POST, the redirect, the editor again.
        plain.goto(app.base + edit, wait_until="load")
        value = location_value(round_number, "plain")
        plain.fill('[name="meeting-location"]', value)
        app.take()
        with plain.expect_navigation(wait_until="load"):
            plain.click("#save-button")
        nav = plain.evaluate(NAVIGATION)
        records = app.take()
        if Meeting.objects.get(pk=meeting_pk).location != value:
            raise RuntimeError(f"the save without JavaScript did not store {value!r}")
        if keep:
            post, get = server_ms(records, "POST", edit), server_ms(records, "GET", edit)
            rows["save (no JS)"].append((nav, post + get, post, get))
        # The preview.
        app.take()
        page.goto(app.base + preview, wait_until="load")
        nav = page.evaluate(NAVIGATION)
        records = app.take()
        if keep:
            rows["preview GET"].append((nav, server_ms(records, "GET", preview)))
    page.close()
    plain.close()
    return rows


def med(values):
    return statistics.median(values)


def report_rows(label, rows):
    lines = []
    editor = rows["editor GET"]
    lines.append(
        f"{label:22} editor GET (navigation: request to end of load event)     "
        f"browser {med([n['total'] for n, _ in editor]):7.0f} ms  "
        f"server {med([s for _, s in editor]):7.0f} ms  | TTFB "
        f"{med([n['ttfb'] for n, _ in editor]):.0f}, transfer "
        f"{med([n['transfer'] for n, _ in editor]):.0f}, parse "
        f"{med([n['parse'] for n, _ in editor]):.0f}, deferred scripts+DCL "
        f"{med([n['scripts'] for n, _ in editor]):.0f}, load "
        f"{med([n['load'] for n, _ in editor]):.0f} ms; "
        f"{med([n['bytes'] for n, _ in editor]) / 1024:,.0f} KiB HTML"
    )
    js = rows["save (JS)"]
    lines.append(
        f"{label:22} save, editor.js (click to form swapped, next frame)       "
        f"browser {med([d['total'] for d, *_ in js]):7.0f} ms  "
        f"server {med([s for _, s, _, _ in js]):7.0f} ms  | server POST "
        f"{med([p for *_, p, _ in js]):.0f} + GET {med([g for *_, g in js]):.0f}; "
        f"fetch (POST, 302, GET, body) {med([d['fetch'] for d, *_ in js]):.0f}, "
        f"after it (DOMParser, swap, renumber, frame) {med([d['after'] for d, *_ in js]):.0f} ms"
    )
    plain = rows["save (no JS)"]
    lines.append(
        f"{label:22} save, JavaScript off (POST, 302, GET, load event)         "
        f"browser {med([n['total'] for n, *_ in plain]):7.0f} ms  "
        f"server {med([s for _, s, _, _ in plain]):7.0f} ms  | server POST "
        f"{med([p for *_, p, _ in plain]):.0f} + GET {med([g for *_, g in plain]):.0f}; "
        f"POST+302 {med([n['redirect'] for n, *_ in plain]):.0f}, GET TTFB "
        f"{med([n['ttfb'] for n, *_ in plain]):.0f}, transfer "
        f"{med([n['transfer'] for n, *_ in plain]):.0f}, parse "
        f"{med([n['parse'] for n, *_ in plain]):.0f} ms"
    )
    preview = rows["preview GET"]
    lines.append(
        f"{label:22} preview GET (navigation: request to end of load event)    "
        f"browser {med([n['total'] for n, _ in preview]):7.0f} ms  "
        f"server {med([s for _, s in preview]):7.0f} ms  | parse "
        f"{med([n['parse'] for n, _ in preview]):.0f} ms; "
        f"{med([n['bytes'] for n, _ in preview]) / 1024:,.0f} KiB HTML"
    )
    return lines


def run(runs, only_big):
    from django.contrib.auth import get_user_model
    from playwright.sync_api import sync_playwright

    from protokolle import workflow
    from protokolle.models import Membership, Person

    reference = json.loads((ROOT / "protokolle/demo/ergebnisprotokoll-2022-03-21.json").read_text())
    meetings = {"60 items x 5 results": workflow.import_minutes(big_document(reference))}
    if not only_big:
        meetings["reference (7 items)"] = workflow.import_minutes(copy.deepcopy(reference))
    writer = get_user_model().objects.create_user("protokoll", password="x")
    Membership.objects.create(
        body=meetings["60 items x 5 results"].body,
        person=Person.objects.create(name="Alexander Boldt", user=writer),
        role=Membership.Role.MINUTE_TAKER,
    )
    server, app, base = serve()
    app.base = base
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load = os.getloadavg()[0]
    lines = []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
            )
            options = {"locale": "de-DE", "viewport": {"width": 1400, "height": 1000}}
            context_js = browser.new_context(**options)
            context_plain = browser.new_context(java_script_enabled=False, **options)
            for context in (context_js, context_plain):
                context.add_cookies([session_cookie(writer, base)])
                # A 60 x 5 save on a busy machine can take longer than Playwright's 30 s.
                context.set_default_timeout(600_000)
                context.set_default_navigation_timeout(600_000)
            version = browser.version
            for label, meeting in meetings.items():
                rows = measure(
                    context_js,
                    context_plain,
                    meeting.pk,
                    runs,
                    app,
                    lambda n, how: f"Online, Runde {n} ({how})",
                )
                lines += report_rows(label, rows)
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    print(
        f"Editor in a browser, {started}: Chromium {version} headless (Playwright), "
        f"DEBUG off, SQLite, server in this process; median of {runs} rounds after "
        f"{WARMUP} warm-up rounds"
    )
    print(f"Load average (1 min) at start and end: {load:.2f} and {os.getloadavg()[0]:.2f}")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only-big", action="store_true", help="only the 60 x 5 minutes")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"Chromium not found at {CHROMIUM} (apt-get install chromium, or CHROMIUM_PATH)")
    with tempfile.TemporaryDirectory(prefix="bench-editor-browser-") as folder:
        setup_django(folder)
        run(args.runs, args.only_big)


if __name__ == "__main__":
    main()
