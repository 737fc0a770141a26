"""Who may work on a case, and on what ground; the role sets that are policy. Defined once here, as data.

Deny by default (DESIGN.md §1). A ground is what lets a member of staff read a case's personal data and move
the case on: intake on the cases in intake, the decision maker on every case (for now the whole municipality:
units arrive with single sign-on), a caseworker on the cases assigned to them while the assignment is open.
`cases.casework.grounds` derives from `GROUNDS` both the check on one case and the filter a query of many cases
carries (the work list), so the two cannot drift apart. Emergency access lets the roles with a ground read
another case with a written reason (`cases.casework.emergency`); it never lets them move it on.

Role and state names are the flowchart's (`vid_oro.toml`); a test holds them to it.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ASSIGNING_ROLES",
    "AUDITING_ROLES",
    "CASE_READING_ROLES",
    "CONSENT_ROLES",
    "DISCLOSING_ROLES",
    "EMERGENCY_ROLES",
    "GROUNDS",
    "IDENTITY_ROLES",
    "INFORMING_ROLES",
    "INTAKE_STATES",
    "MONITORING_ROLES",
    "REVIEWING_ROLES",
    "STATISTICS_ROLES",
    "SYSTEM_ROLE",
    "Ground",
]


@dataclass(frozen=True)
class Ground:
    """One role's ground on a case. `name` is what the access log records as the ground of a read."""

    role: str
    name: str
    states: frozenset[str] | None = None  # the states it holds in; None: every state
    assigned: bool = False  # only while the member of staff holds an open assignment to the case
    # states in which the ground holds but the case stays off the work list: nothing is left to work on
    unlisted: frozenset[str] = frozenset()

    def holds_in(self, state: str) -> bool:
        return self.states is None or state in self.states


INTAKE_STATES = frozenset({"registered", "protection_assessment", "pre_assessment"})
# A relative's own matter (`relative_support.toml`) is opened by the subject's caseworker and assigned at once:
# its states are deliberately no intake state (intake never sees a relative's matter), the decision maker's
# ground covers every state of both flowcharts, and a caseworker's holds by assignment alone.

GROUNDS: tuple[Ground, ...] = (
    Ground("intake", "role", states=INTAKE_STATES),
    # Every case, erased ones too (they still show that they were erased); the decision maker's list leaves
    # those out, or it would fill with every case ever erased.
    Ground("decider", "role", unlisted=frozenset({"erased"})),
    Ground("caseworker", "assignment", assigned=True),
)

# The roles with a ground on some case: they have a work list and may ask for emergency access; granting one
# of them needs a second administrator (`cases.staff.roles`).
CASE_READING_ROLES = frozenset(ground.role for ground in GROUNDS)
EMERGENCY_ROLES = CASE_READING_ROLES
# Intake hands a case in intake to a caseworker; the decision maker assigns any case.
ASSIGNING_ROLES = frozenset({"intake", "decider"})
# A relative is told that support exists, and their own matter opened, by the social workers who hold the
# subject's case and by those who decide on it.
INFORMING_ROLES = frozenset({"caseworker", "decider"})
# Consents are documented, and data disclosed on them, by the social workers who hold the case and by those
# who decide on it.
CONSENT_ROLES = frozenset({"caseworker", "decider"})
DISCLOSING_ROLES = CONSENT_ROLES
# Emergency accesses are reviewed by internal control and by the decision makers.
REVIEWING_ROLES = frozenset({"auditor", "decider"})
# The logs are verified, and read volumes watched, by the auditor, who never sees case content.
AUDITING_ROLES = frozenset({"auditor"})
# The service's metrics (open cases and overdue deadlines by state, counts of requests and operations) are
# watched by internal control and by the administrators who run the service.
MONITORING_ROLES = frozenset({"auditor", "admin"})
# The de-identified local picture is the coordinator's.
STATISTICS_ROLES = frozenset({"coordinator"})
# The retention job's role: it moves cases on without a ground and is nobody's to sign in with or manage.
SYSTEM_ROLE = "system"
# The identity of a person registered by name and approximate age is completed by the social workers who hold
# the case (intake while it is in intake, the assigned caseworker, the decision maker), each on their ground.
IDENTITY_ROLES = frozenset({"intake", "caseworker", "decider"})
