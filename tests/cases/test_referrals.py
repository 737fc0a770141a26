"""The partner's list of referral packets on both databases: only their unit's, open, under a valid consent,
and exactly the packets `read_referral` would open; listing opens and logs nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from cases import ConcernForm, NotPermitted, add_staff, fire_trigger, register_concern, withdraw_consent
from cases.casework.disclosures import read_referral
from cases.casework.referrals import shared_referrals
from cases.crypto.identity import generate_identity_number
from cases.crypto.vault import CaseKey
from cases.errors import DisclosureRefused
from cases.models import AccessLogEntry, Case, Consent, ReferralPacket
from tests.cases.route_v2 import PATHS, drive
from tests.conftest import NOW, ROLES
from workflow import Actor

# Referral packets as flowchart version 2 makes them: a referral is a step of the case (refer_sig, refer_exit).
pytestmark = pytest.mark.usefixtures("flowchart_v2")


def referred(db, staff, serial: int, path: str = "sig", start=NOW):
    """An adult taken to `path` (a referral state) on their consent; returns (ref, packet id, last moment)."""
    number = generate_identity_number(date(2001, 3, 2), serial)
    ref = register_concern(db, staff["reporter"], ConcernForm(
        concern="Oro.", reporter_org="school", identity_number=number), now=start).ref
    last = drive(db, staff, ref, PATHS[path][1], start) + timedelta(hours=1)
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        (packet,) = s.scalars(select(ReferralPacket.id).where(ReferralPacket.case_id == case_id))
    return ref, packet, last


def partner(db, unit: str) -> Actor:
    return add_staff(db, f"partner-{unit}".replace("_", "-"), f"Partner {unit}", "partner", unit=unit)


def listed(db, actor, now) -> list[str]:
    return [item.packet_id for item in shared_referrals(db, actor, now=now)]


def readable(db, actor, packet_id, now) -> bool:
    try:
        read_referral(db, actor, packet_id, now=now)
    except DisclosureRefused:
        return False
    return True


def log_size(db) -> int:
    with db.read() as s:
        return len(s.scalars(select(AccessLogEntry.seq)).all())


def test_a_partner_lists_their_units_open_packets_newest_first(db, staff):
    first_ref, first, _ = referred(db, staff, 101)
    second_ref, second, later = referred(db, staff, 102, start=NOW + timedelta(days=2))
    _, exit_packet, later = referred(db, staff, 103, path="exit_support", start=NOW + timedelta(days=3))
    items = shared_referrals(db, staff["partner"], now=later)
    assert [(i.packet_id, i.ref) for i in items] == [(second, second_ref), (first, first_ref)]
    assert items[0].purpose == "sig" and sorted(items[0].data_categories) == ["assessment", "concern", "identity"]
    assert listed(db, partner(db, "school"), later) == [second, first]
    assert listed(db, partner(db, "exit_service"), later) == [exit_packet]
    assert listed(db, partner(db, "healthcare"), later) == []


def test_withdrawal_expiry_and_follow_up_take_a_packet_off_the_list(db, staff):
    withdrawn_ref, withdrawn, _ = referred(db, staff, 111)
    followed_ref, followed, _ = referred(db, staff, 112)
    _, kept, later = referred(db, staff, 113)
    assert set(listed(db, staff["partner"], later)) == {withdrawn, followed, kept}
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == withdrawn_ref)).one()
        consent = s.scalars(select(Consent.id).where(Consent.case_id == case_id, Consent.status == "given")
                            .order_by(Consent.recorded_at.desc())).first()
    withdraw_consent(db, staff["caseworker"], withdrawn_ref, consent, "Vill inte längre.", now=later)
    fire_trigger(db, staff["caseworker"], followed_ref, "start_follow_up", {}, now=later)
    assert listed(db, staff["partner"], later) == [kept]
    with db.read() as s:
        until = max(c.valid_until for c in s.scalars(select(Consent)) if c.purposes == ["sig"])
    on_last_day = later.replace(year=until.year, month=until.month, day=until.day)
    assert listed(db, staff["partner"], on_last_day) == [kept]
    assert listed(db, staff["partner"], on_last_day + timedelta(days=1)) == []  # the consent expired


def test_the_list_offers_exactly_what_reading_allows(db, staff):
    packets = [referred(db, staff, 120 + i)[1] for i in range(2)]
    ref, _, later = referred(db, staff, 125, path="exit_support")
    fire_trigger(db, staff["caseworker"], ref, "start_follow_up", {}, now=later)
    with db.read() as s:
        everything = list(s.scalars(select(ReferralPacket.id)))
    readers = [staff["partner"], partner(db, "school"), partner(db, "exit_service"), partner(db, "probation")]
    for moment in (later, later + timedelta(days=400)):
        for reader in readers:
            shown = set(listed(db, reader, moment))
            assert shown == {p for p in everything if readable(db, reader, p, moment)}, reader
    assert set(packets) <= set(listed(db, staff["partner"], later))


def test_listing_opens_no_field_and_writes_nothing_to_the_access_log(db, staff, monkeypatch):
    _, packet, later = referred(db, staff, 130)
    opened = []
    real_open = CaseKey.open

    def spy(self, table, row, field, value):
        opened.append(field)
        return real_open(self, table, row, field, value)

    monkeypatch.setattr(CaseKey, "open", spy)
    before = log_size(db)
    assert listed(db, staff["partner"], later) == [packet]
    assert log_size(db) == before
    assert set(opened) <= {"birth_date"}  # opened for the consent decision only (guardians under 18), never shown


def test_nobody_but_a_partner_gets_a_list_and_claiming_the_role_is_not_enough(db, staff):
    _, _, later = referred(db, staff, 140)
    for role in ROLES:
        if role != "partner":
            assert shared_referrals(db, staff[role], now=later) == (), role
    with pytest.raises(NotPermitted):
        shared_referrals(db, Actor(staff["caseworker"].id, "partner"), now=later)
