"""Idempotency claims (cases.casework.idempotency): the answer is kept with the change, or neither is."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from cases import ConcernForm, fire_trigger, register_concern
from cases.casework.idempotency import KEEP, claim, forget_expired, recall
from cases.errors import IdempotencyKeyReused, InvalidConcern
from cases.models import IdempotencyRecord, TransitionLogEntry
from tests.conftest import NOW
from workflow import GuardFailed


def render(fired):
    return 200, {"ref": fired.ref, "version": fired.version}


def concern(number: str) -> ConcernForm:
    return ConcernForm(concern="Oro för en elev.", reporter_org="school", identity_number=number)


def records(db) -> list[IdempotencyRecord]:
    with db.read() as session:
        return list(session.scalars(select(IdempotencyRecord)))


def test_the_answer_is_kept_with_the_change(db, staff, child_number):
    mine = claim(db, staff["reporter"], "k-1", b"register " + child_number.encode(), render)
    fired = register_concern(db, staff["reporter"], concern(child_number), now=NOW, claim=mine)
    answer = recall(db, mine, now=NOW)
    assert (answer.status, dict(answer.body)) == (200, {"ref": fired.ref, "version": fired.version})
    (record,) = records(db)
    assert child_number not in repr(vars(record)) and record.fingerprint != child_number


def test_a_refused_operation_keeps_no_answer(db, staff, child_number):
    ref = register_concern(db, staff["reporter"], concern(child_number), now=NOW).ref
    mine = claim(db, staff["intake"], "k-2", b"fire", render)
    with pytest.raises(GuardFailed):
        fire_trigger(db, staff["intake"], ref, "start_pre_assessment", {}, now=NOW, claim=mine)
    assert records(db) == [] and recall(db, mine, now=NOW) is None


@pytest.mark.usefixtures("flowchart_v2")
def test_a_held_key_cannot_be_held_twice(db, staff, child_number):
    ref = register_concern(db, staff["reporter"], concern(child_number), now=NOW).ref
    mine = claim(db, staff["intake"], "k-3", b"fire", render)
    fire_trigger(db, staff["intake"], ref, "assess_protection", {}, now=NOW, claim=mine)
    with db.read() as session:
        before = session.scalar(select(func.count()).select_from(TransitionLogEntry))
    with pytest.raises(IntegrityError):
        fire_trigger(db, staff["intake"], ref, "start_follow_up", {}, now=NOW, claim=mine)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(TransitionLogEntry)) == before


def test_the_same_key_for_another_request_is_refused_and_keys_expire(db, staff, child_number):
    first = claim(db, staff["reporter"], "k-4", b"one", render)
    register_concern(db, staff["reporter"], concern(child_number), now=NOW, claim=first)
    other = claim(db, staff["reporter"], "k-4", b"two", render)
    with pytest.raises(IdempotencyKeyReused):
        recall(db, other, now=NOW)
    assert recall(db, other, now=NOW + KEEP + timedelta(seconds=1)) is None
    register_concern(db, staff["reporter"], concern(child_number), now=NOW + KEEP + timedelta(seconds=1),
                     claim=other)  # an expired key is taken over
    assert len(records(db)) == 1
    assert forget_expired(db, now=NOW + 3 * KEEP) == 1 and records(db) == []


@pytest.mark.parametrize("bad", ["", " spaced", "ä", "x" * 256, "key\n", None])
def test_malformed_keys_are_refused(db, staff, bad):
    with pytest.raises(InvalidConcern):
        claim(db, staff["reporter"], bad, b"x", render)
