"""Disclosures on both databases: referral packets and partners' reads, consented disclosures and disclosures
on a legal basis with a second person's approval; every disclosure and every refusal in the access log
(DESIGN.md §2, §3, §5)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from cases import (
    ConcernForm,
    ConsentForm,
    InvalidConcern,
    NotPermitted,
    add_staff,
    fire_trigger,
    record_consent,
    register_concern,
    withdraw_consent,
)
from cases.casework.access import AccessDenied, assign_case, read_case
from cases.casework.disclosures import (
    decide_requested_disclosure,
    disclose_with_consent,
    read_referral,
    request_disclosure,
)
from cases.errors import DisclosureRefused, RecordNotFound
from cases.models import AccessLogEntry, Base, Case, Consent, Disclosure, ReferralPacket, TransitionLogEntry
from policies.law import cite
from tests.cases.route_v2 import PATHS, SIG_RECIPIENTS, Step, drive
from tests.conftest import NOW, ROLES
from workflow import GENESIS, Actor, chain_hash
from workflow.hearing import Assessment

CONCERN = "Eleven har spridit propaganda för en våldsbejakande rörelse i skolans chatt och drar sig undan."
GIVEN, FAMILY = "Signe", "Öberg-Testsson"
PROTECTION = "Ingen akut fara. Skolan och familjen informerade."
OPENING = "Utredning inleds efter samtal med vårdnadshavare."
REASON = "Polisen utreder ett planerat attentat; uppgifterna behövs för att avvärja det (dnr 4711)."
IDENTITY = {"identity_number", "given_name", "family_name", "birth_date"}
SIG_FIELDS = IDENTITY | {"concern", "protection_assessment"}

CHILD_TO_SIG = [
    Step("intake", "assess_protection"),
    Step("intake", "start_pre_assessment", {"protection_assessment": PROTECTION},
         assessment=Assessment("Hemmet och skolan.", "no_protection_needed", child_view="Vill ha stöd.")),
    Step("decider", "open_investigation", {"reason": OPENING, "legal_basis": "sol_11_1"}, days_later=3,
         assessment=Assessment("Oron och behoven.", not_heard_reason="not_reached")),
    Step("caseworker", "request_consent", {"proposed_intervention": "sig"}, days_later=10),
    Step("caseworker", consent=("subject", "sig"), days_later=2),
    Step("caseworker", consent=("guardians", "sig")),
    Step("caseworker", "refer_sig", {"recipients": SIG_RECIPIENTS}, days_later=1),
]


def open_case(db, staff, number, steps):
    """A case taken through `steps` by the real operations; returns (ref, a moment after the last step)."""
    form = ConcernForm(concern=CONCERN, reporter_org="school", identity_number=number, given_name=GIVEN,
                       family_name=FAMILY)
    ref = register_concern(db, staff["reporter"], form, now=NOW).ref
    return ref, drive(db, staff, ref, steps, NOW) + timedelta(hours=1)


def access_rows(db) -> list[AccessLogEntry]:
    with db.read() as s:
        return list(s.scalars(select(AccessLogEntry).order_by(AccessLogEntry.seq)))


def new_entry(db, before: list[AccessLogEntry]) -> tuple[AccessLogEntry, dict]:
    """The one entry written since `before`, and its body; fails if there is not exactly one."""
    rows = access_rows(db)
    assert [r.seq for r in rows[:len(before)]] == [r.seq for r in before]
    added = rows[len(before):]
    assert len(added) == 1, f"expected one new access-log entry, got {[(r.action, r.ground) for r in added]}"
    previous = GENESIS
    for row in rows:
        previous = chain_hash(previous, row.entry)
        assert row.chain_hash == previous, f"access log chain broken at {row.seq}"
    return added[0], json.loads(added[0].entry)


def assert_refusal_logged(db, before, actor: Actor, *, recipient: str | None = None,
                          codes: list[str] | None = None) -> dict:
    entry, body = new_entry(db, before)
    assert (entry.action, entry.ground, entry.actor_id) == ("disclosure_refused", "none", actor.id)
    assert (body["role"], body["fields"]) == (actor.role, [])
    assert body["codes"]["refusals"], "a logged refusal must say why"
    if recipient is not None:
        assert body["codes"]["recipient"] == recipient
    if codes is not None:
        assert body["codes"]["refusals"] == codes
    return body


def assert_nothing_logged(db, before) -> None:
    assert [(r.seq, r.chain_hash) for r in access_rows(db)] == [(r.seq, r.chain_hash) for r in before], \
        "a disclosure that was not permitted left an access-log entry"


def assert_disclosure_logged(db, before, actor: Actor, ground: str, fields: set[str]) -> dict:
    entry, body = new_entry(db, before)
    assert (entry.action, entry.ground, entry.actor_id) == ("disclose", ground, actor.id)
    assert (body["role"], set(body["fields"])) == (actor.role, fields)
    assert "refusals" not in body["codes"]
    return body


def packets(db, ref) -> list[ReferralPacket]:
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        return list(s.scalars(select(ReferralPacket).where(ReferralPacket.case_id == case_id)))


def consent_ids(db, ref, purpose) -> list[str]:
    with db.read() as s:
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        return [c.id for c in s.scalars(select(Consent).where(Consent.case_id == case_id)) if purpose in c.purposes]


def partner(db, unit: str) -> Actor:
    return add_staff(db, f"partner-{unit}".replace("_", "-"), f"Partner {unit}", "partner", unit=unit)


@pytest.fixture
def adult_sig(db, staff, adult_number, flowchart_v2):
    """An adult referred to SIG (police, school, social services) on their consent (flowchart version 2)."""
    return open_case(db, staff, adult_number, PATHS["sig"][1])


@pytest.fixture
def child_sig(db, staff, child_number, flowchart_v2):
    """A 14-year-old referred to SIG on their own and their guardians' consent (flowchart version 2)."""
    return open_case(db, staff, child_number, CHILD_TO_SIG)


