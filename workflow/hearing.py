"""Two rules the engine applies to every flowchart version, from `policies/hearing.toml`.

Kommunicering: a decision that goes against the person waits until the material has been communicated and
the answer came or the time to answer ran out, or an exception is recorded (förvaltningslagen (2017:900)
25 §). Structured assessments: the protection assessment and the pre-assessment are recorded as what was
assessed, the decision, and, for a child on the day of the step, the child's own view or why the child was
not heard (socialtjänstlagen (2025:400), the provision on the child's right to be heard; its number is not
verified, so it is named in words).

Neither is named in the flowchart: the law binds every running case whichever version it started on, and a
correction in `hearing.toml` makes no new flowchart version.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from policies.hearing import AssessmentRule, Hearing, load_hearing
from policies.law import cite
from workflow.fields import MAX_TEXT
from workflow.refusals import Refusal

if TYPE_CHECKING:
    from workflow.guards import Context

__all__ = ["ASSESSMENT_FIELD", "LOG_ACTIONS", "Assessment", "assessment_codes", "hearing_refusals",
           "normalised_assessment"]

ASSESSMENT_FIELD = "assessment"
# The transition log's entries of kommunicering (`cases.hearing`): the state stays, so they are no stay on the path.
LOG_ACTIONS = ("communication_sent", "communication_answered", "communication_exception")


@dataclass(frozen=True)
class Assessment:
    """A structured assessment as a step brings it: free text (sealed when stored, never logged) and codes."""

    assessed: str
    decision: str | None = None
    child_view: str | None = None
    not_heard_reason: str | None = None
    not_heard_detail: str | None = None

    def __repr__(self) -> str:  # holds personal text: never print it
        return f"Assessment(decision={self.decision!r}, not_heard_reason={self.not_heard_reason!r})"

    def form(self) -> dict[str, Any]:
        """Everything it says, for the salted hash the log entry commits to."""
        return {"assessed": self.assessed, "decision": self.decision, "child_view": self.child_view,
                "not_heard_reason": self.not_heard_reason, "not_heard_detail": self.not_heard_detail}


def hearing_refusals(ctx: Context) -> Iterator[Refusal]:
    """Every reason the two rules refuse the decision in `ctx` (and a warning where the form decides)."""
    hearing = load_hearing()
    yield from _communicated(ctx, hearing)
    yield from _assessed(ctx, hearing)


def normalised_assessment(ctx: Context) -> Assessment | None:
    """The assessment as it will be stored: text stripped, the decision filled in where the step is the decision."""
    given: Assessment | None = ctx.assessment
    rule = load_hearing().assessment_for(ctx.transition.trigger, ctx.case.state)
    if given is None or rule is None:
        return None
    decision = given.decision or (rule.decisions[0] if len(rule.decisions) == 1 else None)
    return replace(given, assessed=given.assessed.strip(), decision=decision,
                   child_view=_text(given.child_view), not_heard_detail=_text(given.not_heard_detail))


def assessment_codes(ctx: Context, assessment: Assessment) -> dict[str, str]:
    """The coded part of an assessment for the log entry: its kind, decision and whether the child was heard."""
    rule = load_hearing().assessment_for(ctx.transition.trigger, ctx.case.state)
    codes = {"assessment": rule.kind if rule else "", "assessment_decision": assessment.decision or ""}
    if assessment.child_view:
        codes["child_heard"] = "heard"
    elif assessment.not_heard_reason:
        codes["child_heard"] = assessment.not_heard_reason
    return codes


def _communicated(ctx: Context, hearing: Hearing) -> Iterator[Refusal]:
    """FL 25 §: an adverse decision waits for the answer or the end of the time given, unless excepted."""
    trigger, source = ctx.transition.trigger, ctx.case.state
    provision = cite(hearing.provision)
    outcome = ctx.payload.get("outcome")
    outcomes = hearing.may_be_adverse(trigger, source)
    if outcome is None and outcomes:
        yield Refusal("communication_may_be_needed", {"outcomes": sorted(outcomes), "provision": provision})
        return
    if not hearing.is_adverse(trigger, source, outcome):
        return
    mine = [c for c in ctx.case.communications if c.decision == trigger]
    if any(c.exception or c.answered or (c.answer_by is not None and c.answer_by < ctx.today) for c in mine):
        return
    running = [c.answer_by for c in mine if c.answer_by is not None]
    if running:
        last = max(running)
        yield Refusal("communication_pending", {"answer_by": last.isoformat(),
                                                "from_day": (last + timedelta(days=1)).isoformat(),
                                                "provision": provision})
    else:
        yield Refusal("communication_missing", {"provision": provision})


def _assessed(ctx: Context, hearing: Hearing) -> Iterator[Refusal]:
    """A child's assessment is recorded with the step; an adult's may be. Nothing else takes one."""
    rule = hearing.assessment_for(ctx.transition.trigger, ctx.case.state)
    given: Assessment | None = ctx.assessment
    if rule is None:
        if given is not None:
            yield Refusal("assessment_not_for_step")
        return
    if ctx.case.birth_date is None:
        return  # an erased case: no step takes an assessment from there
    child = ctx.child  # on the decision day, not at receipt (rules.toml [age])
    heard = cite("sol_child_heard")
    if given is None:
        if child:
            yield Refusal("assessment_missing", {"field": ASSESSMENT_FIELD, "provision": heard})
        return
    yield from _assessment_parts(rule, given, child, heard)


def _assessment_parts(rule: AssessmentRule, given: Assessment, child: bool, heard: str) -> Iterator[Refusal]:
    if not isinstance(given.assessed, str) or not given.assessed.strip() or len(given.assessed) > MAX_TEXT:
        yield Refusal("assessment_text_missing", {"field": ASSESSMENT_FIELD})
    decision = given.decision or (rule.decisions[0] if len(rule.decisions) == 1 else None)
    if decision not in rule.decisions:
        yield Refusal("assessment_decision_invalid", {"field": ASSESSMENT_FIELD, "allowed": list(rule.decisions)})
    view, reason = _text(given.child_view), given.not_heard_reason
    too_long = any(t is not None and len(t) > MAX_TEXT for t in (given.child_view, given.not_heard_detail))
    if not child:
        if view or reason or _text(given.not_heard_detail):
            yield Refusal("child_view_for_adult", {"field": ASSESSMENT_FIELD})
        return
    if reason is not None and reason not in load_hearing().not_heard_reasons:
        yield Refusal("invalid_field", {"field": ASSESSMENT_FIELD, "problem": "unknown_code"})
    elif too_long:
        yield Refusal("invalid_field", {"field": ASSESSMENT_FIELD, "problem": "too_long"})
    elif not view and not reason:
        yield Refusal("child_not_heard_unexplained", {"field": ASSESSMENT_FIELD, "provision": heard})


def _text(value: str | None) -> str | None:
    return value.strip() or None if isinstance(value, str) else None
