"""Flags in the browser (without a browser): the case page's section with the routine, the routine on the
decision pages, setting and clearing through the forms, the work list's marker; reporters and partners never
see a flag, and roles that may not set or clear one are refused (policies/flags.toml; cases.flags)."""

from __future__ import annotations

import re

import pytest

from cases import ConcernForm, register_concern
from cases.flags import set_flag
from cases.reports.demo import PATHS, drive
from tests.conftest import NOW
from tests.web.conftest import csrf_token, post_form

REASON = "Eleven berättar om hot från familjen inför en resa."
HONOUR_SV, HONOUR_EN = "Hedersrelaterat våld och förtryck", "Honour-related violence and oppression"
ROUTINE_SV = "Träffa personen ensam"
ROUTINE_EN = "Meet the person alone"


@pytest.fixture
def ref(db, staff, child_number):
    return register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro för en elev.", reporter_org="school", identity_number=child_number), now=NOW).ref


def version_on(client, page: str) -> str:
    """The case version the form at `page` was opened on."""
    return re.search(r'name="version" value="(\d+)"', client.get(page).get_data(as_text=True)).group(1)


def flag(client, ref: str, code: str = "honour_violence", reason: str = REASON):
    page = f"/cases/{ref}/flags/new"
    return post_form(client, page, {"flag": code, "reason": reason, "version": version_on(client, page)})


def test_intake_flags_the_case_and_the_case_page_shows_it_with_the_routine(client_as, ref):
    intake = client_as("intake")
    form = intake.get(f"/cases/{ref}/flags/new").get_data(as_text=True)
    assert HONOUR_SV in form and "Våld i nära relationer" in form and ROUTINE_SV in form
    answer = flag(intake, ref)
    assert answer.status_code == 303 and answer.headers["Location"].endswith(f"/cases/{ref}#h-flags")
    page = intake.get(f"/cases/{ref}").get_data(as_text=True)
    assert HONOUR_SV in page and REASON in page and ROUTINE_SV in page
    assert "Ta bort flaggan" not in page  # intake may set, not clear
    decider = client_as("decider")
    decider.post("/language", data={"lang": "en", "csrf_token": csrf_token(decider.get(f"/cases/{ref}"))})
    shown = decider.get(f"/cases/{ref}").get_data(as_text=True)
    assert HONOUR_EN in shown and ROUTINE_EN in shown and f"/cases/{ref}/flags/honour_violence/clear" in shown


def test_a_decision_page_shows_the_routine_and_the_warning_naming_the_flag(client_as, db, staff, ref):
    set_flag(db, staff["intake"], ref, "honour_violence", REASON, now=NOW)
    decider = client_as("decider")
    intake = client_as("intake")
    page = intake.get(f"/cases/{ref}/actions/assess_protection").get_data(as_text=True)
    assert HONOUR_SV in page and ROUTINE_SV in page and REASON not in page  # routine, not the reason
    drive(db, staff, ref, PATHS["closed"][1][:2], NOW)  # to the pre-assessment: the decision is the decider's
    decision = decider.get(f"/cases/{ref}/actions/open_investigation").get_data(as_text=True)
    assert "Ärendet är flaggat: följ rutinen" in decision and ROUTINE_SV in decision
    assert "Varning:" in decision and "Följ rutinen för flaggan före detta steg" in decision


def test_the_decider_clears_the_flag_and_the_section_keeps_it_as_cleared(client_as, db, staff, ref):
    set_flag(db, staff["intake"], ref, "honour_violence", REASON, now=NOW)
    decider = client_as("decider")
    page = f"/cases/{ref}/flags/honour_violence/clear"
    assert HONOUR_SV in decider.get(page).get_data(as_text=True)
    version = version_on(decider, page)
    assert post_form(decider, page, {"reason": "", "version": version}).status_code == 400
    answer = post_form(decider, page, {"reason": "Riskbedömningen visar ingen hedersproblematik.", "version": version})
    assert answer.status_code == 303
    shown = decider.get(f"/cases/{ref}").get_data(as_text=True)
    assert "Borttagna flaggor" in shown and "Inga flaggor" in shown
    assert decider.get(page).status_code == 404  # nothing left to clear


