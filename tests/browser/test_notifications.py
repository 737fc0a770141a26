"""The notifications page in a real browser, checked by axe in both languages: the unread count in the
navigation, marking one read."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases.notifications import notify
from tests.conftest import NOW


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_notifications_page_is_accessible_and_marks_one_read(visitor, db, staff, lang):
    with db.write() as session:
        for n, kind in enumerate(("referral_packet", "consent_withdrawn")):
            notify(session, recipients=[staff["partner"].id], kind=kind, key=f"{kind}:{n}",
                   now=NOW + timedelta(minutes=n), case_ref="VO-ABCDEFGH")
    person = visitor("partner-1", lang=lang)
    page = person.go("/notifications")
    assert page.locator(".who a[aria-current=page] .badge").first.inner_text().startswith("2")
    person.submit(page.locator("main table button[type=submit]").first)
    assert page.locator(".who a[aria-current=page] .badge").first.inner_text().startswith("1")
