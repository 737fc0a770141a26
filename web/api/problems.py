"""Errors as problem details (RFC 9457): `application/problem+json`, a stable `code` to act on, text in the
caller's language, and never a case detail, a traceback or a value that was sent.

Every refusal from `cases` and `workflow` has one mapping here, so the same refusal gets the same status
everywhere: 401 without a valid token, 403 for a role that may not, 404 for a case that does not exist or may
not be seen (the two cannot be told apart), 409 for a stale version (with the current one), 422 for input or
a flowchart rule that refuses the request (with every reason). The API's own refusal (`NestedTooDeep`) is
defined here too: this module is the errors module of `web.api`.
"""

from __future__ import annotations

from typing import Any

from flask import Response, json, request
from flask_openapi3.types import ResponseDict
from pydantic import ValidationError

from cases.errors import (
    AccessDenied,
    ArrivalNotPermitted,
    BadCursor,
    DisclosureRefused,
    IdempotencyKeyReused,
    InvalidConcern,
    InvalidIdentityNumber,
    KeyDestroyed,
    NoteNotSigned,
    NoteSigned,
    NotPermitted,
    RateLimited,
    RecordNotFound,
    SignInThrottled,
    SourceNotPermitted,
    StaleCase,
    TokenRefused,
)
from cases.subjects import DraftNotRead, ExtractAlreadyDecided, ExtractChanged, ExtractNotDecided, NoRecordsFound
from web.api.schemas import Problem
from workflow import Refusal
from workflow.errors import RoleNotAllowed, TransitionRefused, UnknownTrigger, VidoroError

__all__ = ["MEDIA_TYPE", "NestedTooDeep", "from_error", "from_validation", "language", "problem", "responses"]

MEDIA_TYPE = "application/problem+json"

_TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not permitted", 404: "Not found", 405: "Method not allowed",
    409: "Conflict", 410: "Gone", 413: "Too large", 415: "Unsupported media type", 422: "Unprocessable content",
    429: "Too many requests", 500: "Internal server error",
}
_GENERIC = {
    400: ("The request could not be understood.", "Begäran gick inte att tolka."),
    401: ("Send a valid personal API token: Authorization: Bearer <token>.",
          "Skicka en giltig personlig API-nyckel: Authorization: Bearer <nyckel>."),
    403: ("Your role does not allow this.", "Din roll tillåter inte detta."),
    404: ("There is nothing here, or nothing you may see.", "Här finns inget, eller inget du får se."),
    405: ("This resource cannot be used with that method.", "Resursen kan inte användas med den metoden."),
    413: ("What was sent is too large.", "Det som skickades är för stort."),
    415: ("Send JSON (Content-Type: application/json).", "Skicka JSON (Content-Type: application/json)."),
    500: ("Something went wrong; nothing was saved.", "Något gick fel; inget sparades."),
}


class NestedTooDeep(VidoroError):
    """A JSON body nested deeper than the parser can follow: a 400 problem (`json-too-deep`), never a 500."""

    code = "json_too_deep"

    def __init__(self) -> None:
        super().__init__("The JSON body is nested too deeply; no request here needs more than a few levels.",
                         message_sv="JSON-innehållet är för djupt nästlat; ingen begäran här behöver mer än några "
                         "nivåer.")


def language() -> str:
    """sv unless the caller prefers English (Accept-Language)."""
    best = request.accept_languages.best_match(["sv", "en"]) if request else None
    return best or "sv"


def problem(status: int, code: str, detail: str | None = None, **extra: Any) -> Response:
    """A problem details response; `detail` defaults to the generic text for `status`."""
    if detail is None:
        en, sv = _GENERIC.get(status, _GENERIC[400])
        detail = en if language() == "en" else sv
    body = {"type": f"urn:vidoro:problem:{code}", "title": _TITLES.get(status, "Error"), "status": status,
            "detail": detail, "code": code, "instance": request.path, **extra}
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    response.headers["Content-Language"] = language()
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="vidoro"'
    return response


def _text(error: VidoroError) -> str:
    return error.message if language() == "en" else error.message_sv


