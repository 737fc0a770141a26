"""What auditors read of the logs, on both databases: filtered pages of entries, the verification summary,
the latest checkpoints and emergency reviews; and that nobody else reads them."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from cases import ConcernForm, InvalidConcern, NotPermitted, fire_trigger, register_concern
from cases.audit.auditing import (
    LogFilter,
    access_entries,
    administration_entries,
    latest_checkpoints,
    transition_entries,
    verify_logs,
)
from cases.audit.checkpoints import issue_checkpoint
from cases.audit.signing import LogSigner
from cases.casework.access import read_case
from cases.casework.reviews import emergency_reviews
from cases.crypto.identity import generate_identity_number
from cases.models import Case, Staff
from cases.staff.members import disable_staff, set_role
from tests.conftest import NOW, ROLES
from workflow import Actor

CONCERN = "Eleven visar våldsbejakande filmer för klasskamraterna."
GIVEN, FAMILY = "Sigvard", "Ödmarksson"


@pytest.fixture
def cases_logged(db, staff):
    """Three cases registered a day apart; the first moved on by intake and read in an emergency."""
    fired = [register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="school", given_name=GIVEN, family_name=FAMILY,
        identity_number=generate_identity_number(date(2011, 4, 2 + day), 310 + day)), now=NOW + timedelta(days=day))
        for day in range(3)]
    refs = [f.ref for f in fired]
    fire_trigger(db, staff["intake"], refs[0], "assess_protection", {}, expected_version=fired[0].version,
                 now=NOW + timedelta(days=3))
    read_case(db, staff["caseworker"], refs[0], emergency_reason="Hot i väntrummet, behöver se ärendet nu.",
              now=NOW + timedelta(days=3))
    read_case(db, staff["decider"], refs[1], now=NOW + timedelta(days=4))
    return refs


def test_the_transition_log_newest_first_with_actor_and_role_from_the_entry(db, staff, cases_logged):
    page = transition_entries(db, staff["auditor"])
    assert [row.seq for row in page.items] == [4, 3, 2, 1]
    assert page.total == 4 and page.pages == 1
    newest = page.items[0]
    assert (newest.case_ref, newest.username, newest.role, newest.trigger, newest.from_state, newest.to_state) == (
        cases_logged[0], "intake-1", "intake", "assess_protection", "registered", "protection_assessment")
    assert {row.username for row in page.items[1:]} == {"reporter-1"}


FILTERED = [
    (LogFilter(username="intake-1"), [4]),
    (LogFilter(username=" Reporter-1 "), [3, 2, 1]),
    (LogFilter(kind="register"), [3, 2, 1]),
    (LogFilter(kind="assess_protection", username="reporter-1"), []),
    (LogFilter(since=NOW + timedelta(days=1)), [4, 3, 2]),
    (LogFilter(since=NOW + timedelta(days=1), until=NOW + timedelta(days=2)), [2]),
    (LogFilter(until=NOW), []),
]


def test_the_transition_log_filtered(db, staff, cases_logged):
    found = [(wanted, [row.seq for row in transition_entries(db, staff["auditor"], wanted).items])
             for wanted, _ in FILTERED]
    assert found == FILTERED


def test_filtering_by_case_ignores_case_and_spaces(db, staff, cases_logged):
    found = transition_entries(db, staff["auditor"], LogFilter(case_ref=f" {cases_logged[0].lower()} "))
    assert [row.seq for row in found.items] == [4, 1]


def test_the_transition_log_in_pages(db, staff, cases_logged):
    first = transition_entries(db, staff["auditor"], page=1, per_page=3)
    second = transition_entries(db, staff["auditor"], page=2, per_page=3)
    beyond = transition_entries(db, staff["auditor"], page=9, per_page=3)
    assert ([r.seq for r in first.items], [r.seq for r in second.items]) == ([4, 3, 2], [1])
    assert (first.pages, second.page, beyond.page, [r.seq for r in beyond.items]) == (2, 2, 2, [1])
    filtered = transition_entries(db, staff["auditor"], LogFilter(kind="register"), page=2, per_page=2)
    assert (filtered.total, filtered.pages, [r.seq for r in filtered.items]) == (3, 2, [1])


def test_the_access_log_filtered(db, staff, cases_logged):
    everything = access_entries(db, staff["auditor"])
    assert [(r.seq, r.username, r.role, r.action, r.ground) for r in everything.items] == [
        (2, "decider-1", "decider", "read", "role"), (1, "caseworker-1", "caseworker", "read", "emergency")]
    assert "persons.identity_number" in everything.items[0].fields
    assert [r.seq for r in access_entries(db, staff["auditor"], LogFilter(username="caseworker-1")).items] == [1]
    assert [r.seq for r in access_entries(db, staff["auditor"], LogFilter(case_ref=cases_logged[1])).items] == [2]
    assert access_entries(db, staff["auditor"], LogFilter(kind="disclose")).items == ()


def test_no_personal_data_in_what_the_listings_return(db, staff, cases_logged):
    shown = repr(transition_entries(db, staff["auditor"])) + repr(access_entries(db, staff["auditor"]))
    for secret in (CONCERN, GIVEN, FAMILY, "Hot i väntrummet"):
        assert secret not in shown


@pytest.mark.parametrize(("listing", "wanted", "field"), [
    (transition_entries, LogFilter(kind="read"), "kind"),
    (access_entries, LogFilter(kind="assess_protection"), "kind"),
    (transition_entries, LogFilter(username="nobody-here"), "actor"),
    (access_entries, LogFilter(case_ref="VO-1 OR 1=1"), "case_ref"),
    (access_entries, LogFilter(case_ref="VO-" + "A" * 20), "case_ref"),
    (transition_entries, LogFilter(since=NOW, until=NOW), "until"),
])
def test_bad_filters_are_refused_by_field(db, staff, listing, wanted, field):
    with pytest.raises(InvalidConcern) as caught:
        listing(db, staff["auditor"], wanted)
    assert caught.value.field == field


def test_only_auditors_read_the_logs_and_verify_them(db, staff, keys):
    signer = LogSigner.create(keys.folder, "test.example/vidoro")
    for role in ("admin", "decider", "caseworker", "coordinator", "system"):
        for call in (transition_entries, access_entries, latest_checkpoints,
                     lambda db, actor: verify_logs(db, actor, signer.verifier_key)):
            with pytest.raises(NotPermitted):
                call(db, staff[role])


def test_a_disabled_or_moved_auditor_reads_nothing(db, staff):
    disable_staff(db, "auditor-1", by=None)
    with pytest.raises(NotPermitted):
        transition_entries(db, staff["auditor"])
    set_role(db, "caseworker-1", "auditor", by=None)
    with pytest.raises(NotPermitted):  # the actor still claims the old role
        access_entries(db, staff["caseworker"])


def test_verification_summary_holds_counts_and_roots_and_no_personal_data(db, staff, keys, cases_logged):
    signer = LogSigner.create(keys.folder, "test.example/vidoro")
    issue_checkpoint(db, signer, "transitions")
    summary = verify_logs(db, staff["auditor"], signer.verifier_key, origin_prefix=signer.name)
    text = json.dumps(summary)
    assert summary["ok"] and summary["cases"] == 3 and summary["findings"] == []
    assert {log["name"]: (log["entries"], log["checkpoints"]) for log in summary["logs"]} == {
        "transitions": (4, 1), "access": (2, 0), "administration": (len(ROLES), 0),  # each account's creation
        "journal": (0, 0)}
    for secret in (CONCERN, GIVEN, FAMILY, "Hot i väntrummet"):
        assert secret not in text
    with db.write() as session:
        session.execute(update(Case).where(Case.ref == cases_logged[2]).values(state="closed"))
    tampered = verify_logs(db, staff["auditor"], signer.verifier_key, origin_prefix=signer.name)
    assert not tampered["ok"] and tampered["finding_count"] == 1
    assert tampered["findings"][0]["kind"] == "case_state_changed"
    assert cases_logged[2] in tampered["findings"][0]["where"]


def test_latest_checkpoints(db, staff, keys, cases_logged):
    signer = LogSigner.create(keys.folder, "test.example/vidoro")
    assert latest_checkpoints(db, staff["auditor"]) == []
    issue_checkpoint(db, signer, "access")
    (only,) = latest_checkpoints(db, staff["auditor"])
    assert (only.log, only.origin, only.size) == ("access", "test.example/vidoro/access", 2)
    assert len(only.root_b64) == 44


def test_emergency_reviews_name_who_and_mark_ones_own(db, staff, cases_logged):
    (review,) = emergency_reviews(db, staff["auditor"])
    assert (review.seq, review.case_ref, review.username, review.own) == (1, cases_logged[0], "caseworker-1", False)
    set_role(db, "caseworker-1", "decider", by=None)
    with db.read() as session:
        moved = session.scalars(select(Staff).where(Staff.username == "caseworker-1")).one()
    (own,) = emergency_reviews(db, Actor(moved.id, "decider"))
    assert own.own
    with pytest.raises(NotPermitted):
        emergency_reviews(db, staff["intake"])


def test_the_administration_log_is_for_auditors_with_usernames_looked_up(db, staff):
    listed = administration_entries(db, staff["auditor"], per_page=4)
    assert (listed.total, listed.pages, len(listed.items)) == (len(ROLES), -(-len(ROLES) // 4), 4)
    newest = listed.items[0]
    assert (newest.actor, newest.target, newest.action) == ("operator", f"{ROLES[-1]}-1", "create")
    for role in ("admin", "decider", "reporter"):
        with pytest.raises(NotPermitted):
            administration_entries(db, staff[role])
