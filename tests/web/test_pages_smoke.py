"""The first pages: sign-in, the start page per role, the work list and the case page."""

from __future__ import annotations

import re
from datetime import date

from cases import ConcernForm, register_concern
from cases.casework.access import assign_case
from cases.crypto.identity import generate_identity_number
from tests.conftest import NOW
from tests.web.conftest import sign_in


def register(db, staff, concern: str = "Oro för en ungdom som slutat komma till skolan."):
    return register_concern(db, staff["reporter"], ConcernForm(
        concern=concern, reporter_org="school", identity_number=generate_identity_number(date(2010, 1, 5), 123)),
        now=NOW)


def without_tokens(html: str, ref: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html).replace(ref, "REF")


def test_signed_out_visitors_are_sent_to_sign_in(app):
    client = app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")
    response = client.get("/cases")
    assert response.status_code == 302 and "/sign-in?next=/cases" in response.headers["Location"]


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(app, accounts_by_role):
    client = app.test_client()
    wrong = sign_in(client, "intake-1", "not the password at all")
    unknown = sign_in(client, "nobody-here", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert without_tokens(wrong.get_data(as_text=True), "intake-1") == without_tokens(
        unknown.get_data(as_text=True), "nobody-here")


def test_the_decider_sees_a_new_case_in_the_work_list_and_opens_it(client_as, db, staff):
    fired = register(db, staff, "Eleven har slutat komma till lektionerna.")
    client = client_as("decider")
    page = client.get("/cases")
    assert page.status_code == 200 and fired.ref in page.get_data(as_text=True)
    case_page = client.get(f"/cases/{fired.ref}")
    assert case_page.status_code == 200
    assert "Eleven har slutat komma till lektionerna." in case_page.get_data(as_text=True)


def test_an_unassigned_caseworker_gets_the_same_404_for_a_real_and_a_made_up_case(client_as, db, staff):
    fired = register(db, staff)
    client = client_as("caseworker")
    real, made_up = client.get(f"/cases/{fired.ref}"), client.get("/cases/VO-NOTACASE")
    assert real.status_code == made_up.status_code == 404
    assert without_tokens(real.get_data(as_text=True), fired.ref) == without_tokens(
        made_up.get_data(as_text=True), "VO-NOTACASE")
    assign_case(db, staff["decider"], fired.ref, staff["caseworker"].id, now=NOW)
    assert client.get(f"/cases/{fired.ref}").status_code == 200
