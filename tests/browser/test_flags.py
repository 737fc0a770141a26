"""Flags in a real browser, checked by axe, in both languages: the set form (refused empty, then set), the case
page with the flag and its routine, a decision page with the routine and the warning naming the flag, the clear
form, the consent form with the routine, and the work list's marker."""

from __future__ import annotations

import pytest

from tests.web.test_api import case_in

ROUTINE = {"sv": "Träffa personen ensam", "en": "Meet the person alone"}
WARNING = {"sv": "Följ rutinen för flaggan före detta steg", "en": "Follow the flag's routine before this step"}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_flag_is_set_and_its_routine_shown_on_the_case_and_the_decision_page(visitor, db, staff, lang):
    ref = case_in(db, staff, "pre_assessment")
    person = visitor("decider-1", lang=lang)
    page = person.go(f"/cases/{ref}/flags/new")
    person.submit(page.locator("main form button[type=submit]"))  # nothing filled in: the errors, checked too
    assert page.get_by_role("alert").first.is_visible()
    page.locator("#field-flag").select_option("honour_violence")
    page.locator("#field-reason").fill("Eleven berättar om hot inför en resa.")
    person.submit(page.locator("main form button[type=submit]"))
    assert f"/cases/{ref}" in page.url
    flags = page.locator("section[aria-labelledby=h-flags]").inner_text()
    assert ROUTINE[lang] in flags and "Eleven berättar om hot" in flags
    page = person.go(f"/cases/{ref}/actions/close_without_investigation")
    main = page.locator("main").inner_text()
    assert ROUTINE[lang] in main and WARNING[lang] in main
    person.go("/cases")
    assert ROUTINE[lang] in person.go(f"/cases/{ref}/consents/new").locator("main").inner_text()
    page = person.go(f"/cases/{ref}/flags/honour_violence/clear")
    page.locator("#field-reason").fill("Riskbedömningen visar ingen fara.")
    person.submit(page.locator("main form button[type=submit]"))
    assert f"/cases/{ref}" in page.url
