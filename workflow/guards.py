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
from policies.decisions import load_decisions
from policies.law import cite
from policies.rules import Rules, load_rules
from workflow.deadlines import local_date, retention_until
from workflow.facts import Actor, CaseFacts, age_on
from workflow.refusals import Refusal

__all__ = ["ADULT_AGE", "GUARDS", "OPTIONAL_FIELDS", "Context", "age_codes", "child_intervention_refusals",
           "consent_refusals", "decision_warnings", "is_decision", "rules"]


def rules() -> Rules:
    """The legal rules beside the flowchart (`policies/rules.toml`), read once per process."""
    return load_rules()


ADULT_AGE = rules().adult_age  # a child is a person under 18 (socialtjänstlagen, in words: see rules.toml)
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
    def age(self) -> int:
        """Whole years of age on the day of this decision."""
        return age_on(self.case.birth_date, self.today)

    @property
    def child(self) -> bool:
        """Child or adult is decided at every decision, on its own day, not once at receipt.

        A person who has turned 18 since the concern came in is an adult for this decision (rules.toml
        [age]; socialtjänstlagen, the provision that a child is every person under 18).
        """
        return self.age < ADULT_AGE


Guard = Callable[[Context], Iterator[Refusal]]


def consent_refusals(
    case: CaseFacts, rule: ConsentRule, today: date, extra_recipients: frozenset[str] = frozenset()
) -> Iterator[Refusal]:
    """Refusals unless every party has an active consent covering purpose, recipients and data.

    The parties are the rule's (the person, or a relative for family support) and, while the person is
    under 18 on `today`, the guardians too (12 kap. 3 § OSL).
    """
    recipients = frozenset(rule.recipients) | extra_recipients
    parties = list(rule.given_by)
    if age_on(case.birth_date, today) < ADULT_AGE and "guardians" not in parties:
        parties.append("guardians")
    for party in parties:
        yield from _party_refusals(case, party, rule.purpose, recipients, frozenset(rule.data_categories), today)


def _party_refusals(
    case: CaseFacts, party: str, purpose: str, recipients: frozenset[str], data: frozenset[str], today: date
) -> Iterator[Refusal]:
    """Nothing if `party` has an active consent covering purpose, recipients and data; else why not."""
    active = [c for c in case.consents if c.given_by == party and c.active_on(today) and purpose in c.purposes]
    if any(c.covers(purpose, recipients, data) for c in active):
        return
    if not active:
        yield Refusal("consent_missing", {"given_by": party, "purpose": purpose})
        return
    best = min(active, key=lambda c: len((recipients - c.recipients) | (data - c.data_categories)))
    uncovered = sorted((recipients - best.recipients) | (data - best.data_categories))
    yield Refusal("consent_incomplete", {"given_by": party, "purpose": purpose, "uncovered": uncovered})


def child_intervention_refusals(case: CaseFacts, rule: ConsentRule, today: date) -> Iterator[Refusal]:
    """A child's voluntary intervention needs the guardians' consent; from 15 some open ones the child's own.

    socialtjänstlagen (2025:400), the provisions on guardians' consent to interventions for a child (their
    numbers are not verified: LAW.md), and the one on a child of 15 consenting alone to the open
    interventions listed in rules.toml. An investigation of a child needs no consent (DESIGN.md §2).
    """
    policy = rules().child_consent
    if rule.purpose not in policy.interventions:
        return
    recipients, data = frozenset(rule.recipients), frozenset(rule.data_categories)
    own = age_on(case.birth_date, today) >= policy.own_consent_from and rule.purpose in policy.own_consent_interventions
    if own and not any(_party_refusals(case, "subject", rule.purpose, recipients, data, today)):
        return
    for refusal in _party_refusals(case, "guardians", rule.purpose, recipients, data, today):
        yield Refusal("guardians_consent_missing", {**refusal.params, "law": cite(policy.law)})


def is_decision(trigger: str) -> bool:
    """Whether the step `trigger` is a decision: `policies/decisions.toml` gives it a kind (defined there once)."""
    return load_decisions().kind_of(trigger) is not None


def decision_warnings(ctx: Context) -> Iterator[Refusal]:
    """At a decision, a person aged 18–20 is flagged: rules for those under 21 may still apply to them."""
    if is_decision(ctx.transition.trigger) and rules().age_group(ctx.age) == "young_adult":
        yield Refusal("young_adult", {"law": cite(rules().age_law)})


