"""The time a concern arrived, on both databases: only intake records an earlier arrival, with a reason, and
the transition log says so (issue 15: a reporter's `received_at` flipped child/adult and every deadline)."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from cases import ConcernForm, InvalidConcern, NotPermitted, register_concern
from cases.crypto.identity import generate_identity_number
from cases.errors import ArrivalNotPermitted
from cases.models import Case, CaseEvent, Deadline, TransitionLogEntry
from policies.limits import ARRIVAL_MAX_AGE
from tests.conftest import NOW
from workflow import payload_hash

CONCERN = "Eleven har delat våldsbejakande material i klassens chatt och söker kontakt med en grupp."
REASON = "Rektorn ringde mottagningen i tisdags eftermiddag"
# Turns 18 two days before NOW: a child on an arrival three days back, an adult on one registered now.
TURNING = generate_identity_number(date(2008, 11, 24), 42)
EARLIER = NOW - timedelta(days=3)


def form(**extra) -> ConcernForm:
    return ConcernForm(concern=CONCERN, reporter_org="school", identity_number=TURNING, **extra)


def written(db) -> tuple[int, int]:
    with db.read() as s:
        return s.scalar(select(func.count()).select_from(Case)), \
            s.scalar(select(func.count()).select_from(TransitionLogEntry))


@pytest.mark.parametrize("role", ["reporter", "caseworker"])
@pytest.mark.parametrize("sent", [{"received_at": EARLIER}, {"received_at": EARLIER, "arrival_reason": REASON},
                                  {"arrival_reason": REASON}], ids=["time", "time+reason", "reason"])
def test_only_intake_records_an_earlier_arrival(db, staff, role, sent):
    """A reporter's back-dated arrival would make an 18-year-old a child (and start child deadlines): refused,
    saying that only intake may, and nothing is written."""
    with pytest.raises(ArrivalNotPermitted) as caught:
        register_concern(db, staff[role], form(**sent), now=NOW)
    assert isinstance(caught.value, NotPermitted)
    assert "only intake" in caught.value.text("en") and "bara mottagningen" in caught.value.text("sv")
    assert written(db) == (0, 0)


def test_intake_records_an_earlier_arrival_and_the_log_says_so(db, staff):
    fired = register_concern(db, staff["intake"], form(received_at=EARLIER, arrival_reason=f"  {REASON} "),
                             now=NOW)
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == fired.ref)).one()
        entry = s.get(TransitionLogEntry, fired.seq)
        event = s.get(CaseEvent, fired.seq)
        deadlines = {d.name for d in s.scalars(select(Deadline))}
        key = db.vault.case_key(case.id)
    assert case.received_at == EARLIER
    assert deadlines == {"protection_assessment", "pre_assessment"}  # a child on the day it arrived
    body = json.loads(entry.entry)
    assert body["codes"] == {"reporter_org": "school", "acute_danger": False, "arrival": "recorded_by_intake",
                             "age_group": "child"}  # the age group on the day it arrived, as every decision logs
    assert REASON.encode() not in entry.entry and REASON.encode() not in event.payload  # sealed, not logged
    form_ = key.open_json("case_events", str(fired.seq), "payload", event.payload)
    fields = form_["fields"]
    assert fields["arrival_reason"] == REASON
    assert datetime.fromisoformat(fields["received_at"]) == EARLIER
    assert body["payload"] == payload_hash(fields, base64.b64decode(form_["salt"]))  # the entry commits to both


def test_a_concern_registered_now_logs_no_arrival(db, staff):
    fired = register_concern(db, staff["reporter"], form(), now=NOW)
    with db.read() as s:
        case = s.scalars(select(Case).where(Case.ref == fired.ref)).one()
        body = json.loads(s.get(TransitionLogEntry, fired.seq).entry)
    assert case.received_at == NOW and "arrival" not in body["codes"]


BAD_ARRIVALS = {
    "no reason": ({"received_at": EARLIER}, "arrival_reason"),
    "one word": ({"received_at": EARLIER, "arrival_reason": "telefon"}, "arrival_reason"),
    "blank reason": ({"received_at": EARLIER, "arrival_reason": "   "}, "arrival_reason"),
    "reason without a time": ({"arrival_reason": REASON}, "received_at"),
    "in the future": ({"received_at": NOW + timedelta(minutes=1), "arrival_reason": REASON}, "received_at"),
    "too long ago": ({"received_at": NOW - ARRIVAL_MAX_AGE - timedelta(minutes=1), "arrival_reason": REASON},
                     "received_at"),
    "no time zone": ({"received_at": datetime(2026, 11, 25, 9, 0), "arrival_reason": REASON}, "received_at"),
}


@pytest.mark.parametrize("sent, field", BAD_ARRIVALS.values(), ids=BAD_ARRIVALS.keys())
def test_intakes_arrival_is_checked(db, staff, sent, field):
    with pytest.raises(InvalidConcern) as caught:
        register_concern(db, staff["intake"], form(**sent), now=NOW)
    assert caught.value.field == field
    assert written(db) == (0, 0)


def test_the_oldest_arrival_allowed_is_accepted(db, staff):
    oldest = NOW - ARRIVAL_MAX_AGE
    fired = register_concern(db, staff["intake"], form(received_at=oldest, arrival_reason=REASON), now=NOW)
    with db.read() as s:
        assert s.scalars(select(Case.received_at).where(Case.ref == fired.ref)).one() == oldest