# --- referral packets --------------------------------------------------------------------------------------


def refusal_codes(caught) -> list[tuple[str, dict]]:
    return [(r.code, dict(r.params)) for r in caught.value.refusals]


def test_a_sig_referral_creates_a_packet_with_the_consents_scope(db, adult_sig):
    ref, _ = adult_sig
    (packet,) = packets(db, ref)
    with db.read() as s:
        (consent,) = [c for c in s.scalars(select(Consent)) if c.purposes == ["sig"]]
        refer = s.scalars(select(TransitionLogEntry).where(TransitionLogEntry.trigger == "refer_sig")).one()
    assert packet.purpose == "sig" and packet.closed_at is None
    assert sorted(packet.recipients) == sorted(consent.recipients) == sorted(SIG_RECIPIENTS)
    assert sorted(packet.data_categories) == sorted(consent.data_categories) == ["assessment", "concern", "identity"]
    assert packet.transition_seq == refer.seq


@pytest.mark.parametrize("unit", ["police", "school"])
def test_a_partner_of_a_listed_recipient_reads_only_the_covered_fields(db, staff, child_sig, child_number, unit):
    ref, later = child_sig
    (packet,) = packets(db, ref)
    reader = staff["partner"] if unit == "police" else partner(db, unit)
    before = access_rows(db)
    shown = read_referral(db, reader, packet.id, now=later)
    assert (shown.ref, shown.recipient, shown.purpose, shown.ground) == (ref, unit, "sig", "referral")
    assert set(shown.data) == SIG_FIELDS
    assert (shown.data["given_name"], shown.data["family_name"], shown.data["concern"]) == (GIVEN, FAMILY, CONCERN)
    assert shown.data["identity_number"] == child_number
    assert shown.data["birth_date"] == "2012-05-17"
    assert shown.data["protection_assessment"] == [PROTECTION]
    assert OPENING not in repr(shown.data)  # the journal is not covered
    body = assert_disclosure_logged(db, before, reader, "referral", SIG_FIELDS)
    assert body["codes"]["packet"] == packet.id and body["codes"]["recipient"] == unit
    assert sorted(body["codes"]["data_categories"]) == ["assessment", "concern", "identity"]
    for secret in (GIVEN, FAMILY, CONCERN[:20], PROTECTION[:20], child_number, "2012-05-17"):
        assert secret.encode() not in access_rows(db)[-1].entry


def test_a_partner_of_another_recipient_category_is_refused_and_it_is_logged(db, staff, adult_sig):
    ref, later = adult_sig
    (packet,) = packets(db, ref)
    for unit in ("healthcare", "probation", "exit_service"):
        reader = partner(db, unit)
        before = access_rows(db)
        with pytest.raises(DisclosureRefused) as caught:
            read_referral(db, reader, packet.id, now=later)
        assert caught.value.ref == ref
        assert refusal_codes(caught) == [("not_a_recipient", {"recipient": unit})], unit
        body = assert_refusal_logged(db, before, reader, recipient=unit, codes=["not_a_recipient"])
        assert body["codes"]["packet"] == packet.id


