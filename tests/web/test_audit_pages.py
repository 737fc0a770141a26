"""The auditor's pages on both databases: the verification status and running it, the two logs with their
filters and pages, and the review of emergency accesses (also by decision makers, never of one's own)."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from cases import ConcernForm, register_concern
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.read_volume import MIN_FLAGGED_READS
from cases.audit.signing import LogSigner
from cases.casework.access import assign_case, read_case
from cases.crypto.identity import generate_identity_number
from cases.models import Case
from cases.staff.members import set_role
from tests.conftest import NOW
from tests.web.conftest import csrf_token, post_form, sign_in
from web.audit import LAST_VERIFICATION

CONCERN = "Eleven har börjat sprida våldsbejakande material i skolans chatt."
GIVEN, FAMILY = "Torvald", "Brännström-Ek"
REASON = "Hot mot personal i receptionen just nu"


def register(db, staff, number: int = 0, *, at=NOW):
    return register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="school", given_name=GIVEN, family_name=FAMILY,
        identity_number=generate_identity_number(date(2010, 3, 1 + number), 200 + number)), now=at).ref


@pytest.fixture
def signer(keys) -> LogSigner:
    return LogSigner.create(keys.folder, "test.example/vidoro")


@pytest.fixture
def logged(db, staff):
    """Two cases a day apart; the first read in an emergency by the caseworker, the second by the decider."""
    refs = [register(db, staff, 0), register(db, staff, 1, at=NOW + timedelta(days=1))]
    read_case(db, staff["caseworker"], refs[0], emergency_reason=REASON, now=NOW + timedelta(days=1))
    read_case(db, staff["decider"], refs[1], now=NOW + timedelta(days=2))
    return refs


def text(response) -> str:
    return response.get_data(as_text=True)


def rows(response) -> list[str]:
    """The numbers (first column) of the table's body rows, in order."""
    body = text(response).split("<tbody>", 1)[1] if "<tbody>" in text(response) else ""
    return re.findall(r'<tr><th scope="row">(\d+)</th>', body)


def in_english(client):
    client.post("/language", data={"lang": "en", "csrf_token": csrf_token(client.get("/sign-in"))})
    return client


def assert_no_case_content(html: str) -> None:
    for secret in (CONCERN, GIVEN, FAMILY, REASON):
        assert secret not in html


# --- verification ---------------------------------------------------------------------------------------------


def test_the_overview_before_any_verification(client_as, signer):
    page = in_english(client_as("auditor")).get("/audit")
    assert page.status_code == 200
    assert "No verification has been run" in text(page)
    assert signer.verifier_key in text(page)
    assert text(page).count("<h1>") == 1


def test_verifying_now_keeps_the_result_and_shows_what_was_checked(client_as, app, db, staff, signer, logged):
    issue_checkpoint(db, signer, "transitions")
    client = client_as("auditor")
    response = post_form(client, "/audit/verify", {}, page="/audit")
    assert response.status_code == 303 and response.headers["Location"].endswith("/audit")
    kept = Path(app.instance_path) / LAST_VERIFICATION
    summary = json.loads(kept.read_text())
    assert summary["ok"] and summary["verifier_key"] == signer.verifier_key
    assert_no_case_content(kept.read_text())
    assert oct(kept.stat().st_mode & 0o777) == "0o600"
    page = text(in_english(client).get("/audit"))
    assert "Passed:" in page and "2 case states checked" in page
    transitions = re.search(r'<th scope="row">Transition log</th><td>(\d+)</td><td>(\d+)</td>\s*<td>(\d+)</td>', page)
    assert transitions.groups() == ("2", "3", "1")  # entries, tree nodes, stored checkpoints checked
    checkpoint = next(c for c in summary["logs"] if c["name"] == "transitions")
    assert page.count(checkpoint["root"]) == 2  # what was checked, and the latest checkpoint
    assert "test.example/vidoro/transitions" in page


def test_a_finding_is_shown_with_its_meaning_in_the_visitors_language(client_as, db, staff, signer, logged):
    with db.write() as session:
        session.execute(update(Case).where(Case.ref == logged[1]).values(state="closed"))
    client = client_as("auditor")
    post_form(client, "/audit/verify", {}, page="/audit")
    swedish = text(client.get("/audit"))
    assert "ett ärendes status har ändrats utanför arbetsflödet" in swedish and logged[1] in swedish
    english = text(in_english(client).get("/audit"))
    assert "Failed:" in english and "a case&#39;s state was changed outside the workflow" in english


