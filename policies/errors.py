"""The base of every error vidoro raises on purpose, and the error of a broken flowchart definition.

The base lives here, in the lowest layer, so that every package can derive from it while imports still
point one way (`web → cases → workflow → policies`); `workflow.errors` re-exports it. The whole tree:

    VidoroError                      anything vidoro refuses on purpose; `.code` is machine-readable
    ├── PolicyError                  a flowchart definition is broken (also a ValueError)
    ├── (workflow.errors)            UnknownTrigger, TransitionRefused and its kinds, CheckpointError, ProofError
    ├── (cases.errors)               InvalidConcern, CaseNotFound, RecordNotFound, StaleCase, LogTampered,
    │                                AccessDenied, TokenRefused, KeyDestroyed, CiphertextRejected …
    └── (web.errors)                 BadInput (a command line refusal, also a click.ClickException)

Messages carry no personal data: they name cases by pseudonym, fields by name, never a value typed in.
"""

from __future__ import annotations

__all__ = ["PolicyError", "VidoroError"]


class VidoroError(Exception):
    """Base of vidoro's own errors: refused on purpose, safe to show, nothing was written."""

    code = "error"

    def __init__(self, message: str, *, message_sv: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.message_sv = message_sv or message

    def text(self, lang: str = "sv") -> str:
        return self.message if lang == "en" else self.message_sv


class PolicyError(VidoroError, ValueError):
    """A flowchart definition is broken; the message names the file and the fault.

    Still a ValueError, as it always was: a definition is a value that failed its validation."""

    code = "policy_error"

    def __init__(self, source: str, fault: str) -> None:
        super().__init__(f"{source}: {fault}")
        self.source = source
        self.fault = fault
