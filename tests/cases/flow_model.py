"""An independent model of the vid oro flowchart, for the state-machine test of the operations.

Written by hand from flowchart version 2 (`policies/vid_oro.toml` when it was written, kept byte for byte as
tests/cases/fixtures/vid_oro_v2.toml, the file the state-machine test starts its cases on), DESIGN.md §2–§3 and
docs/decisions.md, never by asking the engine or the flowchart loader, so that a change in either shows up as a
disagreement with this file. It predicts, for each operation, the error it must raise or what it must write: the
state, the running deadlines, the consents, the sharing, the assignments, the case version and the log entry.
Where the product is known to differ from the documents, `KNOWN_BUGS` says so.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from cases import CaseNotFound, InvalidConcern, InvalidIdentityNumber, NotPermitted, StaleCase
from cases.errors import AccessDenied, ArrivalNotPermitted
from workflow import (
    ConsentMissing,
    GuardFailed,
    InvalidInput,
    RoleNotAllowed,
    TransitionNotAllowed,
    UnknownTrigger,
    VidoroError,
)

TZ = ZoneInfo("Europe/Stockholm")
ADULT_AGE = 18
YOUNG_ADULT_UNTIL = 21  # 18–20 are flagged at a decision (policies/rules.toml)
# The steps that are decisions (policies/rules.toml): child or adult decided on their day, age group logged.
DECISIONS = frozenset({"open_investigation", "close_without_investigation", "extend_investigation", "refer_sig",
                       "refer_exit", "offer_family_support", "start_other_support", "consent_refused",
                       "close_case", "reopen"})
CHILD_DEADLINES = ("protection_assessment", "pre_assessment", "investigation")  # stop once the person is 18
# A child's voluntary interventions need the guardians' consent (policies/rules.toml [child_consent]).
CHILD_INTERVENTIONS = frozenset({"sig", "exit_support", "family_support", "other_support"})
SIG_AGES = range(15, 26)
RETENTION_MONTHS = 5 * 12
LATE_AFTER = time(16, 0)
MAX_TEXT = 20_000
MAX_NAME = 200

ROLES = ("reporter", "coordinator", "intake", "caseworker", "decider", "partner", "auditor", "admin", "system")
REGISTER_ROLES = frozenset({"reporter", "intake", "caseworker"})
CONSENT_ROLES = frozenset({"caseworker", "decider"})
ASSIGNING_ROLES = frozenset({"intake", "decider"})
# Who may move a case on (docs/decisions.md, read grounds): intake while the case is in intake, the decision
# maker always, a caseworker on the cases assigned to them; the retention job (system) on every case.
INTAKE_STATES = frozenset({"registered", "protection_assessment", "pre_assessment"})
REPORTER_ORGS = ("school", "preschool", "leisure", "social_services", "other_city")
OUTCOMES = ("not_opened", "no_need", "completed", "consent_missing", "referred_elsewhere", "moved")
LEGAL_BASES = ("sol_11_1", "osl_10_18a", "osl_10_18b", "osl_10_28", "osl_26_9a")
PURPOSES = ("investigation", "sig", "exit_support", "family_support", "other_support")
RECIPIENTS = ("social_services", "police", "school", "leisure", "probation", "healthcare", "exit_service",
              "family_support_service")
DATA_CATEGORIES = ("identity", "contact", "concern", "assessment", "journal")
GIVERS = ("subject", "guardians", "relative")
METHODS = ("written", "oral", "digital")

TEXT, CODE, CODES, DATE = "text", "code", "codes", "date"
FIELDS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "reason": (TEXT, ()),
    "protection_assessment": (TEXT, ()),
    "special_reason": (TEXT, ()),
    "legal_basis": (CODE, LEGAL_BASES),
    "outcome": (CODE, OUTCOMES),
    "proposed_intervention": (CODE, PURPOSES),
    "recipients": (CODES, RECIPIENTS),
    "new_due_on": (DATE, ()),
}


@dataclass(frozen=True)
class Need:
    """What the consents must cover: every party's active consent for purpose, recipients and data."""

    purpose: str
    recipients: frozenset[str]
    data: frozenset[str]
    given_by: tuple[str, ...] = ("subject",)


