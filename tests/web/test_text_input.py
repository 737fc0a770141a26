"""One check for typed text (`cases.text`), through the pages' forms and the API alike (issue 15).

NUL and unpaired surrogates in any text; control and writing-direction characters (U+202A–U+202E,
U+2066–U+2069, U+200E, U+200F, U+061C) in names: refused with a message saying what is wrong, nothing saved.
A form cannot send an unpaired surrogate (the browser's bytes are decoded as UTF-8, a bad one replaced), so
that one is checked through the API and at the check itself.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from cases.models import Case, Staff
from cases.reports.demo import PATHS, drive
from cases.staff.tokens import create_token
from cases.text import BIDI_CONTROLS, check_text, text_fault
from tests.web.conftest import PASSWORD, post_form

NEW_PASSWORD = "a long new password for the new account"  # noqa: S105 - a test password
BIDI = sorted(BIDI_CONTROLS)
# (what, text inserted into a name, the words the refusal uses)
BAD_NAMES = [
    ("nul", "\x00", "NUL character"),
    *[(f"U+{ord(c):04X}", c, "writing direction") for c in BIDI],
    ("newline", "\n", "control character"),
    ("escape", "\x1b", "control character"),
]
BAD_TEXT = [("nul", "\x00", "NUL character")]


def text(response) -> str:
    return response.get_data(as_text=True)


def count(db, model) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(model))


def english(client):
    with client.session_transaction() as stored:
        stored["lang"] = "en"
    return client


def test_every_listed_direction_control_is_refused_in_names_and_the_check_is_one_function():
    assert {f"{ord(c):04X}" for c in BIDI_CONTROLS} == {
        "202A", "202B", "202C", "202D", "202E", "2066", "2067", "2068", "2069", "200E", "200F", "061C"}
    for c in BIDI_CONTROLS:
        assert text_fault(f"Anna{c}Berg", name=True) is not None
        assert text_fault(f"Anna{c}Berg") is None  # in free text (Arabic, Hebrew) they may be needed
    assert text_fault("Åsa Öberg-Ärlig", name=True) is None and text_fault("الاسم", name=True) is None
    assert text_fault("\ud800") is not None and text_fault("a\x00b") is not None
    with pytest.raises(Exception, match="display_name: contains a NUL character"):
        check_text("display_name", "a\x00b", name=True)


@pytest.mark.parametrize(("what", "bad", "says"), BAD_NAMES, ids=[b[0] for b in BAD_NAMES])
def test_the_concern_form_refuses_a_bad_person_name(app, db, client_as, what, bad, says):
    reporter = english(client_as("reporter"))
    response = post_form(reporter, "/concerns/new", {
        "concern": "Eleven har slutat komma till lektionerna.", "reporter_org": "school",
        "identity_number": generate_identity_number(date(2001, 3, 2), 415), "birth_date": "",
        "given_name": f"To{bad}ve", "family_name": "Provsson"})
    assert response.status_code == 400 and says in text(response)
    assert count(db, Case) == 0


# A newline in a display name is whitespace, which the account's name is normalised by (one space), not stored.
BAD_ACCOUNT_NAMES = [b for b in BAD_NAMES if b[0] != "newline"]


@pytest.mark.parametrize(("field", "value"), [("display_name", "Ny{}Person"), ("username", "ny{}person")])
@pytest.mark.parametrize(("what", "bad", "says"), BAD_ACCOUNT_NAMES, ids=[b[0] for b in BAD_ACCOUNT_NAMES])
def test_the_new_account_form_refuses_a_bad_name_or_username(app, db, client_as, field, value, what, bad, says):
    admin = english(client_as("admin"))
    before = count(db, Staff)
    form = {"username": "ny.person", "display_name": "Ny Person", "role": "caseworker", "unit": "",
            "password": NEW_PASSWORD, "password_repeat": NEW_PASSWORD, field: value.format(bad)}
    response = post_form(admin, "/admin/users/new", form)
    assert response.status_code == 400 and says in text(response), text(response)[-2000:]
    assert count(db, Staff) == before


def test_a_step_form_refuses_nul_in_its_text(app, db, staff, client_as):
    now = datetime.now(UTC)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro.", reporter_org="school", identity_number=generate_identity_number(date(2001, 3, 2), 416)),
        now=now).ref
    drive(db, staff, ref, PATHS["pre_assessment"][1], now)
    decider = english(client_as("decider"))
    url = f"/cases/{ref}/actions/close_without_investigation"
    version = re.search(r'name="version" value="(\d+)"', text(decider.get(url))).group(1)
    response = post_form(decider, url, {"reason": "Ej\x00aktuellt.", "outcome": "not_opened", "version": version})
    assert response.status_code == 400 and "NUL character" in text(response)
    with db.read() as session:
        assert session.scalars(select(Case.state).where(Case.ref == ref)).one() == "pre_assessment"


@pytest.fixture
def reporter_token(db, accounts_by_role) -> str:
    return create_token(db, accounts_by_role["reporter"], "tests", password=PASSWORD).secret


def api_concern(app, token: str, **fields):
    body = {"concern": "Eleven har slutat komma till lektionerna.", "reporter_org": "school",
            "identity_number": generate_identity_number(date(2001, 3, 2), 417), **fields}
    return app.test_client().post("/api/v1/cases", json=body, headers={
        "Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{hash(str(fields))}", "Accept-Language": "en"})


@pytest.mark.parametrize(("what", "bad", "says"), [
    *BAD_NAMES, ("surrogate", "\ud800", "unpaired surrogate")], ids=[*[b[0] for b in BAD_NAMES], "surrogate"])
def test_the_api_refuses_a_bad_person_name_with_the_same_words(app, db, reporter_token, what, bad, says):
    response = api_concern(app, reporter_token, given_name=f"To{bad}ve")
    assert response.status_code == 422
    reasons = response.get_json()["reasons"]
    assert [r["field"] for r in reasons] == ["given_name"] and says in reasons[0]["message"]
    assert count(db, Case) == 0


@pytest.mark.parametrize(("what", "bad", "says"), [
    *BAD_TEXT, ("surrogate", "\ud800", "unpaired surrogate")], ids=["nul", "surrogate"])
def test_the_api_refuses_bad_free_text(app, db, reporter_token, what, bad, says):
    response = api_concern(app, reporter_token, concern=f"Oro{bad}.")
    assert response.status_code == 422
    (reason,) = response.get_json()["reasons"]
    # pydantic's own reading of the JSON may refuse a surrogate before the check does: refused either way
    assert reason["field"] == "concern" and (says in reason["message"] or "unicode" in reason["message"])
    assert count(db, Case) == 0
