"""Every error of the records layer, by concern; they extend the tree drawn in `policies.errors`.

    VidoroError
    ├── InvalidIdentityNumber, InvalidConcern (`field` names the field), LogTampered
    ├── StaleCase
    │   └── StaleIntervention        the intervention changed since the caller read it
    ├── RecordNotFound               no such record, or none this person may see (404); `kind` says what
    │   ├── CaseNotFound
    │   ├── NoteNotFound             no such journal note on the case, or another's draft
    │   ├── InterventionNotFound     no such intervention, or none this person may see
    │   └── NotificationNotFound     no such notification, or another person's
    ├── NotPermitted                 not for this role
    │   └── ArrivalNotPermitted
    ├── AccessDenied                 no ground to read this case
    │   ├── EmergencyReasonTooShort
    │   └── EmergencyApprovalNeeded
    ├── DisclosureRefused            a disclosure outside social services was refused (and logged)
    ├── IdempotencyKeyReused
    ├── journal: NoteSigned          a signed note never changes; NoteNotSigned: only a signed note is corrected
    ├── staff: InvalidPassword, SignInRefused, SignInThrottled, TokenRefused, RateLimited
    ├── keys: KeyMaterialError, KeyDestroyed, KeysStillWrapped, CiphertextRejected
    └── jobs (cases.jobs.errors): UnknownJob    a schedule or a queued job names a job no code runs

None carries personal data: cases are named by reference, fields by name, never a value that was sent.
"""

from __future__ import annotations

from workflow.errors import VidoroError
from workflow.refusals import Refusal

__all__ = [
    "AccessDenied",
    "ArrivalNotPermitted",
    "BadCursor",
    "CaseNotFound",
    "CiphertextRejected",
    "DisclosureRefused",
    "EmergencyApprovalNeeded",
    "EmergencyReasonTooShort",
    "IdempotencyKeyReused",
    "InterventionNotFound",
    "InvalidConcern",
    "InvalidIdentityNumber",
    "InvalidPassword",
    "KeyDestroyed",
    "KeyMaterialError",
    "KeysStillWrapped",
    "LogTampered",
    "NotPermitted",
    "NoteNotFound",
    "NoteNotSigned",
    "NoteSigned",
    "NotificationNotFound",
    "RateLimited",
    "RecordNotFound",
    "SignInRefused",
    "SignInThrottled",
    "SourceNotPermitted",
    "StaleCase",
    "StaleIntervention",
    "TokenRefused",
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


class RecordNotFound(VidoroError):
    """Nothing of this `kind` with the id that was sent, or nothing this person may see: the two are told
    alike, as a 404 (an id that names nothing is not a fault in a form, so never an `InvalidConcern`)."""

    code = "not_found"

    def __init__(self, kind: str, missing_en: str, missing_sv: str) -> None:
        super().__init__(missing_en, message_sv=missing_sv)
        self.kind = kind


class CaseNotFound(RecordNotFound):
    code = "case_not_found"

    def __init__(self, ref: str) -> None:
        super().__init__("case", f"no case {ref!r}", f"inget ärende {ref!r}")
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


class SourceNotPermitted(NotPermitted):
    """A concern registered from a source the role does not register (policies/rules.toml [sources])."""

    code = "source_not_permitted"

    def __init__(self, role: str) -> None:
        VidoroError.__init__(
            self, "your role does not register concerns from this source; choose one of your own kinds of "
            "service, or ask intake to register it",
            message_sv="din roll registrerar inte oro från den här källan; välj en av dina egna verksamheter, "
            "eller be mottagningen registrera den")
        self.action, self.role = "register a concern from this source", role


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


# --- disclosures and safe retries ---------------------------------------------------------------------------


class DisclosureRefused(VidoroError):
    """The disclosure was refused (and logged as refused); `.refusals` says why."""

    code = "disclosure_refused"

    def __init__(self, ref: str, refusals: tuple[Refusal, ...]) -> None:
        super().__init__(f"disclosure from case {ref} refused: " + "; ".join(r.text("en") for r in refusals),
                         message_sv=f"utlämnande från ärende {ref} nekas: " + "; ".join(r.text("sv") for r in refusals))
        self.ref, self.refusals = ref, refusals


class IdempotencyKeyReused(VidoroError):
    """The same Idempotency-Key came with a different request: nothing was done."""

    code = "idempotency_key_reused"

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for a different request; use a new key for a new request",
                         message_sv="nyckeln (Idempotency-Key) har använts för en annan begäran; använd en ny "
                                    "nyckel för en ny begäran")