@pytest.mark.usefixtures("flowchart_v2")
def test_a_partner_reads_only_what_the_referral_shared_even_if_the_consent_allows_more(db, staff, adult_number):
    """The consent would allow school and healthcare; the caseworker referred to the police only."""
    ref, later = open_case(db, staff, adult_number, PATHS["awaiting_consent"][1])
    record_consent(db, staff["caseworker"], ref, ConsentForm(
        given_by="subject", purposes=("sig",), recipients=("police", "school", "healthcare", "social_services"),
        data_categories=("identity", "concern", "assessment", "journal"), method="written",
        evidence="Blankett undertecknad.", valid_from=later.date()), now=later)
    fire_trigger(db, staff["caseworker"], ref, "refer_sig", {"recipients": ["police"]}, now=later)
    (packet,) = packets(db, ref)
    assert sorted(packet.recipients) == ["police", "social_services"]
    assert sorted(packet.data_categories) == ["assessment", "concern", "identity"]  # what SIG needs, no journal
    assert set(read_referral(db, staff["partner"], packet.id, now=later).data) == SIG_FIELDS
    for unit in ("school", "healthcare"):
        reader = partner(db, unit)
        before = access_rows(db)
        with pytest.raises(DisclosureRefused) as caught:
            read_referral(db, reader, packet.id, now=later)
        assert refusal_codes(caught) == [("not_a_recipient", {"recipient": unit})], unit
        assert_refusal_logged(db, before, reader, recipient=unit, codes=["not_a_recipient"])


def test_only_a_partner_reads_a_referral_packet(db, staff, adult_sig):
    """Anyone else is refused as no recipient, and the attempt is logged; a unit of a recipient is not enough."""
    ref, later = adult_sig
    (packet,) = packets(db, ref)
    police_caseworker = add_staff(db, "caseworker-police", "Caseworker at the police", "caseworker", unit="police")
    readers = [(staff[role], "", role) for role in ROLES if role != "partner"]
    for reader, unit, shown in [*readers, (police_caseworker, "police", "police")]:
        before = access_rows(db)
        with pytest.raises(DisclosureRefused) as caught:
            read_referral(db, reader, packet.id, now=later)
        assert caught.value.ref == ref
        assert refusal_codes(caught) == [("not_a_recipient", {"recipient": shown})], reader.role
        body = assert_refusal_logged(db, before, reader, recipient=unit, codes=["not_a_recipient"])
        assert body["codes"]["packet"] == packet.id
    before = access_rows(db)
    with pytest.raises(RecordNotFound) as missing:
        read_referral(db, staff["partner"], "no-such-packet", now=later)
    assert missing.value.kind == "referral"
    with pytest.raises(NotPermitted):  # the unit is the account's: claiming the role is not enough
        read_referral(db, Actor(staff["caseworker"].id, "partner"), packet.id, now=later)
    assert_nothing_logged(db, before)


def test_withdrawing_the_consent_ends_a_partners_reading_at_once(db, staff, adult_sig):
    ref, later = adult_sig
    (packet,) = packets(db, ref)
    read_referral(db, staff["partner"], packet.id, now=later)
    (sig_consent,) = consent_ids(db, ref, "sig")
    withdrawn = withdraw_consent(db, staff["caseworker"], ref, sig_consent, "Vill inte längre delta.", now=later)
    assert withdrawn.state == "follow_up"
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        read_referral(db, staff["partner"], packet.id, now=later)
    assert refusal_codes(caught) == [("referral_closed", {"purpose": "sig"})]
    assert_refusal_logged(db, before, staff["partner"], recipient="police", codes=["referral_closed"])
    (packet,) = packets(db, ref)
    assert packet.closed_at == later


def test_a_guardians_withdrawal_ends_a_partners_reading_of_a_childs_packet(db, staff, child_sig):
    ref, later = child_sig
    (packet,) = packets(db, ref)
    with db.read() as s:
        guardians = s.scalars(select(Consent.id).where(Consent.given_by == "guardians")).one()
    assert withdraw_consent(db, staff["caseworker"], ref, guardians, "Vårdnadshavarna säger nej.",
                            now=later).state == "follow_up"
    assert packets(db, ref)[0].closed_at == later
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        read_referral(db, staff["partner"], packet.id, now=later)
    assert refusal_codes(caught) == [("referral_closed", {"purpose": "sig"})]
    assert_refusal_logged(db, before, staff["partner"], recipient="police", codes=["referral_closed"])


