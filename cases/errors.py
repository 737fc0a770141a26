"""Errors of the records layer; they extend the tree in `workflow.errors` and carry no personal data."""

from __future__ import annotations

from workflow.errors import VidoroError

__all__ = [
    "AccessDenied",
    "ArrivalNotPermitted",
    "BadCursor",
    "CaseNotFound",
    "EmergencyApprovalNeeded",
    "EmergencyReasonTooShort",
    "InvalidConcern",
    "InvalidIdentityNumber",
    "LogTampered",
    "NotPermitted",
    "StaleCase",
]


class InvalidIdentityNumber(VidoroError):
    """The identity number is not a valid personnummer or samordningsnummer (the number is not repeated)."""

    code = "invalid_identity_number"

    def __init__(self, problem_en: str, problem_sv: str) -> None:
        super().__init__(f"invalid identity number: {problem_en}", message_sv=f"ogiltigt id-nummer: {problem_sv}")


class InvalidConcern(VidoroError):
    """A registration form with a missing or unacceptable field; `field` names it."""

    code = "invalid_concern"

    def __init__(self, field: str, problem_en: str, problem_sv: str) -> None:
        super().__init__(f"{field}: {problem_en}", message_sv=f"{field}: {problem_sv}")
        self.field = field


class BadCursor(VidoroError):
    """A list's cursor that this system did not make, or made for another list; the first page is there."""

    code = "bad_cursor"

    def __init__(self) -> None:
        super().__init__("the cursor is not valid: start again from the first page",
                         message_sv="markören är ogiltig: börja om från första sidan")


class CaseNotFound(VidoroError):
    code = "case_not_found"

    def __init__(self, ref: str) -> None:
        super().__init__(f"no case {ref!r}", message_sv=f"inget ärende {ref!r}")
        self.ref = ref


class NotPermitted(VidoroError):
    code = "not_permitted"

    def __init__(self, action: str, role: str) -> None:
        super().__init__(f"role {role} may not {action}", message_sv=f"rollen {role} får inte {action}")
        self.action, self.role = action, role


class StaleCase(VidoroError):
    """Someone else changed the case since the caller read it; nothing was written. Reload and retry."""

    code = "stale_case"

    def __init__(self, ref: str, expected: int | None, current: int | None) -> None:
        super().__init__(
            f"case {ref} was changed by someone else (you saw version {expected}, it is now {current}); "
            "reload and try again",
            message_sv=f"ärende {ref} har ändrats av någon annan (du såg version {expected}, nu {current}); "
            "ladda om och försök igen",
        )
        self.ref, self.expected, self.current = ref, expected, current


class LogTampered(VidoroError):
    """A log's stored tree does not hold what an append or a proof needs (changed outside vidoro, or the
    storage is damaged): nothing was written or answered. `vidoro audit verify` says what and where."""

    code = "log_tampered"

    def __init__(self, log: str, what: str, what_sv: str) -> None:
        super().__init__(f"the {log} log is damaged: {what}; nothing was written. Run `vidoro audit verify`",
                         message_sv=f"loggen {log} är skadad: {what_sv}; inget skrevs. Kör `vidoro audit verify`")
        self.log = log


class AccessDenied(VidoroError):
    """No ground to read this case; `emergency_possible` says whether emergency access with a reason is."""

    code = "access_denied"

    def __init__(self, ref: str, emergency_possible: bool) -> None:
        hint = "; open it through emergency access with a written reason" if emergency_possible else ""
        hint_sv = "; öppna det med nödåtkomst och en skriftlig motivering" if emergency_possible else ""
        super().__init__(f"no access to case {ref}{hint}", message_sv=f"ingen åtkomst till ärende {ref}{hint_sv}")
        self.ref, self.emergency_possible = ref, emergency_possible


class ArrivalNotPermitted(NotPermitted):
    """Someone other than intake sent the time a concern arrived: only intake records an earlier arrival."""

    code = "arrival_not_permitted"

    def __init__(self, role: str) -> None:
        VidoroError.__init__(
            self, "only intake may record an earlier arrival of a concern (one that came by phone or letter); "
            "leave received_at out and the concern is received when it is registered",
            message_sv="bara mottagningen får ange att en oro kom in tidigare (per telefon eller brev); lämna "
            "received_at tomt så räknas oron som mottagen när den registreras")
        self.action, self.role = "record an earlier arrival", role


class EmergencyReasonTooShort(AccessDenied):
    """An emergency reason that does not say what the emergency is: nothing was opened or logged."""

    code = "emergency_reason_too_short"

    def __init__(self, ref: str, min_words: int, min_chars: int) -> None:
        super().__init__(ref, emergency_possible=True)
        self.message = (f"no access to case {ref}: the reason must say what the emergency is and why you need the "
                        f"case now (at least {min_words} words and {min_chars} characters)")
        self.message_sv = (f"ingen åtkomst till ärende {ref}: motiveringen måste säga vad nödläget är och varför du "
                           f"behöver ärendet nu (minst {min_words} ord och {min_chars} tecken)")
        self.args = (self.message,)


class EmergencyApprovalNeeded(AccessDenied):
    """One person's emergency openings beyond the free ones wait for a decision maker's approval: the request
    was recorded (`request_id`), nothing was opened or logged."""

    code = "emergency_approval_needed"

    def __init__(self, ref: str, request_id: str, free: int, hours: int) -> None:
        super().__init__(ref, emergency_possible=True)
        self.message = (f"no access to case {ref} yet: you have opened {free} cases through emergency access in "
                        f"the last {hours} hours, so a decision maker other than you must approve this one. An "
                        "approval was requested; open the case again once it is approved")
        self.message_sv = (f"ingen åtkomst till ärende {ref} ännu: du har öppnat {free} ärenden med nödåtkomst de "
                           f"senaste {hours} timmarna, så en annan beslutsfattare än du måste godkänna detta. Ett "
                           "godkännande har begärts; öppna ärendet igen när det är godkänt")
        self.args = (self.message,)
        self.request_id = request_id
