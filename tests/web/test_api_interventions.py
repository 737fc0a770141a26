"""Interventions over the API (issue 18): list, propose, read, the steps open now and taking one, as every role; the
case's version to propose and the intervention's own for a step, Idempotency-Key as for the case's transitions,
refusals in words, no ground a 404. Every answer is checked against the OpenAPI document (tests/web/test_api.py)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from cases.models import TransitionLogEntry
from tests.web.conftest import STAFF_ROLES
from tests.web.test_api import API, PROBLEM, api, case_in, key  # noqa: F401 - `api` is the fixture

SIG_RECIPIENTS = ["police", "school", "social_services"]


def table(allowed: dict[str, int], others: int = 403) -> dict[str, int]:
    return {role: allowed.get(role, others) for role in STAFF_ROLES}


# Who may call each intervention operation, on a case in investigation assigned to caseworker-1: intake has no
# ground on a case past intake (404, as if it were not there); the step is a decider's (decide).
EXPECTED = {
    "listInterventions": table({"intake": 404, "caseworker": 200, "decider": 200}),
    "proposeIntervention": table({"caseworker": 201}),
    "readIntervention": table({"intake": 404, "caseworker": 200, "decider": 200}),
    "listInterventionTriggers": table({"intake": 404, "caseworker": 200, "decider": 200}),
    "fireInterventionTrigger": table({"caseworker": 403, "decider": 200}),  # decide: the decision maker's
}


def version(api, ref: str) -> int:  # noqa: F811
    return api("GET", f"/cases/{ref}/triggers", "caseworker").get_json()["version"]


def propose(api, ref: str, kind: str = "sig", **extra):  # noqa: F811
    body = {"expected_version": version(api, ref), "kind": kind, "goal": "Bryta med miljön; tillbaka till skolan.",
            "recipients": SIG_RECIPIENTS if kind == "sig" else [], **extra}
    return api("POST", f"/cases/{ref}/interventions", "caseworker", json=body, key=key(),
               operation=("/cases/{ref}/interventions", "POST"))


def step(api, intervention_id: str, trigger: str, role: str, *, expected: int, fields=None, idem=None, **headers):  # noqa: F811
    body = {"trigger": trigger, "expected_version": expected, "fields": fields or {}}
    return api("POST", f"/interventions/{intervention_id}/transitions", role, json=body, key=idem or key(),
               operation=("/interventions/{intervention_id}/transitions", "POST"), **headers)


def consent(api, ref: str, purpose: str, recipients: list[str], given_by: str = "subject"):  # noqa: F811
    body = {"expected_version": version(api, ref), "given_by": given_by, "purposes": [purpose],
            "recipients": recipients, "data_categories": ["identity", "concern", "assessment"],
            "method": "written", "evidence": "Skriftligt samtycke, arkiverat.",
            "valid_from": date.today().isoformat(), "valid_until": (date.today() + timedelta(days=365)).isoformat()}
    answer = api("POST", f"/cases/{ref}/consents", "caseworker", json=body, key=key())
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["consent_id"]


def investigating(app, staff) -> str:
    return case_in(app.extensions["vidoro.db"], staff, "investigation")


def test_the_document_names_the_lifecycles_codes(api):  # noqa: F811
    schemas = api.document["components"]["schemas"]
    assert set(schemas["InterventionProposal"]["properties"]["kind"]["enum"]) == {"sig", "exit_support",
                                                                                  "other_support"}
    triggers = set(schemas["InterventionStepRequest"]["properties"]["trigger"]["enum"])
    assert {"decide", "decline", "start", "end", "withdraw_proposal"} == triggers  # never an automatic step
    assert schemas["InterventionStepRequest"]["additionalProperties"] is False
    paths = api.document["paths"]
    assert {"get", "post"} <= set(paths[f"{API}/cases/{{ref}}/interventions"])
    assert "post" in paths[f"{API}/interventions/{{intervention_id}}/transitions"]


def test_every_operation_as_every_role(api, app, staff):  # noqa: F811
    ref = investigating(app, staff)
    first = propose(api, ref).get_json()["id"]
    got: dict[str, dict[str, int]] = {name: {} for name in EXPECTED}
    for role in STAFF_ROLES:
        requests = {
            "listInterventions": ("GET", "/cases/{ref}/interventions", f"/cases/{ref}/interventions", None),
            "proposeIntervention": ("POST", "/cases/{ref}/interventions", f"/cases/{ref}/interventions", {
                "expected_version": version(api, ref), "kind": "other_support", "goal": "Stödsamtal."}),
            "readIntervention": ("GET", "/interventions/{intervention_id}", f"/interventions/{first}", None),
            "listInterventionTriggers": ("GET", "/interventions/{intervention_id}/triggers",
                                         f"/interventions/{first}/triggers", None),
            "fireInterventionTrigger": ("POST", "/interventions/{intervention_id}/transitions",
                                        f"/interventions/{first}/transitions",
                                        {"trigger": "decide", "expected_version": 1,
                                         "fields": {"reason": "Behov av stöd."}}),
        }
        for name, (method, template, path, body) in requests.items():
            if name == "fireInterventionTrigger" and role == "decider":
                body = {**body, "expected_version": api("GET", f"/interventions/{first}", "decider")
                        .get_json()["version"]}
            answer = api(method, path, role, json=body, key=key() if method == "POST" else None,
                         operation=(template, method))
            got[name][role] = answer.status_code
            assert api(method, path, None, json=body, key=key()).status_code == 401
    assert got == EXPECTED


def test_two_interventions_run_at_once_and_the_case_follows(api, app, staff):  # noqa: F811
    ref = investigating(app, staff)
    answer = propose(api, ref)
    assert answer.status_code == 201, answer.get_json()
    sig = answer.get_json()
    assert (sig["state"], sig["case_state"]) == ("proposed", "investigation")
    exit_ = propose(api, ref, "exit_support").get_json()
    decided = step(api, sig["id"], "decide", "decider", expected=sig["version"], fields={"reason": "Behov."})
    assert decided.status_code == 200, decided.get_json()
    refused = step(api, sig["id"], "start", "caseworker", expected=decided.get_json()["version"],
                   **{"Accept-Language": "en"})
    assert refused.status_code == 422 and refused.mimetype == PROBLEM
    problem = refused.get_json()
    assert problem["code"].startswith("consent") or any(r["kind"] == "consent" for r in problem["reasons"])
    assert all(r["message"] and "_" not in r["message"].split()[0] for r in problem["reasons"])  # words
    consent(api, ref, "sig", ["social_services", *SIG_RECIPIENTS])
    started = step(api, sig["id"], "start", "caseworker", expected=decided.get_json()["version"]).get_json()
    assert (started["state"], started["case_state"]) == ("running", "interventions")
    e = step(api, exit_["id"], "decide", "decider", expected=exit_["version"], fields={"reason": "Vill lämna."})
    consent(api, ref, "exit_support", ["exit_service"])
    e = step(api, exit_["id"], "start", "caseworker", expected=e.get_json()["version"]).get_json()
    listed = api("GET", f"/cases/{ref}/interventions", "caseworker", operation=("/cases/{ref}/interventions", "GET"))
    assert listed.headers["Cache-Control"] == "no-store"
    states = {i["kind"]: i["state"] for i in listed.get_json()["items"]}
    assert states == {"sig": "running", "exit_support": "running"}
    assert all(i["covering_consent_ids"] for i in listed.get_json()["items"])
    ended = step(api, sig["id"], "end", "caseworker", expected=started["version"],
                 fields={"end_reason": "completed", "reason": "Målen nådda."}).get_json()
    assert (ended["state"], ended["case_state"]) == ("ended", "interventions")  # exit support still runs
    last = step(api, exit_["id"], "end", "decider", expected=e["version"],
                fields={"end_reason": "moved", "reason": "Flyttat."}).get_json()
    assert last["case_state"] == "follow_up"
    read = api("GET", f"/interventions/{exit_['id']}", "caseworker", **{"Accept-Language": "en"}).get_json()
    assert (read["end_reason"], read["end_reason_label"]) == ("moved", "Moved from the municipality")


def test_a_repeated_step_is_taken_once_and_a_stale_one_is_409(api, app, staff):  # noqa: F811
    db = app.extensions["vidoro.db"]
    ref = investigating(app, staff)
    sig = propose(api, ref).get_json()
    idem = key()
    first = step(api, sig["id"], "decide", "decider", expected=sig["version"], fields={"reason": "Behov."}, idem=idem)
    with db.read() as session:
        size = session.scalar(select(func.count()).select_from(TransitionLogEntry))
    again = step(api, sig["id"], "decide", "decider", expected=sig["version"], fields={"reason": "Behov."}, idem=idem)
    assert again.status_code == 200 and again.headers["Idempotency-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TransitionLogEntry)) == size
    other = step(api, sig["id"], "decline", "decider", expected=sig["version"], fields={"reason": "Nej."}, idem=idem)
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency-key-reused"
    stale = step(api, sig["id"], "withdraw_proposal", "caseworker", expected=sig["version"],
                 fields={"reason": "Behövs inte."})
    assert stale.status_code == 409 and stale.get_json()["code"] == "stale-version"
    assert stale.get_json()["current_version"] == first.get_json()["version"]


def test_proposing_on_a_stale_case_version_is_409_and_a_wrong_state_422(api, app, staff):  # noqa: F811
    ref = investigating(app, staff)
    body = {"expected_version": version(api, ref) - 1, "kind": "sig", "goal": "Stöd."}
    stale = api("POST", f"/cases/{ref}/interventions", "caseworker", json=body, key=key(),
                operation=("/cases/{ref}/interventions", "POST"))
    assert stale.status_code == 409 and stale.get_json()["current_version"] == version(api, ref)
    early = case_in(app.extensions["vidoro.db"], staff, "pre_assessment")  # no referral from the exit programme
    body = {"expected_version": 1, "kind": "sig", "goal": "Stöd."}
    body["expected_version"] = api("GET", f"/cases/{early}/triggers", "decider").get_json()["version"]
    refused = api("POST", f"/cases/{early}/interventions", "caseworker", json=body, key=key(),
                  operation=("/cases/{ref}/interventions", "POST"))
    assert refused.status_code in (404, 422), refused.get_json()  # 404: the caseworker has no ground in intake


def test_no_ground_or_no_such_intervention_is_404_alike(api, app, staff):  # noqa: F811
    ref = investigating(app, staff)
    sig = propose(api, ref).get_json()
    for path in (f"/interventions/{sig['id']}", f"/interventions/{sig['id']}/triggers"):
        assert api("GET", path, "intake").status_code == 404  # intake: no ground past intake
    missing = "00000000-0000-0000-0000-000000000000"
    for role in ("caseworker", "decider"):
        answer = api("GET", f"/interventions/{missing}", role)
        assert answer.status_code == 404 and answer.get_json()["code"] == "not-found"
    answer = step(api, missing, "decide", "decider", expected=1, fields={"reason": "x"})
    assert answer.status_code == 404


def test_an_automatic_step_cannot_be_sent(api, app, staff):  # noqa: F811
    ref = investigating(app, staff)
    sig = propose(api, ref).get_json()
    answer = step(api, sig["id"], "consent_ended", "decider", expected=sig["version"],
                  fields={"end_reason": "consent_withdrawn"})
    assert answer.status_code == 422 and answer.get_json()["code"] == "invalid-input"


def test_the_options_say_why_a_step_is_refused(api, app, staff):  # noqa: F811
    ref = investigating(app, staff)
    sig = propose(api, ref).get_json()
    options = api("GET", f"/interventions/{sig['id']}/triggers", "caseworker", **{"Accept-Language": "en"},
                  operation=("/interventions/{intervention_id}/triggers", "GET")).get_json()
    by = {o["trigger"]: o for o in options["triggers"]}
    assert by["withdraw_proposal"]["allowed"] is True
    assert by["decide"]["allowed"] is False and by["decide"]["reasons"][0]["kind"] == "role"
    assert options["version"] == sig["version"]
