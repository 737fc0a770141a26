"""Every error vidoro raises on purpose, named by what went wrong.

    VidoroError                      anything vidoro refuses on purpose; `.code` is machine-readable
    ├── UnknownTrigger               the flowchart has no such trigger
    ├── TransitionRefused            the trigger exists but may not be fired now; `.refusals` says why
    │   ├── TransitionNotAllowed     not from the state the case is in
    │   ├── RoleNotAllowed           not by the actor's role
    │   ├── InvalidInput             a required field is missing or a value is not acceptable
    │   └── GuardFailed              a rule of the flowchart (child/adult, deadline, retention …)
    │       └── ConsentMissing       no active consent covers the purpose, recipients and data
    └── (cases.errors)               InvalidIdentityNumber, CaseNotFound, StaleCase, LogTampered …

Messages carry no personal data: they name cases by pseudonym, fields by name, never a value typed in.
"""

from __future__ import annotations

from collections.abc import Sequence

from workflow.refusals import Refusal

__all__ = [
    "ConsentMissing",
    "GuardFailed",
    "InvalidInput",
    "RoleNotAllowed",
    "TransitionNotAllowed",
    "TransitionRefused",
    "UnknownTrigger",
    "VidoroError",
]


class VidoroError(Exception):
    """Base of vidoro's own errors: refused on purpose, safe to show, nothing was written."""

    code = "error"

    def __init__(self, message: str, *, message_sv: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_sv = message_sv or message

    def text(self, lang: str = "sv") -> str:
        return self.message if lang == "en" else self.message_sv


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
