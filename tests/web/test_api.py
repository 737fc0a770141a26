"""The JSON API (issue 6): every operation as every role, safe retries, conflicts, problem details, tokens.

Every answer checked here is also checked against the schema the OpenAPI document gives for its status and
media type, so the document and the server cannot drift apart unnoticed.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

import jsonschema_rs
import pytest
from sqlalchemy import func, select

from cases.audit.checkpoints import issue_checkpoint
from cases.audit.signing import LogSigner
from cases.crypto.identity import generate_identity_number
from cases.models import Case, Consent, Decision, IdempotencyRecord, ReferralPacket, TransitionLogEntry
from cases.staff.tokens import create_token, revoke_token
from tests.cases.route_v2 import PATHS, drive
from tests.web.conftest import PASSWORD, STAFF_ROLES

# the intervention operations, as every role, are tried in tests/web/test_api_interventions.py (version 3 on)
INTERVENTION_OPERATIONS = ("listInterventions", "proposeIntervention", "readIntervention", "listInterventionTriggers",
                           "fireInterventionTrigger")

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture
def api(app, accounts_by_role):
    """A test client and one personal API token per staff role (accounts `<role>-1`)."""
    db = app.extensions["vidoro.db"]
    staff = accounts_by_role
    tokens = {role: create_token(db, staff[role], "tests", password=PASSWORD).secret for role in STAFF_ROLES}
    document = app.test_client().get(f"{API}/openapi.json").get_json()
    return Api(app.test_client(), tokens, document)


class Api:
    def __init__(self, client, tokens, document) -> None:
        self.client, self.tokens, self.document = client, tokens, document

    def __call__(self, method: str, path: str, role: str | None, *, json=None, key: str | None = None,
                 operation: tuple[str, str] | None = None, **headers):
        if role is not None:
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.client.open(f"{API}{path}", method=method, json=json, headers=headers)
        if operation is not None:
            self.conforms(response, *operation)
        return response

    def conforms(self, response, path: str, method: str) -> None:
        """The answer is one the document declares for this operation: status, media type and schema."""
        declared = self.document["paths"][f"{API}{path}"][method.lower()]["responses"]
        assert str(response.status_code) in declared, (response.status_code, response.get_data(as_text=True))
        content = declared[str(response.status_code)].get("content")
        if content is None:
            assert not response.get_data()
            return
        assert response.mimetype in content, (response.mimetype, list(content))
        if response.mimetype == "application/pdf":  # a decision letter: binary, as the document says
            assert response.get_data().startswith(b"%PDF-")
            return
        schema = {**content[response.mimetype]["schema"], "components": self.document["components"]}
        jsonschema_rs.validator_for(schema).validate(response.get_json())


def key() -> str:
    return str(uuid.uuid4())


def concern(**extra) -> dict:
    number = generate_identity_number(date(2012, 5, 17), 238)
    return {"concern": "Eleven har slutat komma till skolan.", "reporter_org": "school", "identity_number": number,
            **extra}


def registered(api) -> str:
    answer = api("POST", "/cases", "reporter", json=concern(), key=key())
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()["ref"]


def log_size(db) -> int:
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(TransitionLogEntry))


def case_in(db, staff, state: str) -> str:
    """A case taken to `state` by the real operations (as the demo does), its caseworker `caseworker-1`."""
    child, steps = PATHS[state]
    start = datetime.now(UTC) - timedelta(days=sum(s.days_later for s in steps) + 10)
    born = start.date() - timedelta(days=365 * (14 if child else 20))
    from cases import ConcernForm, register_concern

    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Eleven har slutat komma till skolan.", reporter_org="school",
        identity_number=generate_identity_number(born, 17)), now=start).ref
    drive(db, staff, ref, steps, start)
    return ref


# --- the document ---------------------------------------------------------------------------------------------


def test_the_document_is_openapi_3_1_with_every_operation_described(api):
    doc = api.document
    assert doc["openapi"] == "3.1.0"
    bearer = doc["components"]["securitySchemes"]["bearer"]
    assert (bearer["type"], bearer["scheme"]) == ("http", "bearer")
    operations = {(path, method): op for path, item in doc["paths"].items() for method, op in item.items()}
    assert {op["operationId"] for op in operations.values()} == set(EXPECTED) | set(INTERVENTION_OPERATIONS)
    for (path, method), op in operations.items():
        assert op["security"] == [{"bearer": []}], path
        assert {"401", "403", "422"} <= set(op["responses"]), (path, method)
        for status, answer in op["responses"].items():
            if status.startswith(("4", "5")):
                assert answer["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
            elif status != "204" and "application/pdf" not in answer["content"]:  # a decision letter
                assert "$ref" in answer["content"]["application/json"]["schema"], (path, method, status)
        if method == "post":
            assert "$ref" in op["requestBody"]["content"]["application/json"]["schema"]
            assert any(p["name"] == "Idempotency-Key" and p["required"] for p in op["parameters"]), path


def test_the_document_is_public_and_names_the_flowcharts_codes(app):
    doc = app.test_client().get(f"{API}/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert "assess_protection" in schemas["TransitionRequest"]["properties"]["trigger"]["enum"]
    assert "grant_support" in schemas["TransitionRequest"]["properties"]["trigger"]["enum"]  # a relative's matter
    assert schemas["TransitionRequest"]["additionalProperties"] is False
    assert "school" in schemas["ConcernRequest"]["properties"]["reporter_org"]["enum"]


# --- every operation as every role ------------------------------------------------------------------------------


def table(allowed: dict[str, int], others: int = 403) -> dict[str, int]:
    return {role: allowed.get(role, others) for role in STAFF_ROLES}


EVERYONE = table({}, others=200)
EXPECTED = {
    "registerConcern": table({"reporter": 201, "intake": 201, "caseworker": 201}),
    "listCases": table({"intake": 200, "caseworker": 200, "decider": 200}),
    "readCase": table({"intake": 200, "caseworker": 404, "decider": 200}),  # 404: no ground, as if not there
    "listTriggers": table({"intake": 200, "caseworker": 404, "decider": 200}),
    "fireTrigger": table({"intake": 200, "caseworker": 404}),  # the decider may see it but not fire this one
    "recordConsent": table({"caseworker": 201, "decider": 201}),
    "withdrawConsent": table({"caseworker": 200, "decider": 200}),
    "withholdFeedback": table({"caseworker": 200, "decider": 200}),
    "informRelative": table({"caseworker": 201, "decider": 201}),
    "listReferrals": table({"partner": 200}),
    "readReferral": table({"partner": 200}),
    "latestCheckpoint": table({"auditor": 200}),
    "inclusionProof": table({"auditor": 200}),
    "consistencyProof": table({"auditor": 200}),
    "listCommunications": table({"intake": 404, "caseworker": 200, "decider": 200}),  # intake: not in intake
    "listAssessments": table({"intake": 404, "caseworker": 200, "decider": 200}),
    "recordCommunication": table({"caseworker": 201, "decider": 201}),
    "recordAnswer": table({"caseworker": 200, "decider": 200}),
    "recordCommunicationException": table({"caseworker": 201, "decider": 201}),
    "me": EVERYONE,
    "listTokens": EVERYONE,
    "revokeToken": table({}, others=204),
    "readJournal": table({"intake": 200, "caseworker": 404, "decider": 200}),
    "writeNote": table({"intake": 201, "caseworker": 404, "decider": 201}),
    "signNote": table({"intake": 200, "caseworker": 404, "decider": 200}),  # each signs a draft of their own
    "listDecisions": table({"intake": 404, "caseworker": 200, "decider": 200}),  # intake: no ground on it
    "readDecisionLetter": table({"intake": 404, "caseworker": 200, "decider": 200}),
    "recordNotification": table({"caseworker": 201, "decider": 201}),
    "completeIdentity": table({"intake": 200, "caseworker": 404, "decider": 200}),  # caseworker: not assigned
    "listFlags": table({"intake": 404, "caseworker": 200, "decider": 200}),  # intake: not in intake
    "setFlag": table({"intake": 404, "caseworker": 201, "decider": 201}),
    "clearFlag": table({"decider": 200}),  # only the decision maker clears a flag (policies/flags.toml)
    "listLegalHolds": table({"decider": 200}),  # the roles of policies/routines/retention.toml [legal_holds]
    "placeLegalHold": table({"decider": 201}),
    "liftLegalHold": table({"decider": 200}),
    # register extracts (policies/subjects.toml): social services' staff register and read, a decider decides
    "requestExtract": table({"intake": 201, "caseworker": 201, "decider": 201}),
    # the draft and the extract: the requester (the caseworker here) and a decision maker, no other reader
    "readExtractDraft": table({"intake": 403, "caseworker": 200, "decider": 200}),
    "decideExtract": table({"decider": 200}),
    "readExtract": table({"intake": 403, "caseworker": 200, "decider": 200}),
    "listNotifications": EVERYONE,
    "markNotificationRead": EVERYONE,  # each marks their own (another's: tests/web/test_notifications_web.py)
}


def request_for(operation: str, role: str, api, app, staff, tmp_path):
    """(method, path template, concrete path, body, needs key) for `operation`, on fresh data for `role`."""
    db = app.extensions["vidoro.db"]
    if operation == "registerConcern":
        return "POST", "/cases", "/cases", concern(), True
    if operation == "listCases":
        return "GET", "/cases", "/cases?per_page=10", None, False
    if operation in ("readCase", "listTriggers", "fireTrigger"):
        ref = registered(api)
        if operation == "fireTrigger":
            body = {"trigger": "assess_protection", "expected_version": 1}
            return "POST", "/cases/{ref}/transitions", f"/cases/{ref}/transitions", body, True
        suffix = "/triggers" if operation == "listTriggers" else ""
        return "GET", "/cases/{ref}" + suffix, f"/cases/{ref}{suffix}", None, False
    if operation == "completeIdentity":
        # A source version 2 knows too (this test starts its cases on version 2, whose sources are those of
        # issue 17: "public" came with version 3): a person known by a first name and an approximate age only.
        unknown = {"concern": "Oro för en person.", "reporter_org": "social_services", "given_name": "Tove",
                   "approximate_age": 16}
        answer = api("POST", "/cases", "intake", json=unknown, key=key())
        assert answer.status_code == 201, answer.get_json()
        ref = answer.get_json()["ref"]
        return ("POST", "/cases/{ref}/identity", f"/cases/{ref}/identity",
                {"expected_version": 1, "identity_number": generate_identity_number(date(2010, 1, 2), 123)}, True)
    if operation == "withholdFeedback":
        ref = case_in(db, staff, "sig")
        version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
        return ("POST", "/cases/{ref}/feedback-withholding", f"/cases/{ref}/feedback-withholding",
                {"expected_version": version, "reason": "Återkoppling vore olämplig."}, True)
    if operation == "informRelative":
        ref = case_in(db, staff, "investigation")
        version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
        return ("POST", "/cases/{ref}/relatives", f"/cases/{ref}/relatives",
                {"expected_version": version, "wants_support": False}, True)
    if operation in ("recordConsent", "withdrawConsent"):
        ref = case_in(db, staff, "sig")
        with db.read() as session:
            consent = session.scalars(select(Consent).where(Consent.status == "given")
                                      .order_by(Consent.recorded_at.desc())).first()
            version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
        if operation == "withdrawConsent":
            return ("POST", "/cases/{ref}/consents/{consent_id}/withdrawal",
                    f"/cases/{ref}/consents/{consent.id}/withdrawal",
                    {"expected_version": version, "reason": "Vill inte längre."}, True)
        body = {"expected_version": version, "given_by": "subject", "purposes": ["sig"],
                "recipients": ["police", "school"], "data_categories": ["identity"], "method": "written",
                "evidence": "Skriftligt samtycke.", "valid_from": date.today().isoformat()}
        return "POST", "/cases/{ref}/consents", f"/cases/{ref}/consents", body, True
    if operation in ("listReferrals", "readReferral"):
        case_in(db, staff, "sig")
        with db.read() as session:
            packet = session.scalars(select(ReferralPacket.id)).first()
        if operation == "listReferrals":
            return "GET", "/referrals", "/referrals", None, False
        return "GET", "/referrals/{packet_id}", f"/referrals/{packet}", None, False
    if operation in ("latestCheckpoint", "inclusionProof", "consistencyProof"):
        registered(api)
        registered(api)
        issue_checkpoint(db, LogSigner.create(tmp_path / f"signing-{role}"), "transitions")
        if operation == "latestCheckpoint":
            return "GET", "/logs/{log}/checkpoint", "/logs/transitions/checkpoint", None, False
        if operation == "inclusionProof":
            return "GET", "/logs/{log}/proofs/inclusion", "/logs/transitions/proofs/inclusion?entry=1", None, False
        return "GET", "/logs/{log}/proofs/consistency", "/logs/transitions/proofs/consistency?from=1", None, False
    if operation in ("readJournal", "writeNote", "signNote"):
        ref = registered(api)
        note = {"kind": "contact", "occurred_on": (date.today() - timedelta(days=2)).isoformat(), "text": "Kontakt."}
        if operation == "readJournal":
            return "GET", "/cases/{ref}/journal", f"/cases/{ref}/journal", None, False
        if operation == "writeNote":
            return "POST", "/cases/{ref}/notes", f"/cases/{ref}/notes", note, True
        own = api("POST", f"/cases/{ref}/notes", role if role in ("intake", "decider") else "intake", json=note,
                  key=key()).get_json()["note_id"]
        return ("POST", "/cases/{ref}/notes/{note_id}/signature", f"/cases/{ref}/notes/{own}/signature", {},
                True)
    if operation in ("listDecisions", "readDecisionLetter", "recordNotification"):
        ref = case_in(db, staff, "sig")
        with db.read() as session:
            decision = session.scalars(select(Decision.id).join(Case, Case.id == Decision.case_id)
                                       .where(Case.ref == ref, Decision.kind == "grant_intervention")).one()
        if operation == "listDecisions":
            return "GET", "/cases/{ref}/decisions", f"/cases/{ref}/decisions", None, False
        if operation == "readDecisionLetter":
            return "GET", "/decisions/{decision_id}/letter", f"/decisions/{decision}/letter", None, False
        version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
        body = {"recipient": "person", "method": "letter", "notified_on": date.today().isoformat(),
                "expected_version": version}
        return ("POST", "/decisions/{decision_id}/notifications", f"/decisions/{decision}/notifications", body,
                True)
    if operation in HEARING_OPERATIONS:
        return hearing_request(operation, api, db, staff)
    if operation in ("listFlags", "setFlag", "clearFlag"):
        ref = case_in(db, staff, "investigation")
        version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
        if operation == "listFlags":
            return "GET", "/cases/{ref}/flags", f"/cases/{ref}/flags", None, False
        body = {"expected_version": version, "flag": "honour_violence", "reason": "Uppgift om hot."}
        if operation == "setFlag":
            return "POST", "/cases/{ref}/flags", f"/cases/{ref}/flags", body, True
        version = api("POST", f"/cases/{ref}/flags", "decider", json=body, key=key()).get_json()["version"]
        return ("POST", "/cases/{ref}/flags/{flag}/clear", f"/cases/{ref}/flags/honour_violence/clear",
                {"expected_version": version, "reason": "Bedömt."}, True)
    if operation in ("listLegalHolds", "placeLegalHold", "liftLegalHold"):
        ref = case_in(db, staff, "closed")
        if operation == "listLegalHolds":
            return "GET", "/cases/{ref}/legal-holds", f"/cases/{ref}/legal-holds", None, False
        if operation == "placeLegalHold":
            return "POST", "/cases/{ref}/legal-holds", f"/cases/{ref}/legal-holds", {"reason": "Tvist."}, True
        api("POST", f"/cases/{ref}/legal-holds", "decider", json={"reason": "Tvist."}, key=key())
        return ("POST", "/cases/{ref}/legal-holds/lift", f"/cases/{ref}/legal-holds/lift", {"reason": "Avgjord."},
                True)
    if operation in EXTRACT_OPERATIONS:
        return extract_request(operation, api)
    if operation in ("listNotifications", "markNotificationRead"):
        from cases.notifications import notify

        with db.write() as session:
            notify(session, recipients=[staff[role].id], kind="deadline_reminder", key=f"api-{role}",
                   now=datetime.now(UTC), case_ref="VO-ABCDEFGH")
        if operation == "listNotifications":
            return "GET", "/notifications", "/notifications", None, False
        (own,) = api("GET", "/notifications", role).get_json()["items"]
        return ("POST", "/notifications/{notification_id}/read", f"/notifications/{own['id']}/read", {}, True)
    if operation == "me":
        return "GET", "/me", "/me", None, False
    if operation == "listTokens":
        return "GET", "/tokens", "/tokens", None, False
    assert operation == "revokeToken"
    spare = create_token(db, staff[role], "spare", password=PASSWORD)
    return "DELETE", "/tokens/{token_id}", f"/tokens/{spare.id}", None, False


EXTRACT_OPERATIONS = ("requestExtract", "readExtractDraft", "decideExtract", "readExtract")


def extract_request(operation: str, api):
    """A register extract (web.api.routes.subject_routes) of the person of a fresh case, registered by a caseworker."""
    registered(api)
    number = {"identity_number": concern()["identity_number"]}
    if operation == "requestExtract":
        return "POST", "/subject-extracts", "/subject-extracts", number, True
    made = api("POST", "/subject-extracts", "caseworker", json=number, key=key())
    assert made.status_code == 201, made.get_json()
    extract = made.get_json()["id"]
    if operation == "readExtractDraft":
        return "GET", "/subject-extracts/{extract_id}/draft", f"/subject-extracts/{extract}/draft", None, False
    release = {"release": True}
    assert api("GET", f"/subject-extracts/{extract}/draft", "decider").status_code == 200  # read before deciding
    if operation == "decideExtract":
        return ("POST", "/subject-extracts/{extract_id}/decision", f"/subject-extracts/{extract}/decision",
                release, True)
    decided = api("POST", f"/subject-extracts/{extract}/decision", "decider", json=release, key=key())
    assert decided.status_code == 200, decided.get_json()
    return "GET", "/subject-extracts/{extract_id}/pdf", f"/subject-extracts/{extract}/pdf", None, False


HEARING_OPERATIONS = ("listCommunications", "listAssessments", "recordCommunication", "recordAnswer",
                      "recordCommunicationException")


def hearing_request(operation: str, api, db, staff):
    """Kommunicering and assessments (web.api.routes.hearing_routes) on a fresh case in investigation."""
    ref = case_in(db, staff, "investigation")
    if operation in ("listCommunications", "listAssessments"):
        suffix = "/communications" if operation == "listCommunications" else "/assessments"
        return "GET", "/cases/{ref}" + suffix, f"/cases/{ref}{suffix}", None, False
    version = api("GET", f"/cases/{ref}/triggers", "decider").get_json()["version"]
    sent = {"expected_version": version, "decision": "close_case", "recipients": ["person"], "method": "letter",
            "material": "Utredningen.", "sent_on": date.today().isoformat()}
    if operation == "recordCommunication":
        return "POST", "/cases/{ref}/communications", f"/cases/{ref}/communications", sent, True
    if operation == "recordCommunicationException":
        body = {"expected_version": version, "decision": "close_case", "exception": "urgent", "reason": "Brådskar."}
        return "POST", "/cases/{ref}/communication-exceptions", f"/cases/{ref}/communication-exceptions", body, True
    answer = api("POST", f"/cases/{ref}/communications", "decider", json=sent, key=key()).get_json()
    body = {"expected_version": answer["version"], "answer": "Svar.", "answered_on": date.today().isoformat()}
    return ("POST", "/cases/{ref}/communications/{communication_id}/answer",
            f"/cases/{ref}/communications/{answer['communication_id']}/answer", body, True)


@pytest.mark.parametrize("operation", EXPECTED)
@pytest.mark.usefixtures("flowchart_v2")
def test_every_operation_as_every_role(api, app, staff, tmp_path, operation):
    got = {}
    for role in STAFF_ROLES:
        method, template, path, body, needs_key = request_for(operation, role, api, app, staff, tmp_path)
        answer = api(method, path, role, json=body, key=key() if needs_key else None, operation=(template, method))
        got[role] = answer.status_code
        assert api(method, path, None, json=body, key=key() if needs_key else None).status_code == 401
    assert got == EXPECTED[operation]


# --- safe retries and conflicts ----------------------------------------------------------------------------------


def test_a_repeated_request_makes_exactly_one_transition(api, app):
    db = app.extensions["vidoro.db"]
    ref, retry = registered(api), key()
    before = log_size(db)
    body = {"trigger": "assess_protection", "expected_version": 1}
    first = api("POST", f"/cases/{ref}/transitions", "intake", json=body, key=retry)
    again = [api("POST", f"/cases/{ref}/transitions", "intake", json=body, key=retry) for _ in range(3)]
    assert first.status_code == 200 and "Idempotency-Replayed" not in first.headers
    assert all(a.status_code == 200 and a.get_json() == first.get_json() for a in again)
    assert all(a.headers["Idempotency-Replayed"] == "true" for a in again)
    assert log_size(db) == before + 1
    assert first.get_json()["version"] == 2 and first.get_json()["state"] == "protection_assessment"


def test_a_repeated_registration_makes_one_case(api, app):
    db = app.extensions["vidoro.db"]
    retry, body = key(), concern()
    answers = [api("POST", "/cases", "reporter", json=body, key=retry) for _ in range(3)]
    assert {a.get_json()["ref"] for a in answers} == {answers[0].get_json()["ref"]}
    assert log_size(db) == 1


def test_the_same_key_for_another_request_is_refused(api, app):
    db = app.extensions["vidoro.db"]
    retry = key()
    assert api("POST", "/cases", "reporter", json=concern(), key=retry).status_code == 201
    other = api("POST", "/cases", "reporter", json=concern(acute_danger=True), key=retry,
                operation=("/cases", "POST"))
    assert other.status_code == 422 and other.get_json()["code"] == "idempotency-key-reused"
    assert log_size(db) == 1
    # keys belong to one account: another account may use the same key for its own request
    assert api("POST", "/cases", "intake", json=concern(acute_danger=True), key=retry).status_code == 201


def test_a_refused_request_keeps_no_answer_and_may_be_retried(api, app):
    db = app.extensions["vidoro.db"]
    ref, retry = registered(api), key()
    refused = api("POST", f"/cases/{ref}/transitions", "intake", json={"trigger": "start_pre_assessment",
                  "expected_version": 1}, key=retry, operation=("/cases/{ref}/transitions", "POST"))
    assert refused.status_code == 422 and refused.get_json()["code"] == "guard-failed"
    assert refused.get_json()["reasons"][0]["code"] == "not_adult"
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(IdempotencyRecord)) == 1  # the registration's
    before = log_size(db)
    fixed = {"trigger": "assess_protection", "expected_version": 1}
    assert api("POST", f"/cases/{ref}/transitions", "intake", json=fixed, key=retry).status_code == 200
    assert log_size(db) == before + 1


def test_a_stale_version_is_409_with_the_current_one(api, app):
    ref = registered(api)
    moved = api("POST", f"/cases/{ref}/transitions", "intake",
                json={"trigger": "assess_protection", "expected_version": 1}, key=key())
    assert moved.status_code == 200
    stale = api("POST", f"/cases/{ref}/transitions", "intake",
                json={"trigger": "assess_protection", "expected_version": 1}, key=key(),
                operation=("/cases/{ref}/transitions", "POST"))
    assert stale.status_code == 409 and stale.mimetype == PROBLEM
    assert stale.get_json()["code"] == "stale-version" and stale.get_json()["current_version"] == 2


def test_a_refused_role_is_403_with_its_reason(api):
    ref = registered(api)
    refused = api("POST", f"/cases/{ref}/transitions", "decider",
                  json={"trigger": "assess_protection", "expected_version": 1}, key=key(),
                  operation=("/cases/{ref}/transitions", "POST"))
    assert refused.status_code == 403 and refused.get_json()["code"] == "role-not-allowed"
    assert [r["kind"] for r in refused.get_json()["reasons"]] == ["role"]


def _race(send, count: int = 2):
    barrier, answers = threading.Barrier(count), [None] * count

    def run(i):
        barrier.wait()
        answers[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return answers


def test_two_clients_racing_on_one_case_get_one_200_and_one_409(api, app):
    db = app.extensions["vidoro.db"]
    for _ in range(3):
        ref = registered(api)
        before = log_size(db)
        body = {"trigger": "assess_protection", "expected_version": 1}
        clients = [app.test_client(), app.test_client()]

        def send(i, ref=ref, body=body, clients=clients):
            return clients[i].post(f"{API}/cases/{ref}/transitions", json=body, headers={
                "Authorization": f"Bearer {api.tokens['intake']}", "Idempotency-Key": key()})

        answers = _race(send)
        assert sorted(a.status_code for a in answers) == [200, 409]
        loser = next(a for a in answers if a.status_code == 409).get_json()
        assert loser["current_version"] == 2
        assert log_size(db) == before + 1


def test_twins_with_one_key_make_one_transition_and_get_one_answer(api, app):
    db = app.extensions["vidoro.db"]
    for _ in range(3):
        ref, retry = registered(api), key()
        before = log_size(db)
        body = {"trigger": "assess_protection", "expected_version": 1}
        clients = [app.test_client(), app.test_client()]

        def send(i, ref=ref, body=body, clients=clients, retry=retry):
            return clients[i].post(f"{API}/cases/{ref}/transitions", json=body, headers={
                "Authorization": f"Bearer {api.tokens['intake']}", "Idempotency-Key": retry})

        answers = _race(send)
        assert [a.status_code for a in answers] == [200, 200]
        assert answers[0].get_json() == answers[1].get_json()
        assert log_size(db) == before + 1


# --- authentication, errors, language ---------------------------------------------------------------------------


def test_expired_revoked_and_foreign_tokens_are_refused_alike(api, app, staff):
    db = app.extensions["vidoro.db"]
    old = create_token(db, staff["intake"], "old", password=PASSWORD, days=1, now=datetime.now(UTC) - timedelta(days=2))
    revoked = create_token(db, staff["intake"], "revoked", password=PASSWORD)
    revoke_token(db, staff["intake"], revoked.id)
    answers = [api.client.get(f"{API}/me", headers={"Authorization": f"Bearer {secret}"})
               for secret in (old.secret, revoked.secret, "vdr_" + "A" * 43, "nonsense")]
    assert {a.status_code for a in answers} == {401}
    assert len({a.get_json()["detail"] for a in answers}) == 1
    assert all(a.headers["WWW-Authenticate"].startswith("Bearer") for a in answers)


def test_a_signed_in_browser_session_does_not_open_the_api(client_as):
    browser = client_as("intake")
    assert browser.get("/cases").status_code == 200
    answer = browser.get(f"{API}/cases")
    assert answer.status_code == 401 and answer.mimetype == PROBLEM


def test_the_token_acts_in_its_owners_role(api):
    me = api("GET", "/me", "caseworker", operation=("/me", "GET")).get_json()
    assert me["role"] == "caseworker" and me["username"] == "caseworker-1"


def test_invalid_input_names_the_field_never_the_value(api):
    body = concern(identity_number="201205172389")  # wrong check digit
    answer = api("POST", "/cases", "reporter", json=body, key=key(), operation=("/cases", "POST"))
    assert answer.status_code == 422 and answer.get_json()["reasons"][0]["field"] == "identity_number"
    assert "201205172389" not in answer.get_data(as_text=True)
    loose = api("POST", "/cases", "reporter", json={**concern(), "expected": 1, "acute_danger": "yes"}, key=key(),
                operation=("/cases", "POST"))
    assert loose.status_code == 422
    assert {r["field"] for r in loose.get_json()["reasons"]} == {"expected", "acute_danger"}
    assert "yes" not in loose.get_data(as_text=True)


def test_problems_speak_swedish_or_english(api):
    sv = api("GET", "/cases", "partner")
    en = api("GET", "/cases", "partner", **{"Accept-Language": "en"})
    assert sv.headers["Content-Language"] == "sv" and en.headers["Content-Language"] == "en"
    assert sv.get_json()["detail"] != en.get_json()["detail"]
    assert sv.get_json()["code"] == en.get_json()["code"] == "role-not-allowed"


def test_unknown_paths_and_methods_are_problems(api):
    missing = api("GET", "/nothing", "intake")
    assert missing.status_code == 404 and missing.mimetype == PROBLEM
    wrong = api("PUT", "/cases", "intake")
    assert wrong.status_code == 405 and wrong.mimetype == PROBLEM
    assert set(wrong.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_reading_a_case_is_logged_and_not_cached(api, app):
    ref = registered(api)
    answer = api("GET", f"/cases/{ref}", "intake", operation=("/cases/{ref}", "GET"))
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.get_json()["person"]["identity_number"] is not None
    with app.extensions["vidoro.db"].read() as session:
        from cases.models import AccessLogEntry

        assert session.scalar(select(func.count()).select_from(AccessLogEntry)) == 1


def test_the_case_list_filters_by_state_and_deadline(api):
    first, second = registered(api), registered(api)
    api("POST", f"/cases/{first}/transitions", "intake", json={"trigger": "assess_protection",
                                                              "expected_version": 1}, key=key())
    in_state = api("GET", "/cases?state=protection_assessment", "intake", operation=("/cases", "GET")).get_json()
    assert [i["ref"] for i in in_state["items"]] == [first]
    # protection assessment is due the day a concern arrives, the next day when it arrives after 16:00
    # Stockholm time: the day to filter by is read from the list, not assumed from the clock
    listed = api("GET", "/cases", "intake").get_json()["items"]
    due_on = max(date.fromisoformat(i["due_on"]) for i in listed)
    assert due_on - date.today() <= timedelta(days=1)
    due = api("GET", f"/cases?due_by={due_on.isoformat()}", "intake").get_json()
    assert {i["ref"] for i in due["items"]} == {first, second}
    earlier = api("GET", f"/cases?due_by={(due_on - timedelta(days=1)).isoformat()}", "intake").get_json()
    assert {i["ref"] for i in earlier["items"]} == {i["ref"] for i in listed if i["due_on"] < due_on.isoformat()}
    none_due = api("GET", "/cases?due_by=2000-01-01", "intake").get_json()
    assert none_due["items"] == []
    assert api("GET", "/cases?due_by=0", "intake").status_code == 422
    paged = api("GET", "/cases?per_page=1", "intake").get_json()
    assert len(paged["items"]) == 1 and paged["has_next"] is True
    assert paged["previous_cursor"] is None and "page" not in paged
    after = api("GET", f"/cases?per_page=1&cursor={paged['next_cursor']}", "intake").get_json()
    assert [i["ref"] for i in paged["items"] + after["items"]] == [i["ref"] for i in listed[:2]]
    back = api("GET", f"/cases?per_page=1&cursor={after['previous_cursor']}", "intake").get_json()
    assert back["items"] == paged["items"] and back["previous_cursor"] is None


def test_only_intake_may_send_an_earlier_arrival(api, app):
    """Issue 15: `received_at` from a reporter flipped child/adult and every deadline; now a clear 403."""
    db = app.extensions["vidoro.db"]
    earlier = (datetime.now(UTC) - timedelta(hours=20)).isoformat()
    reason = "Kom in per brev till mottagningen i går"
    for role, sent in (("reporter", {"received_at": earlier}), ("caseworker", {"received_at": earlier}),
                       ("reporter", {"received_at": earlier, "arrival_reason": reason})):
        refused = api("POST", "/cases", role, json=concern(**sent), key=key(), operation=("/cases", "POST"))
        assert refused.status_code == 403, refused.get_json()
        assert refused.get_json()["code"] == "arrival-not-permitted"
        assert "bara mottagningen" in refused.get_json()["detail"]
    assert log_size(db) == 0
    short = api("POST", "/cases", "intake", json=concern(received_at=earlier, arrival_reason="brev"), key=key(),
                operation=("/cases", "POST"))
    assert short.status_code == 422 and short.get_json()["reasons"][0]["field"] == "arrival_reason"
    accepted = api("POST", "/cases", "intake", json=concern(received_at=earlier, arrival_reason=reason), key=key(),
                   operation=("/cases", "POST"))
    assert accepted.status_code == 201, accepted.get_json()
    described = api.document["components"]["schemas"]["ConcernRequest"]["properties"]["received_at"]
    assert "Intake only" in str(described)
def test_an_auditor_reads_the_administration_logs_checkpoint_and_proofs(api, app, staff, tmp_path):
    db = app.extensions["vidoro.db"]
    issue_checkpoint(db, LogSigner.create(tmp_path / "signing-admin-log"), "administration")
    found = api("GET", "/logs/administration/checkpoint", "auditor",
                operation=("/logs/{log}/checkpoint", "GET"))
    assert found.status_code == 200 and "/administration\n" in found.get_json()["note"]
    proof = api("GET", "/logs/administration/proofs/inclusion?entry=1", "auditor",
                operation=("/logs/{log}/proofs/inclusion", "GET"))
    assert proof.status_code == 200
    assert api("GET", "/logs/administration/checkpoint", "admin").status_code == 403


def test_an_extract_whose_released_items_changed_is_a_409(app):
    from cases.subjects import ExtractChanged
    from web.api.problems import from_error

    with app.test_request_context():
        answer = from_error(ExtractChanged("0f0f0f0f"))
    assert answer.status_code == 409 and answer.get_json()["type"].endswith("extract-changed")


def test_an_extract_is_409_before_release_and_no_answer_repeats_the_number(api):
    registered(api)
    number = concern()["identity_number"]
    made = api("POST", "/subject-extracts", "caseworker", json={"identity_number": number}, key=key(),
               operation=("/subject-extracts", "POST"))
    assert made.status_code == 201 and number not in made.get_data(as_text=True)
    extract = made.get_json()["id"]
    early = api("GET", f"/subject-extracts/{extract}/pdf", "caseworker",
                operation=("/subject-extracts/{extract_id}/pdf", "GET"))
    assert early.status_code == 409 and early.mimetype == PROBLEM
    assert early.get_json()["type"].endswith("extract-not-decided")
    assert made.get_json()["cases"] == 1  # a count: the requester is not told which cases
    unread = api("POST", f"/subject-extracts/{extract}/decision", "decider", json={"release": True}, key=key())
    assert unread.status_code == 409 and unread.get_json()["type"].endswith("extract-draft-not-read")
    assert api("GET", f"/subject-extracts/{extract}/draft", "intake").status_code == 403  # not the requester
    assert api("GET", f"/subject-extracts/{extract}/draft", "decider").status_code == 200
    own = api("POST", f"/subject-extracts/{extract}/decision", "decider", json={"release": False}, key=key())
    assert own.status_code == 422  # a refusal needs a reason

