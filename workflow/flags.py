"""The warnings a flag on a case gives at the steps it affects (`policies/flags.toml`), in every version.

A flag never refuses a step: it warns, naming the flag, so that the decision maker sees the routine the flag
calls for before deciding; the warning is recorded in the step's log entry with the flags' codes. With
honour-related violence on a child's case, the steps that seek the guardians' consent warn in the words of
`flags.toml` that informing the guardians may put the child at risk.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from policies.flags import load_flags
from workflow.facts import CaseFacts, age_on
from workflow.guards import ADULT_AGE, Context
from workflow.refusals import Refusal

__all__ = ["flag_codes", "flag_warnings", "flag_warnings_at", "recording_consent_warnings"]


def flag_warnings(ctx: Context) -> Iterator[Refusal]:
    """A warning for each flag on the case that affects this step, and the guardians' warning where it applies."""
    return flag_warnings_at(ctx.transition.trigger, ctx.case, ctx.today)


def flag_warnings_at(trigger: str, case: CaseFacts, today: date) -> Iterator[Refusal]:
    """The flags' warnings at the step the log names `trigger` (a case's trigger, or an intervention's step as
    `intervention_<step>`: `workflow.interventions`), on `case` on `today`."""
    for flag in load_flags():
        if flag.code not in case.flags:
            continue
        if trigger in flag.warn_on:
            yield Refusal("flagged", {"flag": flag.label, "flag_code": flag.code})
        if case.birth_date is None:  # an erased case decides nothing about a person any more
            continue
        warning = flag.guardians_warning(trigger, age_on(case.birth_date, today) < ADULT_AGE)
        if warning is not None:
            yield Refusal("flag_guardians_risk", {"flag": flag.label, "warning": warning, "flag_code": flag.code})


def recording_consent_warnings(case: CaseFacts, today: date) -> tuple[Refusal, ...]:
    """The guardians' warnings the form recording a consent shows, for the flags on the case whose rule says so.

    Recording the guardians' consent means they were asked: on a child's case with honour-related violence that
    may have put the child at risk, and the one who records it is reminded of the routine (`flags.toml`)."""
    if case.birth_date is None:
        return ()
    child = age_on(case.birth_date, today) < ADULT_AGE
    return tuple(Refusal("flag_guardians_risk", {"flag": flag.label, "warning": flag.guardians.warning,
                                                 "flag_code": flag.code})
                 for flag in load_flags() if flag.code in case.flags and flag.guardians is not None
                 and flag.guardians.when_recording_consent and flag.guardians.applies(child))


def flag_codes(warnings: tuple[Refusal, ...]) -> dict[str, list[str]]:
    """The codes of the flags whose warnings staff were shown at a step, for its log entry."""
    codes = sorted({str(w.params["flag_code"]) for w in warnings if "flag_code" in w.params})
    return {"flags": codes} if codes else {}
