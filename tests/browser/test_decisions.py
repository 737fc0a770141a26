"""The decisions on the case page and the notification form in a real browser, checked by axe, in both
languages; the letter opens as a PDF."""

from __future__ import annotations

import pytest

from tests.web.test_decision_pages import investigated


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_decisions_and_the_notification_form_are_accessible(visitor, db, staff, adult_number, lang):
    ref, _ = investigated(db, staff, adult_number)
    person = visitor("decider-1", lang=lang)
    page = person.go(f"/cases/{ref}")
    section = page.locator("section[aria-labelledby=h-decisions]")
    kind = "Beslut att inleda utredning" if lang == "sv" else "Decision to open an investigation"
    assert kind in section.inner_text()
    letter = section.get_by_role("link", name="Beslutsbrev (PDF)" if lang == "sv" else "Decision letter (PDF)")
    answer = page.request.get(person.base + letter.get_attribute("href"))
    assert answer.status == 200 and answer.headers["content-type"] == "application/pdf"
    form = person.submit(section.get_by_role("link", name="Registrera underrättelse" if lang == "sv"
                                             else "Record a notification"))
    form.locator("#field-notified_on").fill("1999-01-01")  # before the decision: refused, the error shown
    person.submit(form.locator("main form button[type=submit]"))
    assert form.locator(".error-summary").is_visible()
    form.locator("#field-method").select_option("phone")
    form.locator("#field-notified_on").fill(page.evaluate("new Date().toISOString().slice(0, 10)"))
    person.submit(form.locator("main form button[type=submit]"))
    assert ("Telefon" if lang == "sv" else "Phone") in page.locator("section[aria-labelledby=h-decisions]").inner_text()
