"""Each person's notifications on both databases: once per person and event, a mail queued only for those with an
address, a person's own list in pages, mark-read refused for another's, and the partner's unit told of a new
referral packet and of a withdrawn consent that closed it, in the same transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import add_staff, withdraw_consent
from cases.errors import BadCursor, NotificationNotFound
from cases.inbox import list_notifications, mark_all_read, mark_read, unread_count
from cases.models import Case, Consent, MailOutbox, Notification
from cases.notifications import notify, notify_unit
from cases.staff.administration import set_email
from tests.cases.test_referrals import referred
from tests.conftest import NOW


def _notes(db, staff_id=None) -> list[Notification]:
    with db.read() as s:
        query = select(Notification).order_by(Notification.created_at, Notification.id)
        if staff_id is not None:
            query = query.where(Notification.staff_id == staff_id)
        return list(s.scalars(query))


def _outbox(db) -> list[MailOutbox]:
    with db.read() as s:
        return list(s.scalars(select(MailOutbox).order_by(MailOutbox.id)))


def test_notifying_twice_adds_one_and_mails_only_those_with_an_address(db, staff):
    set_email(db, None, "intake-1", "intake-1@example.org", now=NOW)
    people = [staff["intake"].id, staff["caseworker"].id]
    with db.write() as s:
        assert notify(s, recipients=people, kind="acute_concern", key="acute:VO-ABCDEFGH", now=NOW,
                      case_ref="VO-ABCDEFGH") == 2
    with db.write() as s:  # the same event again, and once more with a person twice in the list
        assert notify(s, recipients=[*people, people[0]], kind="acute_concern", key="acute:VO-ABCDEFGH",
                      now=NOW + timedelta(minutes=1), case_ref="VO-ABCDEFGH") == 0
    assert sorted(n.staff_id for n in _notes(db)) == sorted(people)
    assert [(m.staff_id, m.state) for m in _outbox(db)] == [(staff["intake"].id, "pending")]


def test_a_unit_is_every_active_member_of_it(db, staff):
    other = add_staff(db, "partner-2", "Partner Två", "partner", unit="police")
    school = add_staff(db, "partner-school", "Partner Skola", "partner", unit="school")
    with db.write() as s:
        assert notify_unit(s, unit="police", kind="referral_packet", key="referral_packet:x", now=NOW) == 2
    assert {n.staff_id for n in _notes(db)} == {staff["partner"].id, other.id}
    assert _notes(db, school.id) == []


def test_an_unknown_kind_is_refused(db, staff):
    with db.write() as s, pytest.raises(ValueError, match="not a kind"):
        notify(s, recipients=[staff["intake"].id], kind="gossip", key="k", now=NOW)


def test_the_list_pages_newest_first_and_counts_the_unread(db, staff):
    me = staff["caseworker"]
    with db.write() as s:
        for n in range(5):
            notify(s, recipients=[me.id, staff["intake"].id], kind="deadline_reminder", key=f"reminder:{n}",
                   now=NOW + timedelta(minutes=n), case_ref="VO-ABCDEFGH")
    first = list_notifications(db, me, per_page=2)
    assert first.unread == 5 and len(first.items) == 2 and first.next_cursor
    second = list_notifications(db, me, per_page=2, cursor=first.next_cursor)
    third = list_notifications(db, me, per_page=2, cursor=second.next_cursor)
    seen = [i.id for page in (first, second, third) for i in page.items]
    assert third.next_cursor is None and len(seen) == len(set(seen)) == 5
    mine = {n.id: n.created_at for n in _notes(db, me.id)}
    assert [mine[i] for i in seen] == sorted(mine.values(), reverse=True)
    with pytest.raises(BadCursor):
        list_notifications(db, me, cursor="not-a-cursor!")


def test_marking_read_is_for_ones_own_only(db, staff):
    me, other = staff["caseworker"], staff["intake"]
    with db.write() as s:
        notify(s, recipients=[me.id, other.id], kind="deadline_passed", key="passed:1", now=NOW)
    (mine,), (theirs,) = _notes(db, me.id), _notes(db, other.id)
    with pytest.raises(NotificationNotFound):
        mark_read(db, me, theirs.id, now=NOW)
    assert _notes(db, other.id)[0].read_at is None and unread_count(db, other) == 1
    assert mark_read(db, me, mine.id, now=NOW + timedelta(hours=1)).read_at == NOW + timedelta(hours=1)
    assert mark_read(db, me, mine.id, now=NOW + timedelta(hours=2)).read_at == NOW + timedelta(hours=1)
    assert unread_count(db, me) == 0
    assert mark_all_read(db, other, now=NOW) == 1 and unread_count(db, other) == 0


@pytest.mark.usefixtures("flowchart_v2")
def test_the_partners_unit_is_told_of_a_new_packet_and_of_the_withdrawal_that_closed_it(db, staff):
    set_email(db, None, "partner-1", "partner-1@example.org", now=NOW)
    school = add_staff(db, "partner-school", "Partner Skola", "partner", unit="school")
    healthcare = add_staff(db, "partner-health", "Partner Vård", "partner", unit="healthcare")
    ref, packet, later = referred(db, staff, 201)  # SIG: shared with the police and the school
    told = _notes(db)
    assert {(n.staff_id, n.kind, n.key, n.case_ref) for n in told} == {
        (staff["partner"].id, "referral_packet", f"referral_packet:{packet}", ref),
        (school.id, "referral_packet", f"referral_packet:{packet}", ref)}
    assert [m.staff_id for m in _outbox(db)] == [staff["partner"].id]  # the school's partner has no address
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        consent = s.scalars(select(Consent.id).where(Consent.case_id == case_id, Consent.status == "given")
                            .order_by(Consent.recorded_at.desc())).first()
    withdraw_consent(db, staff["caseworker"], ref, consent, "Vill inte längre.", now=later)
    withdrawn = {(n.staff_id, n.key) for n in _notes(db) if n.kind == "consent_withdrawn"}
    assert withdrawn == {(staff["partner"].id, f"consent_withdrawn:{consent}"),
                         (school.id, f"consent_withdrawn:{consent}")}
    assert _notes(db, healthcare.id) == []


def test_on_interventions_as_records_a_running_one_and_its_withdrawal_notify_its_unit(db, staff):
    """Flowchart version 3 on: the packet opens when an intervention starts and closes when its consent goes."""
    from tests.cases.intervention_helpers import investigating, packets
    from tests.cases.test_interventions import ADULT, _consent_ids, _purposes, _running

    ref, now = investigating(db, staff, birth=ADULT, serial=226, start=NOW)
    exit_partner = add_staff(db, "partner-exit", "Partner Avhopp", "partner", unit="exit_service")
    sig = _running(db, staff, ref, "sig", now, recipients=("police",))
    exit_support = _running(db, staff, ref, "exit_support", now)
    (exit_packet,), (sig_packet,) = packets(db, exit_support), packets(db, sig)
    assert [(n.kind, n.key, n.case_ref) for n in _notes(db, exit_partner.id)] == [
        ("referral_packet", f"referral_packet:{exit_packet.id}", ref)]
    assert [n.key for n in _notes(db, staff["partner"].id)] == [f"referral_packet:{sig_packet.id}"]
    (exit_consent,) = [c for c in _consent_ids(db, ref) if "exit_support" in _purposes(db, c)]
    withdraw_consent(db, staff["caseworker"], ref, exit_consent, "Vill inte längre.", now=now + timedelta(days=1))
    assert [n.key for n in _notes(db, exit_partner.id) if n.kind == "consent_withdrawn"] == [
        f"consent_withdrawn:{exit_consent}"]
    assert [n.kind for n in _notes(db, staff["partner"].id)] == ["referral_packet"]  # SIG's packet stays open


def test_a_disabled_account_or_an_unknown_id_is_told_nothing_and_breaks_nothing(db, staff):
    from cases.staff.members import disable_staff

    disable_staff(db, "intake-1", by=None)
    with db.write() as s:
        assert notify(s, recipients=[staff["intake"].id, "00000000-0000-0000-0000-000000000000",
                                     staff["decider"].id], kind="acute_concern", key="acute:1", now=NOW) == 1
    assert [n.staff_id for n in _notes(db)] == [staff["decider"].id]


def test_the_demo_accounts_have_an_address_at_example_org(db):
    from cases.models import Staff
    from cases.reports.demo import demo_staff

    demo_staff(db)
    with db.read() as s:
        found = {st.username: st.email for st in s.scalars(select(Staff).where(Staff.username.like("demo-%")))}
    assert found["demo-partner"] == "demo-partner@example.org"
    assert found["demo-caseworker"] == "demo-caseworker@example.org" and found["demo-system"] is None
