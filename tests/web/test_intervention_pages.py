"""Interventions in the browser (issue 18): the case page's section, proposing one, each step's page with its
refusals in words, several running at once, the consent withdrawal page naming what it ends, and a case of
version 2 shown as it was after the default moved on to version 3."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from cases import ConcernForm, register_concern
from cases.crypto.identity import generate_identity_number
from cases.interventions import interventions_of
from cases.models import Case, Consent
from cases.reports.demo import PATHS, drive
from tests.cases.route_v2 import PATHS as V2_PATHS
from tests.cases.route_v2 import drive as drive_v2
from tests.web.test_case_actions import as_english, consent, submit, text

SIG_RECIPIENTS = ("social_services", "police", "school")


def case_in(db, staff, state: str, *, paths=PATHS, walk=drive, age: int | None = None) -> str:
    """A case taken to `state` by the real operations; its caseworker is caseworker-1."""
    child, steps = paths[state]
    start = datetime.now(UTC) - timedelta(days=sum(s.days_later for s in steps) + 10)
    years = age or (15 if child else 20)
    born = start.date() - timedelta(days=365 * years + 30)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Eleven har slutat komma till skolan.", reporter_org="school",
        identity_number=generate_identity_number(born, 23)), now=start).ref
    walk(db, staff, ref, steps, start)
    return ref


def section(html: str) -> str:
    return html.split('id="h-interventions"', 1)[1].split("</section>", 1)[0]


def test_a_caseworker_proposes_and_the_decider_grants_in_words(client_as, db, staff):
    ref = case_in(db, staff, "investigation")
    caseworker, decider = as_english(client_as("caseworker")), as_english(client_as("decider"))
    page = text(caseworker.get(f"/cases/{ref}"))
    assert "No interventions proposed." in section(page)
    assert f"/cases/{ref}/interventions/new" in page
    form = caseworker.get(f"/cases/{ref}/interventions/new")
    assert form.status_code == 200
    assert "Social intervention group" in text(form) and "Exit support" in text(form)
    missing = submit(caseworker, f"/cases/{ref}/interventions/new", {"kind": "", "goal": ""})
    assert missing.status_code == 400 and "Choose the kind of intervention." in text(missing)
    done = submit(caseworker, f"/cases/{ref}/interventions/new",
                  {"kind": "sig", "goal": "Tillbaka till skolan.", "recipients": ["police", "school"]})
    assert done.status_code == 303, text(done)[:2000]
    (sig,) = interventions_of(db, staff["caseworker"], ref)
    assert (sig.kind, sig.state, set(sig.recipients)) == ("sig", "proposed", {"police", "school"})
    listed = section(text(caseworker.get(f"/cases/{ref}")))
    assert "Social intervention group" in listed and "Proposed" in listed
    assert "Withdraw the proposal" in listed  # the caseworker's own step
    assert "Grant the intervention" in listed and "Your role (caseworker) may not take this step" in listed
    own = caseworker.get(f"/interventions/{sig.id}/steps/decide")
    assert own.status_code == 403 and "may not take this step" in text(own)
    granted = submit(decider, f"/interventions/{sig.id}/steps/decide", {"reason": "Behov av stöd."})
    assert granted.status_code == 303, text(granted)[:2000]
    assert interventions_of(db, staff["caseworker"], ref)[0].state == "decided"
    page = text(caseworker.get(f"/cases/{ref}"))
    assert "Intervention proposed" in page and "Intervention granted" in page  # the timeline, in words
    path = page.split('id="h-path"', 1)[1].split("</ol>", 1)[0]
    assert path.count("<li>") == 3  # registered, pre-assessment, investigation: the case did not move


def test_starting_needs_the_consent_and_two_run_at_once(client_as, db, staff):
    ref = case_in(db, staff, "investigation")
    caseworker, decider = as_english(client_as("caseworker")), as_english(client_as("decider"))
    for kind in ("sig", "exit_support"):
        assert submit(caseworker, f"/cases/{ref}/interventions/new", {"kind": kind, "goal": "Stöd."}).status_code == 303
    ids = {v.kind: v.id for v in interventions_of(db, staff["caseworker"], ref)}
    for kind in ids:
        assert submit(decider, f"/interventions/{ids[kind]}/steps/decide", {"reason": "Behov."}).status_code == 303
    refused = caseworker.get(f"/interventions/{ids['sig']}/steps/start")
    assert refused.status_code == 422
    assert "No active consent from “The person concerned” for “Social intervention group”" in text(refused)
    consent(db, staff["caseworker"], ref, "subject", "sig", SIG_RECIPIENTS)
    consent(db, staff["caseworker"], ref, "subject", "exit_support", ("exit_service",))
    form = caseworker.get(f"/interventions/{ids['sig']}/steps/start")
    assert form.status_code == 200 and "the case moves to “Interventions running”" in text(form)
    started = submit(caseworker, f"/interventions/{ids['sig']}/steps/start", {})
    assert started.status_code == 303
    submit(caseworker, f"/interventions/{ids['exit_support']}/steps/start", {})
    page = text(caseworker.get(f"/cases/{ref}"))
    assert "State: <strong>Interventions running</strong>" in page
    assert "2 interventions running." in section(page)
    assert "An intervention starts" not in page.split('id="h-actions"', 1)[-1].split("</section>", 1)[0]
    ending = caseworker.get(f"/interventions/{ids['sig']}/steps/end")
    assert ending.status_code == 200 and "Reason the intervention ends" in text(ending)
    bad = submit(caseworker, f"/interventions/{ids['sig']}/steps/end", {"end_reason": "", "reason": ""})
    assert bad.status_code == 400 and "Choose one." in text(bad)
    ended = submit(caseworker, f"/interventions/{ids['sig']}/steps/end",
                   {"end_reason": "completed", "reason": "Målen nådda."})
    assert ended.status_code == 303
    listed = section(text(caseworker.get(f"/cases/{ref}")))
    assert "Ended: Completed" in listed and "1 intervention running." in listed
    picture = caseworker.get(f"/cases/{ref}/diagram.svg?lang=en")
    assert picture.status_code == 200
    svg = text(picture)
    assert 'class="interventions"' in svg and "Exit support: Running" in svg
    assert "Social intervention group: Ended" in svg


def test_the_withdrawal_page_names_the_interventions_it_ends(client_as, db, staff):
    ref = case_in(db, staff, "interventions", age=17)  # the demo's route: SIG and exit support at once
    caseworker = as_english(client_as("caseworker"))
    with db.read() as session:
        case_id = session.scalars(select(Case.id).where(Case.ref == ref)).one()
        exit_consents = [c.id for c in session.scalars(select(Consent).where(Consent.case_id == case_id))
                         if "exit_support" in c.purposes]
    page = caseworker.get(f"/cases/{ref}/consents/{exit_consents[0]}/withdraw")
    assert page.status_code == 200
    effect = text(page).split('id="h-ending"', 1)[1].split("</section>", 1)[0]
    assert "Exit support (Running)" in effect and "Social intervention group" not in effect
    done = submit(caseworker, f"/cases/{ref}/consents/{exit_consents[0]}/withdraw", {"reason": "Vårdnadshavarna."})
    assert done.status_code == 303
    states = {v.kind: (v.state, v.end_reason) for v in interventions_of(db, staff["caseworker"], ref)}
    assert states == {"sig": ("running", None), "exit_support": ("ended", "consent_withdrawn")}
    listed = section(text(caseworker.get(f"/cases/{ref}")))
    assert "Ended: Consent withdrawn" in listed


def test_no_ground_is_404_and_an_automatic_step_has_no_page(client_as, db, staff):
    ref = case_in(db, staff, "investigation")
    caseworker, intake = client_as("caseworker"), client_as("intake")
    assert submit(caseworker, f"/cases/{ref}/interventions/new", {"kind": "sig", "goal": "Stöd."}).status_code == 303
    (sig,) = interventions_of(db, staff["caseworker"], ref)
    # intake has no step in an intervention's lifecycle: the door refuses it, for every case alike
    assert intake.get(f"/interventions/{sig.id}/steps/decide").status_code == 403
    assert intake.get(f"/cases/{ref}/interventions/new").status_code == 403
    unassigned = case_in(db, staff, "registered")  # caseworker-1 has no ground on it: as if it were not there
    assert caseworker.get(f"/cases/{unassigned}/interventions/new").status_code == 404
    assert caseworker.get("/cases/VO-NOTACASE/interventions/new").status_code == 404
    assert caseworker.get("/interventions/00000000-0000-0000-0000-000000000000/steps/decide").status_code == 404
    assert caseworker.get(f"/interventions/{sig.id}/steps/consent_ended").status_code == 404
    assert caseworker.get(f"/interventions/{sig.id}/steps/nothing").status_code == 404


def test_a_stale_form_saves_nothing(client_as, db, staff):
    ref = case_in(db, staff, "investigation")
    caseworker, decider = client_as("caseworker"), client_as("decider")
    submit(caseworker, f"/cases/{ref}/interventions/new", {"kind": "sig", "goal": "Stöd."})
    (sig,) = interventions_of(db, staff["caseworker"], ref)
    opened = caseworker.get(f"/interventions/{sig.id}/steps/withdraw_proposal")
    assert submit(decider, f"/interventions/{sig.id}/steps/decide", {"reason": "Behov."}).status_code == 303
    from tests.web.conftest import csrf_token

    late = caseworker.post(f"/interventions/{sig.id}/steps/withdraw_proposal",
                           data={"csrf_token": csrf_token(opened), "version": str(sig.version), "reason": "Nej."})
    assert late.status_code == 409
    assert interventions_of(db, staff["caseworker"], ref)[0].state == "decided"


def test_a_case_of_version_2_is_shown_as_it_was(client_as, db, staff, flowchart_v2, monkeypatch):
    ref = case_in(db, staff, "sig", paths=V2_PATHS, walk=drive_v2)  # started on version 2
    monkeypatch.delenv("VIDORO_FLOWCHART")  # the default moves on to version 3
    caseworker = as_english(client_as("caseworker"))
    page = text(caseworker.get(f"/cases/{ref}"))
    assert "State: <strong>Social intervention group</strong>" in page
    assert 'id="h-interventions"' not in page  # its interventions are states of the case
    assert "Start follow-up" in page  # version 2's own step, offered from its own flowchart
    path = page.split('id="h-path"', 1)[1].split("</ol>", 1)[0]
    assert "Awaiting consent" in path and "Social intervention group" in path
    svg = text(caseworker.get(f"/cases/{ref}/diagram.svg?lang=en"))
    assert 'id="vd-state-sig"' in svg and 'class="interventions"' not in svg
    assert caseworker.get(f"/cases/{ref}/interventions/new").status_code == 404


def test_a_withdrawal_that_leaves_it_covered_names_nothing_and_ends_nothing(client_as, db, staff):
    ref = case_in(db, staff, "interventions", age=17)
    with db.read() as session:
        case_id = session.scalars(select(Case.id).where(Case.ref == ref)).one()
        first = next(c.id for c in session.scalars(select(Consent).where(Consent.case_id == case_id))
                     if c.given_by == "guardians" and "exit_support" in c.purposes)
    consent(db, staff["caseworker"], ref, "guardians", "exit_support", ("exit_service",))  # a second one, as wide
    caseworker = as_english(client_as("caseworker"))
    page = caseworker.get(f"/cases/{ref}/consents/{first}/withdraw")
    assert page.status_code == 200 and 'id="h-ending"' not in text(page)
    assert submit(caseworker, f"/cases/{ref}/consents/{first}/withdraw", {"reason": "Ersatt."}).status_code == 303
    states = {v.kind: v.state for v in interventions_of(db, staff["caseworker"], ref)}
    assert states == {"sig": "running", "exit_support": "running"}  # the page told the truth
