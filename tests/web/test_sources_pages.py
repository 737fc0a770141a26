"""Intake's page for concerns from every source, the reporter's approximate age, the case page's approximate age
and the page and API route that complete an identity, on both databases (issue 18 item 3)."""

from __future__ import annotations

import json
import uuid
from datetime import date

import pytest
from sqlalchemy import select

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from cases.models import Case, TransitionLogEntry
from cases.staff.tokens import create_token
from tests.conftest import NOW
from tests.web.conftest import PASSWORD, post_form
from tests.web.test_reporter import assert_accessible, english, text

CONCERN = "Personen har visat våldsbejakande filmer för yngre syskon och slutat gå till arbetet."
CHILD = generate_identity_number(date(2012, 5, 17), 238)
REPORTER, CONTACT = "Birgitta Testdotter", "070-000 00 00"


def intake_form(**changes) -> dict:
    data = {"concern": CONCERN, "reporter_org": "police", "given_name": "Tove", "family_name": "",
            "approximate_age": "15", "identity_number": "", "birth_date": ""}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def intake(client_as):
    return english(client_as("intake"), "/intake/concerns/new")


def test_intakes_page_offers_every_source_with_anonymous_and_is_accessible(app, intake):
    page = intake.get("/intake/concerns/new")
    html = text(page)
    assert page.status_code == 200
    assert_accessible(html)
    for words in ("Police", "Healthcare", "Relative", "Member of the public", "The person themself (application)",
                  "School"):
        assert f">{words}</option>" in html
    assert 'name="anonymous"' in html and 'name="approximate_age"' in html and "Source" in html
    assert "Register a concern" in html  # in the navigation


@pytest.mark.parametrize("source", ["police", "healthcare", "relative", "public", "own_application", "school"])
def test_intake_registers_a_concern_from_every_source_and_sees_the_case(app, db, intake, source):
    response = post_form(intake, "/intake/concerns/new", intake_form(reporter_org=source))
    assert response.status_code == 303, text(response)[:2000]
    ref = response.headers["Location"].rsplit("/", 1)[-1]
    case = intake.get(response.headers["Location"])
    html = text(case)
    assert case.status_code == 200 and f"Case {ref}" in html
    assert "Approximate age" in html and "about 15 years" in html and "Complete the identity" in html


def test_an_anonymous_concern_from_the_public(app, db, intake):
    response = post_form(intake, "/intake/concerns/new", intake_form(reporter_org="public", anonymous="yes"))
    assert response.status_code == 303
    with db.read() as session:
        case = session.scalars(select(Case)).one()
    assert case.anonymous and case.reporter_name is None and case.reporter_contact is None
    assert "(anonymous)" in text(intake.get(response.headers["Location"]))


def test_a_named_relatives_details_are_shown_on_the_case(app, db, intake):
    response = post_form(intake, "/intake/concerns/new", intake_form(
        reporter_org="relative", reporter_name=REPORTER, reporter_contact=CONTACT))
    html = text(intake.get(response.headers["Location"]))
    assert REPORTER in html and CONTACT in html


@pytest.mark.parametrize("changes, field", [
    ({"reporter_org": "police", "anonymous": "yes"}, "anonymous"),
    ({"reporter_org": "public", "anonymous": "yes", "reporter_name": REPORTER}, "reporter_name"),
    ({"approximate_age": "about ten"}, "approximate_age"),
    ({"approximate_age": "15", "given_name": ""}, "given_name"),
    ({"approximate_age": "", "identity_number": ""}, "identity_number"),
    ({"reporter_org": "the_moon"}, "reporter_org"),
])
def test_refusals_are_shown_beside_their_field_in_words(app, db, intake, changes, field):
    response = post_form(intake, "/intake/concerns/new", intake_form(**changes))
    html = text(response)
    assert response.status_code in (400, 403)
    assert f'id="error-{field}"' in html and "_" not in html.split(f'id="error-{field}"')[1].split("</p>")[0]
    with db.read() as session:
        assert session.scalars(select(Case)).all() == []


def test_a_reporter_may_not_post_a_source_not_theirs(app, db, client_as):
    reporter = english(client_as("reporter"))
    html = text(reporter.get("/concerns/new"))
    assert ">Police</option>" not in html and 'name="approximate_age"' in html
    response = post_form(reporter, "/concerns/new", intake_form(reporter_org="police"))
    assert response.status_code == 403 and 'id="error-reporter_org"' in text(response)
    ok = post_form(reporter, "/concerns/new", intake_form(reporter_org="school"))
    assert ok.status_code == 303


