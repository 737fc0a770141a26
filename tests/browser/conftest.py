"""Browser tests: the real server on 127.0.0.1, driven by headless Chromium through Playwright.

Debian's `chromium` is used (`executable_path`), no browser is downloaded. axe-core (bundled with
axe-playwright-python, injected by the test, never served by vidoro) checks every page visited against
WCAG 2.1 A and AA. With CI=true a missing Chromium fails the run instead of skipping it. The browser
reaches nothing but 127.0.0.1: any other request is aborted and fails the next check.
"""

from __future__ import annotations

import os
import re
import shutil

import pytest

from tests.conftest import IN_CI
from tests.served import Served
from tests.web import conftest as web

app = web.app  # the same app and accounts as the page tests
accounts_by_role = web.accounts_by_role

CHROMIUM = os.environ.get("VIDORO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}
OUTSIDE = re.compile(r"^(?!(?:http://127\.0\.0\.1[:/])|about:|data:)")  # any address but the test server


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM}: apt-get install -y chromium"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield instance
        instance.close()


@pytest.fixture
def server(app):
    """The app under a real WSGI server on a free port of 127.0.0.1; yields its base URL."""
    with Served(app) as served:
        yield served.url


def _axe_source() -> str:
    from axe_playwright_python.base import AXE_SCRIPT

    return AXE_SCRIPT


class Visitor:
    """One person in one browser: signs in, visits pages, and has axe check each page it sees."""

    def __init__(self, browser, base: str, lang: str = "sv", sign_in_checked: set[str] | None = None) -> None:
        self.context = browser.new_context(locale="sv-SE" if lang == "sv" else "en-GB")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.base, self.lang = base, lang
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text)
                     if message.type in ("error", "warning") else None)
        self.checked: list[str] = []
        self.sign_in_checked = set() if sign_in_checked is None else sign_in_checked  # languages, shared in a test
        self.outside: list[str] = []
        self.context.route(OUTSIDE, self._refuse)
        self.context.add_init_script(_axe_source())  # in every page before it loads: cheaper than injecting later

    def _refuse(self, route) -> None:
        self.outside.append(route.request.url)
        route.abort()

    def go(self, path: str):
        self.page.goto(self.base + path)
        self.check()
        return self.page

    def check(self) -> None:
        """axe on the page as it is now: no WCAG 2.1 A/AA violation, no CSP complaint in the console, the page
        in the visitor's language, and no request outside 127.0.0.1."""
        assert self.page.locator("html").get_attribute("lang") == self.lang, self.page.url
        assert not self.outside, f"requests outside 127.0.0.1: {self.outside}"
        if not self.page.evaluate("typeof axe !== 'undefined'"):
            self.page.evaluate(_axe_source())
        results = self.page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
        violations = results["violations"]
        assert not violations, f"{self.page.url}: " + "; ".join(
            f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. "
            + ", ".join(f"{n['target']} {n['html'][:100]}" for n in v["nodes"][:3]) + ")" for v in violations)
        blocked = [c for c in self.console if "Content Security Policy" in c]
        assert not blocked, blocked
        self.checked.append(self.page.url)

    def sign_in(self, username: str, password: str = web.PASSWORD) -> None:
        """Sign in through the form, found by ids (not by words: the Swedish catalogue changes), in English
        after choosing it on the sign-in page (the choice is kept across signing in). The sign-in page is the
        same for everyone: axe checks it once per language in a test."""
        page = self.page
        page.goto(self.base + "/sign-in")
        if self.lang == "en" and page.locator("html").get_attribute("lang") != "en":
            self.submit(page.get_by_role("button", name="English"), check=False)
        if self.lang not in self.sign_in_checked:
            self.check()
            self.sign_in_checked.add(self.lang)
        page.locator("#field-username").fill(username)
        page.locator("#field-password").fill(password)
        self.submit(page.locator("main form button[type=submit]"))

    def submit(self, button, *, check: bool = True):
        """Click a button (or link) that loads a new page, wait for that page, and have axe check it."""
        with self.page.expect_navigation():
            button.click()
        if check:
            self.check()
        return self.page

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitor(browser, server, accounts_by_role):
    """`visitor(username, lang)`: a person in a browser of their own, signed in if a username is given (every
    account of `accounts_by_role` has the test password); on both databases, like the app."""
    opened: list[Visitor] = []
    sign_in_checked: set[str] = set()

    def make(username: str | None = None, lang: str = "sv") -> Visitor:
        person = Visitor(browser, server, lang, sign_in_checked)
        opened.append(person)
        if username:
            person.sign_in(username)
        return person

    yield make
    for person in opened:
        person.close()