def _reasons(refusals: tuple[Refusal, ...]) -> list[dict[str, Any]]:
    lang = language()
    return [{"code": r.code, "kind": r.kind, "field": r.field_name, "message": r.text(lang)} for r in refusals]


def from_error(error: Exception) -> Response | None:
    """The problem for a refusal from `cases` or `workflow`, or None for anything else (a bug: 500)."""
    match error:
        case NestedTooDeep():
            return problem(400, "json-too-deep", _text(error))
        case TokenRefused():
            return problem(401, "token-refused", _text(error))
        case BadCursor():  # 422 as any refused input (a schema-valid cursor may still not be one of ours)
            return problem(422, "bad-cursor", _text(error), reasons=[
                {"code": "invalid_field", "kind": "field", "field": "cursor", "message": _text(error)}])
        case StaleCase():
            return problem(409, "stale-version", _text(error), current_version=error.current)
        case RecordNotFound() | AccessDenied() | KeyDestroyed():  # not there, or not for this caller: alike
            return problem(404, "not-found")
        case ArrivalNotPermitted():  # before NotPermitted: the caller is told what to leave out
            return problem(403, "arrival-not-permitted", _text(error))
        case SourceNotPermitted():
            return problem(403, "source-not-permitted", _text(error))
        case NotPermitted():
            return problem(403, "role-not-allowed")
        case RoleNotAllowed():
            return problem(403, "role-not-allowed", _text(error), reasons=_reasons(error.refusals))
        case UnknownTrigger():
            return problem(422, "unknown-trigger", _text(error))
        case TransitionRefused():
            return problem(422, error.code.replace("_", "-"), _text(error), reasons=_reasons(error.refusals))
        case DisclosureRefused():
            return problem(403, "disclosure-refused", _text(error), reasons=_reasons(error.refusals))
        case IdempotencyKeyReused():
            return problem(422, "idempotency-key-reused", _text(error))
        case ExtractNotDecided():  # released by a decision maker first (or refused): nothing was delivered
            return problem(409, "extract-not-decided", _text(error))
        case ExtractChanged() | DraftNotRead():  # the released items changed / the draft is unread: nothing done
            return problem(409, error.code.replace("_", "-"), _text(error))
        case ExtractAlreadyDecided():
            return problem(409, "extract-already-decided", _text(error))
        case NoRecordsFound():  # the answer to the person: nothing is held about them
            return problem(404, "no-records", _text(error))
        case NoteSigned():  # the note is as it was signed: a correction is a new note
            return problem(409, "note-signed", _text(error))
        case NoteNotSigned():
            return problem(422, "note-not-signed", _text(error))
        case InvalidIdentityNumber():
            return problem(422, "invalid-input", _text(error), reasons=[
                {"code": "invalid_field", "kind": "field", "field": "identity_number", "message": _text(error)}])
        case InvalidConcern():
            return problem(422, "invalid-input", _text(error), reasons=[
                {"code": "invalid_field", "kind": "field", "field": error.field, "message": _text(error)}])
        case RateLimited():
            response = problem(429, "rate-limited", _text(error))
            response.headers["Retry-After"] = str(error.retry_after)
            return response
        case SignInThrottled():
            response = problem(429, "throttled", _text(error))
            response.headers["Retry-After"] = str(error.retry_after)
            return response
    return None


def from_validation(error: ValidationError) -> Response:
    """A request that does not match its schema: 422, a reason per field, never the value sent."""
    reasons = [{"code": "invalid_field", "kind": "field",
                "field": ".".join(str(part) for part in e["loc"]) or None, "message": e["msg"]}
               for e in error.errors(include_url=False, include_input=False, include_context=False)]
    detail = ("The request does not match its schema." if language() == "en"
              else "Begäran stämmer inte med sitt schema.")
    return problem(422, "invalid-input", detail, reasons=reasons)


def responses(*statuses: int) -> ResponseDict:
    """The OpenAPI responses for these error statuses, each a Problem as application/problem+json."""
    return {str(status): {"description": _TITLES[status],
                          "content": {MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{Problem.__name__}"}}}}
            for status in statuses}
