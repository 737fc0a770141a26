"""The guards a flowchart may name: each looks at one decision and returns its reasons to refuse.

A guard never raises for a rule; it yields `Refusal`s so that a person sees every reason at once. A guard
that needs a value from the form looks for it in `ctx.payload`; when the form has not been filled in yet
(`options`), it says which field would satisfy it instead of refusing outright.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from policies import ConsentRule, Flowchart, Transition
from workflow.deadlines import add_months, local_date
from workflow.facts import Actor, CaseFacts, age_on
from workflow.refusals import Refusal

__all__ = ["GUARDS", "OPTIONAL_FIELDS", "Context", "consent_refusals"]

ADULT_AGE = 18
SIG_AGES = range(15, 26)  # DESIGN.md §2: SIG targets ages 15–25, warn outside


@dataclass(frozen=True)
class Context:
    """One decision: this trigger, on this case, by this actor, at this moment, with this form."""

    chart: Flowchart
    transition: Transition
    case: CaseFacts
    actor: Actor
    now: datetime
    payload: Mapping[str, Any]
    assessment: Any = None  # a `workflow.hearing.Assessment` brought with the step, or None

    @property
    def today(self) -> date:
        return local_date(self.now, self.chart.timezone)

    @property
    def child_at_receipt(self) -> bool:
        """Child or adult is fixed on the day of receipt (DESIGN.md §2), not on the day of the decision."""
        received = local_date(self.case.received_at, self.chart.timezone)
        return age_on(self.case.birth_date, received) < ADULT_AGE


Guard = Callable[[Context], Iterator[Refusal]]


def consent_refusals(
    case: CaseFacts, rule: ConsentRule, today: date, extra_recipients: frozenset[str] = frozenset()
) -> Iterator[Refusal]:
    """Refusals unless every party has an active consent covering purpose, recipients and data.

    The parties are the rule's (the person, or a relative for family support) and, while the person is
    under 18, the guardians too (OSL 12 kap 3 §).
    """
    recipients = frozenset(rule.recipients) | extra_recipients
    data = frozenset(rule.data_categories)
    parties = list(rule.given_by)
    if age_on(case.birth_date, today) < ADULT_AGE and "guardians" not in parties:
        parties.append("guardians")
    for party in parties:
        active = [
            c for c in case.consents
            if c.given_by == party and c.active_on(today) and rule.purpose in c.purposes
        ]
        if any(c.covers(rule.purpose, recipients, data) for c in active):
            continue
        if not active:
            yield Refusal("consent_missing", {"given_by": party, "purpose": rule.purpose})
            continue
        best = min(active, key=lambda c: len((recipients - c.recipients) | (data - c.data_categories)))
        uncovered = sorted((recipients - best.recipients) | (data - best.data_categories))
        yield Refusal(
            "consent_incomplete", {"given_by": party, "purpose": rule.purpose, "uncovered": uncovered}
        )


def _child(ctx: Context) -> Iterator[Refusal]:
    if not ctx.child_at_receipt:
        yield Refusal("not_child")


def _adult(ctx: Context) -> Iterator[Refusal]:
    if ctx.child_at_receipt:
        yield Refusal("not_adult")


def _consent(ctx: Context) -> Iterator[Refusal]:
    rule = ctx.transition.consent
    if rule is None:  # the loader refuses a consent guard without a consent table; fail closed all the same
        raise ValueError(f"transition '{ctx.transition.trigger}' has a consent guard but no consent rule")
    extra = frozenset(ctx.payload.get("recipients") or ())
    yield from consent_refusals(ctx.case, rule, ctx.today, extra)


def _adult_consent(ctx: Context) -> Iterator[Refusal]:
    """An adult's investigation and interventions need their consent; a child's investigation does not."""
    if not ctx.child_at_receipt:
        yield from _consent(ctx)


def _pre_assessment_in_time(ctx: Context) -> Iterator[Refusal]:
    """SoL 11 kap 1 a § st 2: decided within 14 days, later only for exceptional reasons."""
    due = ctx.case.deadlines.get("pre_assessment")
    if due is not None and ctx.today > due and not ctx.payload.get("special_reason"):
        yield Refusal("late_pre_assessment", {"due": due.isoformat(), "field": "special_reason"})


def _due_date_in_future(ctx: Context) -> Iterator[Refusal]:
    """An extension must move the date forward (SoL 11 kap 2 §)."""
    new = ctx.payload.get("new_due_on")
    if not isinstance(new, date):
        return  # missing or malformed: the field check says so
    current = [ctx.case.deadlines[d] for d in ctx.transition.stops if d in ctx.case.deadlines]
    if new <= ctx.today or any(new <= due for due in current):
        yield Refusal("due_date_not_future", {"date": new.isoformat()})


def _consent_withdrawn(ctx: Context) -> Iterator[Refusal]:
    """Leaving a consent-based intervention this way is only for when its consent no longer holds."""
    purpose = ctx.chart.states[ctx.case.state].consent_purpose
    rule = next(
        (t.consent for t in ctx.chart.transitions if t.consent and t.consent.purpose == purpose), None
    )
    if rule is None:
        return
    still_held = not any(consent_refusals(ctx.case, rule, ctx.today, ctx.case.shared_with))
    if still_held:
        yield Refusal("consent_still_active", {"purpose": purpose})


def _retention_over(ctx: Context) -> Iterator[Refusal]:
    """SoL 12 kap 1–2 §: thinned when the retention period after the last entry is over."""
    last = ctx.case.last_entry_at or ctx.case.received_at
    until = add_months(local_date(last, ctx.chart.timezone), 12 * ctx.chart.retention_years)
    if ctx.today < until:
        yield Refusal("retention_not_over", {"until": until.isoformat()})


def _sig_age_range(ctx: Context) -> Iterator[Refusal]:
    age = age_on(ctx.case.birth_date, ctx.today)
    if age not in SIG_AGES:
        yield Refusal("sig_age_range", {"age": age})


GUARDS: Mapping[str, Guard] = {
    "child": _child,
    "adult": _adult,
    "consent": _consent,
    "adult_consent": _adult_consent,
    "pre_assessment_in_time": _pre_assessment_in_time,
    "due_date_in_future": _due_date_in_future,
    "consent_withdrawn": _consent_withdrawn,
    "retention_over": _retention_over,
    "sig_age_range": _sig_age_range,
}

# Fields a guard may read although the transition does not require them.
OPTIONAL_FIELDS: Mapping[str, tuple[str, ...]] = {"pre_assessment_in_time": ("special_reason",)}
