"""What every API view shares: who is calling, answering in JSON, and running a change at most once."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from flask import Response, current_app, g
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from cases.casework import idempotency
from cases.errors import StaleCase
from cases.staff.accounts import Account
from web.access import ALL_STAFF
from web.api.problems import NestedTooDeep

F = TypeVar("F", bound=Callable[..., Any])

__all__ = ["ALL_STAFF", "BoundedJSON", "account", "db", "json_response", "once", "roles"]


def db():
    return current_app.extensions["vidoro.db"]


def account() -> Account:
    """The token's owner, as `web.api.authenticate` found it for this request."""
    return g.api_account


def roles(*names: str) -> Callable[[F], F]:
    """Mark an API view with the roles that may call it (deny by default: an unmarked API view is a 404)."""
    if not names or not set(names) <= ALL_STAFF:
        raise ValueError(f"an API view names the staff roles that may use it, got {names}")

    def mark(view: F) -> F:
        view.vidoro_api = frozenset(names)  # type: ignore[attr-defined]  # a mark on the function, as web.access
        return view

    return mark


def json_response(
    body: BaseModel | Mapping[str, Any], status: int = 200, *, headers: Mapping[str, str] | None = None
) -> Response:
    data = body.model_dump(mode="json", by_alias=True) if isinstance(body, BaseModel) else body
    response = Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers.update(headers or {})
    return response


def once(key: str, request: Mapping[str, Any], render: Callable[[Any], tuple[int, Mapping[str, Any]]],
         operation: Callable[[idempotency.Claim], Any]) -> Response:
    """Run `operation` at most once for this account's `key`: the first answer is kept with the change, in
    its transaction, and a repeat of the same request gets it again (Idempotency-Replayed: true)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str).encode()
    claim = idempotency.claim(db(), account().actor, key, canonical, render)
    try:
        status, body = render(operation(claim))  # a new key, the common case: no lookup before
        return json_response(body, status)
    except (IntegrityError, StaleCase):
        # The key is held already: a repeat, or a twin that held it first and has committed by now.
        answer = idempotency.recall(db(), claim)
        if answer is None:
            raise
    return json_response(answer.body, answer.status, headers={"Idempotency-Replayed": "true"})


class BoundedJSON(DefaultJSONProvider):
    """Flask's JSON, but a body nested past Python's recursion limit is refused as `NestedTooDeep`.

    Every JSON body reaches the views through this (flask-openapi3 calls `request.get_json`, which calls
    `app.json.loads`), so this is the one place: `[` 100,000 times was a RecursionError, a 500. The limit is the
    interpreter's (about a thousand levels); the request bodies have at most three.
    """

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise NestedTooDeep() from None
