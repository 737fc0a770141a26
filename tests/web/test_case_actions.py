"""The case's actions in the browser: steps of the flowchart, consents, assignment and the path picture."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, ConsentForm, add_staff, record_consent, register_concern
from cases.casework.access import assign_case
from cases.models import AccessLogEntry, Assignment, Case, Consent, TransitionLogEntry
from tests.web.conftest import csrf_token

SVG = "{http://www.w3.org/2000/svg}"


def register(db, staff, number: str) -> str:
    """A concern received just now (the web pages decide on the real clock)."""
    form = ConcernForm(concern="Eleven har slutat komma till skolan.", reporter_org="school", identity_number=number)
    return register_concern(db, staff["reporter"], form, now=datetime.now(UTC) - timedelta(minutes=5)).ref


def case_row(db, ref: str) -> tuple[str, int, int, int]:
    """What a refused form must leave unchanged: state, version, log length, consents."""
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        return (case.state, case.version, s.scalar(select(func.count()).select_from(TransitionLogEntry)),
                s.scalar(select(func.count()).select_from(Consent)))


def version_of(page) -> str:
    found = re.search(r'name="version" value="(\d+)"', page.get_data(as_text=True))
    assert found, "the form carries no case version"
    return found.group(1)


def submit(client, url: str, data: dict, *, page_url: str | None = None):
    """Open the form, then send it as a browser would: with its CSRF token and the case version it showed."""
    page = client.get(page_url or url)
    assert page.status_code == 200, page.status_code
    return client.post(url, data={"csrf_token": csrf_token(page), "version": version_of(page), **data})


def any_token(client) -> str:
    return csrf_token(client.get("/cases"))


def text(response) -> str:
    return response.get_data(as_text=True)


def same_page(html: str, ref: str) -> str:
    """A page as it would be for any case: its ref and the (time-stamped) CSRF tokens taken out."""
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html).replace(ref, "REF")


def as_english(client):
    """Switch a browser to English, so that the tests read the interface's own words and the chart's labels."""
    client.post("/language", data={"csrf_token": any_token(client), "lang": "en", "next": "/cases"})
    return client


def consent(db, actor, ref, given_by: str, purpose: str = "sig", recipients=("social_services", "police")):
    today = date.today()
    record_consent(db, actor, ref, ConsentForm(
        given_by=given_by, purposes=(purpose,), recipients=tuple(recipients),
        data_categories=("identity", "concern", "assessment"), method="written", evidence="Blankett i akten.",
        valid_from=today - timedelta(days=1), valid_until=today + timedelta(days=365)))


@pytest.mark.usefixtures("flowchart_v2")
def test_a_child_case_goes_through_every_action_page(client_as, db, staff, child_number):
    ref = register(db, staff, child_number)
    intake, decider, caseworker = (as_english(client_as(role)) for role in ("intake", "decider", "caseworker"))
    base = f"/cases/{ref}/actions"

    form = intake.get(f"{base}/assess_protection")
    assert form.status_code == 200 and "Only for a child" in text(form)
    done = submit(intake, f"{base}/assess_protection", {})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/cases/{ref}")
    assert case_row(db, ref)[0] == "protection_assessment"
    assert "Done: Start protection assessment" in text(intake.get(f"/cases/{ref}"))

    page = intake.get(f"{base}/start_pre_assessment")
    assert 'name="protection_assessment"' in text(page) and "What this step means" in text(page)
    assert 'name="child_view"' in text(page)  # the structured assessment (web.hearing)
    refused = submit(intake, f"{base}/start_pre_assessment", {"protection_assessment": "Ingen akut fara."})
    assert refused.status_code == 400 and "the child's own view" in text(refused)
    assert submit(intake, f"{base}/start_pre_assessment",
                  {"protection_assessment": "Ingen akut fara.", "assessed": "Hemmet och skolan.",
                   "assessment_decision": "no_protection_needed", "child_view": "Känner sig trygg."}
                  ).status_code == 303

    page = decider.get(f"{base}/open_investigation")
    legal_bases = re.search(r'name="legal_basis".*?</select>', text(page), re.S)
    assert legal_bases and re.findall(r'<option value="(\w+)"', legal_bases.group()) == ["sol_11_1"]  # the choices
    assert submit(decider, f"{base}/open_investigation",
                  {"reason": "Behov av utredning.", "legal_basis": "sol_11_1", "assessed": "Oron och behoven.",
                   "not_heard_reason": "not_reached"}).status_code == 303
    assert case_row(db, ref)[0] == "investigation"

    assert caseworker.get(f"{base}/request_consent").status_code == 404  # not assigned yet
    assign_page = decider.get(f"/cases/{ref}/assign")
    assert "Test caseworker" in text(assign_page)
    assigned = decider.post(f"/cases/{ref}/assign", data={"csrf_token": csrf_token(assign_page),
                                                        "caseworker": staff["caseworker"].id})
    assert assigned.status_code == 303

    assert submit(caseworker, f"{base}/request_consent", {"proposed_intervention": "sig"}).status_code == 303
    refused = caseworker.get(f"{base}/refer_sig")
    assert refused.status_code == 422
    assert "No active consent from “The person concerned” for “Social intervention group”" in text(refused)
    assert 'name="recipients"' not in text(refused)

    for given_by in ("subject", "guardians"):
        recorded = submit(caseworker, f"/cases/{ref}/consents/new", {
            "status": "given", "given_by": given_by, "purposes": ["sig"], "recipients": ["social_services", "police"],
            "data_categories": ["identity", "concern", "assessment"], "method": "written",
            "evidence": "Underskriven blankett i akten.", "valid_from": date.today().isoformat()})
        assert recorded.status_code == 303, text(recorded)[:2000]
    page = caseworker.get(f"{base}/refer_sig")
    assert page.status_code == 200 and "15–25" in text(page)  # the SIG age warning (the child is 14)
    uncovered = submit(caseworker, f"{base}/refer_sig", {"recipients": ["police", "school"]})
    assert uncovered.status_code == 422 and "does not cover: School" in text(uncovered)
    assert 'value="school" checked' in text(uncovered) and case_row(db, ref)[0] == "awaiting_consent"
    done = submit(caseworker, f"{base}/refer_sig", {"recipients": ["police"]})
    assert done.status_code == 303 and case_row(db, ref)[0] == "sig"
    assert "Note: SIG is meant for ages 15–25" in text(caseworker.get(f"/cases/{ref}"))  # flashed after the step

    with db.read() as s:
        subject = s.scalars(select(Consent.id).where(Consent.given_by == "subject")).one()
    withdraw = f"/cases/{ref}/consents/{subject}/withdraw"
    assert "Social intervention group" in text(caseworker.get(withdraw))
    done = submit(caseworker, withdraw, {"reason": "Personen ringde och återkallade samtycket."})
    assert done.status_code == 303 and case_row(db, ref)[0] == "follow_up"
    assert caseworker.get(withdraw).status_code == 404  # no longer in force


def test_a_form_error_keeps_the_input_and_saves_nothing(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = client_as("intake")
    assert submit(intake, f"/cases/{ref}/actions/start_pre_assessment", {}).status_code == 303
    decider = client_as("decider")
    consent(db, staff["decider"], ref, "subject", "investigation", ("social_services",))
    before = case_row(db, ref)
    response = submit(decider, f"/cases/{ref}/actions/open_investigation", {"reason": "Tydligt behov <b>nu</b>."})
    html = text(response)
    assert response.status_code == 400
    assert "Tydligt behov &lt;b&gt;nu&lt;/b&gt;." in html  # kept, and escaped
    assert 'href="#field-legal_basis"' in html and 'id="error-legal_basis"' in html
    assert 'aria-invalid="true"' in html
    assert case_row(db, ref) == before


def test_a_refusal_on_sending_explains_and_saves_nothing(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    assert submit(client_as("intake"), f"/cases/{ref}/actions/start_pre_assessment", {}).status_code == 303
    decider = as_english(client_as("decider"))
    form = decider.get(f"/cases/{ref}/actions/open_investigation")
    assert form.status_code == 422  # an adult's investigation needs their consent
    before = case_row(db, ref)
    response = decider.post(f"/cases/{ref}/actions/open_investigation", data={
        "csrf_token": any_token(decider), "version": str(before[1]), "reason": "Behov.", "legal_basis": "sol_11_1"})
    assert response.status_code == 422
    assert "No active consent from “The person concerned” for “Investigation”" in text(response)
    assert "Behov." in text(response)  # the form is kept
    assert case_row(db, ref) == before


def test_a_case_changed_in_between_is_refused_as_stale(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = as_english(client_as("intake"))
    page = intake.get(f"/cases/{ref}/actions/start_pre_assessment")
    assign_case(db, staff["decider"], ref, staff["caseworker"].id)
    consent(db, staff["caseworker"], ref, "subject", "investigation", ("social_services",))  # a new version
    before = case_row(db, ref)
    response = intake.post(f"/cases/{ref}/actions/start_pre_assessment",
                           data={"csrf_token": csrf_token(page), "version": version_of(page)})
    assert response.status_code == 409
    assert "Test caseworker changed this case since you opened this form" in text(response)
    assert "Reload the form" in text(response)
    assert '<button type="submit">' not in text(response)
    assert case_row(db, ref) == before
    again = submit(intake, f"/cases/{ref}/actions/start_pre_assessment", {})
    assert again.status_code == 303


def test_a_step_taken_in_another_tab_meanwhile_is_stale_not_refused(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = as_english(client_as("intake"))
    first, second = (intake.get(f"/cases/{ref}/actions/start_pre_assessment") for _ in range(2))
    assert intake.post(f"/cases/{ref}/actions/start_pre_assessment", data={
        "csrf_token": csrf_token(first), "version": version_of(first)}).status_code == 303
    before = case_row(db, ref)
    again = intake.post(f"/cases/{ref}/actions/start_pre_assessment", data={
        "csrf_token": csrf_token(second), "version": version_of(second)})
    assert again.status_code == 409 and "You changed this case yourself" in text(again)
    assert case_row(db, ref) == before


def test_a_consent_form_changed_in_between_is_stale_too(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    decider = as_english(client_as("decider"))
    page = decider.get(f"/cases/{ref}/consents/new")
    consent(db, staff["decider"], ref, "subject", "investigation", ("social_services",))
    before = case_row(db, ref)
    response = decider.post(f"/cases/{ref}/consents/new", data={
        "csrf_token": csrf_token(page), "version": version_of(page), "status": "given", "given_by": "subject",
        "purposes": ["sig"], "recipients": ["police"], "data_categories": ["identity"], "method": "oral",
        "evidence": "Samtal.", "valid_from": date.today().isoformat()})
    assert response.status_code == 409 and "You changed this case yourself" in text(response)
    assert case_row(db, ref) == before


def test_a_form_without_its_csrf_token_or_case_version_is_refused(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = client_as("intake")
    version = version_of(intake.get(f"/cases/{ref}/actions/start_pre_assessment"))
    before = case_row(db, ref)
    assert intake.post(f"/cases/{ref}/actions/start_pre_assessment", data={"version": version}).status_code == 400
    decider = client_as("decider")
    assert decider.post(f"/cases/{ref}/assign", data={"caseworker": staff["caseworker"].id}).status_code == 400
    assert decider.post(f"/cases/{ref}/consents/new", data={"version": version}).status_code == 400
    response = intake.post(f"/cases/{ref}/actions/start_pre_assessment", data={"csrf_token": any_token(intake)})
    assert response.status_code == 400  # never applied without the version the form showed
    assert case_row(db, ref) == before


def test_wrong_roles_are_refused(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = as_english(client_as("intake"))
    refused = intake.get(f"/cases/{ref}/actions/close_without_investigation")
    assert refused.status_code == 422  # not from this state
    submit(intake, f"/cases/{ref}/actions/start_pre_assessment", {})
    refused = intake.get(f"/cases/{ref}/actions/open_investigation")
    assert refused.status_code == 403 and "Your role (intake officer) may not take this step" in text(refused)
    assert "It is for: decision maker." in text(refused)
    assert 'name="reason"' not in text(refused)
    before = case_row(db, ref)
    sent = intake.post(f"/cases/{ref}/actions/open_investigation", data={
        "csrf_token": any_token(intake), "version": str(before[1]), "reason": "x", "legal_basis": "sol_11_1"})
    assert sent.status_code == 403 and case_row(db, ref) == before
    assert intake.get(f"/cases/{ref}/consents/new").status_code == 403
    assert client_as("caseworker").get(f"/cases/{ref}/assign").status_code == 403
    reporter = client_as("reporter")
    for url in (f"/cases/{ref}/actions/open_investigation", f"/cases/{ref}/diagram.svg", f"/cases/{ref}/assign"):
        assert reporter.get(url).status_code == 403
    assert intake.get(f"/cases/{ref}/actions/no_such_step").status_code == 404


def test_a_caseworker_acts_only_on_assigned_cases(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    caseworker = client_as("caseworker")
    token = any_token(caseworker)
    urls = [f"/cases/{ref}/actions/start_pre_assessment", f"/cases/{ref}/consents/new", f"/cases/{ref}/diagram.svg"]
    for url in urls:
        real, made_up = caseworker.get(url), caseworker.get(url.replace(ref, "VO-NOTACASE"))
        assert real.status_code == made_up.status_code == 404
        assert same_page(text(real), ref) == same_page(text(made_up), "VO-NOTACASE")
    before = case_row(db, ref)
    for url in urls[:2]:
        assert caseworker.post(url, data={"csrf_token": token, "version": "1"}).status_code == 404
    assert case_row(db, ref) == before
    assign_case(db, staff["decider"], ref, staff["caseworker"].id)
    assert caseworker.get(f"/cases/{ref}/consents/new").status_code == 200
    # intake works on cases in intake only: once the case is under investigation, its pages are gone for them
    intake = client_as("intake")
    assert intake.get(f"/cases/{ref}/assign").status_code == 200


def test_consent_form_errors_are_shown_by_their_fields(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    decider = client_as("decider")
    before = case_row(db, ref)
    empty = submit(decider, f"/cases/{ref}/consents/new", {"status": "given", "valid_from": "26/11/2026",
                                                           "evidence": "Muntligt <i>samtal</i>."})
    html = text(empty)
    assert empty.status_code == 400
    for name in ("given_by", "purposes", "recipients", "data_categories", "method", "valid_from"):
        assert f'id="error-{name}"' in html, name
    assert "Muntligt &lt;i&gt;samtal&lt;/i&gt;." in html
    backwards = submit(decider, f"/cases/{ref}/consents/new", {
        "status": "refused", "given_by": "subject", "purposes": ["sig"], "recipients": ["police"],
        "data_categories": ["identity"], "method": "oral", "evidence": "Samtal.",
        "valid_from": "2026-12-01", "valid_until": "2026-11-01"})
    assert backwards.status_code == 400 and 'id="error-valid_until"' in text(backwards)
    assert 'value="police" checked' in text(backwards)
    assert case_row(db, ref) == before


def test_withdrawing_needs_a_reason_and_a_consent_in_force(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    consent(db, staff["decider"], ref, "subject", "investigation", ("social_services",))
    with db.read() as s:
        consent_id = s.scalars(select(Consent.id)).one()
    decider = client_as("decider")
    before = case_row(db, ref)
    response = submit(decider, f"/cases/{ref}/consents/{consent_id}/withdraw", {"reason": "  "})
    assert response.status_code == 400 and 'id="error-reason"' in text(response)
    assert case_row(db, ref) == before
    assert decider.get(f"/cases/{ref}/consents/not-a-consent/withdraw").status_code == 404
    done = submit(decider, f"/cases/{ref}/consents/{consent_id}/withdraw", {"reason": "Återkallat per telefon."})
    assert done.status_code == 303 and case_row(db, ref)[3] == 1
    with db.read() as s:
        assert s.scalars(select(Consent.status)).one() == "withdrawn"


def test_assigning_offers_active_caseworkers_and_refuses_others(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = client_as("intake")
    page = intake.get(f"/cases/{ref}/assign")
    assert page.status_code == 200 and "Test caseworker" in text(page) and "Test decider" not in text(page)
    wrong = intake.post(f"/cases/{ref}/assign", data={"csrf_token": csrf_token(page),
                                                      "caseworker": staff["decider"].id})
    assert wrong.status_code == 400 and 'id="error-caseworker"' in text(wrong)
    assert intake.get("/cases/VO-NOTACASE/assign").status_code == 404
    done = intake.post(f"/cases/{ref}/assign", data={"csrf_token": csrf_token(page),
                                                     "caseworker": staff["caseworker"].id})
    assert done.status_code == 303
    after = text(intake.get(f"/cases/{ref}/assign"))
    # The page is in Swedish, the default.
    assert "Ingen handläggare är tilldelad" not in after and "ingen annan aktiv handläggare" in after


def test_the_path_picture_marks_the_case_and_is_no_logged_read(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    intake = client_as("intake")
    submit(intake, f"/cases/{ref}/actions/start_pre_assessment", {})
    with db.read() as s:
        reads = s.scalar(select(func.count()).select_from(AccessLogEntry))
    for lang in ("sv", "en"):
        response = intake.get(f"/cases/{ref}/diagram.svg?lang={lang}")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        svg = text(response)
        assert "<script" not in svg.lower() and "onload" not in svg.lower()
        root = ET.fromstring(svg)  # noqa: S314 - our own output
        assert root.get("lang") == lang
        current = root.find(f".//{SVG}g[@id='vd-state-pre_assessment']")
        visited = root.find(f".//{SVG}g[@id='vd-state-registered']")
        assert current.get("class") == "state current" and visited.get("class") == "state visited"
        assert root.find(f".//{SVG}g[@id='vd-state-investigation']").get("class") == "state"
        assert ("● Nu" if lang == "sv" else "● Now") in " ".join(t.strip() for t in current.itertext())
        times = [t for t in current.iter(f"{SVG}text") if t.get("font-style") == "italic"]
        assert len(times) == 1 and "".join(times[0].itertext()).strip()  # the time spent, in words
        assert lang == "sv" or "".join(times[0].itertext()).startswith("Time: ")
        assert ref in root.find(f"{SVG}title").text
        assert ("Tid i varje tillstånd" if lang == "sv" else "Time in each state") in root.find(f"{SVG}desc").text
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(AccessLogEntry)) == reads


def test_reassigning_on_the_page_ends_the_former_caseworkers_access(client_as, db, staff, adult_number):
    ref = register(db, staff, adult_number)
    former = client_as("caseworker")
    intake = client_as("intake")
    page = intake.get(f"/cases/{ref}/assign")
    assert 'name="replace"' not in text(page)  # nobody to replace yet
    assert intake.post(f"/cases/{ref}/assign", data={"csrf_token": csrf_token(page),
                                                     "caseworker": staff["caseworker"].id}).status_code == 303
    assert former.get(f"/cases/{ref}").status_code == 200
    other = add_staff(db, "caseworker-2", "Second caseworker", "caseworker")
    page = intake.get(f"/cases/{ref}/assign")
    assert 'name="replace"' in text(page) and "Byt handläggare" in text(page)
    done = intake.post(f"/cases/{ref}/assign", data={"csrf_token": csrf_token(page), "caseworker": other.id,
                                                     "replace": "yes"})
    assert done.status_code == 303
    with db.read() as s:
        open_ones = s.scalars(select(Assignment.staff_id).join(Case, Case.id == Assignment.case_id).where(
            Case.ref == ref, Assignment.ended_at.is_(None))).all()
    assert open_ones == [other.id]
    assert former.get(f"/cases/{ref}").status_code == 404  # as if the case were not there
    assert ref not in text(former.get("/cases"))


def test_the_decision_not_to_give_feedback_is_taken_on_its_page_and_the_reporter_sees_received(
        client_as, db, staff, child_number):
    """A decider records, with a reason, that feedback would be inappropriate; the reporter then sees only
    "received" (law.toml sol_feedback, in words; osl_26_9a)."""
    from cases.casework.feedback import RECEIVED, concern_receipt
    ref = register(db, staff, child_number)
    decider = as_english(client_as("decider"))
    case_page = text(decider.get(f"/cases/{ref}"))
    assert f"/cases/{ref}/feedback/withhold" in case_page
    page = decider.get(f"/cases/{ref}/feedback/withhold")
    assert page.status_code == 200
    assert "bestämmelsen om återkoppling till anmälaren" in text(page)  # the rule, cited in words
    assert "26 kap. 9 a §" in text(page)
    before = case_row(db, ref)
    refused = submit(decider, f"/cases/{ref}/feedback/withhold", {"reason": "   "})
    assert refused.status_code == 400 and 'id="error-reason"' in text(refused)
    assert "Say why feedback would be inappropriate" in text(refused)
    assert case_row(db, ref) == before
    done = submit(decider, f"/cases/{ref}/feedback/withhold", {"reason": "Återkoppling kan skada barnet."})
    assert done.status_code == 303
    assert case_row(db, ref)[2] == before[2] + 1  # one entry in the log
    assert concern_receipt(db, staff["reporter"], ref).category == RECEIVED
    after = decider.get(f"/cases/{ref}")  # the case page (a logged read) shows the decision in its journal
    assert after.status_code == 200 and "Återkoppling kan skada barnet." in text(after)
    swedish = client_as("caseworker")
    assign_case(db, staff["decider"], ref, staff["caseworker"].id)
    assert "Besluta att inte lämna återkoppling till anmälaren" in text(swedish.get(f"/cases/{ref}/feedback/withhold"))
    assert client_as("intake").get(f"/cases/{ref}/feedback/withhold").status_code == 403


def test_a_decision_about_a_person_aged_18_to_20_shows_the_flag_in_words(client_as, db, staff, adult_number):
    """The 18–20 flag is shown on the decision's form, in words (policies/rules.toml; law.toml sol_child_age)."""
    from cases import fire_trigger
    ref = register(db, staff, adult_number)  # 19 today
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {})
    consent(db, staff["decider"], ref, "subject", "investigation", ("social_services",))
    decider = as_english(client_as("decider"))
    page = text(decider.get(f"/cases/{ref}/actions/open_investigation"))
    assert "the person is 18–20" in page and "young_adult" not in page
    swedish = text(client_as("decider").get(f"/cases/{ref}/actions/open_investigation"))
    assert "personen är 18–20 år" in swedish


