"""The administrator's pages on both databases: the accounts, adding one, disabling and enabling, changing a role
and setting a password; a disabled or changed account is signed out at its next request."""

from __future__ import annotations

import pytest

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from cases.staff.administration import create_account
from cases.staff.roles import pending_grants
from tests.conftest import NOW
from tests.web.conftest import PASSWORD, account, csrf_token, post_form, sign_in, staff_count

NEW_PASSWORD = "another long test password"  # noqa: S105 - a test password
CONCERN = "Oro för en elev som visar våldsbejakande material."


def text(response) -> str:
    return response.get_data(as_text=True)


def signed_in(client) -> bool:
    """Whether the client's session still opens a page (a signed-out one is sent to sign in)."""
    response = client.get("/")
    return response.status_code == 302 and "/sign-in" not in response.headers["Location"]


def new_user(**changes) -> dict:
    return {"username": "new.person", "display_name": "Ny Person", "role": "caseworker", "unit": "",
            "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD, **changes}


def test_the_accounts_list_without_case_content(client_as, db, staff):
    register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="school", identity_number=generate_identity_number(NOW.date().replace(
            year=2010), 123)), now=NOW)
    page = client_as("admin").get("/admin/users")
    assert page.status_code == 200
    for role in ("caseworker", "partner", "auditor"):
        assert f'<th scope="row">{role}-1</th>' in text(page)
    assert "Test caseworker" in text(page) and CONCERN not in text(page)
    assert text(page).count("<h1>") == 1


def test_an_administrator_adds_an_account_that_can_sign_in(app, client_as, db):
    client = client_as("admin")
    response = post_form(client, "/admin/users/new", new_user(role="coordinator"))
    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/users")
    assert "new.person" in text(client.get("/admin/users"))
    added = account(db, "new.person")
    assert (added.display_name, added.role, added.active) == ("Ny Person", "coordinator", True)
    assert NEW_PASSWORD not in text(client.get("/admin/users"))
    assert sign_in(app.test_client(), "new.person", NEW_PASSWORD).status_code == 302


def test_a_partner_is_added_with_a_unit(client_as, db):
    client = client_as("admin")
    response = post_form(client, "/admin/users/new", new_user(username="polis-2", role="partner", unit="police"))
    assert response.status_code == 303
    assert account(db, "polis-2").unit == "police"


BAD_NEW = [
    ({"username": ""}, "username"),
    ({"username": "Has Spaces"}, "username"),
    ({"username": "caseworker-1"}, "username"),
    ({"display_name": ""}, "display_name"),
    ({"role": ""}, "role"),
    ({"role": "system"}, "role"),
    ({"role": "partner", "unit": ""}, "unit"),
    ({"role": "partner", "unit": "social_services"}, "unit"),
    ({"password": "", "password_repeat": ""}, "password"),
    ({"password": "too short", "password_repeat": "too short"}, "password"),
    ({"password_repeat": "not the same password"}, "password_repeat"),
]


def test_a_bad_new_account_is_shown_next_to_its_field_and_nothing_is_saved(client_as, db):
    client = client_as("admin")
    before = staff_count(db)
    for changes, field in BAD_NEW:
        response = post_form(client, "/admin/users/new", new_user(**changes))
        assert (changes, response.status_code) == (changes, 400)
        assert f'id="error-{field}"' in text(response) and f'href="#field-{field}"' in text(response), changes
        assert NEW_PASSWORD not in text(response)  # a password is never put back into the form
    assert staff_count(db) == before


def test_adding_needs_the_form_token_and_the_admin_role(client_as, db):
    before = staff_count(db)
    admin = client_as("admin")
    assert admin.post("/admin/users/new", data=new_user()).status_code == 400
    auditor = client_as("auditor")
    assert auditor.get("/admin/users").status_code == 403
    assert auditor.get("/admin/users/new").status_code == 403
    token = csrf_token(auditor.get("/audit"))
    for path in ("/admin/users/new", "/admin/users/caseworker-1/disable", "/admin/users/caseworker-1/role",
                 "/admin/users/caseworker-1/password"):
        assert (path, auditor.post(path, data={**new_user(), "csrf_token": token}).status_code) == (path, 403)
    assert staff_count(db) == before and account(db, "caseworker-1").active


