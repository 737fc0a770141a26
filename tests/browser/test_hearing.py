"""Kommunicering and the structured assessment in a real browser, checked by axe, in both languages: the
communication form (empty, refused, then recorded), the case page that shows it, and a child's step form with
its assessment fields."""

from __future__ import annotations

import pytest

from tests.web.test_api import case_in


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_communication_form_and_the_case_page_are_accessible(visitor, db, staff, lang):
    ref = case_in(db, staff, "investigation")
    person = visitor("decider-1", lang=lang)
    page = person.go(f"/cases/{ref}/communications/new")
    person.submit(page.locator("main form button[type=submit]"))  # nothing filled in: the errors, checked too
    assert page.get_by_role("alert").first.is_visible()
    page.locator("#field-decision").select_option("close_case")
    page.locator("#field-recipients-1").check()
    page.locator("#field-method").select_option("letter")
    page.locator("#field-material").fill("Utredningen skickad för yttrande.")
    person.submit(page.locator("main form button[type=submit]"))
    assert page.url.endswith(f"/cases/{ref}")
    assert page.locator("#h-communications").is_visible()
    assert "Utredningen skickad" in page.locator("main").inner_text()
    person.go(f"/cases/{ref}/communication-exceptions/new")


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_childs_step_form_with_its_assessment_is_accessible(visitor, db, staff, lang):
    ref = case_in(db, staff, "protection_assessment")
    person = visitor("intake-1", lang=lang)
    page = person.go(f"/cases/{ref}/actions/start_pre_assessment")
    assert page.locator("#field-child_view").is_visible()
    page.locator("#field-protection_assessment").fill("Ingen akut fara.")
    page.locator("#field-assessed").fill("Hemmet och skolan.")
    page.locator("#field-assessment_decision").select_option("no_protection_needed")
    page.locator("#field-not_heard_reason").select_option("not_reached")
    person.submit(page.locator("main form button[type=submit]"))
    assert page.url.endswith(f"/cases/{ref}")
    shown = page.locator("section[aria-labelledby=h-assessments]").inner_text()
    assert {"sv": "Inget behov av omedelbart skydd", "en": "No immediate protection needed"}[lang] in shown
