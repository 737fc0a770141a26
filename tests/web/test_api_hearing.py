"""Kommunicering and structured assessments over the API: the refusal names what is missing, a recorded answer
lets the decision through, a child's step takes its assessment, and the lists are logged reads."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from cases.models import AccessLogEntry
from tests.web.test_api import api, case_in, key  # noqa: F401 - `api` is the fixture

CLOSE = {"trigger": "close_case", "fields": {"reason": "Inget behov.", "outcome": "no_need"}}


def version(api, ref) -> int:  # noqa: F811
    return api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]


def test_an_adverse_decision_waits_for_the_answer_over_the_api(api, app, staff):  # noqa: F811
    """Förvaltningslagen (2017:900) 25 § (fl_25): refused before the material is communicated and answered."""
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "investigation")
    refused = api("POST", f"/cases/{ref}/transitions", "decider", json={**CLOSE, "expected_version": version(api, ref)},
                  key=key(), operation=("/cases/{ref}/transitions", "POST"))
    assert refused.status_code == 422
    assert [r["code"] for r in refused.get_json()["reasons"]] == ["communication_missing"]
    sent = api("POST", f"/cases/{ref}/communications", "caseworker", key=key(),
               operation=("/cases/{ref}/communications", "POST"),
               json={"expected_version": version(api, ref), "decision": "close_case", "recipients": ["person"],
                     "method": "letter", "material": "Utredningen.", "sent_on": date.today().isoformat()})
    assert sent.status_code == 201, sent.get_json()
    pending = api("POST", f"/cases/{ref}/transitions", "decider", key=key(),
                  json={**CLOSE, "expected_version": version(api, ref)})
    assert [r["code"] for r in pending.get_json()["reasons"]] == ["communication_pending"]
    answered = api("POST", f"/cases/{ref}/communications/{sent.get_json()['communication_id']}/answer", "caseworker",
                   key=key(), json={"expected_version": version(api, ref), "answer": "Svar.",
                                    "answered_on": date.today().isoformat()})
    assert answered.status_code == 200, answered.get_json()
    closed = api("POST", f"/cases/{ref}/transitions", "decider", key=key(),
                 json={**CLOSE, "expected_version": version(api, ref)})
    assert closed.status_code == 200 and closed.get_json()["state"] == "closed"


def test_a_childs_step_takes_its_assessment_and_the_list_is_a_logged_read(api, app, staff):  # noqa: F811
    """Socialtjänstlagen (2025:400), the provision on the child's right to be heard (sol_child_heard)."""
    db = app.extensions["vidoro.db"]
    ref = case_in(db, staff, "protection_assessment")
    body = {"trigger": "start_pre_assessment", "expected_version": version(api, ref),
            "fields": {"protection_assessment": "Ingen akut fara."}}
    refused = api("POST", f"/cases/{ref}/transitions", "intake", json=body, key=key())
    assert refused.status_code == 422 and refused.get_json()["reasons"][0]["code"] == "assessment_missing"
    body["assessment"] = {"assessed": "Hemmet.", "decision": "protection_needed", "child_view": "Vill ha hjälp."}
    assert api("POST", f"/cases/{ref}/transitions", "intake", json=body, key=key()).status_code == 200
    with db.read() as session:
        reads = session.scalar(select(func.count()).select_from(AccessLogEntry))
    listed = api("GET", f"/cases/{ref}/assessments", "intake", operation=("/cases/{ref}/assessments", "GET"))
    assert [(a["kind"], a["decision"], a["child_view"]) for a in listed.get_json()["items"]] == [
        ("protection", "protection_needed", "Vill ha hjälp.")]
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == reads + 1