def test_disabling_signs_the_account_out_at_its_next_request_and_enabling_lets_it_back(app, client_as, db):
    caseworker = client_as("caseworker")
    assert caseworker.get("/cases").status_code == 200
    admin = client_as("admin")
    response = post_form(admin, "/admin/users/caseworker-1/disable", {}, page="/admin/users")
    assert response.status_code == 303
    assert not account(db, "caseworker-1").active
    gone = caseworker.get("/cases")
    assert gone.status_code == 302 and "/sign-in" in gone.headers["Location"]
    assert sign_in(app.test_client(), "caseworker-1").status_code == 401
    assert post_form(admin, "/admin/users/caseworker-1/enable", {}, page="/admin/users").status_code == 303
    assert sign_in(app.test_client(), "caseworker-1").status_code == 302


def test_an_administrator_cannot_disable_themselves(client_as, db):
    admin = client_as("admin")
    refused = post_form(admin, "/admin/users/admin-1/disable", {}, page="/admin/users")
    assert refused.status_code == 400 and 'role="alert"' in text(refused)
    assert account(db, "admin-1").active and signed_in(admin)


def test_changing_a_role_signs_the_account_out_and_the_new_role_applies(app, client_as, db):
    caseworker = client_as("caseworker")
    admin = client_as("admin")
    form = admin.get("/admin/users/caseworker-1/role")
    assert form.status_code == 200 and 'value="caseworker" selected' in text(form)
    response = admin.post("/admin/users/caseworker-1/role", data={"role": "auditor", "csrf_token": csrf_token(form)})
    assert response.status_code == 303
    assert account(db, "caseworker-1").role == "auditor"
    assert not signed_in(caseworker)
    again = app.test_client()
    assert sign_in(again, "caseworker-1").status_code == 302
    assert again.get("/audit").status_code == 200 and again.get("/cases").status_code == 403


@pytest.mark.parametrize(("data", "field"), [
    ({"role": ""}, "role"),
    ({"role": "system"}, "role"),
    ({"role": "partner"}, "unit"),
    ({"role": "partner", "unit": "nowhere"}, "unit"),
])
def test_a_bad_role_change_is_shown_and_nothing_changes(client_as, db, data, field):
    caseworker = client_as("caseworker")
    response = post_form(client_as("admin"), "/admin/users/caseworker-1/role", data)
    assert response.status_code == 400 and f'id="error-{field}"' in text(response)
    assert account(db, "caseworker-1").role == "caseworker" and signed_in(caseworker)


def test_a_partner_gets_a_unit_with_the_role(client_as, db):
    response = post_form(client_as("admin"), "/admin/users/intake-1/role", {"role": "partner", "unit": "probation"})
    assert response.status_code == 303
    changed = account(db, "intake-1")
    assert (changed.role, changed.unit) == ("partner", "probation")


def test_an_administrator_cannot_change_their_own_role(client_as, db):
    admin = client_as("admin")
    assert "id=\"field-role\"" not in text(admin.get("/admin/users/admin-1/role"))
    refused = post_form(admin, "/admin/users/admin-1/role", {"role": "auditor"}, page="/admin/users")
    assert refused.status_code == 400 and account(db, "admin-1").role == "admin"


def test_setting_a_password_signs_the_account_out(app, client_as, db):
    caseworker = client_as("caseworker")
    admin = client_as("admin")
    response = post_form(admin, "/admin/users/caseworker-1/password",
                         {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}, page="/admin/users")
    assert response.status_code == 303
    assert not signed_in(caseworker)
    assert sign_in(app.test_client(), "caseworker-1", PASSWORD).status_code == 401
    assert sign_in(app.test_client(), "caseworker-1", NEW_PASSWORD).status_code == 302


def test_a_bad_password_is_shown_next_to_its_field(client_as, db):
    caseworker = client_as("caseworker")
    admin = client_as("admin")
    for data, field in [({"password": "", "password_repeat": ""}, "password"),
                        ({"password": "short", "password_repeat": "short"}, "password"),
                        ({"password": NEW_PASSWORD, "password_repeat": "different"}, "password_repeat")]:
        response = post_form(admin, "/admin/users/caseworker-1/password", data, page="/admin/users/caseworker-1/role")
        assert response.status_code == 400 and f'id="error-{field}"' in text(response), data
        assert NEW_PASSWORD not in text(response)
    assert signed_in(caseworker)


def test_an_unknown_account_is_not_found(client_as):
    admin = client_as("admin")
    token = csrf_token(admin.get("/admin/users"))
    assert admin.get("/admin/users/nobody-here/role").status_code == 404
    for action in ("disable", "enable", "role", "password"):
        response = admin.post(f"/admin/users/nobody-here/{action}",
                              data={"csrf_token": token, "role": "auditor", "password": NEW_PASSWORD,
                                    "password_repeat": NEW_PASSWORD})
        assert (action, response.status_code) == (action, 404)


