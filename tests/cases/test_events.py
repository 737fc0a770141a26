"""The structured events of the operations, sign-ins, refusals and checkpoint deliveries: what they say about
a case and a member of staff, and that they never carry the person (names, identity number, free text)."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, add_staff, register_concern
from cases.audit.checkpoints import IssuedCheckpoint, deliver
from cases.casework.access import read_case
from cases.casework.consents import withdraw_consent
from cases.casework.operations import fire_trigger
from cases.errors import CaseNotFound, SignInRefused
from cases.events import LOGGER, target_id
from cases.models import Consent
from cases.staff.accounts import set_password, sign_in, use_cheap_hashing_for_tests
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW
from workflow.errors import TransitionRefused

use_cheap_hashing_for_tests()

GIVEN, FAMILY = "Sigvard", "Kvarnströmsson"
CONCERN = f"{GIVEN} {FAMILY} har börjat umgås med en våldsbejakande grupp enligt mentorn."
REASON = f"{GIVEN} vill inte längre att polisen får veta något"


@pytest.fixture
def events(caplog):
    """The `vidoro.cases` records of the test, as the fields each carries."""
    caplog.set_level(logging.INFO, logger=LOGGER)

    def fields() -> list[dict]:
        found = [r for r in caplog.records if r.name == LOGGER]
        assert all(isinstance(getattr(r, "vidoro", None), dict) for r in found)
        return [r.vidoro for r in found]

    return fields


def _everything_logged(caplog) -> str:
    return "\n".join(f"{r.getMessage()} {json.dumps(getattr(r, 'vidoro', None), ensure_ascii=False)}"
                     for r in caplog.records)


@pytest.mark.usefixtures("flowchart_v2")
def test_a_case_s_path_is_logged_by_reference_and_staff_id_never_by_person(db, staff, adult_number, events, caplog):
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern=CONCERN, reporter_org="school", identity_number=adult_number, given_name=GIVEN,
        family_name=FAMILY), now=NOW).ref
    drive(db, staff, ref, PATHS["sig"][1], NOW)
    record = read_case(db, staff["caseworker"], ref, now=NOW + timedelta(days=40))
    assert record.person["given_name"] == GIVEN  # the read opened the person's data: none of it may reach a log line
    with pytest.raises(TransitionRefused):
        fire_trigger(db, staff["caseworker"], ref, "close_case", {}, now=NOW + timedelta(days=41))
    with db.read() as s:
        sig = next(c.id for c in s.scalars(select(Consent)) if c.purposes == ["sig"])
    withdraw_consent(db, staff["caseworker"], ref, sig, REASON, now=NOW + timedelta(days=42))

    lines = events()
    by_event = {}
    for line in lines:
        by_event.setdefault((line["event"], line["outcome"]), []).append(line)
    registered = by_event[("concern_registered", "done")][0]
    assert registered == {"event": "concern_registered", "outcome": "done", "ref": ref,
                          "staff": staff["reporter"].id, "role": "reporter", "state": "registered",
                          "version": 1, "seq": registered["seq"]}
    fired = by_event[("transition", "done")]
    assert [f["trigger"] for f in fired] == [s.trigger for s in PATHS["sig"][1] if s.trigger]
    assert all(f["ref"] == ref and set(f) >= {"staff", "role", "state", "version", "seq"} for f in fired)
    assert fired[-1]["state"] == "sig"
    assert {"case_assigned", "consent_recorded"} <= {line["event"] for line in lines}
    read = by_event[("case_read", "done")][0]
    assert (read["ref"], read["ground"], read["staff"]) == (ref, "assignment", staff["caseworker"].id)
    refused = by_event[("transition", "refused")][0]
    assert (refused["trigger"], refused["error"]) == ("close_case", "TransitionNotAllowed")
    assert refused["reasons"] and all(isinstance(r, str) for r in refused["reasons"])
    withdrawn = by_event[("consent_withdrawn", "done")][0]
    assert (withdrawn["state"], withdrawn["ref"]) == ("follow_up", ref)

    logged = _everything_logged(caplog)
    for secret in (GIVEN, FAMILY, adult_number, CONCERN[:25], REASON[:25],
                   "reporter-1", "Test caseworker"):
        assert secret not in logged


def test_a_reference_or_trigger_of_the_wrong_shape_is_logged_as_invalid(db, staff, adult_number, events, caplog):
    """A typed URL may hold anything, an identity number too: only a reference's shape reaches the log."""
    with pytest.raises(CaseNotFound):
        fire_trigger(db, staff["intake"], adult_number, f"{GIVEN} {FAMILY}", {}, now=NOW)
    refused = events()[-1]
    assert refused == {"event": "transition", "outcome": "refused", "ref": "invalid", "trigger": "invalid",
                       "staff": staff["intake"].id, "role": "intake", "error": "CaseNotFound"}
    logged = _everything_logged(caplog)
    assert adult_number not in logged and GIVEN not in logged


def test_sign_ins_are_logged_by_staff_id_and_refusals_without_the_username(db, events, caplog):
    username = "sigvard.kvarnstromsson"
    actor = add_staff(db, username, f"{GIVEN} {FAMILY}", "caseworker")
    set_password(db, username, "a long enough passphrase")
    sign_in(db, username, "a long enough passphrase", "192.0.2.17", now=NOW)
    with pytest.raises(SignInRefused):
        sign_in(db, username, "wrong passphrase, long", "192.0.2.17", now=NOW)
    done, refused = [line for line in events() if line["event"] == "sign_in"]
    assert done == {"event": "sign_in", "outcome": "done", "staff": actor.id, "role": "caseworker"}
    assert refused == {"event": "sign_in", "outcome": "refused", "error": "SignInRefused"}
    logged = _everything_logged(caplog)
    assert username not in logged and FAMILY not in logged and "192.0.2.17" not in logged


def test_checkpoint_deliveries_are_logged_without_where_they_went(tmp_path, events, caplog):
    folder = tmp_path / "sigvard-kvarnstromsson"  # a folder's path may name a person
    checkpoint = IssuedCheckpoint(log="transitions", size=3, root=b"\0" * 32, note="vidoro\n3\nAAAA\n",
                                  created_at=NOW, new=True)
    unreachable = "http://127.0.0.1:9/checkpoints"
    deliver(checkpoint, [str(folder), unreachable])
    ok, failed = [line for line in events() if line["event"] == "checkpoint_delivery"]
    assert ok == {"event": "checkpoint_delivery", "outcome": "done", "log": "transitions", "size": 3,
                  "target": target_id(str(folder))}
    assert (failed["outcome"], failed["target"]) == ("failed", target_id(unreachable))
    assert [r.levelno for r in caplog.records if r.name == LOGGER] == [logging.INFO, logging.WARNING]
    assert "sigvard" not in _everything_logged(caplog)