def test_verifying_without_a_signing_key_says_what_to_do(client_as, app, logged):
    client = client_as("auditor")
    page = client.get("/audit")
    assert page.status_code == 200 and "vidoro init" in text(page)
    response = client.post("/audit/verify", data={"csrf_token": csrf_token(page)})
    assert response.status_code == 303
    assert "vidoro init" in text(client.get("/audit"))
    assert not (Path(app.instance_path) / LAST_VERIFICATION).exists()


def test_verifying_needs_the_form_token_and_the_auditor_role(client_as, app, signer):
    auditor = client_as("auditor")
    assert auditor.post("/audit/verify").status_code == 400
    caseworker = client_as("caseworker")
    assert caseworker.get("/audit").status_code == 403
    assert post_form(caseworker, "/audit/verify", {}, page="/cases").status_code == 403
    assert not (Path(app.instance_path) / LAST_VERIFICATION).exists()


# --- the logs -------------------------------------------------------------------------------------------------


def test_the_transition_log_filtered_and_without_case_content(client_as, logged):
    client = client_as("auditor")
    everything = client.get("/audit/transitions")
    assert everything.status_code == 200 and rows(everything) == ["2", "1"]
    assert "reporter-1" in text(everything) and logged[0] in text(everything)
    assert_no_case_content(text(everything))
    for query, expected in [(f"case_ref={logged[0]}", ["1"]), ("actor=reporter-1", ["2", "1"]),
                            ("actor=intake-1", []), ("kind=register", ["2", "1"]), ("kind=close_case", []),
                            ("from=2026-11-27", ["2"]), ("to=2026-11-26", ["1"]),
                            ("from=2026-11-26&to=2026-11-26", ["1"])]:
        response = client.get(f"/audit/transitions?{query}")
        assert (query, response.status_code, rows(response)) == (query, 200, expected)


def test_the_access_log_filtered(client_as, logged):
    client = client_as("auditor")
    everything = client.get("/audit/access")
    assert rows(everything) == ["2", "1"] and "caseworker-1" in text(everything)
    assert "persons.identity_number" in text(everything)
    assert_no_case_content(text(everything))
    assert rows(client.get("/audit/access?actor=caseworker-1")) == ["1"]
    assert rows(client.get("/audit/access?kind=read&case_ref=" + logged[1].lower())) == ["2"]
    assert rows(client.get("/audit/access?kind=disclose")) == []


BAD_FILTERS = [
    ("/audit/transitions", "from=2026-13-01", "from"),
    ("/audit/transitions", "from=yesterday", "from"),
    ("/audit/access", "from=2026-11-27&to=2026-11-26", "to"),
    ("/audit/transitions", "actor=nobody-here", "actor"),
    ("/audit/transitions", "kind=read", "kind"),
    ("/audit/access", "kind=register", "kind"),
    ("/audit/access", "case_ref=%3Cscript%3E", "case_ref"),
]


def test_bad_filters_are_shown_next_to_their_fields(client_as, logged):
    client = client_as("auditor")
    for path, query, field in BAD_FILTERS:
        response = client.get(f"{path}?{query}")
        assert (query, response.status_code) == (query, 400)
        assert f'id="error-{field}"' in text(response) and f'href="#field-{field}"' in text(response), query
        assert rows(response) == []
        assert "<script>" not in text(response)


def test_the_access_log_in_pages_of_fifty(client_as, db, staff, logged):
    for minute in range(50):
        read_case(db, staff["decider"], logged[0], now=NOW + timedelta(days=3, minutes=minute))
    client = client_as("auditor")
    first = client.get("/audit/access")
    assert rows(first) == [str(n) for n in range(52, 2, -1)]
    older = re.search(r'href="([^"]+page=2[^"]*)"', text(first)).group(1)
    assert rows(client.get(older.replace("&amp;", "&"))) == ["2", "1"]
    filtered = client.get("/audit/access?actor=decider-1&page=2")
    assert rows(filtered) == ["2"] and "actor=decider-1" in text(filtered)  # the pager keeps the filter
    assert rows(client.get("/audit/access?page=nonsense")) == rows(first)


def test_other_roles_are_refused(client_as):
    for role in ("admin", "caseworker", "partner", "decider"):
        client = client_as(role)
        for path in ("/audit", "/audit/transitions", "/audit/access") + (("/audit/emergency",) * (role != "decider")):
            assert (role, path, client.get(path).status_code) == (role, path, 403)


