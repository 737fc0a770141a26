"""A relative told that support exists, in a real browser, checked by axe (WCAG 2.1 A and AA), in Swedish and
English: the form on the subject's case (sent empty first: the errors), the subject's case with the link, and the
relative's own matter on its own flowchart and the work list naming it.

Elements are found by id and address, not by words (the catalogue may change).
"""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from cases.models import Case
from tests.web.test_api import case_in

FAMILY = "Anhörigtestsson"


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_relative_form_and_the_relatives_matter_are_accessible(visitor, app, staff, lang):
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    person = visitor("caseworker-1", lang=lang)
    page = person.go(f"/cases/{ref}")
    person.submit(page.locator(f"main a[href='/cases/{ref}/relatives/new']"))
    page.locator("#field-wants_support-1").check()
    person.submit(page.locator("main form button[type=submit]"))  # no relative given: the errors, linked
    assert page.get_by_role("alert").is_visible()
    page.locator("#field-wants_support-1").check()
    page.locator("#field-relationship").select_option("parent")
    page.locator("#field-birth_date").fill(date(1976, 8, 14).isoformat())
    page.locator("#field-family_name").fill(FAMILY)
    person.submit(page.locator("main form button[type=submit]"))  # the subject's case, with the link
    with db.read() as session:
        matter = session.scalars(select(Case.ref).where(Case.state == "opened")).one()
    assert FAMILY not in page.inner_text("main")
    person.submit(page.locator(f"main a[href='/cases/{matter}']"))  # the relative's own matter
    assert FAMILY in page.inner_text("main")
    page = person.go("/cases")
    assert page.locator(f"main a[href='/cases/{matter}']").count() == 1
    person.close()