# --- staff: sign-in, API tokens and request limits ----------------------------------------------------------


class InvalidPassword(VidoroError):
    """A new password that breaks a rule (length, variety); the password itself is never repeated."""

    code = "invalid_password"

    def __init__(self, problem_en: str, problem_sv: str) -> None:
        super().__init__(f"password: {problem_en}", message_sv=f"lösenord: {problem_sv}")


class SignInRefused(VidoroError):
    """Wrong name or password, or an account that may not sign in: one answer for all, on purpose."""

    code = "sign_in_refused"

    def __init__(self) -> None:
        super().__init__("wrong username or password", message_sv="fel användarnamn eller lösenord")


class SignInThrottled(VidoroError):
    """Too many failed attempts: try again after `retry_after` seconds (nothing was checked)."""

    code = "sign_in_throttled"

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, -(-retry_after // 60))
        super().__init__(f"too many failed attempts; try again in {minutes} min",
                         message_sv=f"för många misslyckade försök; försök igen om {minutes} min")
        self.retry_after = retry_after


class TokenRefused(VidoroError):
    """The token does not authenticate anyone now: one answer for every reason, on purpose."""

    code = "token_refused"

    def __init__(self) -> None:
        super().__init__("the API token is not valid", message_sv="API-token är inte giltig")


class RateLimited(VidoroError):
    """Too many API requests in this window: try again after `retry_after` seconds."""

    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests; try again in {retry_after} s",
                         message_sv=f"för många anrop; försök igen om {retry_after} s")
        self.retry_after = retry_after


# --- keys and the vault -------------------------------------------------------------------------------------


class KeyMaterialError(VidoroError):
    """A key file is missing, unreadable or wrong; the message names it and what to do."""

    code = "key_material"

    def __init__(self, what: str, todo: str, todo_sv: str) -> None:
        super().__init__(f"{what}: {todo}", message_sv=f"{what}: {todo_sv}")


class KeyDestroyed(VidoroError):
    """The case's data key was destroyed at erasure: its personal data can no longer be read by anyone."""

    code = "key_destroyed"

    def __init__(self, case_id: str) -> None:
        super().__init__(f"the data key of case {case_id} has been destroyed (erased)",
                         message_sv=f"datanyckeln för ärende {case_id} är förstörd (gallrat)")


class KeysStillWrapped(VidoroError):
    """An old key-encryption key still wraps data keys: retiring it would destroy them. Nothing was retired."""

    code = "keys_still_wrapped"

    def __init__(self, wrapping: dict[int, int]) -> None:
        total = sum(wrapping.values())
        where = ", ".join(f"{n} under key {v}" for v, n in sorted(wrapping.items()))
        where_sv = ", ".join(f"{n} med nyckel {v}" for v, n in sorted(wrapping.items()))
        super().__init__(
            f"{total} data keys are still wrapped under an old key-encryption key ({where}); run `vidoro keys "
            "rotate --resume` to re-wrap them under the current key first (or `vidoro keys rotate`); nothing was "
            "retired",
            message_sv=f"{total} datanycklar är fortfarande krypterade med en gammal nyckelkrypteringsnyckel "
            f"({where_sv}); kör `vidoro keys rotate --resume` för att kryptera om dem med den aktuella nyckeln "
            "först (eller `vidoro keys rotate`); ingen nyckel avvecklades")
        self.wrapping = dict(wrapping)