# --- emergency access review ------------------------------------------------------------------------------------


def test_a_decider_reviews_someone_elses_emergency_access(client_as, logged):
    client = client_as("decider")
    page = client.get("/audit/emergency")
    assert page.status_code == 200 and rows(page) == ["1"] and "caseworker-1" in text(page)
    assert_no_case_content(text(page).replace(REASON, ""))  # the reason is shown for the review, nothing else
    response = post_form(client, "/audit/emergency/1/reviewed", {"verdict": "justified"}, page="/audit/emergency")
    assert response.status_code == 303
    after = client.get("/audit/emergency")
    assert rows(after) == [] and "1" in text(after)
    assert rows(client_as("auditor").get("/audit/emergency?all=1")) == ["1"]
    again = post_form(client, "/audit/emergency/1/reviewed", {"verdict": "justified"}, page="/audit/emergency")
    assert again.status_code == 409


def test_nobody_reviews_their_own_emergency_access(app, client_as, db, logged):
    set_role(db, "caseworker-1", "decider", by=None)  # the caseworker who opened case 1 is promoted
    client = app.test_client()
    assert sign_in(client, "caseworker-1").status_code == 302
    page = in_english(client).get("/audit/emergency")
    assert rows(page) == ["1"] and "Record the verdict on no. 1" not in text(page) and "Your own" in text(page)
    refused = post_form(client, "/audit/emergency/1/reviewed", {"verdict": "justified"}, page="/audit/emergency")
    assert refused.status_code == 403
    assert 'role="alert"' in text(refused) and "cannot review it" in text(refused) and rows(refused) == ["1"]
    assert rows(client_as("auditor").get("/audit/emergency")) == ["1"]  # still waiting for review


def test_reviewing_needs_the_role_the_token_and_a_real_access(client_as, logged):
    auditor = client_as("auditor")
    assert auditor.post("/audit/emergency/1/reviewed").status_code == 400  # no CSRF token
    assert post_form(auditor, "/audit/emergency/999/reviewed", {"verdict": "justified"},
                     page="/audit/emergency").status_code == 404
    intake = client_as("intake")
    assert post_form(intake, "/audit/emergency/1/reviewed", {"verdict": "justified"}, page="/cases").status_code == 403
    assert rows(auditor.get("/audit/emergency")) == ["1"]


# --- issue 15: reasons, verdicts and approvals ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_the_review_page_shows_the_reason_and_what_was_read(client_as, logged, lang):
    client = client_as("auditor")
    if lang == "en":
        in_english(client)
    page = client.get("/audit/emergency")
    html = text(page)
    assert page.status_code == 200 and rows(page) == ["1"]
    assert REASON in html and "persons.identity_number" in html and "cases.concern" in html
    assert logged[0] in html and "caseworker-1" in html
    assert_no_case_content(html.replace(REASON, ""))
    assert ("Verdict on no. 1" if lang == "en" else "Bedömning av nr 1") in html


def test_a_verdict_is_recorded_and_not_justified_shows_as_such(client_as, logged):
    client = in_english(client_as("decider"))
    missing = post_form(client, "/audit/emergency/1/reviewed", {"verdict": "not_justified"}, page="/audit/emergency")
    assert missing.status_code == 400 and "say why it was not justified" in text(missing)
    comment = "Ingen akut situation, handläggaren fanns på plats."
    done = post_form(client, "/audit/emergency/1/reviewed", {"verdict": "not_justified", "comment": comment},
                     page="/audit/emergency")
    assert done.status_code == 303
    auditor = in_english(client_as("auditor"))
    shown = text(auditor.get("/audit/emergency?all=1"))
    assert "not justified" in shown and comment in shown and "by decider-1" in shown
    kept = text(auditor.get("/audit/emergency"))  # no longer waiting for review, yet kept in view
    assert "Found not justified" in kept and "found not justified by decider-1" in kept and comment in kept


