"""Browser tests: the real server on 127.0.0.1, driven by headless Chromium through Playwright.

Debian's `chromium` is used (`executable_path`), no browser is downloaded. axe-core (bundled with
axe-playwright-python, injected by the test, never served by vidoro) checks every page visited against
WCAG 2.1 A and AA. With CI=true a missing Chromium fails the run instead of skipping it.
"""

from __future__ import annotations

import os
import shutil
import threading

import pytest
from waitress import create_server

from tests.conftest import IN_CI
from tests.web import conftest as web

app = web.app  # the same app and accounts as the page tests
accounts_by_role = web.accounts_by_role

CHROMIUM = os.environ.get("VIDORO_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


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
def server(request):
    """The app under a real WSGI server on a free port of 127.0.0.1; yields its base URL."""
    wsgi = create_server(request.getfixturevalue("app"), host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=wsgi.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{wsgi.effective_port}"
    wsgi.close()
    thread.join(5)


class Visitor:
    """One person in one browser: signs in, visits pages, and has axe check each page it sees."""

    def __init__(self, browser, base: str, lang: str = "sv") -> None:
        self.context = browser.new_context(locale="sv-SE" if lang == "sv" else "en-GB")
        self.page = self.context.new_page()
        self.page.set_default_timeout(10_000)
        self.base, self.lang = base, lang
        self.console: list[str] = []
        self.page.on("console", lambda message: self.console.append(message.text)
                     if message.type in ("error", "warning") else None)
        self.checked: list[str] = []

    def go(self, path: str):
        self.page.goto(self.base + path)
        self.check()
        return self.page

    def check(self) -> None:
        """axe on the page as it is now: no WCAG 2.1 A/AA violation, and no CSP complaint in the console."""
        from axe_playwright_python.sync_playwright import Axe

        results = Axe().run(self.page, options={"runOnly": {"type": "tag", "values": AXE_TAGS}})
        violations = results.response["violations"]
        assert not violations, f"{self.page.url}: " + "; ".join(
            f"{v['id']}: {v['help']} ({len(v['nodes'])}× e.g. {v['nodes'][0]['html'][:120]})" for v in violations)
        blocked = [c for c in self.console if "Content Security Policy" in c]
        assert not blocked, blocked
        self.checked.append(self.page.url)

    def sign_in(self, username: str, password: str = web.PASSWORD) -> None:
        self.go("/sign-in")
        if self.lang == "en":
            self.page.get_by_role("button", name="English").click()
        self.page.get_by_label("Användarnamn" if self.lang == "sv" else "Username").fill(username)
        self.page.get_by_label("Lösenord" if self.lang == "sv" else "Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Logga in" if self.lang == "sv" else "Sign in").click()
        self.check()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visitor(browser, server, request):
    request.getfixturevalue("accounts_by_role")
    opened: list[Visitor] = []

    def make(username: str | None = None, lang: str = "sv") -> Visitor:
        person = Visitor(browser, server, lang)
        opened.append(person)
        if username:
            person.sign_in(username)
        return person

    yield make
    for person in opened:
        person.close()
