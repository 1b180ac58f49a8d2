"""The page guard and check_page must be able to fail, and must not fail a sound page.

The pages are served by a route (no server): fast, and with a real CSP header.
"""

import pytest

from .guards import PageGuard, check_overlaps, check_page, check_width

ORIGIN = "http://guard.test"
CSP = "default-src 'self'; script-src 'self'; style-src 'self'"


def html(body, head=""):
    return (
        '<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Prüfseite</title>'
        '<link rel="stylesheet" href="/site.css">'
        f"{head}</head><body><main><h1>Prüfseite</h1>{body}</main></body></html>"
    )


def serve(page, pages, css=""):
    """Serve ``pages`` ({path: html or (status, html)}) and /site.css under ORIGIN."""

    def handle(route):
        path = route.request.url[len(ORIGIN) :] or "/"
        if path == "/site.css":
            return route.fulfill(body=css, content_type="text/css")
        if path == "/app.js":
            return route.fulfill(body=pages.get(path, ""), content_type="text/javascript")
        entry = pages.get(path)
        if entry is None:
            return route.fulfill(status=404, body="nicht gefunden", content_type="text/plain")
        status, body = entry if isinstance(entry, tuple) else (200, entry)
        return route.fulfill(
            status=status,
            body=body,
            content_type="text/html; charset=utf-8",
            headers={"Content-Security-Policy": CSP},
        )

    page.route(f"{ORIGIN}/**", handle)


@pytest.fixture(autouse=True)
def hard_checks(monkeypatch):
    """check_page must raise here, whatever E2E_SOFT says."""
    monkeypatch.delenv("E2E_SOFT", raising=False)


@pytest.fixture
def own_guard(browser):
    """A context outside the test's own page guard, so its complaints don't fail the test."""
    context = type(browser).new_context(browser)  # the unguarded method
    guard = PageGuard()
    guard.watch(context)
    yield guard, context.new_page()
    context.close()


def test_overlapping_buttons_are_found(page):
    css = ".b { position: absolute; top: 100px; left: 20px; width: 120px; height: 40px; }"
    serve(
        page,
        {"/": html('<button class="b">Speichern</button><button class="b">Löschen</button>')},
        css,
    )
    page.goto(f"{ORIGIN}/")
    found = check_overlaps(page)
    assert len(found) == 1
    assert 'button.b "Speichern" overlaps button.b "Löschen"' in found[0]
    with pytest.raises(AssertionError, match="overlaps"):
        check_page(page, viewports=[{"width": 800, "height": 600}])


def test_radio_buttons_on_the_next_row_are_found(page):
    # The attendance bug: one person's radios pile onto the next person's row.
    css = (
        ".row { height: 24px; } .row label { display: block; height: 24px; }"
        " .choices { display: block; }"
    )
    rows = "".join(
        f'<div class="row"><label><input type="radio" name="p{n}"> anwesend</label>'
        f'<span class="choices"><input type="radio" name="q{n}" aria-label="abwesend {n}"></span>'
        "</div>"
        for n in range(2)
    )
    serve(page, {"/": html(rows)}, css)
    page.goto(f"{ORIGIN}/")
    assert check_overlaps(page), "the second column's radio sits on the next row's first"


def test_overlapping_labels_of_hidden_radios_are_found(page):
    # A button group of radios: the inputs are hidden, their labels are the targets.
    css = (
        ".btn-check { position: absolute; clip: rect(0, 0, 0, 0); pointer-events: none; }"
        " label { display: inline-block; width: 100px; padding: 8px; border: 1px solid; }"
        " .broken label + input + label { margin-left: -60px; }"
    )
    group = (
        '<div class="{cls}" role="radiogroup" aria-label="Anwesenheit {cls}">'
        '<input class="btn-check" type="radio" name="{cls}" id="{cls}-a">'
        '<label for="{cls}-a">anwesend</label>'
        '<input class="btn-check" type="radio" name="{cls}" id="{cls}-b">'
        '<label for="{cls}-b">abwesend</label></div>'
    )
    body = group.format(cls="sound") + group.format(cls="broken")
    serve(page, {"/": html(body)}, css)
    page.goto(f"{ORIGIN}/")
    (found,) = check_overlaps(page)
    assert 'label "anwesend" overlaps label "abwesend"' in found


def test_a_page_wider_than_the_window_is_found(page):
    serve(page, {"/": html('<div class="wide">breit</div>')}, ".wide { width: 700px; }")
    page.goto(f"{ORIGIN}/")
    page.set_viewport_size({"width": 390, "height": 844})
    (finding,) = check_width(page)
    assert "700px" in finding or "page is" in finding
    assert "div.wide" in finding
    page.set_viewport_size({"width": 1440, "height": 900})
    assert check_width(page) == []
    with pytest.raises(AssertionError, match=r"\[390×844\] the page is \d+px wide"):
        check_page(page)
    assert page.viewport_size == {"width": 1440, "height": 900}, "the viewport is restored"


