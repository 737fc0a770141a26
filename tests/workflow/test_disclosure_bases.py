"""Each legal basis for disclosure is checked against the conditions of its own provision, not only that a
reason was written (policies/disclosure.toml; LAW.md, last section). A test per basis, citing it by its
law.toml key; each refusal names the condition that failed and the provision, in Swedish and English.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from policies.law import cite
from workflow import Actor, CaseFacts, default_flowchart
from workflow.disclosure import decide_disclosure

VOCABULARIES = default_flowchart().vocabularies
TODAY = date(2026, 11, 26)
RECEIVED = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
REASON = "Underlag finns i tjänsteanteckning."
REQUESTER, APPROVER = Actor("staff-caseworker", "caseworker"), Actor("staff-decider-2", "decider")
AGE_20 = date(2006, 11, 27)  # 20 on TODAY, 21 tomorrow
AGE_21 = date(2005, 11, 26)  # 21 on TODAY


def decide(basis: str, *, born: date = AGE_20, recipient: str, purpose: str, categories=("identity",),
           named_law: str | None = None):
    return decide_disclosure(
        CaseFacts("VO-TEST0001", "investigation", RECEIVED, born), REQUESTER, recipient=recipient, purpose=purpose,
        data_categories=categories, today=TODAY, vocabularies=VOCABULARIES, legal_basis=basis, reason=REASON,
        approved_by=APPROVER, named_law=named_law)


def codes(decision) -> list[str]:
    return [r.code for r in decision.refusals]


def test_osl_10_2_only_within_social_services_own_activity():
    """osl_10_2 (10 kap. 2 § OSL): necessary for the authority's own activity, so the recipient is the
    municipality's own social services and the purpose its own work."""
    assert decide("osl_10_2", recipient="social_services", purpose="own_activity").allowed
    outside = decide("osl_10_2", recipient="police", purpose="own_activity")
    assert codes(outside) == ["basis_recipient"]
    assert outside.refusals[0].text("sv") == f"{cite('osl_10_2')} medger utlämnande bara till Socialtjänsten"
    assert outside.refusals[0].text("en") == f"{cite('osl_10_2')} allows disclosure only to Social services"
    assert codes(decide("osl_10_2", recipient="social_services", purpose="prevent_crime")) == ["basis_purpose"]


def test_osl_10_18a_only_to_the_police_about_a_person_under_21_to_prevent_crime():
    """osl_10_18a (10 kap. 18 a § OSL): to the police, about a person under 21, to prevent crime."""
    assert decide("osl_10_18a", recipient="police", purpose="prevent_crime").allowed
    too_old = decide("osl_10_18a", born=AGE_21, recipient="police", purpose="prevent_crime")
    assert codes(too_old) == ["basis_age"]
    assert "inte har fyllt 21 år" in too_old.refusals[0].text("sv") and "under 21" in too_old.refusals[0].text("en")
    assert "2005" not in too_old.refusals[0].text("en")  # the condition, never the person's birth date or age
    assert codes(decide("osl_10_18a", recipient="school", purpose="prevent_crime")) == ["basis_recipient"]
    wrong_purpose = decide("osl_10_18a", recipient="police", purpose="sig")
    assert codes(wrong_purpose) == ["basis_purpose"]
    assert "Förhindra att den unge begår brott" in wrong_purpose.refusals[0].text("sv")
    assert "Prevent the young person from committing crime" in wrong_purpose.refusals[0].text("en")


def test_osl_10_18b_only_to_the_police_or_security_service_about_terrorist_crime():
    """osl_10_18b (10 kap. 18 b § OSL): to the police or the Security Service, to prevent terrorist crime."""
    for recipient in ("police", "security_service"):
        assert decide("osl_10_18b", born=AGE_21, recipient=recipient, purpose="prevent_terrorist_crime").allowed
    refused = decide("osl_10_18b", recipient="probation", purpose="prevent_terrorist_crime")
    assert codes(refused) == ["basis_recipient"]
    assert "Polisen" in refused.refusals[0].text("sv") and "Säkerhetspolisen" in refused.refusals[0].text("sv")
    assert codes(decide("osl_10_18b", recipient="police", purpose="prevent_crime")) == ["basis_purpose"]


@pytest.mark.parametrize("named_law", [None, "", "   "])
def test_osl_10_28_needs_the_act_that_imposes_the_duty_named(named_law):
    """osl_10_28 (10 kap. 28 § OSL): a duty to disclose under another act or ordinance, which is named."""
    refused = decide("osl_10_28", recipient="police", purpose="duty_to_disclose", named_law=named_law)
    assert codes(refused) == ["basis_law_not_named"]
    assert refused.refusals[0].field_name == "named_law"
    assert "ange vilken lag eller förordning" in refused.refusals[0].text("sv")
    assert decide("osl_10_28", recipient="police", purpose="duty_to_disclose", named_law="lag (1998:620)").allowed


def test_osl_26_9a_is_only_feedback_to_the_reporter_never_a_disclosure():
    """osl_26_9a (26 kap. 9 a § OSL): feedback to the reporter, given on the reporter's own page only."""
    for recipient in ("reporter", "police"):
        refused = decide("osl_26_9a", recipient=recipient, purpose="investigation")
        assert codes(refused) == ["basis_feedback_only"]
        assert cite("osl_26_9a") in refused.refusals[0].text("sv")
        assert "reporter's own page" in refused.refusals[0].text("en")


def test_every_unmet_condition_of_a_basis_is_named_at_once():
    """All of a provision's unmet conditions are named together (osl_10_18a)."""
    refused = decide("osl_10_18a", born=AGE_21, recipient="school", purpose="sig")
    assert codes(refused) == ["basis_recipient", "basis_purpose", "basis_age"]
    assert not refused.allowed and refused.ground is None


def test_a_legal_basis_purpose_or_recipient_is_no_ground_for_consent():
    """Purposes and recipients that only a legal basis knows are not codes a consent-based disclosure takes."""
    consented = decide_disclosure(
        CaseFacts("VO-TEST0001", "investigation", RECEIVED, AGE_21), REQUESTER, recipient="security_service",
        purpose="prevent_terrorist_crime", data_categories=("identity",), today=TODAY, vocabularies=VOCABULARIES)
    assert {(r.code, r.params.get("field")) for r in consented.refusals} == {
        ("invalid_field", "recipient"), ("invalid_field", "purpose")}