def test_follow_up_closes_the_packet(db, staff, adult_sig):
    ref, later = adult_sig
    fire_trigger(db, staff["caseworker"], ref, "start_follow_up", {}, now=later)
    (packet,) = packets(db, ref)
    assert packet.closed_at == later
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        read_referral(db, staff["partner"], packet.id, now=later + timedelta(minutes=1))
    assert refusal_codes(caught) == [("referral_closed", {"purpose": "sig"})]
    assert_refusal_logged(db, before, staff["partner"], recipient="police", codes=["referral_closed"])
    outsider = partner(db, "healthcare")  # no recipient stays no recipient, closed or not
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        read_referral(db, outsider, packet.id, now=later + timedelta(minutes=1))
    assert refusal_codes(caught) == [("not_a_recipient", {"recipient": "healthcare"})]
    assert_refusal_logged(db, before, outsider, recipient="healthcare", codes=["not_a_recipient"])


def test_a_packet_is_unreadable_once_its_consent_has_expired(db, staff, adult_sig):
    ref, later = adult_sig
    (packet,) = packets(db, ref)
    with db.read() as s:
        (until,) = [c.valid_until for c in s.scalars(select(Consent)) if c.purposes == ["sig"]]
    on_last_day = later.replace(year=until.year, month=until.month, day=until.day)
    assert read_referral(db, staff["partner"], packet.id, now=on_last_day).data
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        read_referral(db, staff["partner"], packet.id, now=on_last_day + timedelta(days=1))
    assert refusal_codes(caught) == [("consent_missing", {"given_by": "subject", "purpose": "sig"})]
    assert_refusal_logged(db, before, staff["partner"], recipient="police", codes=["consent_missing"])
    assert packets(db, ref)[0].closed_at is None  # still open: the decision, not the packet, stopped it


# --- disclosures on consent --------------------------------------------------------------------------------


def _consent(db, staff, ref, given_by, *, purpose="exit_support", recipients=("exit_service",),
             categories=("identity",), now=NOW + timedelta(days=1)):
    return record_consent(db, staff["caseworker"], ref, ConsentForm(
        given_by=given_by, purposes=(purpose,), recipients=recipients, data_categories=categories,
        method="written", evidence="Blankett undertecknad och arkiverad.", valid_from=now.date(),
        valid_until=now.date() + timedelta(days=90)), now=now).id


def assign(db, staff, ref, later, caseworker=None):
    """Give the caseworker (or `caseworker`) a read ground on the case: the decider assigns it."""
    assign_case(db, staff["decider"], ref, (caseworker or staff["caseworker"]).id, now=later)


@pytest.fixture
def adult_in_investigation(db, staff, adult_number):
    """An adult under investigation, assigned to the caseworker, with a consent to tell the exit service who
    they are."""
    ref, later = open_case(db, staff, adult_number, PATHS["investigation"][1])
    assign(db, staff, ref, later)
    _consent(db, staff, ref, "subject", now=later)
    return ref, later


def test_a_consented_disclosure_is_allowed_and_logged(db, staff, adult_in_investigation, adult_number):
    ref, later = adult_in_investigation
    for role in ("caseworker", "decider"):
        before = access_rows(db)
        shown = disclose_with_consent(db, staff[role], ref, "exit_service", "exit_support", ["identity"], now=later)
        assert (shown.ground, shown.recipient, shown.purpose, shown.data_categories) == (
            "consent", "exit_service", "exit_support", ("identity",))
        assert set(shown.data) == IDENTITY and shown.data["identity_number"] == adult_number
        assert_disclosure_logged(db, before, staff[role], "consent", IDENTITY)


REFUSED_ON_CONSENT = {
    "a data category not covered": ("exit_service", "exit_support", ["identity", "concern"], ["consent_incomplete"]),
    "another recipient": ("police", "exit_support", ["identity"], ["consent_incomplete"]),
    "another purpose": ("exit_service", "sig", ["identity"], ["consent_missing"]),
    "social services is no recipient": ("social_services", "exit_support", ["identity"], ["invalid_field"]),
    "an unknown recipient": ("newspaper", "exit_support", ["identity"], ["invalid_field"]),
    "no data category": ("exit_service", "exit_support", [], ["invalid_field"]),
}