# --- a role that reads case data waits for a second administrator; the system account is nobody's ----------


@pytest.fixture
def second_admin(app, db, accounts_by_role):
    """A test client signed in as admin-2, a second administrator."""
    create_account(db, None, "admin-2", "Andra Administratören", "admin", password=PASSWORD)
    client = app.test_client()
    assert sign_in(client, "admin-2").status_code == 302
    return client


def test_a_new_caseworker_waits_for_a_second_administrator(app, client_as, db, second_admin):
    first = client_as("admin")
    assert "en annan administratör godkänner dess roll" in text(first.get("/admin/users/new"))  # Swedish first
    response = post_form(first, "/admin/users/new", new_user())
    assert response.status_code == 303
    assert "avstängt tills en annan administratör godkänner" in text(first.get("/admin/users"))
    assert not account(db, "new.person").active
    assert sign_in(app.test_client(), "new.person", NEW_PASSWORD).status_code == 401
    own = text(first.get("/admin/users"))
    assert "Begärd av dig" in own and "/approve" not in own
    assert "väntar på godkännande" in own and "/admin/users/new.person/enable" not in own
    (grant,) = pending_grants(db, None)
    refused = post_form(first, f"/admin/grants/{grant.id}/approve", {}, page="/admin/users")
    assert refused.status_code == 400 and 'role="alert"' in text(refused) and not account(db, "new.person").active
    page = text(second_admin.get("/admin/users"))
    assert f"/admin/grants/{grant.id}/approve" in page and "new.person" in page
    assert second_admin.post(f"/admin/grants/{grant.id}/approve").status_code == 400  # no form token
    approved = post_form(second_admin, f"/admin/grants/{grant.id}/approve", {}, page="/admin/users")
    assert approved.status_code == 303 and account(db, "new.person").active
    assert sign_in(app.test_client(), "new.person", NEW_PASSWORD).status_code == 302


def test_a_role_change_to_decider_waits_and_can_be_refused(client_as, db, second_admin):
    caseworker = client_as("caseworker")
    admin = client_as("admin")
    response = post_form(admin, "/admin/users/caseworker-1/role", {"role": "decider"})
    assert response.status_code == 303
    assert "väntar på att en annan administratör godkänner" in text(admin.get("/admin/users"))
    assert account(db, "caseworker-1").role == "caseworker" and signed_in(caseworker)
    (grant,) = pending_grants(db, None)
    assert post_form(second_admin, f"/admin/grants/{grant.id}/refuse", {}, page="/admin/users").status_code == 303
    assert account(db, "caseworker-1").role == "caseworker" and pending_grants(db, None) == []
    assert post_form(second_admin, f"/admin/grants/{grant.id}/approve", {}, page="/admin/users").status_code == 400


@pytest.mark.parametrize("decision", ["approve", "refuse"])
def test_an_unknown_role_request_is_not_found(client_as, decision):
    admin = client_as("admin")
    response = post_form(admin, f"/admin/grants/00000000-0000-0000-0000-000000000000/{decision}", {},
                         page="/admin/users")
    assert response.status_code == 404 and 'role="alert"' not in text(response)  # the 404 page, not a form error


@pytest.mark.parametrize(("action", "data"), [
    ("role", {"role": "admin"}),
    ("password", {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}),
    ("enable", {}),
    ("disable", {}),
])
def test_the_system_account_cannot_be_changed_from_the_pages(client_as, db, action, data):
    admin = client_as("admin")
    assert "/admin/users/system-1/" not in text(admin.get("/admin/users"))
    response = post_form(admin, f"/admin/users/system-1/{action}", data, page="/admin/users")
    assert response.status_code == 400
    system = account(db, "system-1")
    assert (system.role, system.active, system.password_hash) == ("system", True, None)


def test_another_administrators_password_is_set_only_at_the_server(client_as, db, second_admin):
    admin = client_as("admin")
    assert 'id="field-password"' not in text(admin.get("/admin/users/admin-2/role"))
    before = account(db, "admin-2").password_hash
    response = post_form(admin, "/admin/users/admin-2/password",
                         {"password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD}, page="/admin/users")
    assert response.status_code == 400 and account(db, "admin-2").password_hash == before
    assert signed_in(second_admin)
