"""The outline of a case on both databases: refused without a ground, no logged read, path and last change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, ConsentForm, NotPermitted, fire_trigger, record_consent, register_concern
from cases import withdraw_consent as withdraw
from cases.casework.access import AccessDenied, assign_case, read_case
from cases.casework.outline import assignees, case_outline
from cases.errors import CaseNotFound
from cases.models import AccessLogEntry, Case
from cases.staff.members import add_staff, disable_staff
from tests.conftest import NOW


def register(db, staff, number) -> str:
    form = ConcernForm(concern="Oro för en vuxen.", reporter_org="school", identity_number=number)
    return register_concern(db, staff["reporter"], form, now=NOW).ref


def consent(db, actor, ref, now):
    record_consent(db, actor, ref, ConsentForm(
        given_by="subject", purposes=("investigation",), recipients=("social_services",),
        data_categories=("identity", "concern"), method="written", evidence="Blankett.", valid_from=now.date()),
        now=now)


def reads(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AccessLogEntry))


def test_the_outline_gives_path_consents_and_last_change_without_a_logged_read(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    later = NOW + timedelta(days=1)
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=later)
    consent(db, staff["decider"], ref, later + timedelta(hours=2))
    before = reads(db)
    outline = case_outline(db, staff["decider"], ref, now=later + timedelta(hours=3))
    assert reads(db) == before  # nothing personal was opened, so nothing is logged
    with db.read() as s:
        stored = s.scalars(select(Case.version).where(Case.ref == ref)).one()
    assert (outline.state, outline.version) == ("pre_assessment", stored)
    assert [(s.state, s.entered, s.left) for s in outline.stays] == [
        ("registered", NOW, later), ("pre_assessment", later, None)]
    assert [(c.given_by, c.purposes, c.status) for c in outline.consents] == [("subject", ("investigation",), "given")]
    assert outline.last_change.by_name == "Test decider" and outline.options == ()
    options = case_outline(db, staff["decider"], ref, options=True, now=later + timedelta(hours=3)).options
    assert {o.trigger: o.allowed for o in options} == {"open_investigation": True,
                                                        "close_without_investigation": True}


def test_the_last_change_names_whoever_moved_the_case_last(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    assert case_outline(db, staff["decider"], ref).last_change.by_name == "Test reporter"
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW + timedelta(hours=1))
    assert case_outline(db, staff["decider"], ref).last_change.by_name == "Test intake"
    consent(db, staff["decider"], ref, NOW + timedelta(hours=2))
    consent_id = case_outline(db, staff["decider"], ref).consents[0].id
    withdraw(db, staff["decider"], ref, consent_id, "Återkallat.", now=NOW + timedelta(hours=3))
    change = case_outline(db, staff["decider"], ref).last_change
    assert change.at == NOW + timedelta(hours=3) and change.by_name is None  # a withdrawal does not say who


@pytest.mark.parametrize("role", ["caseworker", "reporter", "coordinator", "partner", "auditor", "admin"])
def test_the_outline_is_refused_without_a_ground(db, staff, adult_number, role):
    ref = register(db, staff, adult_number)
    with pytest.raises((AccessDenied, NotPermitted)):
        case_outline(db, staff[role], ref)
    with pytest.raises(CaseNotFound):
        case_outline(db, staff["decider"], "VO-NOTACASE")


def test_emergency_access_is_no_ground_for_the_outline(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    read_case(db, staff["caseworker"], ref, emergency_reason="Akut: personen hörde av sig och hotade personal.")
    with pytest.raises(AccessDenied):
        case_outline(db, staff["caseworker"], ref)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id)
    assert case_outline(db, staff["caseworker"], ref).ref == ref


def test_intake_loses_the_outline_once_the_case_leaves_intake(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW)
    consent(db, staff["decider"], ref, NOW)
    assert case_outline(db, staff["intake"], ref).state == "pre_assessment"
    fire_trigger(db, staff["decider"], ref, "open_investigation", {"reason": "Behov.", "legal_basis": "sol_11_1"},
                 now=NOW)
    with pytest.raises(AccessDenied):
        case_outline(db, staff["intake"], ref)
    with pytest.raises(AccessDenied):
        assignees(db, staff["intake"], ref)


def test_assignees_lists_active_caseworkers_for_those_who_assign(db, staff, adult_number):
    ref = register(db, staff, adult_number)
    other = add_staff(db, "caseworker-2", "Annan handläggare", "caseworker")
    add_staff(db, "caseworker-3", "Avstängd handläggare", "caseworker")
    disable_staff(db, "caseworker-3", by=None)
    assign_case(db, staff["decider"], ref, other.id)
    found = assignees(db, staff["intake"], ref)
    assert found.current == ((other.id, "Annan handläggare"),)
    assert found.available == ((other.id, "Annan handläggare"), (staff["caseworker"].id, "Test caseworker"))
    for role in ("caseworker", "reporter"):
        with pytest.raises(NotPermitted):
            assignees(db, staff[role], ref)
    with pytest.raises(CaseNotFound):
        assignees(db, staff["decider"], "VO-NOTACASE")
