"""Why a trigger may not be fired: one machine-readable code, and text for people in Swedish and English."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.model import Label

__all__ = ["Refusal"]

# code -> (kind, Swedish, English). Parameters are names and codes, never values a person typed.
_TEXTS: dict[str, tuple[str, str, str]] = {
    "wrong_state": (
        "state",
        "kan inte göras i läget {state} (bara från {allowed})",
        "cannot be done in state {state} (only from {allowed})",
    ),
    "role": (
        "role",
        "rollen {role} får inte göra detta (bara {allowed})",
        "role {role} may not do this (only {allowed})",
    ),
    "missing_field": ("field", "fältet {field} saknas", "field {field} is missing"),
    "invalid_field": ("field", "fältet {field} är ogiltigt: {problem}", "field {field} is invalid: {problem}"),
    "unexpected_field": (
        "field",
        "fältet {field} hör inte till denna händelse",
        "field {field} does not belong to this trigger",
    ),
    "not_child": ("guard", "gäller bara barn (under 18 år på beslutsdagen)", "only for a child (under 18 on the day)"),
    "not_adult": (
        "guard",
        "gäller bara vuxna (18 år eller äldre på beslutsdagen)",
        "only for an adult (18 or older on the day)",
    ),
    "late_pre_assessment": (
        "field",
        "förhandsbedömningen skulle ha avslutats senast {due}; ange synnerliga skäl (special_reason)",
        "the pre-assessment was due by {due}; give exceptional reasons (special_reason)",
    ),
    "due_date_not_future": (
        "guard",
        "det nya slutdatumet {date} måste ligga efter dagens datum och nuvarande slutdatum",
        "the new due date {date} must be after today and after the current due date",
    ),
    "consent_missing": (
        "consent",
        "giltigt samtycke saknas från {given_by} för {purpose}",
        "no active consent from {given_by} for {purpose}",
    ),
    "consent_incomplete": (
        "consent",
        "samtycket från {given_by} för {purpose} omfattar inte {uncovered}",
        "the consent from {given_by} for {purpose} does not cover {uncovered}",
    ),
    "consent_still_active": (
        "guard",
        "samtycket för {purpose} gäller fortfarande; återkalla samtycket i stället",
        "the consent for {purpose} is still active; withdraw the consent record instead",
    ),
    "retention_not_over": (
        "guard",
        "gallringsfristen löper till {until}",
        "the retention period runs until {until}",
    ),
    "approval_missing": (
        "guard",
        "utlämnande med stöd av lag kräver att en andra person med delegation godkänner",
        "a disclosure on a legal basis needs the approval of a second person with delegation",
    ),
    "approval_refused": (
        "guard",
        "den andra beslutsfattaren godkände inte utlämnandet",
        "the second decision maker did not approve the disclosure",
    ),
    "approval_invalid": (
        "guard",
        "godkännandet måste komma från en annan person med beslutsdelegation (inte {role})",
        "the approval must come from another person with a decision-maker's delegation (not {role})",
    ),
    "not_a_recipient": (
        "guard",
        "{recipient} är inte mottagare av denna remiss",
        "{recipient} is not a recipient of this referral",
    ),
    "referral_closed": (
        "guard",
        "remissen för {purpose} är avslutad; uppgifterna delas inte längre",
        "the referral for {purpose} is closed; the data is no longer shared",
    ),
    "guardians_consent_missing": (
        "consent",
        "personen är under 18 år: insatsen {purpose} kräver vårdnadshavarnas samtycke ({law})",
        "the person is under 18: the intervention {purpose} needs the guardians' consent ({law})",
    ),
    "young_adult": (
        "warning",
        "personen är 18–20 år: beslutet gäller en vuxen, men regler för unga under 21 år kan gälla ({law})",
        "the person is 18–20: the decision concerns an adult, but rules for those under 21 may apply ({law})",
    ),
    "basis_recipient": (
        "guard",
        "{law} medger utlämnande bara till {allowed}",
        "{law} allows disclosure only to {allowed}",
    ),
    "basis_purpose": (
        "guard",
        "{law} medger utlämnande bara för syftet: {allowed}",
        "{law} allows disclosure only for the purpose: {allowed}",
    ),
    "basis_age": (
        "guard",
        "{law} gäller bara uppgifter om en person som inte har fyllt {limit} år",
        "{law} covers only data about a person under {limit}",
    ),
    "basis_law_not_named": (
        "field",
        "{law}: ange vilken lag eller förordning som föreskriver uppgiftsskyldigheten",
        "{law}: name the act or ordinance that imposes the duty to disclose",
    ),
    "basis_feedback_only": (
        "guard",
        "{law} gäller bara återkoppling till anmälaren, som lämnas på anmälarens egen sida, inte som utlämnande",
        "{law} covers only feedback to the reporter, given on the reporter's own page, not a disclosure",
    ),
    "sig_age_range": (
        "warning",
        "SIG riktar sig till personer 15–25 år; personen är {age} år",
        "SIG is meant for ages 15–25; the person is {age}",
    ),
    # Interventions as records of their own (workflow.interventions).
    "not_a_referral": (
        "guard",
        "insatsen kan påbörjas under förhandsbedömningen bara efter remiss från {allowed}",
        "the intervention can start during the pre-assessment only on a referral from {allowed}",
    ),
    "no_intervention_running": ("guard", "ingen insats pågår", "no intervention is running"),
    "interventions_still_running": (
        "guard", "{count} insatser pågår fortfarande", "{count} interventions are still running",
    ),
    "interventions_pending": (
        "guard",
        "{count} insatser är föreslagna eller beslutade men inte påbörjade: återkalla eller besluta om de "
        "föreslagna insatserna först",
        "{count} interventions are proposed or decided but not started: withdraw or decide the proposed "
        "interventions first",
    ),
    "automatic_step": (
        "state",
        "steget görs av systemet när en insats påbörjas eller avslutas, inte för sig",
        "this step is taken by the system when an intervention starts or ends, not on its own",
    ),
    "kind_unknown": ("field", "okänd typ av insats: {kind}", "unknown kind of intervention: {kind}"),
    "propose_wrong_state": (
        "state",
        "en insats kan inte föreslås i läget {state} (bara i {allowed})",
        "an intervention cannot be proposed in state {state} (only in {allowed})",
    ),
    "consent_still_covers": (
        "guard",
        "samtycket för {purpose} gäller fortfarande för insatsen",
        "the consent for {purpose} still covers the intervention",
    ),
    # Flags on the case (workflow.flags, policies/flags.toml): the warning names the flag.
    "flagged": (
        "warning",
        "ärendet är flaggat: {flag}. Följ rutinen för flaggan före detta steg",
        "the case is flagged: {flag}. Follow the flag's routine before this step",
    ),
    "flag_guardians_risk": (
        "warning",
        "{flag}: {warning}",
        "{flag}: {warning}",
    ),
    # Kommunicering and structured assessments (workflow.hearing, policies/hearing.toml).
    "communication_missing": (
        "guard",
        "beslutet går den enskilde emot: kommunicera först materialet och ge en tid att svara, eller registrera "
        "ett undantag med skäl ({provision})",
        "the decision goes against the person: first communicate the material and give a time to answer, or "
        "record an exception with its reason ({provision})",
    ),
    "communication_pending": (
        "guard",
        "tiden att svara på kommuniceringen löper till och med {answer_by}: beslutet kan fattas när svaret har "
        "kommit, eller från {from_day} ({provision})",
        "the time to answer the communication runs until {answer_by} inclusive: the decision can be taken once "
        "the answer has come, or from {from_day} ({provision})",
    ),
    "communication_may_be_needed": (
        "warning",
        "med vissa utfall går beslutet den enskilde emot: då ska materialet först ha kommunicerats ({provision})",
        "with some outcomes the decision goes against the person: then the material must have been communicated "
        "first ({provision})",
    ),
    "assessment_missing": (
        "field",
        "för ett barn registreras bedömningen med steget: vad som bedömts, bedömningen och barnets egen "
        "uppfattning eller varför barnet inte har hörts ({provision})",
        "for a child the assessment is recorded with the step: what was assessed, the assessment, and the "
        "child's own view or why the child was not heard ({provision})",
    ),
    "assessment_text_missing": (
        "field", "ange vad som har bedömts", "say what was assessed",
    ),
    "assessment_decision_invalid": (
        "field",
        "välj bedömningen bland de som hör till steget",
        "choose the assessment among those of this step",
    ),
    "child_not_heard_unexplained": (
        "field",
        "ange barnets egen uppfattning eller varför barnet inte har hörts ({provision})",
        "give the child's own view or why the child was not heard ({provision})",
    ),
    "child_view_for_adult": (
        "field",
        "personen är inte barn: barnets uppfattning hör inte till bedömningen",
        "the person is not a child: a child's view does not belong to the assessment",
    ),
    "assessment_not_for_step": (
        "field",
        "detta steg registrerar ingen strukturerad bedömning",
        "this step records no structured assessment",
    ),
}

# invalid_field problems -> (Swedish, English)
_PROBLEMS: dict[str, tuple[str, str]] = {
    "not_text": ("ska vara text", "must be text"),
    "empty": ("får inte vara tomt", "must not be empty"),
    "too_long": ("är för långt", "is too long"),
    "not_a_date": ("ska vara ett datum ÅÅÅÅ-MM-DD", "must be a date YYYY-MM-DD"),
    "unknown_code": ("har ett värde som inte finns i listan", "has a value that is not in the list"),
    "code_not_allowed": ("har ett värde som inte är tillåtet här", "has a value that is not allowed here"),
    "not_a_list": ("ska vara en lista", "must be a list"),
    "unstorable_text": ("innehåller ett NUL-tecken eller ett ensamt surrogattecken, som inte kan lagras",
                        "contains a NUL character or an unpaired surrogate, which cannot be stored"),
}


@dataclass(frozen=True)
class Refusal:
    """One reason a trigger is refused (or, for kind 'warning', only cautioned)."""

    code: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.code not in _TEXTS:
            raise KeyError(f"no text for refusal code {self.code!r}")

    @property
    def kind(self) -> str:
        """state, role, field, guard, consent or warning."""
        return _TEXTS[self.code][0]

    @property
    def field_name(self) -> str | None:
        return self.params.get("field")

    def text(self, lang: str = "sv") -> str:
        _, sv, en = _TEXTS[self.code]
        params = {k: _show(v, lang) for k, v in self.params.items()}
        if "problem" in params:
            params["problem"] = _PROBLEMS[params["problem"]][lang == "en"]
        return (en if lang == "en" else sv).format(**params)


def _show(value: Any, lang: str) -> str:
    """A parameter as text: a label (policy data's words) in the language asked for, a list joined."""
    if isinstance(value, Label):
        return value(lang)
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(sorted(_show(v, lang) for v in value))
    return str(value)
