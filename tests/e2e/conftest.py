"""Browser tests: Playwright driving Debian's Chromium against the live test server.

Where Chromium is missing they skip with a reason; with CI=true they fail instead,
so a machine without the browser cannot pass CI silently.
"""

import os
import shutil

import pytest
from axe_playwright_python.sync_playwright import Axe

# The live server runs in a thread beside Playwright's event loop.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}


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
def check_accessibility(axe):
    def check(page):
        results = axe.run(page, options=WCAG_AA)
        assert results.violations_count == 0, results.generate_report()

    return check


def log_in(page, live_server, username, password="secret"):
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.locator("#content").get_by_role("button", name="Anmelden").click()
    page.wait_for_url(f"{live_server.url}/")