NEEDS = {
    "investigation": Need("investigation", frozenset({"social_services"}), frozenset({"identity", "concern"})),
    "sig": Need("sig", frozenset({"social_services"}), frozenset({"identity", "concern", "assessment"})),
    "exit_support": Need("exit_support", frozenset({"exit_service"}),
                         frozenset({"identity", "concern", "assessment"})),
    "family_support": Need("family_support", frozenset({"family_support_service"}), frozenset({"contact"}),
                           ("relative",)),
    "other_support": Need("other_support", frozenset({"social_services"}), frozenset({"identity", "concern"})),
}
# Where the product does not do what DESIGN.md or docs/decisions.md says (bugs reported with these tests), the
# model predicts what it does today, so that everything else stays checked. Set an entry to False once its bug
# is fixed: the test then asks for the documented behaviour.
KNOWN_BUGS = {
    # "Genast" is due the day of receipt (next day from 16:00), but policies/vid_oro.toml gives
    # [deadlines.protection_assessment] no `from = "received"`, so it counts from the registration.
    "protection_deadline_from_registration": False,
    # cases/casework/consents.py fires withdraw_consent only when the withdrawing actor may fire it (a caseworker): a
    # decider's withdrawal leaves the case in the intervention, still shared.
    "only_a_caseworkers_withdrawal_moves_the_case": False,
}
# The interventions that rest on a consent, by the purpose of that consent.
CONSENT_STATES = {"sig": "sig", "exit_support": "exit_support", "family_support": "family_support",
                  "other_support": "other_support"}
# The structured assessments (policies/hearing.toml): (trigger, from) -> (kind, the decision the model records).
ASSESSED = {("start_pre_assessment", "protection_assessment"): ("protection", "no_protection_needed"),
            ("open_investigation", "pre_assessment"): ("pre_assessment", "open_investigation"),
            ("close_without_investigation", "pre_assessment"): ("pre_assessment", "do_not_open")}
ASSESSED_TEXT, CHILD_VIEW = "Det som bedömdes", "Barnets egen uppfattning"
# Kommunicering (förvaltningslagen 25 §, policies/hearing.toml): closing an investigation finding no need goes
# against the person; the model never records a communication, so that decision is always refused.
ADVERSE = ("close_case", "investigation", "no_need")
INVESTIGATION_DEADLINES = ("investigation", "investigation_extended")


@dataclass(frozen=True)
class Move:
    """One transition of the flowchart, as the model knows it.

    The model names its own guards: child, adult (on the day of the step), in_time (a late pre-assessment needs
    special_reason), later_date (an extension moves the due date forward), consent, adult_consent,
    consent_gone (the intervention's consent no longer holds) and retention_over.
    """

    trigger: str
    sources: tuple[str, ...]
    to: str
    roles: frozenset[str]
    requires: tuple[str, ...] = ()
    choices: Mapping[str, frozenset[str]] = field(default_factory=dict)
    guards: tuple[str, ...] = ()
    starts: tuple[str, ...] = ()
    stops: tuple[str, ...] = ()
    need: str | None = None

    @property
    def optional(self) -> tuple[str, ...]:
        return ("special_reason",) if "in_time" in self.guards else ()


def _move(trigger, sources, to, role, **kw) -> Move:
    return Move(trigger, tuple(sources), to, frozenset({role}), **kw)


