"""Operations on both databases: whole paths, refusals that write nothing, conflicts, crashes, pinning."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from cases import (
    CaseNotFound,
    ConcernForm,
    ConsentForm,
    InvalidConcern,
    InvalidIdentityNumber,
    NotPermitted,
    StaleCase,
    add_staff,
    available_triggers,
    fire_trigger,
    record_consent,
    register_concern,
    withdraw_consent,
)
from cases.audit import log as case_log
from cases.casework.access import assign_case, read_case
from cases.crypto.identity import generate_identity_number
from cases.errors import AccessDenied
from cases.models import (
    AccessLogEntry,
    Assignment,
    Case,
    CaseEvent,
    Consent,
    Deadline,
    FlowchartVersion,
    ReferralPacket,
    TransitionLogEntry,
)
from policies import DEFAULT_PATH
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW
from workflow import (
    GENESIS,
    Actor,
    ConsentMissing,
    InvalidInput,
    RoleNotAllowed,
    TransitionNotAllowed,
    UnknownTrigger,
    chain_hash,
)

# Paths to erasure are driven 2000 days back: the person must be an adult then too, as age counts at each step.
ADULT_LONG_AGO = generate_identity_number(date(1990, 3, 2), 415, coordination=True)
CONCERN = "Eleven har delat våldsbejakande material i klassens chatt och söker kontakt med en grupp."


def register(db, staff, number, **extra):
    form = ConcernForm(concern=CONCERN, reporter_org="school", identity_number=number, **extra)
    return register_concern(db, staff["reporter"], form, now=NOW)


def assign(db, staff, ref, caseworker=None):
    """Assign the caseworker (`staff["caseworker"]` unless another is named) to case `ref`, as the decider."""
    assign_case(db, staff["decider"], ref, (caseworker or staff["caseworker"]).id, now=NOW)


def snapshot(db, ref):
    """Everything an operation could have written about a case."""
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        return (
            case.state, case.version, case.updated_at,
            s.scalar(select(func.count()).select_from(TransitionLogEntry)),
            s.scalar(select(func.count()).select_from(CaseEvent)),
            sorted((d.name, d.due_on, d.stopped_at) for d in s.scalars(select(Deadline))),
            sorted((c.id, c.status) for c in s.scalars(select(Consent))),
        )


def verify_log(db):
    with db.read() as s:
        previous, rows = GENESIS, s.scalars(select(TransitionLogEntry).order_by(TransitionLogEntry.seq)).all()
        for number, row in enumerate(rows, start=1):
            assert row.seq == number
            previous = chain_hash(previous, row.entry)
            assert row.chain_hash == previous
        return rows


@pytest.mark.parametrize("target", list(PATHS))
@pytest.mark.usefixtures("flowchart_v2")
def test_every_state_is_reached_through_the_operations(db, staff, child_number, adult_number, target):
    child, steps = PATHS[target]
    if target == "erased":
        adult_number = ADULT_LONG_AGO
    fired = register(db, staff, child_number if child else adult_number)
    drive(db, staff, fired.ref, steps, NOW - timedelta(days=2000) if target == "erased" else NOW)
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == fired.ref)).one()
        assert case.state == target
        assert case.version == 1 + len(steps)  # every step, consent or transition, is a new version
    rows = verify_log(db)
    assert rows[-1].to_state == target
    assert len(rows) == 1 + sum(1 for s in steps if s.trigger or s.communicate)  # a communication is logged too
    assert all(CONCERN[:20].encode() not in r.entry and child_number.encode() not in r.entry for r in rows)


def test_registration_starts_child_deadlines_and_logs_the_first_entry(db, staff, child_number):
    fired = register(db, staff, child_number, acute_danger=True, police_contacted_at=NOW - timedelta(minutes=5))
    assert (fired.state, fired.version, fired.seq) == ("registered", 1, 1)
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == fired.ref)).one()
        assert case.acute_danger and case.police_contacted_by == staff["reporter"].id
        deadlines = {d.name: d.due_on for d in s.scalars(select(Deadline))}
    assert deadlines == {"protection_assessment": date(2026, 11, 26), "pre_assessment": date(2026, 12, 10)}
    assert verify_log(db)[0].trigger == "register"


BAD_CONCERNS = {
    "malformed number": ({"identity_number": "19120517-2381"}, InvalidIdentityNumber, None),
    "interim number": ({"identity_number": "000101-T220"}, InvalidIdentityNumber, None),
    "no number nor birth date": ({}, InvalidConcern, "identity_number"),
    "birth date disagrees": ({"birth_date": date(2011, 1, 1)}, InvalidConcern, "birth_date"),
    "empty concern": ({"concern": "  "}, InvalidConcern, "concern"),
    "unknown workplace": ({"reporter_org": "bank"}, InvalidConcern, "reporter_org"),
}


@pytest.mark.parametrize("change, error, field", BAD_CONCERNS.values(), ids=BAD_CONCERNS.keys())
def test_bad_concern_is_refused_and_nothing_is_written(db, staff, child_number, change, error, field):
    form = {"concern": CONCERN, "reporter_org": "school", "identity_number": child_number, **change}
    if "identity_number" in change or field == "identity_number":
        form["identity_number"] = change.get("identity_number")
    with pytest.raises(error) as caught:
        register_concern(db, staff["reporter"], ConcernForm(**form), now=NOW)
    if field:
        assert caught.value.field == field
    assert child_number not in str(caught.value)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 0
        assert s.scalar(select(func.count()).select_from(TransitionLogEntry)) == 0


def test_registration_without_number_uses_the_birth_date(db, staff):
    fired = register_concern(db, staff["intake"], ConcernForm(
        concern=CONCERN, reporter_org="social_services", birth_date=date(2013, 1, 2)), now=NOW)
    assert fired.state == "registered"
    options = {o.trigger: o for o in available_triggers(db, staff["intake"], fired.ref, now=NOW)}
    assert options["assess_protection"].allowed


REFUSED = {
    "unknown trigger": ("intake", "dance", {}, UnknownTrigger),
    "wrong state": ("decider", "close_case", {"reason": "x", "outcome": "no_need"}, TransitionNotAllowed),
    "wrong role": ("caseworker", "assess_protection", {}, RoleNotAllowed),  # assigned: a ground, not the role
    "unexpected field": ("intake", "assess_protection", {"note": "x"}, InvalidInput),
    "no ground on the case": ("reporter", "assess_protection", {}, AccessDenied),
}


@pytest.mark.parametrize("role, trigger, payload, error", REFUSED.values(), ids=REFUSED.keys())
def test_refused_trigger_writes_nothing(db, staff, child_number, role, trigger, payload, error):
    ref = register(db, staff, child_number).ref
    assign(db, staff, ref)
    before = snapshot(db, ref)
    with pytest.raises(error):
        fire_trigger(db, staff[role], ref, trigger, payload, now=NOW)
    assert snapshot(db, ref) == before


def test_missing_required_field_writes_nothing(db, staff, child_number):
    ref = register(db, staff, child_number).ref
    fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=NOW)
    before = snapshot(db, ref)
    with pytest.raises(InvalidInput) as caught:
        fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW)
    assert "protection_assessment is missing" in str(caught.value)
    assert snapshot(db, ref) == before


def test_unknown_case_and_unknown_or_disabled_staff(db, staff, child_number):
    with pytest.raises(CaseNotFound):
        fire_trigger(db, staff["intake"], "VO-NOPE0000", "assess_protection", {}, now=NOW)
    ref = register(db, staff, child_number).ref
    with pytest.raises(NotPermitted):
        fire_trigger(db, Actor("no-such-id", "intake"), ref, "assess_protection", {}, now=NOW)
    with pytest.raises(NotPermitted):  # the role claimed must be the account's role
        fire_trigger(db, Actor(staff["caseworker"].id, "intake"), ref, "assess_protection", {}, now=NOW)


def test_stale_version_is_a_conflict_naming_the_case(db, staff, child_number):
    fired = register(db, staff, child_number)
    fire_trigger(db, staff["intake"], fired.ref, "assess_protection", {}, expected_version=1, now=NOW)
    before = snapshot(db, fired.ref)
    with pytest.raises(StaleCase) as caught:
        fire_trigger(db, staff["intake"], fired.ref, "start_pre_assessment",
                     {"protection_assessment": "Bedömning"}, expected_version=1, now=NOW)
    assert (caught.value.ref, caught.value.expected, caught.value.current) == (fired.ref, 1, 2)
    assert fired.ref in str(caught.value) and "reload" in str(caught.value)
    assert snapshot(db, fired.ref) == before


def test_crash_in_the_middle_leaves_the_case_as_it_was(db, staff, child_number, monkeypatch):
    ref = register(db, staff, child_number).ref
    before = snapshot(db, ref)

    def crash(session, entry):
        session.flush()  # the case row and deadlines are already written in this transaction
        raise RuntimeError("power cut")

    monkeypatch.setattr(case_log, "append", crash)
    with pytest.raises(RuntimeError):
        fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=NOW)
    monkeypatch.undo()
    assert snapshot(db, ref) == before
    assert fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=NOW).state == "protection_assessment"


def _to_sig(db, staff, number):
    ref = register(db, staff, number).ref
    steps = PATHS["sig"][1]
    drive(db, staff, ref, steps, NOW)
    return ref


@pytest.mark.usefixtures("flowchart_v2")
def test_withdrawing_the_consent_ends_sharing_and_moves_the_case_at_once(db, staff, adult_number):
    ref = _to_sig(db, staff, adult_number)
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        assert case.shared_with == ["police", "school", "social_services"]
        sig_consent = s.scalars(select(Consent).where(Consent.case_id == case.id,
                                                      Consent.purposes.is_not(None))).all()
    sig_id = next(c.id for c in sig_consent if c.purposes == ["sig"])
    later = NOW + timedelta(days=60)
    with pytest.raises(NotPermitted):
        withdraw_consent(db, staff["partner"], ref, sig_id, "Vill inte längre", now=later)
    result = withdraw_consent(db, staff["caseworker"], ref, sig_id, "Vill inte längre", now=later)
    assert result.state == "follow_up" and result.seq is not None
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        assert case.shared_with == []
        consent = s.get(Consent, sig_id)
        assert (consent.status, consent.withdrawn_at) == ("withdrawn", later)
        reason = db.vault.case_key(case.id).open("consents", sig_id, "withdrawal_reason", consent.withdrawal_reason)
        assert reason == "Vill inte längre"
        assert s.scalars(select(ReferralPacket).where(ReferralPacket.case_id == case.id)).one().closed_at == later
    assert verify_log(db)[-1].trigger == "withdraw_consent"


def test_withdrawing_an_unrelated_consent_only_records_it(db, staff, adult_number):
    ref = register(db, staff, adult_number).ref
    assign(db, staff, ref)
    recorded = record_consent(db, staff["caseworker"], ref, ConsentForm(
        given_by="subject", purposes=("exit_support",), recipients=("exit_service",),
        data_categories=("identity",), method="oral", evidence="Samtal 2026-11-26", valid_from=NOW.date(),
    ), now=NOW)
    result = withdraw_consent(db, staff["caseworker"], ref, recorded.id, "Ångrat sig", now=NOW)
    assert (result.state, result.seq) == ("registered", None)
    assert result.version == recorded.version + 1
    with pytest.raises(InvalidConcern):  # already withdrawn
        withdraw_consent(db, staff["caseworker"], ref, recorded.id, "igen", now=NOW)


@pytest.mark.usefixtures("flowchart_v2")
def test_a_referral_on_a_form_opened_before_the_consent_was_withdrawn_is_stale(db, staff, adult_number):
    ref = register(db, staff, adult_number).ref
    steps = PATHS["sig"][1]
    drive(db, staff, ref, steps[:-1], NOW)  # awaiting consent, consent recorded
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == ref)).one()
        version = case.version
        sig_id = s.scalars(select(Consent.id).where(Consent.case_id == case.id)).all()[-1]
    withdraw_consent(db, staff["caseworker"], ref, sig_id, "Ångrat sig", now=NOW + timedelta(days=40))
    with pytest.raises(StaleCase):
        fire_trigger(db, staff["caseworker"], ref, "refer_sig", {"recipients": ["police"]},
                     expected_version=version, now=NOW + timedelta(days=40))
    with pytest.raises(ConsentMissing):
        fire_trigger(db, staff["caseworker"], ref, "refer_sig", {"recipients": ["police"]},
                     now=NOW + timedelta(days=40))


BAD_CONSENTS = {
    "unknown purpose": ({"purposes": ("spying",)}, "purposes"),
    "no recipients": ({"recipients": ()}, "recipients"),
    "unknown giver": ({"given_by": "neighbour"}, "given_by"),
    "empty evidence": ({"evidence": " "}, "evidence"),
    "ends before it starts": ({"valid_until": date(2026, 1, 1)}, "valid_until"),
    "bad status": ({"status": "maybe"}, "status"),
}


@pytest.mark.parametrize("change, field", BAD_CONSENTS.values(), ids=BAD_CONSENTS.keys())
def test_bad_consent_form_is_refused(db, staff, adult_number, change, field):
    ref = register(db, staff, adult_number).ref
    assign(db, staff, ref)
    form = {"given_by": "subject", "purposes": ("sig",), "recipients": ("police",), "data_categories": ("identity",),
            "method": "written", "evidence": "Blankett", "valid_from": date(2026, 11, 26), **change}
    before = snapshot(db, ref)
    with pytest.raises(InvalidConcern) as caught:
        record_consent(db, staff["caseworker"], ref, ConsentForm(**form), now=NOW)
    assert caught.value.field == field
    assert snapshot(db, ref) == before


def test_a_case_stays_on_the_flowchart_version_it_started_on(db, staff, adult_number, tmp_path, monkeypatch):
    old = register(db, staff, adult_number).ref
    changed = tmp_path / "flowchart.toml"
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    # the new version lets the caseworker start the pre-assessment instead of intake
    changed.write_text(text.replace('roles = ["intake"]\nguards = ["adult"]',
                                    'roles = ["caseworker"]\nguards = ["adult"]'), encoding="utf-8")
    monkeypatch.setenv("VIDORO_FLOWCHART", str(changed))
    new = register(db, staff, adult_number).ref
    with db.read() as s:
        versions = dict(s.execute(select(Case.ref, Case.flowchart_version)).all())
        assert s.scalar(select(func.count()).select_from(FlowchartVersion)) == 2
    assert versions[old] != versions[new]
    assign(db, staff, old)
    assign(db, staff, new)
    with pytest.raises(RoleNotAllowed):
        fire_trigger(db, staff["caseworker"], old, "start_pre_assessment", {}, now=NOW)
    fire_trigger(db, staff["intake"], old, "start_pre_assessment", {}, now=NOW)
    with pytest.raises(RoleNotAllowed):
        fire_trigger(db, staff["intake"], new, "start_pre_assessment", {}, now=NOW)
    fire_trigger(db, staff["caseworker"], new, "start_pre_assessment", {}, now=NOW)


def test_an_erasure_cut_short_after_the_key_was_destroyed_can_be_finished(db, staff, monkeypatch):
    ref = register(db, staff, ADULT_LONG_AGO).ref
    start = NOW - timedelta(days=2000)
    drive(db, staff, ref, PATHS["erased"][1][:-1], start)  # closed, retention long over
    destroy = db.keys.destroy_data_key

    def destroy_then_crash(case_id):
        destroy(case_id)
        raise RuntimeError("power cut after the key was destroyed")

    monkeypatch.setattr(db.keys, "destroy_data_key", destroy_then_crash)
    with pytest.raises(RuntimeError):
        fire_trigger(db, staff["system"], ref, "erase", {}, now=NOW)
    monkeypatch.undo()
    assert snapshot(db, ref)[0] == "closed"  # the transaction rolled back, the key is gone
    assert fire_trigger(db, staff["system"], ref, "erase", {}, now=NOW).state == "erased"
    assert verify_log(db)[-1].trigger == "erase"


@pytest.mark.usefixtures("flowchart_v2")
def test_a_deciders_withdrawal_moves_the_case_too(db, staff, adult_number):
    ref = _to_sig(db, staff, adult_number)
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        consents = s.scalars(select(Consent).where(Consent.case_id == case_id)).all()
    sig_id = next(c.id for c in consents if c.purposes == ["sig"])
    result = withdraw_consent(db, staff["decider"], ref, sig_id, "Återkallat hos beslutsfattaren",
                              now=NOW + timedelta(days=60))
    assert (result.state, result.seq is not None) == ("follow_up", True)


# --- who may move a case on: a ground on it (cases.casework.grounds) -------------------------------------------------

TO_INVESTIGATE = {"given_by": "subject", "purposes": ("investigation",), "recipients": ("social_services",),
                  "data_categories": ("identity", "concern"), "method": "written", "evidence": "Blankett",
                  "valid_from": NOW.date()}
FOR_EXIT = {**TO_INVESTIGATE, "purposes": ("exit_support",), "recipients": ("exit_service",),
            "data_categories": ("identity",), "method": "oral", "evidence": "Samtal"}
EMERGENCY = "Hotfull situation i väntrummet; behöver se tidigare kontakter nu."


def access_log_size(db) -> int:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(AccessLogEntry))


def moves(db, actor, ref, consent_id):
    """Every way to move case `ref` (in investigation) on, as `actor`: ask what may be fired, fire a caseworker's
    trigger, record a consent, withdraw one that nothing rests on."""
    return {
        "list": lambda: available_triggers(db, actor, ref, now=NOW),
        "fire": lambda: fire_trigger(db, actor, ref, "request_consent", {"proposed_intervention": "exit_support"},
                                     now=NOW),
        "record": lambda: record_consent(db, actor, ref, ConsentForm(**FOR_EXIT), now=NOW),
        "withdraw": lambda: withdraw_consent(db, actor, ref, consent_id, "Ångrat sig", now=NOW),
    }


def assert_denied(db, ref, calls, why):
    """Each call is refused for want of a ground, as if the case were not there, and writes nothing: not the
    case, its version, deadlines or consents, nor either log."""
    for name, call in calls.items():
        before = snapshot(db, ref), access_log_size(db)
        with pytest.raises(AccessDenied) as caught:
            call()
        assert (caught.value.ref, caught.value.emergency_possible) == (ref, False), f"{name}, {why}"
        assert (snapshot(db, ref), access_log_size(db)) == before, f"{name}, {why}: a refusal wrote something"


@pytest.mark.usefixtures("flowchart_v2")
def test_only_staff_with_a_ground_on_the_case_move_it_on(db, staff, adult_number):
    """Intake on cases in intake, the decider on every case, a caseworker on the cases assigned to them, and
    nobody else; emergency access reads a case but never moves it on."""
    intake, decider, caseworker = staff["intake"], staff["decider"], staff["caseworker"]
    colleague = add_staff(db, "caseworker-2", "Colleague", "caseworker")

    # Intake and the decider take a case into investigation, nobody assigned to it.
    ref = register(db, staff, adult_number).ref
    assert {o.trigger for o in available_triggers(db, intake, ref, now=NOW) if o.allowed} == {"start_pre_assessment"}
    fire_trigger(db, intake, ref, "start_pre_assessment", {}, now=NOW)
    assert available_triggers(db, intake, ref, now=NOW)  # pre-assessment is still intake
    record_consent(db, decider, ref, ConsentForm(**TO_INVESTIGATE), now=NOW)
    fire_trigger(db, decider, ref, "open_investigation", {"reason": "Behov av utredning.", "legal_basis": "sol_11_1"},
                 now=NOW)
    unrelated = record_consent(db, decider, ref, ConsentForm(**FOR_EXIT), now=NOW).id
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Assignment)) == 0

    # Intake has no ground on a case past intake (a consent it may not record in any state: its role).
    assert_denied(db, ref, {k: v for k, v in moves(db, intake, ref, unrelated).items() if k in ("list", "fire")},
                  "intake after intake")
    for name in ("record", "withdraw"):
        with pytest.raises(NotPermitted):
            moves(db, intake, ref, unrelated)[name]()

    # A caseworker: not assigned; assigned to another case; the case assigned to a colleague; after reading it
    # through emergency access. Never a ground.
    assert_denied(db, ref, moves(db, caseworker, ref, unrelated), "nobody assigned")
    other = register(db, staff, generate_identity_number(date(1990, 2, 11), 312)).ref
    assign(db, staff, other)
    assert_denied(db, ref, moves(db, caseworker, ref, unrelated), "assigned to another case")
    assign(db, staff, ref, colleague)
    assert_denied(db, ref, moves(db, caseworker, ref, unrelated), "the case assigned to a colleague")
    assert read_case(db, caseworker, ref, emergency_reason=EMERGENCY, now=NOW).ground == "emergency"
    assert_denied(db, ref, moves(db, caseworker, ref, unrelated), "after an emergency read")

    # The decider needs no assignment.
    options = {o.trigger: o.allowed for o in available_triggers(db, decider, ref, now=NOW)}
    assert options["close_case"] and not options["request_consent"]  # the caseworker's trigger: not the role
    recorded = record_consent(db, decider, ref, ConsentForm(**FOR_EXIT), now=NOW)
    assert withdraw_consent(db, decider, ref, recorded.id, "Fel samtycke", now=NOW).version == recorded.version + 1

    # Assigned (by the decider: intake assigns only cases in intake; assigning again changes nothing), the
    # caseworker moves it on.
    with pytest.raises(AccessDenied):
        assign_case(db, intake, ref, caseworker.id, now=NOW)
    assign(db, staff, ref)
    assign(db, staff, ref)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Assignment).where(
            Assignment.staff_id == caseworker.id)) == 2  # this case and the other one
    calls = moves(db, caseworker, ref, unrelated)
    assert {o.trigger: o.allowed for o in calls["list"]()}["request_consent"]
    recorded = calls["record"]()
    withdrawn = calls["withdraw"]()
    assert (withdrawn.state, withdrawn.version, withdrawn.seq) == ("investigation", recorded.version + 1, None)
    fired = calls["fire"]()
    assert (fired.state, fired.version) == ("awaiting_consent", withdrawn.version + 1)
    assert verify_log(db)[-1].trigger == "request_consent"
    # ... and the colleague assigned too; the case stays out of intake's reach.
    fire_trigger(db, colleague, ref, "consent_refused", {"reason": "Vill inte."}, now=NOW)
    assert_denied(db, ref, {"fire": lambda: fire_trigger(db, intake, ref, "start_pre_assessment", {}, now=NOW)},
                  "intake, back in investigation")
