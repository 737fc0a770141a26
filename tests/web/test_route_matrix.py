"""Every route, every method, every role and signed out: exactly the expected ones get through.

"Gets through" means the request reached the page: not refused for being signed out (a redirect to
sign-in, or 401), not for the role (403), not for the method (405). What the page then answers (200, a
form error, a 404 for a case this person may not see) is for the page tests; this test holds the door.
A route added without an entry here fails the test, so nobody adds a page without deciding who may use it.
"""

from __future__ import annotations

from cases import ConcernForm, register_concern
from tests.conftest import NOW
from tests.web.conftest import STAFF_ROLES, csrf_token, sign_in

EVERYONE = frozenset({"anonymous", *STAFF_ROLES})
STAFF = frozenset(STAFF_ROLES)
CASE = frozenset({"intake", "caseworker", "decider"})
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# (method, rule) -> who gets through. Public routes include "anonymous".
EXPECTED = {
    ("GET", "/"): EVERYONE,
    ("GET", "/sign-in"): EVERYONE,
    ("POST", "/sign-in"): EVERYONE,
    ("POST", "/language"): EVERYONE,
    ("GET", "/health"): EVERYONE,
    ("GET", "/health/live"): EVERYONE,
    ("GET", "/metrics"): frozenset(),  # a token of an auditor or admin, never a session (tests/web/test_metrics.py)
    ("POST", "/sign-out"): STAFF,
    ("GET", "/cases"): CASE,
    ("GET", "/cases/<ref>"): CASE,
    ("POST", "/cases/<ref>/emergency"): CASE,
    ("GET", "/cases/<ref>/actions/<trigger>"): CASE,
    ("POST", "/cases/<ref>/actions/<trigger>"): CASE,
    ("GET", "/cases/<ref>/consents/new"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/consents/new"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/consents/<consent_id>/withdraw"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/consents/<consent_id>/withdraw"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/feedback/withhold"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/feedback/withhold"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/relatives/new"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/relatives/new"): {"caseworker", "decider"},
    # An intervention's pages: the roles of its lifecycle (intake has no step in it); who may propose and take
    # each step is checked by cases.interventions (tests/web/test_intervention_pages.py).
    ("GET", "/cases/<ref>/interventions/new"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/interventions/new"): {"caseworker", "decider"},
    ("GET", "/interventions/<intervention_id>/steps/<trigger>"): {"caseworker", "decider"},
    ("POST", "/interventions/<intervention_id>/steps/<trigger>"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/assign"): {"intake", "decider"},
    ("POST", "/cases/<ref>/assign"): {"intake", "decider"},
    ("GET", "/cases/<ref>/diagram.svg"): CASE,
    ("GET", "/cases/<ref>/notes/new"): CASE,
    ("POST", "/cases/<ref>/notes/new"): CASE,
    ("GET", "/cases/<ref>/notes/<note_id>/edit"): CASE,
    ("POST", "/cases/<ref>/notes/<note_id>/edit"): CASE,
    ("POST", "/cases/<ref>/notes/<note_id>/sign"): CASE,
    ("POST", "/cases/<ref>/notes/<note_id>/delete"): CASE,
    ("GET", "/cases/<ref>/decisions/<decision_id>/letter.pdf"): CASE,
    ("GET", "/cases/<ref>/decisions/<decision_id>/notifications"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/decisions/<decision_id>/notifications"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/communications/new"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/communications/new"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/communications/<communication_id>/answer"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/communications/<communication_id>/answer"): {"caseworker", "decider"},
    ("GET", "/cases/<ref>/communication-exceptions/new"): {"caseworker", "decider"},
    ("POST", "/cases/<ref>/communication-exceptions/new"): {"caseworker", "decider"},
    ("GET", "/intake/concerns/new"): {"intake"},
    ("POST", "/intake/concerns/new"): {"intake"},
    ("GET", "/cases/<ref>/identity"): CASE,
    ("POST", "/cases/<ref>/identity"): CASE,
    ("GET", "/cases/<ref>/flags/new"): CASE,
    ("POST", "/cases/<ref>/flags/new"): CASE,
    ("GET", "/cases/<ref>/flags/<flag>/clear"): {"decider"},
    ("POST", "/cases/<ref>/flags/<flag>/clear"): {"decider"},
    ("GET", "/concerns/new"): {"reporter"},
    ("POST", "/concerns/new"): {"reporter"},
    ("GET", "/concerns"): {"reporter"},
    ("GET", "/concerns/<ref>"): {"reporter"},
    ("GET", "/referrals"): {"partner"},
    ("GET", "/referrals/<packet_id>"): {"partner"},
    ("GET", "/overview"): {"coordinator"},
    ("GET", "/audit"): {"auditor"},
    ("POST", "/audit/verify"): {"auditor"},
    ("GET", "/audit/transitions"): {"auditor"},
    ("GET", "/audit/access"): {"auditor"},
    ("GET", "/audit/administration"): {"auditor"},
    ("GET", "/audit/emergency"): {"auditor", "decider"},
    ("POST", "/audit/emergency/<int:seq>/reviewed"): {"auditor", "decider"},
    ("POST", "/audit/emergency/requests/<request_id>/decision"): {"decider"},
    ("GET", "/admin/users"): {"admin"},
    ("GET", "/admin/users/new"): {"admin"},
    ("POST", "/admin/users/new"): {"admin"},
    ("POST", "/admin/users/<username>/disable"): {"admin"},
    ("POST", "/admin/users/<username>/enable"): {"admin"},
    ("GET", "/admin/users/<username>/role"): {"admin"},
    ("POST", "/admin/users/<username>/role"): {"admin"},
    ("POST", "/admin/users/<username>/password"): {"admin"},
    ("POST", "/admin/users/<username>/email"): {"admin"},
    ("POST", "/admin/grants/<grant_id>/approve"): {"admin"},
    ("POST", "/admin/grants/<grant_id>/refuse"): {"admin"},
    ("GET", "/notifications"): STAFF,
    ("POST", "/notifications/<notification_id>/read"): STAFF,
    ("POST", "/notifications/read-all"): STAFF,
    ("GET", "/account/tokens"): STAFF,
    ("POST", "/account/tokens"): STAFF,
    ("POST", "/account/tokens/<token_id>/revoke"): STAFF,
    # The JSON API: a browser's session opens none of it (a token does: tests/web/test_api.py), only its
    # description is public.
    ("GET", "/api/v1/openapi.json"): EVERYONE,
    ("POST", "/api/v1/cases"): frozenset(),
    ("GET", "/api/v1/cases"): frozenset(),
    ("GET", "/api/v1/cases/<ref>"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/triggers"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/transitions"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/consents"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/consents/<consent_id>/withdrawal"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/feedback-withholding"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/identity"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/relatives"): frozenset(),
    ("GET", "/api/v1/referrals"): frozenset(),
    ("GET", "/api/v1/referrals/<packet_id>"): frozenset(),
    ("GET", "/api/v1/logs/<log>/checkpoint"): frozenset(),
    ("GET", "/api/v1/logs/<log>/proofs/inclusion"): frozenset(),
    ("GET", "/api/v1/logs/<log>/proofs/consistency"): frozenset(),
    ("GET", "/api/v1/me"): frozenset(),
    ("GET", "/api/v1/tokens"): frozenset(),
    ("DELETE", "/api/v1/tokens/<token_id>"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/journal"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/notes"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/notes/<note_id>/signature"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/decisions"): frozenset(),
    ("GET", "/api/v1/decisions/<decision_id>/letter"): frozenset(),
    ("POST", "/api/v1/decisions/<decision_id>/notifications"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/communications"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/assessments"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/communications"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/communications/<communication_id>/answer"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/communication-exceptions"): frozenset(),
    ("POST", "/api/v1/subject-extracts"): frozenset(),
    ("GET", "/api/v1/subject-extracts/<extract_id>/draft"): frozenset(),
    ("POST", "/api/v1/subject-extracts/<extract_id>/decision"): frozenset(),
    ("GET", "/api/v1/subject-extracts/<extract_id>/pdf"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/flags"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/flags"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/flags/<flag>/clear"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/interventions"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/interventions"): frozenset(),
    ("GET", "/api/v1/interventions/<intervention_id>"): frozenset(),
    ("GET", "/api/v1/interventions/<intervention_id>/triggers"): frozenset(),
    ("POST", "/api/v1/interventions/<intervention_id>/transitions"): frozenset(),
    ("GET", "/api/v1/cases/<ref>/legal-holds"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/legal-holds"): frozenset(),
    ("POST", "/api/v1/cases/<ref>/legal-holds/lift"): frozenset(),
    ("GET", "/api/v1/notifications"): frozenset(),
    ("POST", "/api/v1/notifications/<notification_id>/read"): frozenset(),
}


def _url(rule: str, ref: str) -> str:
    values = {"<ref>": ref, "<trigger>": "no-such-trigger", "<consent_id>": "00000000-0000-0000-0000-000000000000",
              "<packet_id>": "00000000-0000-0000-0000-000000000000", "<int:seq>": "1", "<username>": "nobody-such",
              "<token_id>": "00000000-0000-0000-0000-000000000000", "<log>": "transitions",
              "<request_id>": "00000000-0000-0000-0000-000000000000",
              "<grant_id>": "00000000-0000-0000-0000-000000000000",
              "<note_id>": "00000000-0000-0000-0000-000000000000",
              "<decision_id>": "00000000-0000-0000-0000-000000000000",
              "<intervention_id>": "00000000-0000-0000-0000-000000000000",
              "<communication_id>": "00000000-0000-0000-0000-000000000000", "<flag>": "honour_violence",
              "<notification_id>": "00000000-0000-0000-0000-000000000000"}
    for key, value in values.items():
        rule = rule.replace(key, value)
    return rule


def _got_through(response) -> bool:
    if response.status_code in (401, 403, 405):
        return False
    # The door's own redirect carries where to go back to; a page's redirect to sign-in (the start page
    # when signed out, signing out) does not.
    return not (response.status_code == 302 and "/sign-in?next=" in response.headers.get("Location", ""))


def test_every_route_declares_who_may_use_it(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules() if rule.endpoint != "static"
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert rules == set(EXPECTED), f"undeclared: {sorted(rules - set(EXPECTED))}; gone: {sorted(set(EXPECTED) - rules)}"


def test_exactly_the_expected_roles_get_through_every_route(app, accounts_by_role, db, staff, child_number):
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en elev.", reporter_org="school", identity_number=child_number), now=NOW).ref
    rules = sorted({rule.rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"},
                   key=lambda r: r == "/sign-out")  # signing out last
    clients = {}
    for who in sorted(EVERYONE):
        client = app.test_client()
        if who != "anonymous":
            assert sign_in(client, f"{who}-1").status_code == 302
        clients[who] = (client, csrf_token(client.get("/sign-in")))
    wrong = []
    for rule in rules:
        for method in METHODS:
            for who, (client, token) in clients.items():
                data = {"csrf_token": token} if method != "GET" else None
                response = client.open(_url(rule, ref), method=method, data=data)
                response.close()
                expected = who in EXPECTED.get((method, rule), ())
                if _got_through(response) != expected:
                    wrong.append((method, rule, who, response.status_code))
    assert not wrong, f"{len(wrong)} doors wrong, e.g. {wrong[:15]}"