def test_a_stale_form_saves_nothing(client_as, db, staff, ref):
    intake = client_as("intake")
    page = f"/cases/{ref}/flags/new"
    token, version = csrf_token(intake.get(page)), version_on(intake, page)
    set_flag(db, staff["decider"], ref, "close_relationship_violence", REASON, now=NOW)
    answer = intake.post(page, data={"flag": "honour_violence", "reason": REASON, "version": version,
                                     "csrf_token": token})
    assert answer.status_code == 409
    assert HONOUR_SV not in intake.get(f"/cases/{ref}").get_data(as_text=True).split('id="h-flags"')[1][:400]


@pytest.mark.parametrize("role", ["reporter", "partner", "coordinator", "auditor", "admin"])
def test_roles_without_a_ground_neither_see_nor_set_flags(client_as, db, staff, ref, role):
    set_flag(db, staff["intake"], ref, "honour_violence", REASON, now=NOW)
    client = client_as(role)
    assert client.get(f"/cases/{ref}/flags/new").status_code in (403, 404)
    assert client.get(f"/cases/{ref}/flags/honour_violence/clear").status_code in (403, 404)
    for page in ("/", "/cases", f"/cases/{ref}", "/concerns", "/referrals"):
        text = client.get(page).get_data(as_text=True)
        assert HONOUR_SV not in text and REASON not in text and "flaggad" not in text


def test_intake_may_not_clear_a_flag(client_as, db, staff, ref):
    set_flag(db, staff["intake"], ref, "honour_violence", REASON, now=NOW)
    assert client_as("intake").get(f"/cases/{ref}/flags/honour_violence/clear").status_code == 403


def test_the_work_list_marks_a_flagged_case_in_words(client_as, db, staff, ref):
    decider = client_as("decider")
    assert "flaggad" not in decider.get("/cases").get_data(as_text=True)
    set_flag(db, staff["intake"], ref, "close_relationship_violence", REASON, now=NOW)
    listing = decider.get("/cases").get_data(as_text=True)
    assert "flaggad" in listing and "Våld i nära relationer" not in listing and REASON not in listing


def test_the_consent_form_shows_the_guardians_warning_on_a_childs_case(client_as, db, staff, ref):
    decider = client_as("decider")
    assert "vårdnadshavarna eller be om deras samtycke" not in decider.get(
        f"/cases/{ref}/consents/new").get_data(as_text=True)
    set_flag(db, staff["intake"], ref, "honour_violence", REASON, now=NOW)
    page = decider.get(f"/cases/{ref}/consents/new").get_data(as_text=True)
    assert "vårdnadshavarna eller be om deras samtycke kan utsätta barnet för fara" in page and ROUTINE_SV in page


def test_an_interventions_step_pages_show_the_routine_and_the_flags_warnings(client_as, db, staff, ref):
    """Version 3: proposing, deciding and starting an intervention show the routine before the form; deciding
    and starting warn naming the flag, starting on a child's case also that informing the guardians may put
    the child at risk (flags.toml)."""
    from cases.casework.access import assign_case
    from cases.interventions import InterventionForm, fire_intervention, propose_intervention
    from tests.cases.intervention_helpers import consent

    last = drive(db, staff, ref, PATHS["closed"][1][:3], NOW)  # a child's case in investigation
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=last)
    caseworker, decider = client_as("caseworker"), client_as("decider")
    assert ROUTINE_SV not in caseworker.get(f"/cases/{ref}/interventions/new").get_data(as_text=True)
    set_flag(db, staff["caseworker"], ref, "honour_violence", REASON, now=last)
    proposing = caseworker.get(f"/cases/{ref}/interventions/new").get_data(as_text=True)
    assert "Ärendet är flaggat: följ rutinen" in proposing and ROUTINE_SV in proposing and REASON not in proposing
    proposed = propose_intervention(db, staff["caseworker"], ref, InterventionForm("other_support", "Stöd."),
                                    now=last)
    deciding = decider.get(f"/interventions/{proposed.id}/steps/decide").get_data(as_text=True)
    assert ROUTINE_SV in deciding and "Följ rutinen för flaggan före detta steg" in deciding
    assert deciding.index(ROUTINE_SV) < deciding.index(f'action="/interventions/{proposed.id}/steps/decide"')
    fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."}, now=last)
    consent(db, staff, ref, "other_support", last, given_by="guardians")
    starting = caseworker.get(f"/interventions/{proposed.id}/steps/start").get_data(as_text=True)
    assert ROUTINE_SV in starting and "Följ rutinen för flaggan före detta steg" in starting
    assert "vårdnadshavarna eller be om deras samtycke kan utsätta barnet för fara" in starting
