"""Flags on a case on both databases: set and cleared by the roles flags.toml names, read only with a ground,
version-checked, each a transition-log entry beside the steps with codes and no text, and the engine's warnings
at the steps a flag affects (policies/flags.toml; workflow.flags)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, fire_trigger, register_concern
from cases.audit.auditing import BESIDE_THE_STEPS
from cases.audit.verify import verify
from cases.casework.access import assign_case
from cases.casework.outline import case_outline
from cases.errors import AccessDenied, InvalidConcern, NotPermitted, StaleCase
from cases.flags import REASON_FIELD, case_flags, clear_flag, consent_warnings, flags_on_case, set_flag
from cases.interventions import InterventionForm, fire_intervention, intervention_options, propose_intervention
from cases.models import AccessLogEntry, Case, CaseEvent, CaseFlag, TransitionLogEntry
from cases.reports.demo import PATHS, drive
from policies.flags import FLAG_CLEARED, FLAG_SET
from tests.cases.intervention_helpers import consent
from tests.conftest import NOW
from workflow.fields import MAX_TEXT

MARKER = "Markörtext-F18 hot från familjen"  # must never reach a log, an event or an exception
GIVEN, FAMILY = "Fia", "Flaggsson-Öst"
HONOUR, CLOSE = "honour_violence", "close_relationship_violence"
NEVER = ("reporter", "coordinator", "partner", "auditor", "admin")
OPEN = PATHS["closed"][1][2]  # the decision to open a child's investigation, with its assessment


def open_investigation(db, staff, ref, now):
    return fire_trigger(db, staff["decider"], ref, OPEN.trigger, OPEN.payload, now=now, assessment=OPEN.assessment)


@pytest.fixture
def ref(db, staff, child_number):
    """A child's case at the pre-assessment, registered and moved on through the real operations."""
    concern = ConcernForm(concern="Oro för en elev.", reporter_org="school", identity_number=child_number,
                          given_name=GIVEN, family_name=FAMILY)
    ref = register_concern(db, staff["reporter"], concern, now=NOW).ref
    drive(db, staff, ref, PATHS["closed"][1][:2], NOW)
    return ref


def version(db, ref) -> int:
    with db.read() as session:
        return session.scalars(select(Case.version).where(Case.ref == ref)).one()


def entries(db, ref) -> list[dict]:
    with db.read() as session:
        rows = session.scalars(select(TransitionLogEntry.entry).where(TransitionLogEntry.case_ref == ref)
                               .order_by(TransitionLogEntry.seq))
        return [json.loads(bytes(e)) for e in rows]


def test_set_and_clear_are_entries_beside_the_steps_with_codes_and_no_text(db, staff, ref, caplog):
    caplog.set_level(logging.DEBUG)
    before = version(db, ref)
    done = set_flag(db, staff["intake"], ref, HONOUR, MARKER, expected_version=before, now=NOW)
    assert done.version > before and done.state == "pre_assessment"
    cleared = clear_flag(db, staff["decider"], ref, HONOUR, MARKER + " bedömt", expected_version=done.version,
                         now=NOW + timedelta(hours=1))
    assert cleared.version > done.version and cleared.seq > done.seq
    logged = entries(db, ref)[-2:]
    assert [(e["trigger"], e["codes"], e["from"], e["to"]) for e in logged] == [
        (FLAG_SET, {"flag": HONOUR}, "pre_assessment", "pre_assessment"),
        (FLAG_CLEARED, {"flag": HONOUR}, "pre_assessment", "pre_assessment")]
    assert {FLAG_SET, FLAG_CLEARED} <= set(BESIDE_THE_STEPS)
    with db.read() as session:
        raw = b"".join(bytes(e) for e in session.scalars(select(TransitionLogEntry.entry)))
        events = b"".join(bytes(e) for e in session.scalars(select(CaseEvent.payload)))
        row = session.scalars(select(CaseFlag)).one()
    for secret in (MARKER, GIVEN, FAMILY):
        assert secret.encode() not in raw and secret.encode() not in events
        assert secret not in caplog.text
    assert MARKER.encode() not in bytes(row.reason)  # sealed
    assert (row.set_seq, row.clear_seq) == (done.seq, cleared.seq)
    assert verify(db, "unused").ok


def test_the_outline_keeps_the_flag_entries_off_the_cases_path(db, staff, ref):
    """Setting or clearing a flag is no move on the case's path, nor a new stay in its state."""
    stays = case_outline(db, staff["intake"], ref).stays
    set_flag(db, staff["intake"], ref, CLOSE, MARKER, now=NOW + timedelta(hours=1))
    clear_flag(db, staff["decider"], ref, CLOSE, "Ingen grund.", now=NOW + timedelta(hours=2))
    assert case_outline(db, staff["intake"], ref).stays == stays


