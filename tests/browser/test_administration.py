"""The two-administrator rule in a real browser, in both languages: the role waiting on the users page, checked
by axe for both administrators, approved with the button by the second."""

from __future__ import annotations

import pytest

from cases.staff.administration import create_account
from tests.web.conftest import PASSWORD, account


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_second_administrator_approves_a_new_caseworker(visitor, db, staff, lang):
    create_account(db, None, "admin-2", "Andra Administratören", "admin", password=PASSWORD)
    create_account(db, staff["admin"], "new.caseworker", "Ny Handläggare", "caseworker", password=PASSWORD)
    first = visitor("admin-1", lang)
    assert first.page.url.endswith("/admin/users")
    assert first.page.locator("main form[action$='/approve']").count() == 0  # not one's own request
    second = visitor("admin-2", lang)
    approve = second.page.locator("main form[action$='/approve'] button")
    assert approve.count() == 1
    second.submit(approve)
    assert second.page.url.endswith("/admin/users")
    assert second.page.locator("main form[action$='/approve']").count() == 0
    assert account(db, "new.caseworker").active and account(db, "new.caseworker").role == "caseworker"
    auditor = visitor("auditor-1", lang)
    auditor.go("/audit/administration")  # axe checks the auditor's page of the same changes
    assert auditor.page.locator("main table tbody tr").count() >= 4