@pytest.mark.parametrize("role", ["caseworker", "decider"])
def test_a_disclosure_the_consent_does_not_cover_is_refused_and_logged(db, staff, adult_in_investigation, role):
    ref, later = adult_in_investigation
    for case, (recipient, purpose, categories, codes) in REFUSED_ON_CONSENT.items():
        before = access_rows(db)
        with pytest.raises(DisclosureRefused) as caught:
            disclose_with_consent(db, staff[role], ref, recipient, purpose, categories, now=later)
        assert [r.code for r in caught.value.refusals] == codes, case
        assert_refusal_logged(db, before, staff[role], recipient=recipient, codes=codes)


def test_only_caseworkers_and_deciders_disclose_and_nothing_is_logged_for_others(db, staff, adult_in_investigation):
    """Roles that never disclose are turned away before any decision: no data, no log entry."""
    ref, later = adult_in_investigation
    before = access_rows(db)
    for role in ROLES:
        if role in ("caseworker", "decider"):
            continue
        with pytest.raises(NotPermitted):
            disclose_with_consent(db, staff[role], ref, "exit_service", "exit_support", ["identity"], now=later)
    with pytest.raises(NotPermitted):  # the role is the account's: claiming a disclosing role is not enough
        disclose_with_consent(db, Actor(staff["reporter"].id, "caseworker"), ref, "exit_service", "exit_support",
                              ["identity"], now=later)
    assert_nothing_logged(db, before)


