"""The one decision on every disclosure of case data outside social services (DESIGN.md §3).

A disclosure is allowed on one of two grounds only:
- consent: an active consent covering the purpose, the recipient and every data category, from the person
  and, while they are under 18, from the guardians too (12 kap. 2–3 §§ OSL); or
- legal basis: one from a closed list (10 kap. 18 a §, 18 b §, 28 § and 26 kap. 9 a § OSL), with a written
  reason and the approval of a second person who holds a decision-maker's delegation.
Everything else is refused, and the refusal says why. Pure: the caller logs both outcomes.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date

from policies import ConsentRule
from workflow.facts import Actor, CaseFacts
from workflow.guards import consent_refusals
from workflow.refusals import Refusal

__all__ = ["DISCLOSING_ROLES", "INTERNAL", "LEGAL_BASES", "Decision", "decide_disclosure"]

LEGAL_BASES = frozenset({"osl_10_18a", "osl_10_18b", "osl_10_28", "osl_26_9a"})
DISCLOSING_ROLES = frozenset({"caseworker", "decider", "partner"})
APPROVING_ROLE = "decider"
INTERNAL = "social_services"  # a recipient inside social services: not a disclosure


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
    vocabularies: Mapping[str, Collection[str]],
    legal_basis: str | None = None,
    reason: str | None = None,
    approved_by: Actor | None = None,
) -> Decision:
    """Decide whether `actor` may disclose `data_categories` of `case` to `recipient` for `purpose`."""
    refusals = _checks(actor, recipient, purpose, data_categories, vocabularies)
    if refusals:
        return Decision(False, None, tuple(refusals))
    if legal_basis is not None:
        refusals = _legal_basis_refusals(actor, legal_basis, reason, approved_by)
        return Decision(not refusals, None if refusals else "legal_basis", tuple(refusals))
    rule = ConsentRule(purpose=purpose, recipients=(recipient,), data_categories=tuple(data_categories))
    refusals = list(consent_refusals(case, rule, today))
    return Decision(not refusals, None if refusals else "consent", tuple(refusals))


def _checks(
    actor: Actor, recipient: str, purpose: str, data_categories: Collection[str],
    vocabularies: Mapping[str, Collection[str]],
) -> list[Refusal]:
    out = []
    if actor.role not in DISCLOSING_ROLES:
        out.append(Refusal("role", {"role": actor.role, "allowed": sorted(DISCLOSING_ROLES)}))
    if recipient == INTERNAL or recipient not in vocabularies["recipients"]:
        out.append(Refusal("invalid_field", {"field": "recipient", "problem": "code_not_allowed"}))
    if purpose not in vocabularies["purposes"]:
        out.append(Refusal("invalid_field", {"field": "purpose", "problem": "unknown_code"}))
    if not data_categories or not set(data_categories) <= set(vocabularies["data_categories"]):
        out.append(Refusal("invalid_field", {"field": "data_categories", "problem": "unknown_code"}))
    return out


def _legal_basis_refusals(
    actor: Actor, legal_basis: str, reason: str | None, approved_by: Actor | None
) -> list[Refusal]:
    out = []
    if actor.role == "partner":
        out.append(Refusal("role", {"role": actor.role, "allowed": ["caseworker", "decider"]}))
    if legal_basis not in LEGAL_BASES:
        out.append(Refusal("invalid_field", {"field": "legal_basis", "problem": "code_not_allowed"}))
    if not (reason or "").strip():
        out.append(Refusal("missing_field", {"field": "reason"}))
    if approved_by is None:
        out.append(Refusal("approval_missing"))
    elif approved_by.id == actor.id or approved_by.role != APPROVING_ROLE:
        out.append(Refusal("approval_invalid", {"role": approved_by.role}))
    return out
