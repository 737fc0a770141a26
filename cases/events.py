"""Structured events: one log record for each operation, sign-in, refusal and checkpoint delivery.

An event carries codes and pseudonyms only: the case reference (VO-…), staff ids, roles, triggers, states,
grounds, outcomes and refusal codes (GDPR art. 5.1 c, data minimisation; DESIGN.md §5: the logs hold no
personal data). `emit` takes nothing else: there is no free-form field through which a name, an identity
number, a username, free text or an address could reach a log line, and a reference or trigger that is not
of the expected shape (a typed URL may hold anything) is logged as "invalid".

Records go to the logger `vidoro.cases` at INFO, the fields in the record's `vidoro` attribute; how they are
written (JSON lines) is the host's choice (`web.logs`). Listeners (`listen`) see every event whether it is
logged or not: the metrics count transitions from them (`web.metrics`).
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any, ParamSpec, TypeVar

from workflow import Actor, VidoroError

__all__ = ["LOGGER", "Listener", "emit", "listen", "operation", "target_id"]

LOGGER = "vidoro.cases"

Listener = Callable[[str, Mapping[str, Any]], None]
P = ParamSpec("P")
R = TypeVar("R")

_log = logging.getLogger(LOGGER)
_listeners: list[Listener] = []
_REF = re.compile(r"VO-[0-9A-Z]{8}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def listen(listener: Listener) -> None:
    """Call `listener(event, fields)` for every event from now on (once, however often it is added)."""
    if listener not in _listeners:
        _listeners.append(listener)


def emit(event: str, outcome: str, *, ref: str | None = None, staff: str | None = None, role: str | None = None,
         trigger: str | None = None, state: str | None = None, version: int | None = None, seq: int | None = None,
         ground: str | None = None, error: str | None = None, reasons: tuple[str, ...] = (),
         log: str | None = None, size: int | None = None, target: str | None = None, job: str | None = None,
         attempt: int | None = None) -> None:
    """Log one event; only the fields given, each checked for its shape (see the module's docstring)."""
    fields: dict[str, Any] = {"event": event, "outcome": outcome}
    if ref is not None:
        fields["ref"] = ref if _REF.fullmatch(ref) else "invalid"
    if staff is not None:
        fields["staff"] = staff if _UUID.fullmatch(staff) else "invalid"
    for name, code in (("role", role), ("trigger", trigger), ("state", state), ("ground", ground),
                       ("log", log), ("job", job)):
        if code is not None:
            fields[name] = code if _CODE.fullmatch(code) else "invalid"
    for name, number in (("version", version), ("seq", seq), ("size", size), ("attempt", attempt)):
        if number is not None:
            fields[name] = int(number)
    if error is not None:
        fields["error"] = error
    if reasons:
        fields["reasons"] = [r if _CODE.fullmatch(r) else "invalid" for r in reasons]
    if target is not None:
        fields["target"] = target
    for listener in _listeners:
        listener(event, fields)
    _log.log(logging.WARNING if outcome == "failed" else logging.INFO, event, extra={"vidoro": fields})


def target_id(target: str) -> str:
    """A checkpoint target as the logs name it: a short hash, since a folder's path may hold a person's name."""
    return hashlib.sha256(target.encode()).hexdigest()[:12]


def operation(event: str, *, quiet: bool = False) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Log each call of the decorated operation as `event`: done (unless `quiet`), refused or failed.

    The fields come from the call's `actor` (any `Actor` argument), its `ref`, `trigger` and `staff_id`
    arguments, and the answer's `ref`, `state`, `version`, `seq` and `ground`, or the `account` a sign-in
    returns; nothing else of the call is looked at. A refusal (`VidoroError`) names its class and the
    refusal codes it carries, never its message."""

    def decorate(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def logged(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                result = function(*args, **kwargs)
            except VidoroError as exc:
                emit(event, "refused", **_call(signature, args, kwargs), error=type(exc).__name__,
                     reasons=tuple(r.code for r in getattr(exc, "refusals", ())))
                raise
            except Exception as exc:
                emit(event, "failed", **_call(signature, args, kwargs), error=type(exc).__name__)
                raise
            if not quiet:
                emit(event, "done", **{**_call(signature, args, kwargs), **_answer(result)})
            return result

        return logged

    return decorate


def _call(signature: inspect.Signature, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    try:
        given = signature.bind_partial(*args, **kwargs).arguments
    except TypeError:
        return {}
    fields: dict[str, Any] = {}
    actor = next((value for value in given.values() if isinstance(value, Actor)), None)
    if actor is not None:
        fields.update(staff=actor.id, role=actor.role)
    elif isinstance(given.get("staff_id"), str):
        fields["staff"] = given["staff_id"]
    for name in ("ref", "trigger"):
        if isinstance(given.get(name), str):
            fields[name] = given[name]
    return fields


def _answer(result: object) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, kind in (("ref", str), ("state", str), ("ground", str), ("version", int), ("seq", int)):
        value = getattr(result, name, None)
        if isinstance(value, kind) and not isinstance(value, bool):
            fields[name] = value
    account = getattr(result, "account", None)  # a sign-in: the account's id and role, never its username
    if account is not None:
        fields.update(staff=account.id, role=account.role)
    return fields