@pytest.mark.usefixtures("flowchart_v2")
def test_a_childs_intervention_without_the_guardians_consent_is_refused_in_words(client_as, db, staff,
                                                                                 child_number):
    """The refusal names the intervention by its label and the rule in words (law.toml sol_child_consent)."""
    from cases import fire_trigger
    from workflow.hearing import Assessment
    ref = register(db, staff, child_number)
    fire_trigger(db, staff["intake"], ref, "assess_protection", {})
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {"protection_assessment": "Ingen akut fara."},
                 assessment=Assessment("Hemmet och skolan.", "no_protection_needed", child_view="Vill ha stöd."))
    fire_trigger(db, staff["decider"], ref, "open_investigation", {"reason": "Behov.", "legal_basis": "sol_11_1"},
                 assessment=Assessment("Oron och behoven.", not_heard_reason="not_reached"))
    assign_case(db, staff["decider"], ref, staff["caseworker"].id)
    fire_trigger(db, staff["caseworker"], ref, "request_consent", {"proposed_intervention": "other_support"})
    page = text(as_english(client_as("caseworker")).get(f"/cases/{ref}/actions/start_other_support"))
    assert "The person is under 18: “Other support” needs the guardians&#39; consent" in page
    assert "For a person under 18 on the day of the decision, the guardians must consent" in page
    assert "bestämmelserna om vårdnadshavares samtycke till insatser för barn" in page
    assert "other_support" not in page.split("<main", 1)[1].replace('actions/start_other_support', '')
    case_page = text(as_english(client_as("caseworker")).get(f"/cases/{ref}"))  # the case page says it alike
    assert "The person is under 18: “Other support” needs the guardians&#39; consent" in case_page
