"""Interventions in a real browser, checked by axe, in both languages (issue 18): the case page's section, the
proposal form (empty, refused, then sent), each step's page (granting, a start refused without consent, starting,
ending with a reason) and the consent withdrawal page that names the interventions it ends."""

from __future__ import annotations

import pytest

from cases.interventions import interventions_of
from tests.web.test_case_actions import consent
from tests.web.test_intervention_pages import SIG_RECIPIENTS, case_in


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_proposing_granting_starting_and_ending_are_accessible(visitor, db, staff, lang):
    ref = case_in(db, staff, "investigation")
    caseworker = visitor("caseworker-1", lang=lang)
    page = caseworker.go(f"/cases/{ref}")
    assert page.locator("#h-interventions").is_visible()
    caseworker.submit(page.locator(f"a[href='/cases/{ref}/interventions/new']"))
    caseworker.submit(page.locator("main form button[type=submit]"))  # nothing filled in: the errors, checked too
    assert page.locator(".error-summary").is_visible()
    page.locator("#field-kind").select_option("sig")
    page.locator("#field-goal").fill("Tillbaka till skolan, bort från gruppen.")
    page.locator("#field-recipients-2").check()
    caseworker.submit(page.locator("main form button[type=submit]"))
    assert page.url.split("#")[0].endswith(f"/cases/{ref}")
    (sig,) = interventions_of(db, staff["caseworker"], ref)

    decider = visitor("decider-1", lang=lang)
    page = decider.go(f"/interventions/{sig.id}/steps/decide")
    page.locator("#field-reason").fill("Behov av stöd från social insatsgrupp.")
    decider.submit(page.locator("main form button[type=submit]"))

    page = caseworker.go(f"/interventions/{sig.id}/steps/start")  # refused: no consent yet, said in words
    assert page.get_by_role("alert").first.is_visible()
    consent(db, staff["caseworker"], ref, "subject", "sig", (*SIG_RECIPIENTS, "leisure"))
    page = caseworker.go(f"/interventions/{sig.id}/steps/start")
    caseworker.submit(page.locator("main form button[type=submit]"))
    section = page.locator("section[aria-labelledby=h-interventions]").inner_text()
    assert {"sv": "Pågår", "en": "Running"}[lang] in section

    consents = [c for c in caseworker.go(f"/cases/{ref}").locator("a", has_text={"sv": "Återkalla",
                                                                                     "en": "Withdraw"}[lang]).all()]
    assert consents
    page = caseworker.go(consents[-1].get_attribute("href"))  # the consent SIG rests on
    assert page.locator("#h-ending").is_visible()

    page = caseworker.go(f"/interventions/{sig.id}/steps/end")
    caseworker.submit(page.locator("main form button[type=submit]"))  # nothing chosen: the errors, checked too
    page.locator("#field-end_reason").select_option("completed")
    page.locator("#field-reason").fill("Målen nådda.")
    caseworker.submit(page.locator("main form button[type=submit]"))
    assert interventions_of(db, staff["caseworker"], ref)[0].state == "ended"
