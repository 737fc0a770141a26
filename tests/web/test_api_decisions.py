"""The decisions over JSON: the list without reasons, the letter as a logged PDF read, the notification as a
safe, versioned change; every answer checked against the OpenAPI document."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from cases.models import AccessLogEntry, Case, Decision, DecisionNotification
from tests.web import test_api
from tests.web.test_api import PROBLEM, case_in, key

api = test_api.api  # the same client and tokens as the API's own tests
# The decision is a granted intervention as flowchart version 2 makes it: a referral to SIG, a step of the case.
pytestmark = pytest.mark.usefixtures("flowchart_v2")

NOTIFY = ("/decisions/{decision_id}/notifications", "POST")


def granted(app, staff) -> tuple[str, str]:
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "sig")
    with db.read() as s:
        decision = s.scalars(select(Decision.id).join(Case, Case.id == Decision.case_id)
                             .where(Case.ref == ref, Decision.kind == "grant_intervention")).one()
    return ref, decision


def count(app, table) -> int:
    with app.extensions["vidoro.db"].read() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_the_list_names_kind_citation_and_delegation_in_the_callers_language(api, app, staff):
    ref, decision = granted(app, staff)
    answer = api("GET", f"/cases/{ref}/decisions", "decider", operation=("/cases/{ref}/decisions", "GET"),
                 **{"Accept-Language": "en"})
    items = answer.get_json()["items"]
    assert [i["kind"] for i in items] == ["open_investigation", "grant_intervention"]
    grant = items[1]
    assert (grant["id"], grant["kind_label"], grant["appealable"], grant["delegation"]) == (
        decision, "Decision to grant an intervention", True, "caseworker")
    assert grant["citation"] == "11 kap. 1 § socialtjänstlagen (2025:400)"
    assert "reasons" not in grant and answer.headers["Cache-Control"] == "no-store"


def test_the_letter_is_a_pdf_and_its_reading_is_logged(api, app, staff):
    _, decision = granted(app, staff)
    before = count(app, AccessLogEntry)
    answer = api("GET", f"/decisions/{decision}/letter", "decider", operation=("/decisions/{decision_id}/letter",
                                                                                "GET"))
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    text = " ".join(PdfReader(io.BytesIO(answer.data)).pages[0].extract_text().split())
    assert "Hur man överklagar" in text and "11 kap. 1 § socialtjänstlagen (2025:400)" in text
    assert count(app, AccessLogEntry) == before + 1


def test_a_letter_without_a_ground_or_of_no_decision_is_a_404_problem_and_nothing_is_logged(api, app, staff):
    _, decision = granted(app, staff)
    before = count(app, AccessLogEntry)
    for role, path in (("intake", f"/decisions/{decision}/letter"),
                       ("decider", "/decisions/00000000-0000-0000-0000-000000000000/letter")):
        answer = api("GET", path, role, operation=("/decisions/{decision_id}/letter", "GET"))
        assert (answer.status_code, answer.mimetype, answer.get_json()["code"]) == (404, PROBLEM, "not-found")
    assert api("GET", f"/decisions/{decision}/letter", "reporter").status_code == 403
    assert count(app, AccessLogEntry) == before


def test_a_notification_is_recorded_once_per_key_and_refused_on_a_stale_version(api, app, staff):
    ref, decision = granted(app, staff)
    version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
    body = {"recipient": "person", "method": "digital", "notified_on": date.today().isoformat(),
            "expected_version": version}
    once = key()
    first = api("POST", f"/decisions/{decision}/notifications", "decider", json=body, key=once, operation=NOTIFY)
    assert first.status_code == 201 and first.get_json()["version"] == version + 1
    again = api("POST", f"/decisions/{decision}/notifications", "decider", json=body, key=once, operation=NOTIFY)
    assert again.get_json() == first.get_json() and again.headers["Idempotency-Replayed"] == "true"
    stale = api("POST", f"/decisions/{decision}/notifications", "decider", json=body, key=key(), operation=NOTIFY)
    assert (stale.status_code, stale.get_json()["code"]) == (409, "stale-version")
    assert count(app, DecisionNotification) == 1


def test_a_notification_that_does_not_hold_is_a_422_problem_naming_the_field(api, app, staff):
    ref, decision = granted(app, staff)
    version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
    future = (date.today() + timedelta(days=10)).isoformat()
    for body, field in (({"recipient": "person", "method": "pigeon", "notified_on": future}, "method"),
                        ({"recipient": "guardians", "method": "letter", "notified_on": date.today().isoformat()},
                         "recipient"),
                        ({"recipient": "person", "method": "letter", "notified_on": future}, "notified_on")):
        answer = api("POST", f"/decisions/{decision}/notifications", "decider",
                     json={**body, "expected_version": version}, key=key(), operation=NOTIFY)
        assert (answer.status_code, answer.get_json()["code"]) == (422, "invalid-input"), answer.get_json()
        assert field in [r["field"] for r in answer.get_json()["reasons"]]
    assert count(app, DecisionNotification) == 0