_INTERVENTIONS = ("sig", "exit_support", "family_support")
MOVES = (
    _move("assess_protection", ["registered"], "protection_assessment", "intake", guards=("child",)),
    _move("start_pre_assessment", ["registered"], "pre_assessment", "intake", guards=("adult",)),
    _move("start_pre_assessment", ["protection_assessment"], "pre_assessment", "intake",
          requires=("protection_assessment",), stops=("protection_assessment",)),
    _move("open_investigation", ["pre_assessment"], "investigation", "decider", requires=("reason", "legal_basis"),
          choices={"legal_basis": frozenset({"sol_11_1"})}, guards=("in_time", "adult_consent"),
          stops=("pre_assessment",), starts=("investigation",), need="investigation"),
    _move("close_without_investigation", ["pre_assessment"], "closed", "decider", requires=("reason", "outcome"),
          choices={"outcome": frozenset({"not_opened", "referred_elsewhere", "moved"})}, guards=("in_time",),
          stops=("pre_assessment",)),
    _move("extend_investigation", ["investigation"], "investigation", "decider", requires=("reason", "new_due_on"),
          guards=("later_date",), stops=INVESTIGATION_DEADLINES, starts=("investigation_extended",)),
    _move("request_consent", ["investigation"], "awaiting_consent", "caseworker",
          requires=("proposed_intervention",)),
    # version 2: the outcomes that fit the state ("completed" only after an intervention)
    _move("close_case", ["investigation"], "closed", "decider", requires=("reason", "outcome"),
          choices={"outcome": frozenset({"no_need", "consent_missing", "referred_elsewhere", "moved"})},
          stops=INVESTIGATION_DEADLINES),
    _move("close_case", ["follow_up"], "closed", "decider", requires=("reason", "outcome"),
          choices={"outcome": frozenset({"completed", "no_need", "consent_missing", "referred_elsewhere", "moved"})},
          stops=INVESTIGATION_DEADLINES),
    _move("refer_sig", ["awaiting_consent"], "sig", "caseworker", requires=("recipients",), guards=("consent",),
          stops=INVESTIGATION_DEADLINES, need="sig"),
    _move("refer_exit", ["awaiting_consent"], "exit_support", "caseworker", guards=("consent",),
          stops=INVESTIGATION_DEADLINES, need="exit_support"),
    _move("offer_family_support", ["awaiting_consent"], "family_support", "caseworker", guards=("consent",),
          stops=INVESTIGATION_DEADLINES, need="family_support"),
    _move("start_other_support", ["awaiting_consent"], "other_support", "caseworker", requires=("reason",),
          guards=("adult_consent",), stops=INVESTIGATION_DEADLINES, need="other_support"),
    _move("consent_refused", ["awaiting_consent"], "investigation", "caseworker", requires=("reason",)),
    replace(_move("withdraw_consent", [*_INTERVENTIONS, "other_support"], "follow_up", "caseworker",
                  requires=("reason",), guards=("consent_gone",)), roles=frozenset({"caseworker", "decider"})),
    _move("start_follow_up", [*_INTERVENTIONS, "other_support"], "follow_up", "caseworker"),
    _move("reopen", ["follow_up"], "investigation", "decider", requires=("reason",),
          starts=("investigation",)),
    _move("erase", ["closed"], "erased", "system", guards=("retention_over",)),
)
TRIGGERS = tuple(dict.fromkeys(m.trigger for m in MOVES))


def move_from(trigger: str, state: str) -> Move | None:
    return next((m for m in MOVES if m.trigger == trigger and state in m.sources), None)


def moves_from(state: str) -> tuple[Move, ...]:
    return tuple(m for m in MOVES if state in m.sources)


# --- calendar ----------------------------------------------------------------------------------------------


