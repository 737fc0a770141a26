"""The errors of the flowchart engine and of the log's proofs and checkpoints, named by what went wrong.

    VidoroError                      (policies.errors, re-exported here) anything refused on purpose
    ├── UnknownTrigger               the flowchart has no such trigger
    ├── TransitionRefused            the trigger exists but may not be fired now; `.refusals` says why
    │   ├── TransitionNotAllowed     not from the state the case is in
    │   ├── RoleNotAllowed           not by the actor's role
    │   ├── InvalidInput             a required field is missing or a value is not acceptable
    │   └── GuardFailed              a rule of the flowchart (child/adult, deadline, retention …)
    │       └── ConsentMissing       no active consent covers the purpose, recipients and data
    ├── CheckpointError              a checkpoint or signed note is malformed or not signed by a trusted key
    └── ProofError                   an inclusion or consistency proof does not show what it claims

The two last are also ValueErrors, as they always were. The whole tree is drawn in `policies.errors`.
Messages carry no personal data: they name cases by pseudonym, fields by name, never a value typed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from policies.errors import VidoroError
from workflow.refusals import Refusal

__all__ = [
    "CheckpointError",
    "ConsentMissing",
    "GuardFailed",
    "InvalidInput",
    "ProofError",
    "RoleNotAllowed",
    "TransitionNotAllowed",
    "TransitionRefused",
    "UnknownTrigger",
    "VidoroError",
]


class UnknownTrigger(VidoroError):
    code = "unknown_trigger"

    def __init__(self, trigger: str, known: Sequence[str]) -> None:
        super().__init__(
            f"unknown trigger {trigger!r}; the flowchart knows: {', '.join(known)}",
            message_sv=f"okänd händelse {trigger!r}; flödet känner till: {', '.join(known)}",
        )
        self.trigger = trigger


class TransitionRefused(VidoroError):
    """The trigger may not be fired now; every reason is in `.refusals`, the first decides the type."""

    code = "transition_refused"

    def __init__(self, case_ref: str, trigger: str, refusals: Sequence[Refusal]) -> None:
        self.case_ref = case_ref
        self.trigger = trigger
        self.refusals = tuple(refusals)
        super().__init__(
            f"case {case_ref}: {trigger} refused: " + "; ".join(r.text("en") for r in self.refusals),
            message_sv=f"ärende {case_ref}: {trigger} nekas: " + "; ".join(r.text("sv") for r in self.refusals),
        )

    @staticmethod
    def for_refusals(case_ref: str, trigger: str, refusals: Sequence[Refusal]) -> TransitionRefused:
        """Pick the error type from the most fundamental refusal: state, role, input, then rules."""
        order = {"state": 0, "role": 1, "field": 2, "consent": 4}
        first = min(refusals, key=lambda r: order.get(r.kind, 3))
        cls = {
            "state": TransitionNotAllowed,
            "role": RoleNotAllowed,
            "field": InvalidInput,
            "consent": ConsentMissing,
        }.get(first.kind, GuardFailed)
        return cls(case_ref, trigger, refusals)


class TransitionNotAllowed(TransitionRefused):
    code = "transition_not_allowed"


class RoleNotAllowed(TransitionRefused):
    code = "role_not_allowed"


class InvalidInput(TransitionRefused):
    code = "invalid_input"


class GuardFailed(TransitionRefused):
    code = "guard_failed"


class ConsentMissing(GuardFailed):
    code = "consent_missing"


class CheckpointError(VidoroError, ValueError):
    """A checkpoint or note is malformed, signed by no key we trust, or its signature does not verify."""

    code = "checkpoint_invalid"


class ProofError(VidoroError, ValueError):
    """A proof does not show what it claims: the log, the proof or the root held is not what it should be."""

    code = "proof_invalid"
