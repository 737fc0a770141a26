"""TEMPORARY probe (removed after use): axe on the case action pages."""
from datetime import UTC, date, datetime, timedelta

import pytest

from cases import ConcernForm, register_concern
from cases.access import assign_case


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_probe(visitor, db, staff, child_number, lang):
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Eleven har slutat komma till skolan.", reporter_org="school", identity_number=child_number),
        now=datetime.now(UTC) - timedelta(minutes=5)).ref
    person = visitor("intake-1", lang=lang)
    page = person.go(f"/cases/{ref}/actions/assess_protection")
    page.screenshot(path=f"/tmp/p-assess-{lang}.png", full_page=True)
    page.get_by_role("button").last.click()
    person.check()
    page = person.go(f"/cases/{ref}/actions/start_pre_assessment")
    page.locator("form button[type=submit]").last.click()
    person.check()
    page.screenshot(path=f"/tmp/p-pre-error-{lang}.png", full_page=True)
    page.locator("#field-protection_assessment").fill("Ingen akut fara.")
    page.locator("form button[type=submit]").last.click()
    person.check()
    person.go(f"/cases/{ref}/assign")
    page.screenshot(path=f"/tmp/p-assign-{lang}.png", full_page=True)
    page.locator("#field-caseworker").select_option(label="Test caseworker")
    page.locator("form button[type=submit]").last.click()
    person.check()
    page.screenshot(path=f"/tmp/p-case-{lang}.png", full_page=True)
    d = visitor("decider-1", lang=lang)
    page = d.go(f"/cases/{ref}/actions/open_investigation")
    page.screenshot(path=f"/tmp/p-open-{lang}.png", full_page=True)
    page = d.go(f"/cases/{ref}/consents/new")
    page.locator("form button[type=submit]").last.click()
    d.check()
    page.screenshot(path=f"/tmp/p-consent-error-{lang}.png", full_page=True)
    page = d.go(f"/cases/{ref}/actions/close_case")
    page.screenshot(path=f"/tmp/p-refused-{lang}.png", full_page=True)