def local(moment: datetime) -> datetime:
    return moment.astimezone(TZ)


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def add_months(day: date, months: int) -> date:
    """Calendar months, ending on the month's last day when it has no such day (lag 1930:173, 2 §)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


# --- records -----------------------------------------------------------------------------------------------


@dataclass
class ConsentModel:
    id: str
    given_by: str
    purposes: frozenset[str]
    recipients: frozenset[str]
    data: frozenset[str]
    valid_from: date
    valid_until: date | None
    status: str

    def active_on(self, day: date) -> bool:
        return self.status == "given" and self.valid_from <= day and (
            self.valid_until is None or day <= self.valid_until)


@dataclass
class CaseModel:
    ref: str
    birth_date: date
    child: bool  # under 18 on the (Stockholm) day of receipt: whether the concern is about a child
    updated_at: datetime
    state: str = "registered"
    version: int = 1
    deadlines: dict[str, date] = field(default_factory=dict)
    consents: list[ConsentModel] = field(default_factory=list)
    shared_with: frozenset[str] = frozenset()
    outcome: str | None = None
    assigned: set[str] = field(default_factory=set)  # the caseworkers' account ids

    def age(self, now: datetime) -> int:
        return age_on(self.birth_date, local(now).date())

    def child_on(self, now: datetime) -> bool:
        """Child or adult is decided at every step, on its own day (policies/rules.toml [age])."""
        return self.age(now) < ADULT_AGE


def age_group(age: int) -> str:
    return "child" if age < ADULT_AGE else "young_adult" if age < YOUNG_ADULT_UNTIL else "adult"


@dataclass(frozen=True)
class Entry:
    """A log entry as the model expects it, with the form as `case_events` must keep it."""

    ref: str
    trigger: str
    from_state: str | None
    to_state: str
    actor_id: str
    role: str
    at: datetime
    codes: Mapping[str, Any]
    fields: Mapping[str, Any]
    assessment: Mapping[str, Any] | None = None  # the form whose salted hash the entry's codes hold


@dataclass(frozen=True)
class Verdict:
    """What an operation must do: raise `error`, or succeed (with the checked form and the warnings)."""

    error: type[VidoroError] | None
    move: Move | None = None
    clean: Mapping[str, Any] | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Access:
    """Who calls and on what: a real account or not, an existing case or not, a ground on it or not (never
    shown a version it has no ground to see), the version they saw."""

    actor_ok: bool = True
    case_found: bool = True
    ground: bool = True
    version_ok: bool = True

    def error(self) -> type[VidoroError] | None:
        if not self.actor_ok:
            return NotPermitted
        if not self.case_found:
            return CaseNotFound
        if not self.ground:
            return AccessDenied
        return None if self.version_ok else StaleCase


# --- the form of a transition ------------------------------------------------------------------------------


def absent(value: Any) -> bool:
    return value is None or (isinstance(value, list | tuple) and not value) or (
        isinstance(value, str) and not value.strip())


def check_value(move: Move, name: str, value: Any) -> tuple[bool, Any]:
    kind, vocabulary = FIELDS[name]
    if kind == TEXT:
        ok = isinstance(value, str) and 0 < len(value.strip()) <= MAX_TEXT
        return ok, value.strip() if ok else None
    if kind == DATE:
        if type(value) is date:
            return True, value
        try:
            return True, date.fromisoformat(value)
        except (TypeError, ValueError):
            return False, None
    allowed = move.choices.get(name, frozenset(vocabulary))
    if kind == CODE:
        return isinstance(value, str) and value in allowed, value
    ok = isinstance(value, list | tuple) and all(isinstance(c, str) and c in allowed for c in value)
    return ok, sorted(set(value)) if ok else None


def check_form(move: Move, payload: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """The normalised form, and whether anything in it is wrong (unexpected, missing or invalid)."""
    allowed = (*move.requires, *move.optional)
    wrong = bool(set(payload) - set(allowed))
    clean: dict[str, Any] = {}
    for name in allowed:
        value = payload.get(name)
        if absent(value):
            wrong |= name in move.requires
            continue
        ok, normalised = check_value(move, name, value)
        wrong |= not ok
        if ok:
            clean[name] = normalised
    return clean, wrong


def assessment_form(case: CaseModel, trigger: str, now: datetime) -> dict[str, Any] | None:
    """The assessment the test brings to a step that records one: with the child's view while a child."""
    if (trigger, case.state) not in ASSESSED:
        return None
    view = CHILD_VIEW if case.age(now) < 18 else None
    return {"assessed": ASSESSED_TEXT, "decision": ASSESSED[trigger, case.state][1], "child_view": view,
            "not_heard_reason": None, "not_heard_detail": None}


def logged_codes(clean: Mapping[str, Any]) -> dict[str, Any]:
    """Everything but free text goes to the log: codes, sorted code lists, ISO dates."""
    return {k: stored(v) for k, v in clean.items() if FIELDS[k][0] != TEXT}