def age_codes(ctx: Context) -> dict[str, str]:
    """The age group at a decision, as a code for the log (never the birth date or the age itself)."""
    if not is_decision(ctx.transition.trigger) or ctx.case.birth_date is None:
        return {}
    return {"age_group": rules().age_group(ctx.age)}


def _child(ctx: Context) -> Iterator[Refusal]:
    if not ctx.child:
        yield Refusal("not_child")


def _adult(ctx: Context) -> Iterator[Refusal]:
    if ctx.child:
        yield Refusal("not_adult")


def _consent(ctx: Context) -> Iterator[Refusal]:
    rule = ctx.transition.consent
    if rule is None:  # the loader refuses a consent guard without a consent table; fail closed all the same
        raise ValueError(f"transition '{ctx.transition.trigger}' has a consent guard but no consent rule")
    extra = frozenset(ctx.payload.get("recipients") or ())
    yield from consent_refusals(ctx.case, rule, ctx.today, extra)


def _adult_consent(ctx: Context) -> Iterator[Refusal]:
    """An adult's investigation and interventions need their consent; a child's interventions the guardians'.

    Child or adult on the day of the decision; a child's investigation needs no consent.
    """
    if not ctx.child:
        yield from _consent(ctx)
        return
    rule = ctx.transition.consent
    if rule is None:  # as in _consent: fail closed
        raise ValueError(f"transition '{ctx.transition.trigger}' has a consent guard but no consent rule")
    yield from child_intervention_refusals(ctx.case, rule, ctx.today)


def _pre_assessment_in_time(ctx: Context) -> Iterator[Refusal]:
    """Decided within 14 days, later only for exceptional reasons (20 kap. 2 § socialtjänstlagen (2025:400))."""
    due = ctx.case.deadlines.get("pre_assessment")
    if due is not None and ctx.today > due and not ctx.payload.get("special_reason"):
        yield Refusal("late_pre_assessment", {"due": due.isoformat(), "field": "special_reason"})


def _due_date_in_future(ctx: Context) -> Iterator[Refusal]:
    """An extension must move the date forward (20 kap. 3–5 §§ socialtjänstlagen (2025:400))."""
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
    """Thinned when the retention period after the last entry is over.

    Socialtjänstlagen (2025:400), the rule on thinning personal records (its number is not verified).
    """
    until = retention_until(ctx.chart, ctx.case.last_entry_at or ctx.case.received_at)
    if ctx.today < until:
        yield Refusal("retention_not_over", {"until": until.isoformat()})


def _sig_age_range(ctx: Context) -> Iterator[Refusal]:
    age = age_on(ctx.case.birth_date, ctx.today)
    if age not in SIG_AGES:
        yield Refusal("sig_age_range", {"age": age})


def _exit_programme_referral(ctx: Context) -> Iterator[Refusal]:
    """Only a case that came on a referral from a source an intervention kind names (the police's exit
    programme) may start that intervention during the pre-assessment."""
    lifecycle = ctx.chart.interventions
    sources = {s for k in lifecycle.kinds.values() for s in k.referral_sources} if lifecycle else set()
    if ctx.case.origin not in sources:
        yield Refusal("not_a_referral", {"allowed": sorted(sources)})


def _interventions_running(ctx: Context) -> Iterator[Refusal]:
    if ctx.case.interventions_running < 1:
        yield Refusal("no_intervention_running")


def _no_intervention_running(ctx: Context) -> Iterator[Refusal]:
    if ctx.case.interventions_running > 0:
        yield Refusal("interventions_still_running", {"count": ctx.case.interventions_running})


def _no_intervention_pending(ctx: Context) -> Iterator[Refusal]:
    """A case is not closed while an intervention is still proposed or decided: it would be left hanging."""
    if ctx.case.interventions_pending > 0:
        yield Refusal("interventions_pending", {"count": ctx.case.interventions_pending})


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
    "exit_programme_referral": _exit_programme_referral,
    "interventions_running": _interventions_running,
    "no_intervention_running": _no_intervention_running,
    "no_intervention_pending": _no_intervention_pending,
}

# Fields a guard may read although the transition does not require them.
OPTIONAL_FIELDS: Mapping[str, tuple[str, ...]] = {"pre_assessment_in_time": ("special_reason",)}
