"""Generic guards for every browser test, so that a broken page cannot pass.

Two parts:

``PageGuard``
    Listens on every browser context a test creates (the ``page`` fixture's and any
    ``browser.new_context()``/``browser.new_page()`` of the test) from the first moment
    and records console errors, uncaught exceptions, Content-Security-Policy
    violations, failed requests and responses with a status of 400 or more. The
    conftest fails the test after its body with everything recorded. A test that
    expects a refusal says so: ``page_guard.allow(status=409)`` (optionally ``url=``).

``check_page(page, step=None)``
    Checks the page's current state at 1440×900 and at 390×844 (then restores the
    viewport): axe (WCAG 2.1 A/AA), no horizontal scrolling of the page, and no two
    visible interactive elements overlapping. With ``E2E_SCREENSHOTS=<dir>`` it saves a
    full-page screenshot per step and viewport for a human to look at. With
    ``E2E_SOFT=1`` its findings do not stop the test: they fail it at its end, together
    with every later step's, so that one run lists every broken page.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe

WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
VIEWPORTS = ({"width": 1440, "height": 900}, {"width": 390, "height": 844})

# Reported by the init script below through an exposed binding, so that violations
# survive navigations (anything kept in ``window`` would be lost with the document).
CSP_BINDING = "__e2eGuardCspViolation"
CSP_INIT_SCRIPT = f"""
(() => {{
  if (window.__e2eGuardInstalled) return;
  window.__e2eGuardInstalled = true;
  window.addEventListener("securitypolicyviolation", (event) => {{
    const report = window["{CSP_BINDING}"];
    if (typeof report !== "function") return;
    report({{
      directive: event.effectiveDirective || event.violatedDirective,
      blocked: event.blockedURI,
      source: event.sourceFile,
      line: event.lineNumber,
      column: event.columnNumber,
      sample: event.sample,
      document: event.documentURI,
      disposition: event.disposition,
    }}).catch(() => {{}});
  }}, true);
}})();
"""

CSP_CONSOLE = re.compile(r"Content[ -]Security[ -]Policy", re.IGNORECASE)
FAILED_RESOURCE = re.compile(
    r"Failed to load resource: the server responded with a status of (\d+)"
)
MAX_LISTED = 25


def _matches(pattern, text):
    if pattern is None:
        return True
    if isinstance(pattern, re.Pattern):
        return bool(pattern.search(text or ""))
    return pattern in (text or "")


@dataclass
class Allowance:
    statuses: frozenset | None
    url: str | re.Pattern | None
    console: str | re.Pattern | None

    def allows_response(self, status, url):
        if self.statuses is None and self.url is None:
            return False
        return (self.statuses is None or status in self.statuses) and _matches(self.url, url)


@dataclass
class PageGuard:
    """Records what goes wrong in the browser while a test runs."""

    console_errors: list = field(default_factory=list)
    page_errors: list = field(default_factory=list)
    csp_violations: list = field(default_factory=list)
    failed_requests: list = field(default_factory=list)
    bad_responses: list = field(default_factory=list)
    downloads: set = field(default_factory=set)
    page_findings: list = field(default_factory=list)
    allowances: list = field(default_factory=list)
    contexts: list = field(default_factory=list)

    # -- what a test may declare -------------------------------------------------

    def allow(
        self,
        status: int | Iterable[int] | None = None,
        url: str | re.Pattern | None = None,
        console: str | re.Pattern | None = None,
    ) -> PageGuard:
        """Expect responses with ``status`` (and a URL containing/matching ``url``).

        ``page_guard.allow(status=400)`` accepts every 400 of the test, together with
        Chromium's console line "Failed to load resource: … status of 400" for it;
        ``page_guard.allow(status=(400, 409), url="/edit/")`` narrows it to a URL.
        ``console=`` accepts console errors whose text contains/matches the pattern.
        """
        if status is None and url is None and console is None:
            raise ValueError("allow() needs a status, a url or a console pattern")
        statuses = None
        if status is not None:
            statuses = frozenset([status] if isinstance(status, int) else status)
        self.allowances.append(Allowance(statuses, url, console))
        return self

    def _response_allowed(self, status, url):
        return any(a.allows_response(status, url) for a in self.allowances)

    def _console_allowed(self, text, url):
        if any(a.console is not None and _matches(a.console, text) for a in self.allowances):
            return True
        failed = FAILED_RESOURCE.search(text or "")
        return bool(failed) and self._response_allowed(int(failed.group(1)), url)

    # -- listening ---------------------------------------------------------------

    def watch(self, context):
        """Listen on ``context`` and on every page it will open."""
        if context in self.contexts:
            return context
        self.contexts.append(context)
        context.expose_binding(CSP_BINDING, self._on_csp)
        context.add_init_script(CSP_INIT_SCRIPT)
        context.on("console", self._on_console)
        context.on("weberror", self._on_weberror)
        context.on("requestfailed", self._on_requestfailed)
        context.on("response", self._on_response)
        context.on("page", self._on_page)
        for page in context.pages:
            self._on_page(page)
        return context

    def _on_page(self, page):
        page.on("download", lambda download: self.downloads.add(download.url))
        page.on("crash", lambda crashed: self.page_errors.append(f"page crashed: {crashed.url}"))

    def _on_console(self, message):
        if message.type != "error":
            return
        location = message.location or {}
        url = location.get("url", "")
        where = url
        if (
            url
            and location.get("lineNumber") is not None
            and not FAILED_RESOURCE.search(message.text)
        ):
            where = f"{url}:{location['lineNumber'] + 1}"  # Playwright counts from 0
        self.console_errors.append((message.text, url, where))

    def _on_weberror(self, error):
        page_url = error.page.url if error.page else "?"
        exc = error.error
        text = f"{exc.name}: {exc.message}" if exc else "?"
        if exc and exc.stack:
            text += "\n      " + "\n      ".join(exc.stack.splitlines()[1:4])
        self.page_errors.append(f"{text} (on {page_url})")

    def _on_csp(self, source, violation):
        frame = source.get("frame")
        violation = dict(violation)
        violation.setdefault("document", frame.url if frame else "")
        self.csp_violations.append(violation)

    def _on_requestfailed(self, request):
        self.failed_requests.append((request.method, request.url, request.failure or "?"))

    def _on_response(self, response):
        if response.status >= 400:
            request = response.request
            self.bad_responses.append((response.status, request.method, response.url))

    # -- verdict -----------------------------------------------------------------

    def flush(self):
        """Let Playwright deliver events still in flight (the sync API pumps on calls)."""
        for context in self.contexts:
            for page in context.pages:
                if page.is_closed():
                    continue
                try:
                    page.evaluate("() => new Promise(r => setTimeout(r, 0))")
                except Exception:  # a page navigating or closing
                    pass

    def problems(self) -> list[str]:
        """Everything recorded and not allowed, grouped, as readable lines."""
        sections = []

        csp = [_describe_csp(v) for v in self.csp_violations]
        responded = {(status, url) for status, _, url in self.bad_responses}
        console = []
        for text, url, where in self.console_errors:
            if self._console_allowed(text, url):
                continue
            failed = FAILED_RESOURCE.search(text)
            if failed and (int(failed.group(1)), url) in responded:
                continue  # listed with the responses below
            if CSP_CONSOLE.search(text):
                # Chromium also logs each violation; the event above has the details.
                # Only where no event arrived (e.g. a worker) the console line is kept.
                if not self.csp_violations:
                    csp.append(f"{text} (console, {where})")
                continue
            console.append(f"{text} ({where})" if where else text)
        sections.append(("Content-Security-Policy violations", csp))
        sections.append(("Console errors", console))
        sections.append(("Uncaught exceptions", list(self.page_errors)))
        failed = []
        for method, url, failure in self.failed_requests:
            if "ERR_ABORTED" in failure and (url in self.downloads or "favicon" in url):
                # A navigation that turned into a download, or the browser's own favicon
                # fetch cancelled because the test moved on to the next page first.
                continue
            failed.append(f"{method} {url}: {failure}")
        sections.append(("Failed requests", failed))
        bad = [
            f"{status} {method} {url}"
            for status, method, url in self.bad_responses
            if not self._response_allowed(status, url)
        ]
        sections.append(("Responses with status >= 400", bad))

        lines = list(self.page_findings)
        for title, entries in sections:
            if not entries:
                continue
            counted = Counter(entries)
            lines.append(f"{title} ({len(entries)}):")
            for entry, count in list(counted.items())[:MAX_LISTED]:
                lines.append(f"  - {entry}" + (f"  [×{count}]" if count > 1 else ""))
            if len(counted) > MAX_LISTED:
                lines.append(f"  … and {len(counted) - MAX_LISTED} more different entries")
        return lines

    def reset(self):
        """Forget what was recorded (for tests of the guard itself)."""
        for name in (
            "console_errors",
            "page_errors",
            "csp_violations",
            "failed_requests",
            "bad_responses",
            "page_findings",
        ):
            getattr(self, name).clear()

    def verify(self):
        self.flush()
        lines = self.problems()
        if lines:
            raise AssertionError("The browser reported problems:\n" + "\n".join(lines))

    def close(self):
        for context in self.contexts:
            try:
                context.close()
            except Exception:  # already closed by pytest-playwright
                pass


def _describe_csp(v):
    where = v.get("source") or v.get("document") or ""
    if v.get("line"):
        where = f"{where}:{v['line']}"
    sample = f' sample "{v["sample"]}"' if v.get("sample") else ""
    blocked = v.get("blocked") or "?"
    return f"{v.get('directive')} blocked {blocked}{sample} at {where}"


# -- check_page ---------------------------------------------------------------------

INTERACTIVE = (
    'a[href], button, input:not([type="hidden"]), select, textarea, summary, '
    '[role="button"], [tabindex]:not([tabindex="-1"])'
)

# Returns the pairs of visible interactive elements whose boxes intersect by more than
# 1px in both directions. An element's box is cut to every ancestor that clips its
# overflow (scrolling tables, overflow:hidden), so what is scrolled or clipped out of
# view is not compared. Pairs where one element contains the other (an input inside a
# link or a label-wrapped control) are fine. A control hidden visually (clipped or
# 1px, as in a button group of radios) is represented by its visible <label>s. Elements
# inside different position:fixed or position:sticky containers are not compared: what
# scrolls under a sticky bar depends on the scroll position, not on the layout.
OVERLAP_SCRIPT = """
(selector) => {
  const TOLERANCE = 1;
  const describe = (el) => {
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    else if (el.classList.length) name += "." + [...el.classList].slice(0, 2).join(".");
    if (el.getAttribute("name")) name += `[name="${el.getAttribute("name")}"]`;
    if (el.type && el.tagName === "INPUT") name += `[type=${el.type}]`;
    let text = el.getAttribute("aria-label") || "";
    if (!text && el.labels && el.labels.length) text = el.labels[0].innerText;
    if (!text) text = el.innerText || el.value || el.getAttribute("placeholder") || "";
    text = text.replace(/\\s+/g, " ").trim().slice(0, 40);
    return text ? `${name} "${text}"` : name;
  };
  const hiddenByStyle = (el) => {
    if (typeof el.checkVisibility === "function"
        && !el.checkVisibility({visibilityProperty: true})) {
      return true;
    }
    const style = getComputedStyle(el);
    if (style.visibility !== "visible" || style.display === "none") return true;
    if (style.clip === "rect(0px, 0px, 0px, 0px)") return true;
    return false;
  };
  const clippedRect = (el) => {
    const r = el.getBoundingClientRect();
    let box = {left: r.left, top: r.top, right: r.right, bottom: r.bottom};
    for (let a = el.parentElement; a && a !== document.documentElement; a = a.parentElement) {
      const s = getComputedStyle(a);
      const clipX = s.overflowX !== "visible";
      const clipY = s.overflowY !== "visible";
      if (!clipX && !clipY) continue;
      const c = a.getBoundingClientRect();
      const left = c.left + a.clientLeft, top = c.top + a.clientTop;
      if (clipX) {
        box.left = Math.max(box.left, left);
        box.right = Math.min(box.right, left + a.clientWidth);
      }
      if (clipY) {
        box.top = Math.max(box.top, top);
        box.bottom = Math.min(box.bottom, top + a.clientHeight);
      }
    }
    return box;
  };
  const layerOf = (el) => {
    for (let a = el; a; a = a.parentElement) {
      const p = getComputedStyle(a).position;
      if (p === "fixed" || p === "sticky") return a;
    }
    return null;
  };
  const tiny = (box) => box.right - box.left <= TOLERANCE || box.bottom - box.top <= TOLERANCE;
  const items = [];
  const seen = new Set();
  const add = (el, box) => {
    if (seen.has(el)) return;
    seen.add(el);
    items.push({el, box, layer: layerOf(el)});
  };
  for (const el of document.querySelectorAll(selector)) {
    if (el.matches(".visually-hidden-focusable:not(:focus):not(:focus-within)")) continue;
    if (el.closest("[hidden], [inert]")) continue;
    const box = hiddenByStyle(el) ? null : clippedRect(el);
    if (box && !tiny(box)) {
      add(el, box);
      continue;
    }
    // A control hidden visually (a radio of a button group) is clicked through its
    // label: the label's box is the one that must not overlap.
    if (el.labels && !el.closest("[hidden]") && getComputedStyle(el).display !== "none") {
      for (const label of el.labels) {
        if (label.contains(el) || hiddenByStyle(label)) continue;
        const labelBox = clippedRect(label);
        if (!tiny(labelBox)) add(label, labelBox);
      }
    }
  }
  const pairs = [];
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      const a = items[i], b = items[j];
      if (a.layer !== b.layer) continue;
      const w = Math.min(a.box.right, b.box.right) - Math.max(a.box.left, b.box.left);
      const h = Math.min(a.box.bottom, b.box.bottom) - Math.max(a.box.top, b.box.top);
      if (w <= TOLERANCE || h <= TOLERANCE) continue;
      if (a.el.contains(b.el) || b.el.contains(a.el)) continue;
      pairs.push([describe(a.el), describe(b.el), Math.round(w), Math.round(h)]);
    }
  }
  return {count: items.length, pairs};
}
"""

# The page's width against the window's, and the outermost elements sticking out.
WIDTH_SCRIPT = """
() => {
  const width = window.innerWidth;
  const scrollWidth = document.documentElement.scrollWidth;
  const culprits = [];
  if (scrollWidth > width) {
    const clips = (el) => {
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        if (getComputedStyle(a).overflowX !== "visible") return true;
      }
      return false;
    };
    for (const el of document.body.querySelectorAll("*")) {
      const r = el.getBoundingClientRect();
      if (r.right <= width + 0.5 || r.width === 0) continue;
      const parent = el.parentElement;
      if (parent && parent !== document.body
          && parent.getBoundingClientRect().right > width + 0.5) continue;
      if (clips(el)) continue;
      let name = el.tagName.toLowerCase();
      if (el.id) name += "#" + el.id;
      else if (el.classList.length) name += "." + [...el.classList].slice(0, 2).join(".");
      culprits.push(`${name} (right edge at ${Math.round(r.right)}px)`);
      if (culprits.length >= 8) break;
    }
  }
  return {width, scrollWidth, culprits};
}
"""

SETTLE_SCRIPT = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"

_axe = None
_steps = Counter()
# The running test's guard (set by the conftest), for E2E_SOFT=1.
current_guard = None


def _get_axe():
    global _axe
    if _axe is None:
        _axe = Axe()
    return _axe


def _test_name():
    current = os.environ.get("PYTEST_CURRENT_TEST", "test").split(" ")[0]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", current.split("::", 1)[-1])[:100] or "test"


def check_overlaps(page) -> list[str]:
    result = page.evaluate(OVERLAP_SCRIPT, INTERACTIVE)
    return [f"{a} overlaps {b} by {w}×{h}px" for a, b, w, h in result["pairs"]]


def check_width(page) -> list[str]:
    result = page.evaluate(WIDTH_SCRIPT)
    if result["scrollWidth"] <= result["width"]:
        return []
    culprits = ", ".join(result["culprits"]) or "no single element found"
    return [
        f"the page is {result['scrollWidth']}px wide in a {result['width']}px window "
        f"(sticking out: {culprits})"
    ]


def check_axe(page, options=None) -> list[str]:
    options = {**(options or WCAG_AA), "resultTypes": ["violations"]}
    results = _get_axe().run(page, options=options)
    if results.violations_count == 0:
        return []
    return [results.generate_report()]


def screenshot(page, step, viewport):
    folder = os.environ.get("E2E_SCREENSHOTS")
    if not folder:
        return None
    path = Path(folder) / f"{_test_name()}-{step}-{viewport['width']}x{viewport['height']}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    return path


def check_page(page, step: str | None = None, *, viewports=VIEWPORTS, axe_options=None) -> None:
    """Check the page as it is now, at every size in ``viewports``; fail with all findings.

    (a) axe finds no WCAG 2.1 A/AA violation, (b) the page is not wider than the
    window, (c) no two visible interactive elements overlap. ``step`` names the
    screenshots saved when ``E2E_SCREENSHOTS`` is set (default: a running number).
    """
    key = _test_name()
    _steps[key] += 1
    step = re.sub(r"[^A-Za-z0-9_.-]+", "_", step) if step else f"{_steps[key]:02d}"
    original = page.viewport_size
    scroll = page.evaluate("() => [window.scrollX, window.scrollY]")
    findings = []
    try:
        for viewport in viewports:
            page.set_viewport_size(viewport)
            page.evaluate(SETTLE_SCRIPT)
            size = f"{viewport['width']}×{viewport['height']}"
            found = [f"[{size}] {line}" for line in check_width(page) + check_overlaps(page)]
            found += [f"[{size}] axe: {report}" for report in check_axe(page, axe_options)]
            findings += found
            screenshot(page, step, viewport)
    finally:
        if original:
            page.set_viewport_size(original)
            page.evaluate("([x, y]) => window.scrollTo(x, y)", scroll)
    if findings:
        report = f"check_page({step!r}) on {page.url}:\n" + "\n".join(f"- {f}" for f in findings)
        if os.environ.get("E2E_SOFT") and current_guard is not None:
            current_guard.page_findings.append(report)  # fails the test at its end
            return
        raise AssertionError(report)