def test_a_withdrawn_or_expired_consent_no_longer_allows_a_disclosure(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    args = (ref, "exit_service", "exit_support", ["identity"])
    missing = [("consent_missing", {"given_by": "subject", "purpose": "exit_support"})]
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        disclose_with_consent(db, staff["caseworker"], *args, now=later + timedelta(days=91))
    assert refusal_codes(caught) == missing
    assert_refusal_logged(db, before, staff["caseworker"], codes=["consent_missing"])
    (consent,) = consent_ids(db, ref, "exit_support")
    withdraw_consent(db, staff["caseworker"], ref, consent, "Ångrade sig.", now=later)
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        disclose_with_consent(db, staff["caseworker"], *args, now=later)
    assert refusal_codes(caught) == missing
    assert_refusal_logged(db, before, staff["caseworker"], codes=["consent_missing"])


def test_a_childs_disclosure_needs_the_guardians_consent_too(db, staff, child_number):
    ref, later = open_case(db, staff, child_number, CHILD_TO_SIG[:3])
    assign(db, staff, ref, later)
    args = (ref, "exit_service", "exit_support", ["identity"])
    _consent(db, staff, ref, "subject", now=later)
    before = access_rows(db)
    with pytest.raises(DisclosureRefused) as caught:
        disclose_with_consent(db, staff["caseworker"], *args, now=later)
    assert [(r.code, r.params["given_by"]) for r in caught.value.refusals] == [("consent_missing", "guardians")]
    assert_refusal_logged(db, before, staff["caseworker"])
    _consent(db, staff, ref, "guardians", now=later)
    before = access_rows(db)
    assert set(disclose_with_consent(db, staff["caseworker"], *args, now=later).data) == IDENTITY
    assert_disclosure_logged(db, before, staff["caseworker"], "consent", IDENTITY)


def test_a_partner_cannot_take_a_disclosure_meant_for_another_recipient(db, staff, adult_in_investigation):
    """The police partner may not receive what the consent lets the exit service receive."""
    ref, later = adult_in_investigation
    before = access_rows(db)
    for recipient in ("exit_service", "police"):  # another recipient's, and even their own category
        with pytest.raises(NotPermitted):
            disclose_with_consent(db, staff["partner"], ref, recipient, "exit_support", ["identity"], now=later)
    assert_nothing_logged(db, before)


def test_a_closed_packet_cannot_be_read_again_as_a_consented_disclosure(db, staff, adult_sig):
    """Follow-up closed the packet; the SIG consent is still in force, but sharing with the partner has stopped."""
    ref, later = adult_sig
    fire_trigger(db, staff["caseworker"], ref, "start_follow_up", {}, now=later)
    (packet,) = packets(db, ref)
    assert packet.closed_at == later
    before = access_rows(db)
    with pytest.raises(NotPermitted):
        disclose_with_consent(db, staff["partner"], ref, "police", "sig", ["identity", "concern"], now=later)
    assert_nothing_logged(db, before)
    with pytest.raises(DisclosureRefused) as caught:
        read_referral(db, staff["partner"], packet.id, now=later)
    assert [r.code for r in caught.value.refusals] == ["referral_closed"]


def test_an_unassigned_caseworker_gets_no_case_data_through_a_disclosure(db, staff, adult_in_investigation):
    """Only a caseworker with a read ground (an assignment) may disclose or ask to; emergency access is none."""
    ref, later = adult_in_investigation
    other = add_staff(db, "caseworker-2", "Unassigned caseworker", "caseworker")
    before = access_rows(db)
    with pytest.raises(AccessDenied) as caught:
        disclose_with_consent(db, other, ref, "exit_service", "exit_support", ["identity"], now=later)
    assert (caught.value.ref, caught.value.emergency_possible) == (ref, False)
    with pytest.raises(AccessDenied):
        request_disclosure(db, other, ref, "police", "duty_to_disclose", ["identity"], "osl_10_28", REASON,
                           named_law=NAMED_LAW, now=later)
    assert_nothing_logged(db, before)
    with db.read() as s:
        assert s.scalars(select(Disclosure)).all() == []
    read_case(db, other, ref, emergency_reason="Hot i väntrummet, behöver se ärendet nu.", now=later)
    before = access_rows(db)
    with pytest.raises(AccessDenied):
        disclose_with_consent(db, other, ref, "exit_service", "exit_support", ["identity"], now=later)
    assert_nothing_logged(db, before)
    assign(db, staff, ref, later, other)  # once assigned, the same disclosure goes through
    assert set(disclose_with_consent(db, other, ref, "exit_service", "exit_support", ["identity"],
                                     now=later).data) == IDENTITY
    assert_disclosure_logged(db, before, other, "consent", IDENTITY)


# --- disclosures on a legal basis --------------------------------------------------------------------------


NAMED_LAW = "lag (1998:620) om belastningsregister"
TERROR = "prevent_terrorist_crime"  # the purpose 10 kap. 18 b § OSL allows (policies/disclosure.toml)


def _request(db, staff, ref, later, requester="caseworker", legal_basis="osl_10_18b", reason=REASON):
    return request_disclosure(db, staff[requester], ref, "police", TERROR, ["identity", "concern"],
                              legal_basis, reason, now=later)


def _status(db, request_id):
    with db.read() as s:
        row = s.get(Disclosure, request_id)
        return row.status, row.decided_by


def _row(db, request_id) -> dict:
    """Every column of a request, to show that a refused attempt to decide it changed nothing."""
    with db.read() as s:
        row = s.get(Disclosure, request_id)
        return {c.key: getattr(row, c.key) for c in Disclosure.__table__.columns}


def test_a_legal_basis_approved_by_another_decider_releases_the_packet(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    for requester, approver in (("caseworker", staff["decider"]),
                                ("decider", add_staff(db, "decider-2", "Second decider", "decider"))):
        request_id = _request(db, staff, ref, later, requester)
        assert _status(db, request_id) == ("pending", None)
        before = access_rows(db)
        shown = decide_requested_disclosure(db, approver, request_id, approve=True, now=later)
        assert (shown.ground, shown.recipient, shown.purpose) == ("legal_basis", "police", TERROR)
        assert set(shown.data) == IDENTITY | {"concern"} and shown.data["concern"] == CONCERN
        body = assert_disclosure_logged(db, before, approver, "legal_basis", IDENTITY | {"concern"})
        assert (body["codes"]["legal_basis"], body["codes"]["request"]) == ("osl_10_18b", request_id)
        assert _status(db, request_id) == ("approved", approver.id)
        with pytest.raises(RecordNotFound) as missing:  # decided once
            decide_requested_disclosure(db, approver, request_id, approve=True, now=later)
        assert missing.value.kind == "disclosure request"


@pytest.mark.parametrize("approve", [True, False], ids=["approving", "refusing"])
def test_the_requester_cannot_decide_their_own_request(db, staff, adult_in_investigation, approve):
    ref, later = adult_in_investigation
    request_id = _request(db, staff, ref, later, "decider")
    pending, before = _row(db, request_id), access_rows(db)
    with pytest.raises(NotPermitted):
        decide_requested_disclosure(db, staff["decider"], request_id, approve=approve, now=later)
    assert_nothing_logged(db, before)
    assert _row(db, request_id) == pending and pending["status"] == "pending"
    second = add_staff(db, "decider-2", "Second decider", "decider")  # the request is still there to decide
    assert decide_requested_disclosure(db, second, request_id, approve=True, now=later).data
    assert _status(db, request_id) == ("approved", second.id)


def test_a_non_decider_cannot_approve(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    requester = add_staff(db, "caseworker-2", "Requester", "caseworker")
    assign(db, staff, ref, later, requester)
    request_id = request_disclosure(db, requester, ref, "police", "duty_to_disclose", ["identity"], "osl_10_28",
                                    REASON, named_law=NAMED_LAW, now=later)
    pending, before = _row(db, request_id), access_rows(db)
    for role in ROLES:
        if role == "decider":
            continue
        with pytest.raises(NotPermitted):
            decide_requested_disclosure(db, staff[role], request_id, approve=True, now=later)
        assert _row(db, request_id) == pending, role
    with pytest.raises(NotPermitted):  # the role is the account's: claiming the decider's is not enough
        decide_requested_disclosure(db, Actor(staff["caseworker"].id, "decider"), request_id, approve=True, now=later)
    assert_nothing_logged(db, before)
    assert _row(db, request_id) == pending and pending["status"] == "pending"
    shown = decide_requested_disclosure(db, staff["decider"], request_id, approve=True, now=later)
    assert set(shown.data) == IDENTITY and _status(db, request_id) == ("approved", staff["decider"].id)


@pytest.mark.parametrize("approve", [False, True], ids=["refusing", "approving"])
def test_only_a_second_decider_decides_a_request(db, staff, adult_in_investigation, approve):
    ref, later = adult_in_investigation
    request_id = _request(db, staff, ref, later)
    pending, before = _row(db, request_id), access_rows(db)
    for actor in (staff["reporter"], staff["partner"], staff["caseworker"]):  # the last is the requester
        with pytest.raises(NotPermitted):
            decide_requested_disclosure(db, actor, request_id, approve=approve, now=later)
        assert _row(db, request_id) == pending, f"{actor.role} changed the request"
    assert_nothing_logged(db, before)
    shown = decide_requested_disclosure(db, staff["decider"], request_id, approve=approve, now=later)
    if approve:
        assert set(shown.data) == IDENTITY | {"concern"}
        assert_disclosure_logged(db, before, staff["decider"], "legal_basis", IDENTITY | {"concern"})
    else:
        assert shown is None
        assert_refusal_logged(db, before, staff["decider"], recipient="police", codes=["approval_refused"])
    assert _status(db, request_id) == ("approved" if approve else "refused", staff["decider"].id)


def test_a_decider_refusing_the_request_is_logged(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    request_id = _request(db, staff, ref, later)
    before = access_rows(db)
    assert decide_requested_disclosure(db, staff["decider"], request_id, approve=False, now=later) is None
    body = assert_refusal_logged(db, before, staff["decider"], recipient="police")
    assert body["codes"]["request"] == request_id and body["codes"]["refusals"] == ["approval_refused"]
    assert _status(db, request_id) == ("refused", staff["decider"].id)


def test_a_legal_basis_outside_the_closed_list_is_refused_when_requested(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    for legal_basis in ("sol_11_1", "osl_26_1", "whatever"):
        before = access_rows(db)
        with pytest.raises(DisclosureRefused) as caught:
            _request(db, staff, ref, later, legal_basis=legal_basis)
        assert [(r.code, r.params.get("field")) for r in caught.value.refusals] == [
            ("invalid_field", "legal_basis")], legal_basis
        assert_refusal_logged(db, before, staff["caseworker"], recipient="police")
    with db.read() as s:
        assert s.scalars(select(Disclosure)).all() == []


def test_a_request_is_checked_against_the_conditions_of_its_legal_basis(db, staff, adult_in_investigation):
    """Each basis's own conditions, when asked for and again when decided (policies/disclosure.toml):
    10 kap. 18 a § OSL only about a person under 21 (osl_10_18a), 10 kap. 28 § only with the act named (osl_10_28),
    26 kap. 9 a § only as feedback (osl_26_9a). The refusal is logged and names the provision."""
    ref, later = adult_in_investigation  # the person is 19 (tests.conftest): under 21
    for args, kw, expected in (
        (("school", "prevent_crime", "osl_10_18a"), {}, ["basis_recipient"]),
        (("police", "duty_to_disclose", "osl_10_28"), {}, ["basis_law_not_named"]),
        (("reporter", "investigation", "osl_26_9a"), {}, ["basis_feedback_only"]),
        (("police", "sig", "osl_10_18b"), {}, ["basis_purpose"]),
    ):
        recipient, purpose, basis = args
        before = access_rows(db)
        with pytest.raises(DisclosureRefused) as caught:
            request_disclosure(db, staff["caseworker"], ref, recipient, purpose, ["identity"], basis, REASON,
                               now=later, **kw)
        assert [r.code for r in caught.value.refusals] == expected, basis
        assert cite(basis) in caught.value.text("sv")
        body = assert_refusal_logged(db, before, staff["caseworker"], recipient=recipient)
        assert body["codes"]["refusals"] == expected and body["codes"]["legal_basis"] == basis
    with pytest.raises(InvalidConcern) as too_long:
        request_disclosure(db, staff["caseworker"], ref, "police", "duty_to_disclose", ["identity"], "osl_10_28",
                           REASON, named_law="lag " * 100, now=later)
    assert too_long.value.field == "named_law"
    request_id = request_disclosure(db, staff["caseworker"], ref, "police", "prevent_crime", ["identity"],
                                    "osl_10_18a", REASON, now=later)
    assert decide_requested_disclosure(db, staff["decider"], request_id, approve=True, now=later).data
    request_id = request_disclosure(db, staff["caseworker"], ref, "police", "duty_to_disclose", ["identity"],
                                    "osl_10_28", REASON, named_law=NAMED_LAW, now=later)
    with db.read() as s:
        row = s.get(Disclosure, request_id)
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        assert NAMED_LAW.encode() not in row.named_law  # sealed like the reason
        assert db.vault.case_key(case_id).open("disclosures", request_id, "named_law", row.named_law) == NAMED_LAW
    assert decide_requested_disclosure(db, staff["decider"], request_id, approve=True, now=later).data


def test_who_may_request_and_what_a_request_needs(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    before = access_rows(db)
    for role in ("partner", "reporter", "intake", "auditor", "admin"):
        with pytest.raises(NotPermitted):
            _request(db, staff, ref, later, role)
    for reason in ("", "   "):
        with pytest.raises(InvalidConcern) as caught:
            _request(db, staff, ref, later, reason=reason)
        assert caught.value.field == "reason"
    with pytest.raises(NotPermitted):
        request_disclosure(db, Actor(staff["reporter"].id, "caseworker"), ref, "police", "duty_to_disclose",
                           ["identity"], "osl_10_28", REASON, named_law=NAMED_LAW, now=later)
    with db.read() as s:
        assert s.scalars(select(Disclosure)).all() == []
    assert access_rows(db) == before


def test_the_reason_of_a_request_is_sealed(db, staff, adult_in_investigation):
    ref, later = adult_in_investigation
    request_id = _request(db, staff, ref, later)
    decide_requested_disclosure(db, staff["decider"], request_id, approve=True, now=later)
    with db.read() as s:
        row = s.get(Disclosure, request_id)
        case_id = s.scalars(select(Case.id).where(Case.ref == ref)).one()
        assert db.vault.case_key(case_id).open("disclosures", request_id, "reason", row.reason) == REASON
        for table in Base.metadata.sorted_tables:  # nowhere in the database in plaintext
            for values in s.execute(select(table)).all():
                dump = "|".join(v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values)
                assert REASON[:30] not in dump and "dnr 4711" not in dump, f"the reason is readable in {table.name}"


def test_the_access_log_of_disclosures_holds_no_personal_data(db, staff, adult_sig, adult_number):
    ref, later = adult_sig
    assign(db, staff, ref, later)
    (packet,) = packets(db, ref)
    read_referral(db, staff["partner"], packet.id, now=later)
    outsider = partner(db, "healthcare")
    with pytest.raises(DisclosureRefused):
        read_referral(db, outsider, packet.id, now=later)
    request_id = _request(db, staff, ref, later)
    decide_requested_disclosure(db, staff["decider"], request_id, approve=True, now=later)
    rows = access_rows(db)
    assert [(r.action, r.ground) for r in rows] == [
        ("disclose", "referral"), ("disclosure_refused", "none"), ("disclose", "legal_basis")]
    for row in rows:
        for secret in (GIVEN, FAMILY, adult_number, adult_number[2:], CONCERN[:20], REASON[:20], "dnr 4711"):
            assert secret.encode() not in row.entry, f"entry {row.seq} holds personal data"
