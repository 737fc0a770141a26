"""The demo on flowchart version 3 (issue 18): every state reached through the real operations, among them the
action plan's route, a 17-year-old in SIG and exit support at once on the consent of the guardians and of the
young person, and a case in follow-up after its intervention ended; the logs it writes verify."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from cases.audit.auditing import verify_logs
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.signing import LogSigner
from cases.casework.access import read_case
from cases.crypto.identity import parse_identity_number
from cases.flowcharts import current_engine
from cases.interventions import interventions_of
from cases.models import Case, CaseFlag, Consent, Staff, TransitionLogEntry
from cases.reports.demo import FLAGGED, PATHS, demo_staff, fill_demo
from policies.flags import FLAG_SET
from tests.conftest import NOW
from workflow import LogEntry


def test_the_demo_reaches_every_state_with_two_interventions_running_at_once(db, keys):
    *refs, relatives = fill_demo(db, per_state=1, now=NOW)  # the relative's own matter last (relative_support)
    chart = current_engine().chart
    assert chart.interventions is not None and set(PATHS) == set(chart.states)
    with db.read() as session:
        assert session.scalars(select(Case.state).where(Case.ref == relatives)).one() == "support"
        cases = {c.ref: c for c in session.scalars(select(Case).where(Case.ref.in_(refs)))}
        assert sorted(c.state for c in cases.values()) == sorted(chart.states)
        running = next(c for c in cases.values() if c.state == "interventions")
        purposes = sorted((c.given_by, c.purposes[0]) for c in session.scalars(
            select(Consent).where(Consent.case_id == running.id)) if c.purposes[0] != "investigation")
        followed = next(c for c in cases.values() if c.state == "follow_up")
    assert purposes == [("guardians", "exit_support"), ("guardians", "sig"), ("subject", "exit_support"),
                        ("subject", "sig")]
    caseworker = demo_staff(db)["caseworker"]
    both = interventions_of(db, caseworker, running.ref, now=NOW)
    assert sorted((v.kind, v.state) for v in both) == [("exit_support", "running"), ("sig", "running")]
    assert all(v.covering_consent_ids and v.decision_id for v in both)
    (ended,) = interventions_of(db, caseworker, followed.ref, now=NOW)
    assert (ended.kind, ended.state, ended.end_reason) == ("sig", "ended", "completed")

    record = read_case(db, caseworker, running.ref, now=NOW)
    born = parse_identity_number(record.person["identity_number"]).birth_date
    started = max(v.started_at for v in both)
    age_days = (started.date() - born).days
    assert 17 * 365 <= age_days < 18 * 365 - 5  # 17 on the day both started (rules for children apply)
    assert started <= NOW + timedelta(seconds=1)


def test_the_demos_logs_verify(db, keys):
    fill_demo(db, per_state=1, now=NOW)
    signer = LogSigner.create(keys.folder, "test.example/vidoro")
    issue_checkpoint(db, signer, "transitions")
    summary = verify_logs(db, demo_staff(db)["auditor"], signer.verifier_key, origin_prefix=signer.name)
    assert summary["ok"], summary["findings"]


def test_one_demo_case_is_a_childs_in_investigation_flagged_for_honour_related_violence(db, keys):
    refs = fill_demo(db, per_state=2, now=NOW)
    with db.read() as session:
        flags = session.scalars(select(CaseFlag)).all()
        assert [(f.flag, f.cleared_at) for f in flags] == [("honour_violence", None)]  # one case, set, not cleared
        case = session.get(Case, flags[0].case_id)
        setter = session.get(Staff, flags[0].set_by)
        entries = [LogEntry.from_canonical(bytes(e)) for e in session.scalars(
            select(TransitionLogEntry.entry).where(TransitionLogEntry.case_ref == case.ref)
            .order_by(TransitionLogEntry.seq))]
        ref, state, set_by = case.ref, case.state, (setter.username, setter.role)
    assert ref in refs and state == FLAGGED[0] == "investigation" and set_by == ("demo-intake", "intake")
    decider = demo_staff(db)["decider"]
    record = read_case(db, decider, ref, now=NOW)
    born = parse_identity_number(record.person["identity_number"]).birth_date
    assert (NOW.date() - born).days < 18 * 365  # a child's case: the guardians' warning applies to it
    assert [e.trigger for e in entries][-2:] == [FLAG_SET, "open_investigation"]  # set through cases.flags
    assert entries[-1].codes["flags"] == ["honour_violence"] and "flagged" in entries[-1].codes["warnings"]