def stored(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


# --- the model ---------------------------------------------------------------------------------------------


class FlowModel:
    """The cases and the whole log as they must be after the operations that succeeded."""

    def __init__(self) -> None:
        self.cases: dict[str, CaseModel] = {}
        self.log: list[Entry] = []
        self.secrets: set[str] = set()  # free text and personal data that must never reach the log

    @staticmethod
    def boundaries(cases: list[CaseModel]) -> list[date]:
        """The days on which a rule flips: deadlines, consents' first and last days, 18th birthdays, retention."""
        days = set()
        for case in cases:
            days.update(case.deadlines.values())
            days.add(add_months(local(case.updated_at).date(), RETENTION_MONTHS))
            days.add(add_months(case.birth_date, 12 * ADULT_AGE) + timedelta(
                days=int((case.birth_date.month, case.birth_date.day) == (2, 29))))  # 1 March (see age_on)
            for c in case.consents:
                days.update(d for d in (c.valid_from, c.valid_until) if d is not None)
        return sorted(days)

    # grounds

    @staticmethod
    def has_ground(case: CaseModel, role: str, actor_id: str) -> bool:
        """Whether the account may move the case on: ask what may be fired, fire, record or withdraw a consent."""
        if role == "intake":
            return case.state in INTAKE_STATES
        if role == "caseworker":
            return actor_id in case.assigned
        return role in ("decider", "system")

    @staticmethod
    def assign(case: CaseModel, caseworker_id: str, replace: bool = False) -> None:
        """An assignment is no change of the case (no version, no log entry); assigning again changes nothing;
        reassigning (`replace`) ends every other caseworker's assignment."""
        case.assigned = {caseworker_id} if replace else case.assigned | {caseworker_id}

    # consents

    def covered(self, case: CaseModel, need: Need, now: datetime, extra: frozenset[str] = frozenset()) -> bool:
        """Every party has an active consent covering the need; under 18 on the day, the guardians too."""
        today = local(now).date()
        parties = set(need.given_by) | ({"guardians"} if case.age(now) < ADULT_AGE else set())
        recipients = need.recipients | extra
        return all(
            any(c.given_by == party and c.active_on(today) and need.purpose in c.purposes
                and recipients <= c.recipients and need.data <= c.data for c in case.consents)
            for party in parties
        )

    # transitions

    def refusal_kinds(self, case: CaseModel, move: Move, clean: Mapping[str, Any], now: datetime) -> set[str]:
        """Which kinds of rule stand in the way: 'field' (a late decision without reasons), 'guard', 'consent'."""
        today = local(now).date()
        kinds = set()
        for guard in move.guards:
            if (guard == "child" and not case.child_on(now)) or (guard == "adult" and case.child_on(now)):
                kinds.add("guard")
            elif guard == "in_time":
                due = case.deadlines.get("pre_assessment")
                if due is not None and today > due and "special_reason" not in clean:
                    kinds.add("field")
            elif guard == "later_date":
                new = clean.get("new_due_on")
                running = [case.deadlines[d] for d in INVESTIGATION_DEADLINES if d in case.deadlines]
                if new is not None and (new <= today or any(new <= due for due in running)):
                    kinds.add("guard")
            elif guard == "consent" or (guard == "adult_consent" and not case.child_on(now)):
                extra = frozenset(clean.get("recipients", ()))
                if not self.covered(case, NEEDS[move.need], now, extra):
                    kinds.add("consent")
            elif guard == "adult_consent" and move.need in CHILD_INTERVENTIONS:  # a child: the guardians'
                if not self.covered(case, replace(NEEDS[move.need], given_by=("guardians",)), now):
                    kinds.add("consent")
            elif guard == "consent_gone":
                if self.covered(case, NEEDS[CONSENT_STATES[case.state]], now, case.shared_with):
                    kinds.add("guard")
            elif guard == "retention_over" and today < add_months(local(case.updated_at).date(), RETENTION_MONTHS):
                kinds.add("guard")
        if (move.trigger, case.state, clean.get("outcome")) == ADVERSE:
            kinds.add("guard")
        return kinds

    def warnings(self, case: CaseModel, move: Move, now: datetime) -> tuple[str, ...]:
        sig = ("sig_age_range",) if move.trigger == "refer_sig" and case.age(now) not in SIG_AGES else ()
        young = move.trigger in DECISIONS and age_group(case.age(now)) == "young_adult"
        return (*sig, *(("young_adult",) if young else ()))

    def judge_fire(
        self, case: CaseModel, role: str, trigger: str, payload: Mapping[str, Any], now: datetime, access: Access
    ) -> Verdict:
        if access.error():
            return Verdict(access.error())
        if trigger not in TRIGGERS:
            return Verdict(UnknownTrigger)
        move = move_from(trigger, case.state)
        if move is None:
            return Verdict(TransitionNotAllowed)
        clean, wrong = check_form(move, payload)
        if role not in move.roles:
            return Verdict(RoleNotAllowed)
        if wrong:
            return Verdict(InvalidInput)
        kinds = self.refusal_kinds(case, move, clean, now)
        for kind, error in (("field", InvalidInput), ("guard", GuardFailed), ("consent", ConsentMissing)):
            if kind in kinds:
                return Verdict(error)
        return Verdict(None, move, clean, self.warnings(case, move, now))

    def options(self, case: CaseModel, role: str, now: datetime) -> dict[str, tuple[bool, tuple, tuple]]:
        """What `available_triggers` must offer: trigger -> (allowed, fields the form asks for, warnings).

        Before the form is filled in, a late pre-assessment does not block: the form asks for exceptional reasons.
        """
        out = {}
        for move in moves_from(case.state):
            kinds = self.refusal_kinds(case, move, {}, now)
            late = ("special_reason",) if "field" in kinds else ()
            assessed = ("assessment",) if (move.trigger, case.state) in ASSESSED and case.age(now) < 18 else ()
            adverse = ("communication_may_be_needed",) if (move.trigger, case.state) == ADVERSE[:2] else ()
            out[move.trigger] = (role in move.roles and not kinds - {"field"}, (*move.requires, *late, *assessed),
                                 (*self.warnings(case, move, now), *adverse))
        return out

    def fire(self, case: CaseModel, move: Move, clean: Mapping[str, Any], actor_id: str, role: str,
             now: datetime) -> Entry:
        """Apply a transition that the model says succeeds."""
        today = local(now).date()
        deadlines = {k: v for k, v in case.deadlines.items() if k not in move.stops and k not in move.starts
                     and (case.child_on(now) or k not in CHILD_DEADLINES)}
        for name in move.starts:
            if name == "investigation" and case.child_on(now):
                deadlines[name] = add_months(today, 4)
            elif name == "investigation_extended":
                deadlines[name] = clean["new_due_on"]
        codes, form = logged_codes(clean), assessment_form(case, move.trigger, now)
        if form is not None:
            codes.update(assessment=ASSESSED[move.trigger, case.state][0], assessment_decision=form["decision"])
            if form["child_view"]:
                codes["child_heard"] = "heard"
        if move.trigger in DECISIONS:
            codes["age_group"] = age_group(case.age(now))
        if self.warnings(case, move, now):  # the warnings gone ahead despite, as codes
            codes["warnings"] = list(self.warnings(case, move, now))
        entry = Entry(case.ref, move.trigger, case.state, move.to, actor_id, role, now, codes,
                      {k: stored(v) for k, v in clean.items()}, form)
        if move.to in CONSENT_STATES and "consent" in move.guards:  # an adult's own consent shares nothing
            case.shared_with = NEEDS[move.need].recipients | frozenset(clean.get("recipients", ()))
        else:
            case.shared_with = frozenset()
        case.outcome = clean.get("outcome") if move.to == "closed" else None
        if move.to in ("closed", "erased"):
            case.assigned = set()  # a closed case is nobody's work: its assignments end with the transition
        case.state, case.deadlines = move.to, deadlines
        self._changed(case, now)
        self.log.append(entry)
        return entry

    # registration, consents

    def register(self, ref: str, actor_id: str, role: str, *, birth_date: date, received_at: datetime,
                 reporter_org: str, acute_danger: bool, now: datetime, arrival_reason: str | None = None
                 ) -> CaseModel:
        received = local(received_at).date()
        case = CaseModel(ref, birth_date, age_on(birth_date, received) < ADULT_AGE, now)
        if case.child:
            start = local(now if KNOWN_BUGS["protection_deadline_from_registration"] else received_at)
            case.deadlines = {
                "protection_assessment": start.date() + timedelta(days=int(start.time() >= LATE_AFTER)),
                "pre_assessment": received + timedelta(days=14),
            }
        self.cases[ref] = case
        codes: dict[str, Any] = {"reporter_org": reporter_org, "acute_danger": acute_danger}
        fields = dict(codes)
        codes["age_group"] = age_group(age_on(birth_date, received))  # to the log only, not the form
        if arrival_reason is not None:  # an earlier arrival by intake: logged as a code, its reason sealed
            codes["arrival"] = fields["arrival"] = "recorded_by_intake"
            fields.update(received_at=received_at.astimezone(UTC).isoformat(), arrival_reason=arrival_reason)
        self.log.append(Entry(ref, "register", None, "registered", actor_id, role, now, codes, fields))
        return case

    def record_consent(self, case: CaseModel, consent: ConsentModel, now: datetime) -> None:
        case.consents.append(consent)
        self._changed(case, now)

    def withdraw(self, case: CaseModel, consent: ConsentModel, reason: str, actor_id: str, role: str,
                 now: datetime) -> Entry | None:
        """Withdrawal takes effect at once: an intervention resting on the consent moves on (DESIGN.md §2)."""
        consent.status = "withdrawn"
        purpose = CONSENT_STATES.get(case.state)
        move = move_from("withdraw_consent", case.state)
        stuck = KNOWN_BUGS["only_a_caseworkers_withdrawal_moves_the_case"] and move and role not in move.roles
        if purpose is None or self.covered(case, NEEDS[purpose], now, case.shared_with) or stuck:
            self._changed(case, now)
            return None
        return self.fire(case, move, {"reason": reason}, actor_id, role, now)

    @staticmethod
    def _changed(case: CaseModel, now: datetime) -> None:
        case.version += 1
        case.updated_at = now


def register_error(role: str, actor_ok: bool, problem: str | None, *, earlier: bool = False
                   ) -> type[VidoroError] | None:
    """The error of a registration: the account, an arrival time from anyone but intake, then the form
    (`problem` names its fault), then the role."""
    if not actor_ok:
        return NotPermitted
    if earlier and role != "intake":
        return ArrivalNotPermitted
    if problem == "identity_number":
        return InvalidIdentityNumber
    if problem is not None:
        return InvalidConcern
    return None if role in REGISTER_ROLES else RoleNotAllowed


def assign_error(role: str, access: Access, target_is_caseworker: bool) -> type[VidoroError] | None:
    """The error of an assignment: the role, the account, the case, a ground on it (intake assigns only cases in
    intake), then the one assigned."""
    if role not in ASSIGNING_ROLES or not access.actor_ok:
        return NotPermitted
    if not access.case_found:
        return CaseNotFound
    if not access.ground:
        return AccessDenied
    return None if target_is_caseworker else InvalidConcern


def consent_form_ok(
    given_by, purposes, recipients, data_categories, method, status, evidence, valid_from, valid_until
) -> bool:
    def codes_ok(values, vocabulary) -> bool:
        return bool(values) and all(isinstance(v, str) and v in vocabulary for v in values)

    return (
        codes_ok([given_by], GIVERS) and codes_ok(purposes, PURPOSES) and codes_ok(recipients, RECIPIENTS)
        and codes_ok(data_categories, DATA_CATEGORIES) and codes_ok([method], METHODS)
        and status in ("given", "refused")
        and isinstance(evidence, str) and 0 < len(evidence.strip()) <= MAX_TEXT
        and (valid_until is None or valid_until >= valid_from)
    )


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
