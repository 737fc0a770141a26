"""The journal on the case page and the note form in a real browser, checked by axe (WCAG 2.1 A and AA), in
Swedish and English: a note written (after the form is sent empty), signed, and corrected, both shown.

Elements are found by id and address, not by words (the catalogue may change); the texts checked are the
note's own and the kind's words from `policies/journal.toml`.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from cases import ConcernForm, register_concern
from policies.journal import load_journal
from tests.conftest import NOW

TEXT = "Telefonsamtal med mentorn om närvaron."
FIX = "Rättelse: samtalet var med kuratorn."


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_journal_and_the_note_form_are_accessible(visitor, db, staff, child_number, lang):
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Eleven har slutat komma till skolan.", reporter_org="school", identity_number=child_number),
        now=NOW).ref
    person = visitor("intake-1", lang=lang)
    page = person.go(f"/cases/{ref}")
    person.submit(page.locator(f"main a[href='/cases/{ref}/notes/new']"))
    person.submit(page.locator("main form button[type=submit]"))  # empty: the errors, linked to their fields
    assert page.get_by_role("alert").is_visible()
    page.locator("#field-kind").select_option("phone_call")
    page.locator("#field-occurred_on").fill((date.today() - timedelta(days=1)).isoformat())
    page.locator("#field-text").fill(TEXT)
    person.submit(page.locator("main form button[type=submit]"))  # the case page, with the draft
    note = page.locator("main li.timeline-note").first
    assert TEXT in note.inner_text() and getattr(load_journal().kinds["phone_call"], lang) in note.inner_text()
    person.submit(note.locator("form[action$='/sign'] button"))
    person.submit(page.locator("main li.timeline-note a[href*='corrects=']").first)  # the form, with the note
    page.locator("#field-kind").select_option("phone_call")
    page.locator("#field-text").fill(FIX)
    person.submit(page.locator("main form button[type=submit]"))
    notes = page.locator("main li.timeline-note")
    assert notes.count() == 2
    assert FIX in notes.nth(0).inner_text() and TEXT in notes.nth(1).inner_text()
    assert notes.nth(1).locator("a[href^='#note-']").count() == 1  # the corrected note links to its correction
