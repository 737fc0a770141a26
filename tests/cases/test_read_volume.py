"""Accounts that read more than their work explains (cases/audit/read_volume.py), on both databases: computed from
the access log on demand, shown to auditors only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cases import NotPermitted
from cases.audit.read_volume import (
    DECIDER_READS_EXPLAINED,
    MIN_FLAGGED_READS,
    ReadVolumeFlag,
    flag_threshold,
    read_volume_flags,
)
from cases.casework.access import assign_case, read_case
from tests.cases.test_access import open_case


@pytest.fixture
def numbers(child_number, adult_number):
    return {"child": child_number, "adult": adult_number}


@pytest.fixture
def staff(staff, db):
    from cases import add_staff

    return {**staff, "driver": add_staff(db, "caseworker-driver", "Caseworker on the way", "caseworker")}


def reads(db, actor, ref, count, at, **kwargs):
    for i in range(count):
        read_case(db, actor, ref, now=at + timedelta(seconds=i), **kwargs)


def test_the_threshold_is_a_floor_or_twice_the_work():
    assert flag_threshold(0) == MIN_FLAGGED_READS == 20
    assert flag_threshold(DECIDER_READS_EXPLAINED) == 60


def test_a_caseworker_reading_more_than_their_assignments_explain_is_flagged(db, staff, numbers):
    """Emergency reads beyond two a day wait for an approval (cases.casework.emergency), so the volume here is one
    assigned case read over and over: one open assignment explains two reads an hour, the floor twenty."""
    ref, _, later = open_case(db, staff, numbers, "investigation")
    worker = staff["caseworker"]
    assign_case(db, staff["decider"], ref, worker.id, now=later)
    reads(db, worker, ref, MIN_FLAGGED_READS + 1, later)
    moment = later + timedelta(minutes=30)
    assert read_volume_flags(db, staff["auditor"], now=moment) == (
        ReadVolumeFlag(worker.id, "Test caseworker", "caseworker", MIN_FLAGGED_READS + 1, 1, "assignments",
                       MIN_FLAGGED_READS),)
    assert read_volume_flags(db, staff["auditor"], now=later + timedelta(hours=1, minutes=1)) == ()  # an hour on


def test_a_decider_reading_a_lot_is_flagged_and_an_ordinary_workload_is_not(db, staff, numbers):
    ref, _, later = open_case(db, staff, numbers, "investigation")
    assign_case(db, staff["decider"], ref, staff["caseworker"].id, now=later)
    reads(db, staff["caseworker"], ref, 5, later)  # their own case, several times
    reads(db, staff["driver"], ref, 3, later)
    reads(db, staff["decider"], ref, MIN_FLAGGED_READS + 5, later)  # over the floor, within the policy number
    moment = later + timedelta(minutes=10)
    assert read_volume_flags(db, staff["auditor"], now=moment) == ()
    reads(db, staff["decider"], ref, 2 * DECIDER_READS_EXPLAINED - MIN_FLAGGED_READS - 4, moment)
    (flag,) = read_volume_flags(db, staff["auditor"], now=moment + timedelta(minutes=5))
    assert (flag.staff_id, flag.reads, flag.explained, flag.basis) == (
        staff["decider"].id, 2 * DECIDER_READS_EXPLAINED + 1, DECIDER_READS_EXPLAINED, "decider_policy")


@pytest.mark.parametrize("role", ["decider", "caseworker", "intake", "admin", "coordinator"])
def test_only_auditors_see_the_flags(db, staff, role):
    with pytest.raises(NotPermitted):
        read_volume_flags(db, staff[role])