def test_a_sound_page_passes(page):
    css = """
      body { margin: 0; font: 16px sans-serif; }
      .scroller { overflow-x: auto; width: 200px; display: inline-block; vertical-align: top; }
      .scroller table { width: 1000px; }
      .side { display: inline-block; }
      .skip { position: absolute; top: 0; left: 0; }
      .visually-hidden-focusable:not(:focus):not(:focus-within) {
        width: 1px !important; height: 1px !important; overflow: hidden !important;
        clip: rect(0, 0, 0, 0) !important; position: absolute !important;
      }
      .under { position: absolute; top: 0; left: 0; }
      details .over { position: absolute; top: 0; left: 0; width: 200px; height: 50px; }
      .group { display: flex; } .group > * { margin-left: -1px; }
    """
    body = """
      <a class="visually-hidden-focusable" href="#inhalt">Zum Inhalt</a>
      <nav><a class="under" href="/">Start</a></nav>
      <div id="inhalt">
        <label>Name <input type="text" name="name"></label>
        <label><input type="checkbox" name="ok"> einverstanden</label>
        <a href="/weiter"><span>Weiter</span></a>
        <div class="group"><input aria-label="Suche" name="q"><button>Suchen</button></div>
        <div class="scroller" tabindex="0" role="region" aria-label="Tabelle">
          <table><tr><td><button>eins</button></td>
            <td style="width: 900px"></td><td><button>drei</button></td></tr></table>
        </div>
        <div class="side"><button>daneben</button></div>
        <details><summary>Mehr</summary><button class="over">verdeckt</button></details>
        <button hidden>versteckt</button>
        <input type="hidden" name="token" value="x">
      </div>
    """
    # The inline style above would be a CSP violation: serve it with a stylesheet only.
    body = body.replace(' style="width: 900px"', ' class="gap"')
    css += " .gap { width: 900px; }"
    serve(page, {"/": html(body)}, css)
    page.goto(f"{ORIGIN}/")
    assert check_overlaps(page) == []
    check_page(page, "sound")


def test_the_guard_records_console_errors_exceptions_csp_and_bad_responses(own_guard):
    guard, page = own_guard
    script = """
      console.error("etwas ging schief");
      document.body.setAttribute("style", "color: red");
      setTimeout(() => { throw new Error("ungefangen"); }, 0);
      fetch("/fehlt");
    """
    serve(
        page,
        {
            "/": html('<p style="color: blue">inline</p><script src="/app.js"></script>'),
            "/app.js": script,
        },
    )
    page.goto(f"{ORIGIN}/")
    page.wait_for_timeout(200)
    text = "\n".join(guard.problems())
    assert "Content-Security-Policy violations" in text
    assert "style-src" in text and "inline" in text
    assert "etwas ging schief" in text
    assert "ungefangen" in text
    assert f"404 GET {ORIGIN}/fehlt" in text
    with pytest.raises(AssertionError, match="The browser reported problems"):
        guard.verify()


def test_an_expected_status_can_be_allowed(own_guard):
    guard, page = own_guard
    serve(page, {"/": html("<p>ok</p>"), "/abgelehnt": (409, html("<p>Konflikt</p>"))})
    page.goto(f"{ORIGIN}/abgelehnt")
    page.goto(f"{ORIGIN}/")
    assert any("409 GET" in line for line in guard.problems())
    guard.allow(status=409, url="/abgelehnt")
    assert guard.problems() == []
    guard.verify()


def test_the_allowance_is_narrow(own_guard):
    guard, page = own_guard
    guard.allow(status=400)
    serve(page, {"/": (409, html("<p>Konflikt</p>"))})
    page.goto(f"{ORIGIN}/")
    assert any("409 GET" in line for line in guard.problems())


def test_the_default_page_fixture_is_guarded(page, page_guard):
    serve(page, {"/": html("<p>ok</p>", '<script src="/app.js"></script>'), "/app.js": "x()"})
    page.goto(f"{ORIGIN}/")
    page_guard.flush()
    text = "\n".join(page_guard.problems())
    assert "Uncaught exceptions" in text and "x is not defined" in text
    page_guard.reset()  # this test's own page is meant to be broken


def test_a_clean_page_records_nothing(page, page_guard):
    serve(page, {"/": html("<p>ok</p>")})
    page.goto(f"{ORIGIN}/")
    page_guard.flush()
    assert page_guard.problems() == []


def test_a_favicon_cancelled_by_the_next_navigation_is_no_failure(own_guard):
    guard, _ = own_guard
    guard.failed_requests.append(("GET", f"{ORIGIN}/static/favicon.svg", "net::ERR_ABORTED"))
    assert guard.problems() == []
    guard.failed_requests.append(("GET", f"{ORIGIN}/api/save", "net::ERR_ABORTED"))
    assert any("/api/save" in line for line in guard.problems())