class CiphertextRejected(VidoroError):
    """A stored value fails to decrypt: altered, or moved from another row or field. Names where, not what."""

    code = "ciphertext_rejected"

    def __init__(self, table: str, row_id: str, field: str) -> None:
        super().__init__(
            f"{table}.{field} of row {row_id} fails its integrity check: altered, or copied from elsewhere",
            message_sv=f"{table}.{field} i rad {row_id} klarar inte integritetskontrollen: ändrad eller kopierad",
        )
        self.table, self.row_id, self.field = table, row_id, field


# --- journal notes (issue 17) -------------------------------------------------------------------------------


class NoteNotFound(RecordNotFound):
    """No journal note with this id on this case, or a draft of someone else (a draft is its author's alone)."""

    code = "note_not_found"

    def __init__(self, ref: str, note_id: str) -> None:
        super().__init__("note", f"no journal note {note_id[:36]!r} on case {ref}",
                         f"ingen journalanteckning {note_id[:36]!r} i ärende {ref}")
        self.ref, self.note_id = ref, note_id


class NoteSigned(VidoroError):
    """The note is signed: it never changes (not edited, signed again or deleted). Write a correction instead."""

    code = "note_signed"

    def __init__(self, ref: str, note_id: str) -> None:
        super().__init__(f"journal note {note_id} on case {ref} is signed and cannot be changed; write a correction",
                         message_sv=f"journalanteckning {note_id} i ärende {ref} är signerad och kan inte ändras; "
                         "skriv en rättelse")
        self.ref, self.note_id = ref, note_id


class NoteNotSigned(VidoroError):
    """A correction names a note that is not signed yet: a draft is edited by its author, not corrected."""

    code = "note_not_signed"

    def __init__(self, ref: str, note_id: str) -> None:
        super().__init__(f"journal note {note_id} on case {ref} is a draft; only a signed note is corrected",
                         message_sv=f"journalanteckning {note_id} i ärende {ref} är ett utkast; bara en signerad "
                         "anteckning kan rättas")
        self.ref, self.note_id = ref, note_id


# --- interventions as records of their own (issue 18) ------------------------------------------------------


class InterventionNotFound(RecordNotFound):
    """No intervention with this id, or one on a case this person has no ground on: told alike, as a 404."""

    code = "intervention_not_found"

    def __init__(self, intervention_id: str) -> None:
        super().__init__("intervention", f"no intervention {intervention_id[:36]!r}",
                         f"ingen insats {intervention_id[:36]!r}")
        self.intervention_id = intervention_id


class StaleIntervention(StaleCase):
    """Someone else changed the intervention since the caller read it; nothing was written. Reload and retry."""

    code = "stale_intervention"

    def __init__(self, ref: str, intervention_id: str, expected: int | None, current: int | None) -> None:
        VidoroError.__init__(
            self,
            f"intervention {intervention_id[:36]} of case {ref} was changed by someone else (you saw version "
            f"{expected}, it is now {current}); reload and try again",
            message_sv=f"insats {intervention_id[:36]} i ärende {ref} har ändrats av någon annan (du såg version "
            f"{expected}, nu {current}); ladda om och försök igen",
        )
        self.ref, self.expected, self.current = ref, expected, current
        self.intervention_id = intervention_id


# --- notifications (issue 19) -------------------------------------------------------------------------------


class NotificationNotFound(RecordNotFound):
    """No notification with this id, or another person's: told alike, as a 404 (each reads only their own)."""

    code = "notification_not_found"

    def __init__(self, notification_id: str) -> None:
        super().__init__("notification", f"no notification {notification_id[:36]!r}",
                         f"ingen avisering {notification_id[:36]!r}")
        self.notification_id = notification_id