@pytest.mark.parametrize("role", ["reporter", "coordinator", "partner", "auditor", "admin", "caseworker",
                                  "decider"])
def test_only_intake_opens_the_intake_page(app, client_as, role):
    assert client_as(role).get("/intake/concerns/new").status_code == 403


def _unknown(db, staff) -> str:
    return register_concern(db, staff["intake"], ConcernForm(concern=CONCERN, reporter_org="police",
                                                             given_name="Tove", approximate_age=15), now=NOW).ref


def test_completing_the_identity_on_its_page(app, db, staff, intake):
    earlier = register_concern(db, staff["intake"], ConcernForm(concern=CONCERN, reporter_org="school",
                                                                identity_number=CHILD), now=NOW).ref
    ref = _unknown(db, staff)
    page = intake.get(f"/cases/{ref}/identity")
    assert page.status_code == 200
    assert_accessible(text(page))
    bad = post_form(intake, f"/cases/{ref}/identity", {"identity_number": "19010101-1234", "version": "1"})
    assert bad.status_code == 400 and 'id="error-identity_number"' in text(bad)
    stale = post_form(intake, f"/cases/{ref}/identity", {"identity_number": CHILD, "version": "99"})
    assert stale.status_code == 409
    done = post_form(intake, f"/cases/{ref}/identity", {"identity_number": CHILD, "version": "1"})
    assert done.status_code == 303
    html = text(intake.get(done.headers["Location"]))
    assert "The identity has been completed" in html and "1 other case about the same person" in html
    assert earlier in html and "Approximate age" not in html and "2012-05-17" in html


def _api(app, db, accounts_by_role, role="intake"):
    secret = create_token(db, accounts_by_role[role], "test", password=PASSWORD).secret
    client = app.test_client()
    return client, {"Authorization": f"Bearer {secret}", "Accept-Language": "en"}


def test_the_api_registers_any_source_anonymous_and_approximate_age(app, db, accounts_by_role):
    staff = accounts_by_role
    client, headers = _api(app, db, staff)
    body = {"concern": CONCERN, "reporter_org": "public", "anonymous": True, "given_name": "Tove",
            "approximate_age": 16}
    answer = client.post("/api/v1/cases", json=body, headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.get_json()
    ref = answer.get_json()["ref"]
    with db.read() as session:
        (entry,) = session.scalars(select(TransitionLogEntry.entry).where(TransitionLogEntry.case_ref == ref))
    codes = json.loads(entry)["codes"]
    assert codes["anonymous"] is True and codes["age"] == "approximate" and codes["age_group"] == "child"
    reporter, reporter_headers = _api(app, db, staff, "reporter")
    refused = reporter.post("/api/v1/cases", json={**body, "anonymous": False, "reporter_org": "police"},
                            headers={**reporter_headers, "Idempotency-Key": str(uuid.uuid4())})
    assert refused.status_code == 403 and refused.get_json()["type"].endswith("source-not-permitted")


def test_the_api_completes_an_identity_with_version_and_idempotency_key(app, db, accounts_by_role):
    staff = accounts_by_role
    earlier = register_concern(db, staff["intake"], ConcernForm(concern=CONCERN, reporter_org="school",
                                                                identity_number=CHILD), now=NOW).ref
    ref = _unknown(db, staff)
    client, headers = _api(app, db, staff)
    key = {"Idempotency-Key": str(uuid.uuid4())}
    stale = client.post(f"/api/v1/cases/{ref}/identity", json={"expected_version": 5, "identity_number": CHILD},
                        headers={**headers, **key})
    assert stale.status_code == 409
    bad = client.post(f"/api/v1/cases/{ref}/identity", json={"expected_version": 1, "identity_number":
                                                             "19010101-1234"},
                      headers={**headers, "Idempotency-Key": str(uuid.uuid4())})
    assert bad.status_code == 422
    body = {"expected_version": 1, "identity_number": CHILD}
    done = client.post(f"/api/v1/cases/{ref}/identity", json=body, headers={**headers, **key})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["linked"] == [earlier] and done.get_json()["version"] == 2
    again = client.post(f"/api/v1/cases/{ref}/identity", json=body, headers={**headers, **key})
    assert again.get_json() == done.get_json() and again.headers.get("Idempotency-Replayed") == "true"
    assert "/api/v1/cases/{ref}/identity" in client.get("/api/v1/openapi.json").get_json()["paths"]
