"""Intake's page for concerns from every source and the identity page, in a real browser, checked by axe, in both
languages: an anonymous concern from the public about a person known by name and approximate age, its errors
shown, then its identity completed."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_concern_from_any_source_and_its_identity_completed_are_accessible(visitor, child_number, lang):
    person = visitor("intake-1", lang=lang)
    page = person.go("/intake/concerns/new")
    page.locator("#field-reporter_org").select_option("public")
    page.locator("#field-anonymous-1").check()
    page.locator("#field-reporter_name").fill("Ska inte sparas")  # an anonymous reporter leaves no name: refused
    page.locator("#field-concern").fill("Personen har visat våldsbejakande filmer för yngre barn i parken.")
    page.locator("#field-given_name").fill("Tove")
    page.locator("#field-approximate_age").fill("15")
    person.submit(page.locator("main form button[type=submit]"))
    assert page.locator(".error-summary").is_visible() and page.locator("#error-reporter_name").is_visible()
    page.locator("#field-reporter_name").fill("")
    person.submit(page.locator("main form button[type=submit]"))
    facts = page.locator("section[aria-labelledby=h-facts]").inner_text()
    assert ("Ungefärlig ålder" if lang == "sv" else "Approximate age") in facts
    form = person.submit(page.get_by_role("link", name="Komplettera identiteten" if lang == "sv"
                                          else "Complete the identity"))
    form.locator("#field-identity_number").fill("19010101-1234")
    person.submit(form.locator("main form button[type=submit]"))
    assert form.locator(".error-summary").is_visible()
    form.locator("#field-identity_number").fill(child_number)
    person.submit(form.locator("main form button[type=submit]"))
    facts = page.locator("section[aria-labelledby=h-facts]").inner_text()
    assert "2012-05-17" in facts