def test_the_third_opening_waits_for_another_deciders_approval(app, client_as, db, staff):
    refs = [register(db, staff, n) for n in range(3)]
    caseworker = in_english(client_as("caseworker"))
    short = post_form(caseworker, f"/cases/{refs[0]}/emergency", {"reason": "x"}, page=f"/cases/{refs[0]}")
    assert short.status_code == 400 and "at least 5 words and 30 characters" in text(short)
    nowhere = post_form(caseworker, "/cases/VO-00000000/emergency", {"reason": "x"}, page="/cases/VO-00000000")
    assert nowhere.status_code == 400 and "at least 5 words and 30 characters" in text(nowhere)  # alike
    for ref in refs[:2]:
        assert post_form(caseworker, f"/cases/{ref}/emergency", {"reason": REASON}, page=f"/cases/{ref}").status_code \
            == 200
    waiting = post_form(caseworker, f"/cases/{refs[2]}/emergency", {"reason": REASON}, page=f"/cases/{refs[2]}")
    assert waiting.status_code == 403 and "An approval was requested" in text(waiting)
    assert CONCERN not in text(waiting) and GIVEN not in text(waiting)

    decider = in_english(client_as("decider"))
    page = text(decider.get("/audit/emergency"))
    assert "1 request waits for approval" in page and 'role="alert"' in page and refs[2] in page and REASON in page
    request_id = re.search(r'/audit/emergency/requests/([0-9a-f-]+)/decision', page).group(1)
    auditor = client_as("auditor")
    assert "1 request" in text(in_english(auditor).get("/audit/emergency"))  # the auditor sees it too ...
    assert post_form(auditor, f"/audit/emergency/requests/{request_id}/decision", {"decision": "approve"},
                     page="/audit/emergency").status_code == 403  # ... but decision makers decide
    set_role(db, "caseworker-1", "decider", by=None)  # the requester, promoted, still cannot approve their own
    own = app.test_client()
    assert sign_in(own, "caseworker-1").status_code == 302
    assert "Your own: someone else must decide it." in text(in_english(own).get("/audit/emergency"))
    assert post_form(own, f"/audit/emergency/requests/{request_id}/decision", {"decision": "approve"},
                     page="/audit/emergency").status_code == 403
    set_role(db, "caseworker-1", "caseworker", by=None)
    approved = post_form(decider, f"/audit/emergency/requests/{request_id}/decision", {"decision": "approve"},
                         page="/audit/emergency")
    assert approved.status_code == 303
    caseworker = in_english(client_as("caseworker"))
    opened = post_form(caseworker, f"/cases/{refs[2]}/emergency", {"reason": REASON}, page=f"/cases/{refs[2]}")
    assert opened.status_code == 200 and CONCERN in text(opened)
    assert "approved by decider-1" in text(decider.get("/audit/emergency"))


def test_the_overview_flags_an_account_that_reads_more_than_its_work_explains(client_as, db, staff, signer):
    ref = register(db, staff, 7)
    for _ in range(3):  # intake's ordinary work: no flag
        read_case(db, staff["intake"], ref)
    auditor = client_as("auditor")
    calm = auditor.get("/audit").get_data(as_text=True)
    assert "Ovanligt många läsningar" in calm and "Inget konto har läst mer" in calm
    assign_case(db, staff["intake"], ref, staff["caseworker"].id)
    for _ in range(MIN_FLAGGED_READS + 1):  # a caseworker with one case, reading it over and over
        read_case(db, staff["caseworker"], ref)
    flagged = auditor.get("/audit").get_data(as_text=True)
    assert staff["caseworker"].id in flagged and "Test caseworker" in flagged
    assert "hens öppna tilldelningar: 1" in flagged
    assert f"<td>{MIN_FLAGGED_READS + 1}</td>" in flagged and staff["intake"].id not in flagged
    auditor.post("/language", data={"lang": "en", "csrf_token": csrf_token(auditor.get("/audit"))})
    english = auditor.get("/audit").get_data(as_text=True)
    assert "Unusually many reads" in english and "their open assignments: 1" in english
    assert_no_case_content(english)
    assert ref not in english  # who and how many, never which case


def test_the_administration_log_names_who_changed_which_account(client_as, db, staff):
    set_role(db, "caseworker-1", "auditor", by=staff["admin"], now=NOW)
    client = client_as("auditor")
    page = client.get("/audit/administration")
    assert page.status_code == 200
    shown = rows(page)
    assert shown[0] == str(len(staff) + 1) and shown[-1] == "1"  # each account's creation, then the change
    newest = text(page).split('<th scope="row">')[1]
    assert "admin-1" in newest and "caseworker-1" in newest and "Roll ändrad" in newest
    assert "driftansvarig vid servern" in text(page)  # the accounts were made by the operator
    assert "Test caseworker" not in text(page)
    english = client_as("auditor")
    english.post("/language", data={"lang": "en", "csrf_token": csrf_token(english.get("/audit"))})
    assert "the operator at the server" in text(english.get("/audit/administration"))