def test_a_flag_makes_the_decision_warn_and_the_entry_name_it(db, staff, ref):
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    fired = open_investigation(db, staff, ref, NOW + timedelta(days=1))
    assert [w.code for w in fired.warnings] == ["flagged"]
    last = entries(db, ref)[-1]
    assert last["trigger"] == "open_investigation" and last["codes"]["flags"] == [HONOUR]
    assert "flagged" in last["codes"]["warnings"]


def test_a_cleared_flag_warns_no_more(db, staff, ref):
    set_flag(db, staff["intake"], ref, CLOSE, MARKER, now=NOW)
    clear_flag(db, staff["decider"], ref, CLOSE, "Utrett: ingen grund.", now=NOW)
    fired = open_investigation(db, staff, ref, NOW + timedelta(days=1))
    assert fired.warnings == () and "flags" not in entries(db, ref)[-1]["codes"]


@pytest.mark.parametrize("role", [*NEVER, "caseworker"])
def test_only_the_roles_flags_toml_names_set_a_flag(db, staff, ref, role):
    """Deny by default; a caseworker may set one, but only on a case assigned to them."""
    before = version(db, ref)
    with pytest.raises(NotPermitted if role in NEVER else AccessDenied):
        set_flag(db, staff[role], ref, HONOUR, MARKER, now=NOW)
    assert version(db, ref) == before


@pytest.mark.parametrize("role", [*NEVER, "intake", "caseworker"])
def test_only_the_decision_maker_clears_a_flag(db, staff, ref, role):
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=NOW)
    with pytest.raises(NotPermitted):
        clear_flag(db, staff[role], ref, HONOUR, "Ingen grund.", now=NOW)
    with db.read() as session:
        assert session.scalars(select(CaseFlag.cleared_at)).one() is None


def test_an_assigned_caseworker_sets_a_flag(db, staff, ref):
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=NOW)
    assert set_flag(db, staff["caseworker"], ref, CLOSE, MARKER, now=NOW).flag == CLOSE


@pytest.mark.parametrize("role", NEVER)
def test_reporters_and_partners_never_read_a_flag(db, staff, ref, role):
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    with pytest.raises(NotPermitted):
        case_flags(db, staff[role], ref, now=NOW)


def test_a_caseworker_without_the_case_does_not_read_its_flags(db, staff, ref):
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    with pytest.raises(AccessDenied):
        case_flags(db, staff["caseworker"], ref, now=NOW)


def test_reading_the_reasons_is_in_the_access_log(db, staff, ref):
    done = set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    clear_flag(db, staff["decider"], ref, HONOUR, "Bedömt: ingen fara.", now=NOW)
    set_flag(db, staff["decider"], ref, HONOUR, "Ny uppgift om hot.", now=NOW + timedelta(hours=2))
    with db.read() as session:
        before = session.scalars(select(AccessLogEntry.seq)).all()
    flags = case_flags(db, staff["decider"], ref, now=NOW + timedelta(hours=3))
    assert [(i.flag, i.active) for i in flags.items] == [(HONOUR, True), (HONOUR, False)]
    assert flags.active[0].reason == "Ny uppgift om hot."
    assert (flags.items[1].reason, flags.items[1].clear_reason) == (MARKER, "Bedömt: ingen fara.")
    assert flags.items[1].set_by == staff["intake"].id and flags.version == version(db, ref)
    assert MARKER not in repr(flags)
    with db.read() as session:
        new = session.scalars(select(AccessLogEntry.entry).where(AccessLogEntry.seq.not_in(before))).all()
        ids = set(session.scalars(select(CaseFlag.id)))
    assert len(new) == 1
    logged = json.loads(bytes(new[0]))
    assert logged["fields"] == [REASON_FIELD] and set(logged["codes"]["flags"]) == ids
    assert logged["ground"] == "role" and MARKER.encode() not in bytes(new[0])
    assert done.seq > 0


def test_a_stale_version_is_refused(db, staff, ref):
    seen = version(db, ref)
    set_flag(db, staff["intake"], ref, CLOSE, MARKER, expected_version=seen, now=NOW)
    with pytest.raises(StaleCase):
        set_flag(db, staff["intake"], ref, HONOUR, MARKER, expected_version=seen, now=NOW)
    with pytest.raises(StaleCase):
        clear_flag(db, staff["decider"], ref, CLOSE, "Ingen grund.", expected_version=seen, now=NOW)
    with db.read() as session:
        assert session.scalars(select(CaseFlag.flag)).all() == [CLOSE]


@pytest.mark.parametrize(("flag", "reason"), [
    ("forced_marriage", MARKER),  # not a flag of flags.toml
    (HONOUR, "   "),  # no reason
    (HONOUR, "x" * (MAX_TEXT + 1)),
])
def test_a_bad_form_is_refused_without_personal_data(db, staff, ref, flag, reason):
    with pytest.raises(InvalidConcern) as caught:
        set_flag(db, staff["intake"], ref, flag, reason, now=NOW)
    assert MARKER not in str(caught.value) and MARKER not in caught.value.text("sv")


