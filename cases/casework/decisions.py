"""Write the decision record of a transition that is a decision, in the transition's own transaction.

The step's kind, provision and appealability come from `policies/decisions.toml`; the decision maker is the
actor, named with the delegation their role holds for that kind. A role without one may not take the decision
(deny by default): the whole transition is refused and rolled back, so there is never a decision without its
transition nor a decision step without its decision. The reasons are the transition's reason, sealed under
the case's key (förvaltningslagen (2017:900), the provision on reasons for decisions: law.toml `fl_32`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from cases.crypto.vault import CaseKey
from cases.errors import NotPermitted
from cases.models import Case, Decision
from policies.decisions import load_decisions
from workflow import Outcome

__all__ = ["record_decision", "require_delegation"]


def require_delegation(role: str, trigger: str) -> None:
    """Refuse a decision step to a role whose delegation does not cover its kind; other steps pass."""
    decisions = load_decisions()
    kind = decisions.kind_of(trigger)
    if kind is not None and decisions.delegation_for(role, kind.name) is None:
        raise NotPermitted(f"take a decision of kind {kind.name}", role)


def record_decision(session: Session, key: CaseKey, case: Case, outcome: Outcome, seq: int,
                    now: datetime) -> Decision | None:
    """The decision record of the transition logged at `seq`, or None when its trigger is no decision."""
    entry = outcome.entry
    decisions = load_decisions()
    kind = decisions.kind_of(entry.trigger)
    if kind is None:
        return None
    delegation = decisions.delegation_for(entry.role, kind.name)
    if delegation is None:  # checked before the engine fired; here too, so this function alone is safe
        raise NotPermitted(f"take a decision of kind {kind.name}", entry.role)
    decision_id = str(uuid.uuid4())
    reason = outcome.payload.get("reason")
    decision = Decision(
        id=decision_id, case_id=case.id, transition_seq=seq, trigger=entry.trigger, kind=kind.name,
        provision=kind.provision, appealable=kind.appealable, decided_by=entry.actor_id, role=entry.role,
        delegation=delegation.name, decided_at=now,
        reasons=key.seal("decisions", decision_id, "reasons", reason) if isinstance(reason, str) and reason else None,
    )
    session.add(decision)
    session.flush()
    return decision
