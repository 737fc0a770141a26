"""The one decision on every disclosure of case data outside social services (DESIGN.md §3).

A disclosure is allowed on one of two grounds only:
- consent: an active consent covering the purpose, the recipient and every data category, from the person
  and, while they are under 18, from the guardians too (12 kap. 2–3 §§ OSL); or
- legal basis: one listed in `policies/disclosure.toml`, whose own conditions the request meets (the
  recipients, the purpose, the person's age, the act that imposes a duty to disclose …), with a written
  reason and the approval of a second person who holds a decision-maker's delegation.
Everything else is refused, and each refusal says which condition failed, naming the provision (law.toml).
Pure: the caller logs both outcomes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from policies import ConsentRule, Label
from policies.law import cite
from policies.rules import Basis, DisclosureRules, load_disclosure_rules
from workflow.facts import Actor, CaseFacts, age_on
from workflow.guards import consent_refusals
from workflow.refusals import Refusal

__all__ = ["DISCLOSING_ROLES", "INTERNAL", "LEGAL_BASES", "Decision", "decide_disclosure", "disclosure_rules"]

DISCLOSING_ROLES = frozenset({"caseworker", "decider", "partner"})
APPROVING_ROLE = "decider"
INTERNAL = "social_services"  # a recipient inside social services: not a disclosure, unless a basis says so


def disclosure_rules() -> DisclosureRules:
    """The legal bases for disclosure and their conditions (`policies/disclosure.toml`), read once."""
    return load_disclosure_rules()


LEGAL_BASES = frozenset(disclosure_rules().bases)


@dataclass(frozen=True)
class Decision:
    allowed: bool
    ground: str | None
    refusals: tuple[Refusal, ...] = ()


def decide_disclosure(
    case: CaseFacts,
    actor: Actor,
    *,
    recipient: str,
    purpose: str,
    data_categories: Collection[str],
    today: date,
    vocabularies: Mapping[str, Mapping[str, Label]],
    legal_basis: str | None = None,
    reason: str | None = None,
    approved_by: Actor | None = None,
    named_law: str | None = None,
) -> Decision:
    """Decide whether `actor` may disclose `data_categories` of `case` to `recipient` for `purpose`.

    `named_law` is the act or ordinance a duty to disclose rests on, for a basis that needs one named.
    """
    basis = disclosure_rules().bases.get(legal_basis or "")
    inside = basis is not None and basis.recipients is not None and INTERNAL in basis.recipients
    refusals = _checks(actor, recipient, purpose, data_categories, vocabularies, legal=legal_basis is not None,
                       inside=inside)
    if legal_basis is not None:
        refusals += _legal_basis_refusals(case, actor, legal_basis, reason, approved_by, today, recipient, purpose,
                                          named_law, vocabularies)
        return Decision(not refusals, None if refusals else "legal_basis", tuple(refusals))
    if refusals:
        return Decision(False, None, tuple(refusals))
    rule = ConsentRule(purpose=purpose, recipients=(recipient,), data_categories=tuple(data_categories))
    refusals = list(consent_refusals(case, rule, today))
    return Decision(not refusals, None if refusals else "consent", tuple(refusals))


def _checks(
    actor: Actor, recipient: str, purpose: str, data_categories: Collection[str],
    vocabularies: Mapping[str, Mapping[str, Label]], *, legal: bool, inside: bool,
) -> list[Refusal]:
    """The request's own shape: a disclosing role and known codes (a legal basis may know more of them).

    Social services itself is no recipient of a disclosure, unless the basis cited names it (10 kap. 2 § OSL).
    """
    policy = disclosure_rules()
    recipients = {*vocabularies["recipients"], *(policy.recipients if legal else ())}
    purposes = {*vocabularies["purposes"], *(policy.purposes if legal else ())}
    out = []
    if actor.role not in DISCLOSING_ROLES:
        out.append(Refusal("role", {"role": actor.role, "allowed": sorted(DISCLOSING_ROLES)}))
    if (recipient == INTERNAL and not inside) or recipient not in recipients:
        out.append(Refusal("invalid_field", {"field": "recipient", "problem": "code_not_allowed"}))
    if purpose not in purposes:
        out.append(Refusal("invalid_field", {"field": "purpose", "problem": "unknown_code"}))
    if not data_categories or not set(data_categories) <= set(vocabularies["data_categories"]):
        out.append(Refusal("invalid_field", {"field": "data_categories", "problem": "unknown_code"}))
    return out


def _legal_basis_refusals(
    case: CaseFacts, actor: Actor, legal_basis: str, reason: str | None, approved_by: Actor | None, today: date,
    recipient: str, purpose: str, named_law: str | None, vocabularies: Mapping[str, Mapping[str, Label]],
) -> list[Refusal]:
    out = []
    if actor.role == "partner":
        out.append(Refusal("role", {"role": actor.role, "allowed": ["caseworker", "decider"]}))
    basis = disclosure_rules().bases.get(legal_basis)
    if basis is None:
        out.append(Refusal("invalid_field", {"field": "legal_basis", "problem": "code_not_allowed"}))
    if not (reason or "").strip():
        out.append(Refusal("missing_field", {"field": "reason"}))
    if approved_by is None:
        out.append(Refusal("approval_missing"))
    elif approved_by.id == actor.id or approved_by.role != APPROVING_ROLE:
        out.append(Refusal("approval_invalid", {"role": approved_by.role}))
    if basis is not None:
        out += condition_refusals(basis, case, today, recipient, purpose, named_law, vocabularies)
    return out


def condition_refusals(
    basis: Basis, case: CaseFacts, today: date, recipient: str, purpose: str, named_law: str | None,
    vocabularies: Mapping[str, Mapping[str, Label]],
) -> list[Refusal]:
    """Each condition of the provision cited that the request does not meet (policies/disclosure.toml)."""
    law = cite(basis.law)
    if basis.feedback_only:  # 26 kap. 9 a § OSL: the reporter's feedback page, never a disclosure of data
        return [Refusal("basis_feedback_only", {"law": law})]
    out = []
    if basis.recipients is not None and recipient not in basis.recipients:
        names = {**vocabularies["recipients"], **disclosure_rules().recipients}
        out.append(Refusal("basis_recipient", {"law": law, "allowed": [names.get(r, r) for r in basis.recipients]}))
    if basis.purposes is not None and purpose not in basis.purposes:
        aims = disclosure_rules().purposes
        out.append(Refusal("basis_purpose", {"law": law, "allowed": [aims[p] for p in basis.purposes]}))
    if basis.under_age is not None and (case.birth_date is None or age_on(case.birth_date, today) >= basis.under_age):
        out.append(Refusal("basis_age", {"law": law, "limit": basis.under_age}))
    if basis.names_law and not (named_law or "").strip():
        out.append(Refusal("basis_law_not_named", {"law": law, "field": "named_law"}))
    return out