def test_a_flag_is_set_once_and_cleared_only_when_set(db, staff, ref):
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    with pytest.raises(InvalidConcern):
        set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    with pytest.raises(InvalidConcern):
        clear_flag(db, staff["decider"], ref, CLOSE, "Ingen grund.", now=NOW)


@pytest.mark.usefixtures("flowchart_v2")  # before `ref`: the case starts on version 2
def test_the_guardians_warning_on_a_childs_case_with_honour_violence_on_version_2(db, staff, ref):
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    now = NOW + timedelta(days=1)
    open_investigation(db, staff, ref, now)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=now)
    fired = fire_trigger(db, staff["caseworker"], ref, "request_consent", {"proposed_intervention": "sig"},
                         now=now + timedelta(days=1))
    assert [w.code for w in fired.warnings] == ["flagged", "flag_guardians_risk"]
    assert "vårdnadshavarna" in fired.warnings[1].text("sv")


def test_the_codes_on_a_case_are_read_with_a_ground_and_without_a_log_entry(db, staff, ref):
    set_flag(db, staff["intake"], ref, CLOSE, MARKER, now=NOW)
    with db.read() as session:
        before = session.scalars(select(AccessLogEntry.seq)).all()
    assert flags_on_case(db, staff["decider"], ref) == {CLOSE}
    with db.read() as session:
        assert session.scalars(select(AccessLogEntry.seq)).all() == before
    with pytest.raises(AccessDenied):
        flags_on_case(db, staff["caseworker"], ref)
    for role in NEVER:
        with pytest.raises(NotPermitted):
            flags_on_case(db, staff[role], ref)


def test_the_consent_form_warns_on_a_childs_case_with_honour_violence(db, staff, ref):
    assert consent_warnings(db, staff["intake"], ref, now=NOW) == ()
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    (warning,) = consent_warnings(db, staff["intake"], ref, now=NOW)
    assert warning.code == "flag_guardians_risk"
    for role in NEVER:
        with pytest.raises(NotPermitted):
            consent_warnings(db, staff[role], ref, now=NOW)
    with pytest.raises(AccessDenied):
        consent_warnings(db, staff["caseworker"], ref, now=NOW)


def test_on_version_3_an_interventions_decision_and_start_warn_and_the_entries_name_the_flag(db, staff, ref):
    """Honour-related violence on a child's case: deciding an intervention warns with the flag, starting it on
    the guardians' consent warns that informing the guardians may put the child at risk; both are recorded."""
    set_flag(db, staff["intake"], ref, HONOUR, MARKER, now=NOW)
    now = NOW + timedelta(days=1)
    open_investigation(db, staff, ref, now)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=now)
    proposed = propose_intervention(db, staff["caseworker"], ref, InterventionForm("other_support", "Stöd."),
                                    now=now)
    assert proposed.warnings == ()  # proposing is not a step the flag affects
    options = {o.trigger: o for o in intervention_options(db, staff["decider"], proposed.id, now=now)}
    assert [w.code for w in options["decide"].warnings] == ["flagged"]
    decided = fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Beviljas."}, now=now)
    assert [w.code for w in decided.warnings] == ["flagged"]
    consent(db, staff, ref, "other_support", now, given_by="guardians")
    started = fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now)
    assert [w.code for w in started.warnings] == ["flagged", "flag_guardians_risk"]
    assert "vårdnadshavarna" in started.warnings[1].text("sv")
    logged = {e["trigger"]: e["codes"] for e in entries(db, ref)}
    assert logged["intervention_decide"]["warnings"] == ["flagged"]
    assert sorted(logged["intervention_start"]["warnings"]) == ["flag_guardians_risk", "flagged"]
    assert logged["intervention_decide"]["flags"] == logged["intervention_start"]["flags"] == [HONOUR]
    assert "flags" not in logged["intervention_propose"] and "flags" not in logged["begin_interventions"]
    with db.read() as session:
        raw = b"".join(bytes(e) for e in session.scalars(select(TransitionLogEntry.entry)))
    assert MARKER.encode() not in raw and b"Hedersrelaterat" not in raw
    assert verify(db, "unused").ok


def test_on_version_3_an_unflagged_childs_interventions_steps_do_not_warn(db, staff, ref):
    open_investigation(db, staff, ref, NOW + timedelta(days=1))
    now = NOW + timedelta(days=1)
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=now)
    proposed = propose_intervention(db, staff["caseworker"], ref, InterventionForm("other_support", "Stöd."),
                                    now=now)
    assert fire_intervention(db, staff["decider"], proposed.id, "decide", {"reason": "Ja."}, now=now).warnings == ()
    consent(db, staff, ref, "other_support", now, given_by="guardians")
    assert fire_intervention(db, staff["caseworker"], proposed.id, "start", {}, now=now).warnings == ()
