"""The sign-in page, the work list and a case page in a real browser, checked by axe, in both languages."""

from __future__ import annotations

import pytest

from cases import ConcernForm, register_concern
from tests.conftest import NOW
from tests.web.conftest import PASSWORD


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_sign_in_work_list_and_case_page_are_accessible(visitor, db, staff, child_number, lang):
    fired = register_concern(db, staff["reporter"], ConcernForm(
        concern="Eleven har slutat komma till skolan.", reporter_org="school", identity_number=child_number),
        now=NOW)
    person = visitor("decider-1", lang=lang)
    page = person.go("/cases")
    assert page.locator("html").get_attribute("lang") == lang
    person.submit(page.get_by_role("link", name=fired.ref))
    assert page.get_by_role("heading", level=1).inner_text().endswith(fired.ref)


def test_a_wrong_password_is_announced_and_linked_to_its_field(visitor):
    person = visitor()
    page = person.go("/sign-in")
    page.locator("#field-username").fill("intake-1")
    page.locator("#field-password").fill("not the right one")
    person.submit(page.locator("main form button[type=submit]"))
    summary = page.get_by_role("alert")
    assert summary.is_visible()
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == "field-password"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_api_token_page_is_accessible_and_shows_the_secret_once(visitor, lang):
    person = visitor("caseworker-1", lang=lang)
    page = person.go("/account/tokens")
    page.locator("#field-name").fill("Skolsystemet")
    page.locator("#field-password").fill(PASSWORD)
    person.submit(page.locator("main form button[type=submit]").last)  # axe on the page with the new secret
    secret = page.locator("#new-token").inner_text()
    assert secret.startswith("vdr_")
    page = person.go("/account/tokens")
    assert secret not in page.content()
    assert page.get_by_role("row", name="Skolsystemet").is_visible()
