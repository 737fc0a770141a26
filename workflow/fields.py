"""Check the form that comes with a trigger against the fields the flowchart asks for.

Deny by default: a field the transition does not ask for is refused, so nothing can be smuggled into a
case record or the log under a name nobody reviewed. Values come back normalised (text stripped, dates as
`date`, code lists sorted and unique).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime
from typing import Any

from policies import Flowchart, Transition
from workflow.refusals import Refusal

__all__ = ["MAX_TEXT", "validate_payload"]

MAX_TEXT = 20_000


def validate_payload(
    chart: Flowchart, transition: Transition, payload: Mapping[str, Any], optional: Collection[str] = ()
) -> tuple[dict[str, Any], list[Refusal]]:
    """Return the normalised form and every refusal; a refused form must not be written."""
    allowed = (*transition.requires, *optional)
    clean: dict[str, Any] = {}
    refusals: list[Refusal] = []
    for name in sorted(set(payload) - set(allowed), key=str):
        refusals.append(Refusal("unexpected_field", {"field": str(name)[:64]}))
    for name in allowed:
        value = payload.get(name)
        if value is None or value in ([], ()) or (isinstance(value, str) and not value.strip()):
            if name in transition.requires:
                refusals.append(Refusal("missing_field", {"field": name}))
            continue
        problem, normalised = _check(chart, transition, name, value)
        if problem:
            refusals.append(Refusal("invalid_field", {"field": name, "problem": problem}))
        else:
            clean[name] = normalised
    return clean, refusals


def _check(chart: Flowchart, transition: Transition, name: str, value: Any) -> tuple[str | None, Any]:
    spec = chart.fields[name]
    if spec.kind == "text":
        if not isinstance(value, str):
            return "not_text", None
        value = value.strip()
        if not value:
            return "empty", None
        return ("too_long", None) if len(value) > MAX_TEXT else (None, value)
    if spec.kind == "date":
        if isinstance(value, datetime):
            return "not_a_date", None  # a moment is not a calendar day; comparing the two would fail later
        if isinstance(value, date):
            return None, value
        try:
            return None, date.fromisoformat(value)
        except (TypeError, ValueError):
            return "not_a_date", None
    # The loader refuses a code field without a vocabulary, so this is never the empty fallback.
    vocabulary = chart.vocabularies[spec.vocabulary] if spec.vocabulary else {}
    allowed = transition.choices.get(name)
    codes = [value] if spec.kind == "code" else value
    if spec.kind == "codes" and not isinstance(value, list | tuple):
        return "not_a_list", None
    if not all(isinstance(c, str) and c in vocabulary for c in codes):
        return "unknown_code", None
    if allowed is not None and not set(codes) <= allowed:
        return "code_not_allowed", None
    return None, (value if spec.kind == "code" else sorted(set(codes)))
