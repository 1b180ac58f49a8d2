"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Where Chromium is missing they skip with a reason; with CI=true they fail instead,
so a machine without the browser cannot pass CI silently.

Every test is guarded (see guards.py): the autouse ``page_guard`` fixture listens on
every browser context the test opens (``page``, ``context``, ``browser.new_context()``,
``browser.new_page()``) and the test fails after its body on any console error,
uncaught exception, CSP violation, failed request or response >= 400. A test that
expects a refusal declares it: ``page_guard.allow(status=409)`` or
``page_guard.allow(status=400, url="/edit/")``. ``check_page(page, "step")`` checks the
current state at 1440×900 and 390×844 (axe, page width, overlapping controls);
``check_accessibility(page)`` is the same check, kept for the tests that use it.
"""

import os
import shutil

import pytest
from axe_playwright_python.sync_playwright import Axe

from . import guards
from .guards import WCAG_AA, PageGuard, check_page

__all__ = ["WCAG_AA", "PageGuard", "check_page", "log_in"]

# The live server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
GUARD = pytest.StashKey[PageGuard]()


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return
    if os.environ.get("CI", "").lower() == "true":
        raise pytest.UsageError(
            f"CI=true but Chromium is missing at {CHROMIUM}: install Debian's package chromium"
        )
    skip = pytest.mark.skip(reason=f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # An English browser: the app must still speak German.
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture(scope="session")
def axe():
    return Axe()


@pytest.fixture
def check_accessibility():
    """``check_accessibility(page)``: the full ``check_page`` at both viewports."""

    def check(page, step=None):
        check_page(page, step)

    return check


@pytest.fixture(autouse=True)
def page_guard(request, browser, monkeypatch):
    """Records the browser's complaints in every context this test opens; see guards.py."""
    guard = PageGuard()
    request.node.stash[GUARD] = guard
    guards.current_guard = guard
    new_context, new_page = browser.new_context, browser.new_page

    def guarded_new_context(*args, **kwargs):
        return guard.watch(new_context(*args, **kwargs))

    def guarded_new_page(*args, **kwargs):
        page = new_page(*args, **kwargs)
        guard.watch(page.context)
        return page

    # pytest-playwright's context/page fixtures call browser.new_context too.
    monkeypatch.setattr(browser, "new_context", guarded_new_context)
    monkeypatch.setattr(browser, "new_page", guarded_new_page)
    yield guard
    guards.current_guard = None
    guard.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """After the test body: fail on what the page guard recorded."""
    guard = item.stash.get(GUARD, None)
    try:
        result = yield
    except BaseException as failure:
        if guard is not None:
            try:
                guard.flush()
                lines = guard.problems()
            except Exception:  # the test's own failure matters more
                lines = []
            if lines:
                failure.add_note("The browser also reported:\n" + "\n".join(lines))
        raise
    if guard is not None:
        guard.verify()
    return result


def log_in(page, live_server, username, password="secret"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.locator("#content").get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{live_server.url}/")
