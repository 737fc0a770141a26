"""The decision letter: a PDF in Swedish that tells the person what was decided, why, under which provision,
by whom, and, for an appealable decision, how to appeal (förvaltningslagen (2017:900), the provisions on
notification and how to appeal and on the time for an appeal: law.toml `fl_33`, `fl_44`).

Opening the letter opens the decision's reasons and the person's name: it is a read of personal data, logged in
the access log in the same transaction (who, role, when, which case, which fields, on what ground), and only
for staff with a ground on the case (emergency access reads the case page, not its letters). The PDF is made by
fpdf2 with DejaVu Sans, shipped beside this module with its licence (fonts/LICENSE), so that every character a
reason or a citation may hold ("3–5 §§", å, ä, ö) is drawn. Nothing of the letter reaches a log line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.skeleton import case_write
from cases.db import Database
from cases.decisions.records import case_ref_of
from cases.errors import AccessDenied, RecordNotFound
from cases.events import operation
from cases.flowcharts import engine_for_version
from cases.models import Decision, Staff, TransitionLogEntry
from policies import Flowchart
from policies.decisions import load_decisions
from policies.law import load_law
from workflow import AccessEntry, Actor, LogEntry

__all__ = ["LETTER_FIELDS", "Letter", "LetterContent", "decision_letter", "new_document", "render_letter"]

FONTS = Path(__file__).with_name("fonts")
LETTER_FIELDS = ("decisions.reasons", "persons.given_name", "persons.family_name")  # what opening it reads
NO_REASONS = "Ingen motivering antecknades när beslutet fattades."
NOT_APPEALABLE = "Beslutet kan inte överklagas särskilt."


@dataclass(frozen=True)
class LetterContent:
    """Everything a letter says, in Swedish; holds personal data (the name, the reasons): never print it."""

    municipality: str
    ref: str
    decided_on: date
    kind: str
    provision: str  # the full citation, e.g. "14 kap. 2 § första stycket socialtjänstlagen (2025:400)"
    provision_words: str
    person: str
    reasons: str | None
    decider: str
    role: str
    delegation: str
    appealable: bool
    appeal: str
    outcome: str | None = None  # for a granted intervention, which one
    details: tuple[tuple[str, str], ...] = ()  # the step's coded fields in words: the outcome, a new due date

    def __repr__(self) -> str:
        return f"LetterContent(ref={self.ref!r}, kind={self.kind!r})"


@dataclass(frozen=True)
class Letter:
    decision_id: str
    ref: str
    pdf: bytes

    @property
    def filename(self) -> str:
        return f"beslut-{self.ref}-{self.decision_id[:8]}.pdf"

    def __repr__(self) -> str:
        return f"Letter(ref={self.ref!r}, decision_id={self.decision_id!r}, size={len(self.pdf)})"


@operation("decision_letter_read")
def decision_letter(db: Database, actor: Actor, decision_id: str, *, municipality: str, ref: str | None = None,
                    now: datetime | None = None) -> Letter:
    """The letter of decision `decision_id` as PDF, its reading logged; `AccessDenied` without a ground.

    With `ref`, a decision of another case is `RecordNotFound`, refused before anything is opened or logged.
    """
    now = now or utcnow()
    found = case_ref_of(db, decision_id)
    if ref is not None and ref != found:
        raise RecordNotFound("decision", "no such decision", "inget sådant beslut")
    ref = found
    with case_write(db, actor, ref, now=now, lock=False) as opened:
        session, case = opened.session, opened.case
        ground = read_ground(session, actor, case)  # deny by default, here and not only in the pages' role lists
        if ground is None:
            raise AccessDenied(case.ref, emergency_possible=False)
        decision = session.get(Decision, decision_id)
        if decision is None or decision.case_id != case.id:
            raise RecordNotFound("decision", "no such decision", "inget sådant beslut")
        key = db.vault.case_key(case.id)  # KeyDestroyed for an erased case: nothing left to write a letter of
        chart = engine_for_version(session, case.flowchart_version).chart
        decisions, law = load_decisions(), load_law()
        kind, provision = decisions.kinds[decision.kind], law[decision.provision]
        delegation = decisions.delegations.get(decision.delegation)
        decider = session.get(Staff, decision.decided_by)
        names = [key.open("persons", case.person.id, f, getattr(case.person, f)) for f in ("given_name",
                                                                                           "family_name")]
        content = LetterContent(
            municipality=municipality, ref=case.ref,
            decided_on=decision.decided_at.astimezone(ZoneInfo(chart.timezone)).date(),
            kind=kind.label.sv, provision=provision.cite(), provision_words=provision.words.sv,
            person=" ".join(n for n in names if n) or "–",
            reasons=key.open("decisions", decision.id, "reasons", decision.reasons),
            decider=decider.display_name if decider else "–",
            role=chart.roles[decision.role].sv if decision.role in chart.roles else decision.role,
            delegation=delegation.label.sv if delegation else decision.delegation,
            appealable=decision.appealable, appeal=decisions.appeal_text(municipality, law=law),
            outcome=_intervention(session, chart, decision) if kind.name in INTERVENTION_KINDS else None,
            details=_details(session, chart, decision),
        )
        log.append(session, AccessEntry(
            at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role, action="read",
            ground=ground, fields=LETTER_FIELDS,
            codes={"decision": decision.id, "document": "decision_letter"},
        ))
    return Letter(decision_id, ref, render_letter(content))


# The kinds of decision on an intervention, whose letter names it.
INTERVENTION_KINDS = ("grant_intervention", "intervention_declined")


def _intervention(session: Session, chart: Flowchart, decision: Decision) -> str | None:
    """The intervention decided on, in words: from version 3 its kind (an intervention's step names it), before
    that the state the decision's transition led to."""
    entry = session.get(TransitionLogEntry, decision.transition_seq)
    if entry is None:
        return None
    kind = LogEntry.from_canonical(entry.entry).codes.get("kind")
    if chart.interventions is not None and isinstance(kind, str) and kind in chart.interventions.kinds:
        return chart.interventions.kinds[kind].label.sv
    return chart.states[entry.to_state].label.sv if entry.to_state in chart.states else None


# The coded fields of a decision step a letter names, in words: what came of it, and an extension's new date.
_DETAILS = ("outcome", "new_due_on")


def _details(session: Session, chart: Flowchart, decision: Decision) -> tuple[tuple[str, str], ...]:
    """The decision step's outcome and new due date as the transition log has them (codes), in Swedish."""
    entry = session.get(TransitionLogEntry, decision.transition_seq)
    codes = LogEntry.from_canonical(entry.entry).codes if entry is not None else {}
    found = []
    for name in _DETAILS:
        value, spec = codes.get(name), chart.fields.get(name)
        if value is None or spec is None:
            continue
        words = chart.vocabularies.get(spec.vocabulary or "", {})
        found.append((spec.label.sv, words[value].sv if value in words else str(value)))
    return tuple(found)


def render_letter(content: LetterContent) -> bytes:
    """The letter as PDF bytes: pure, no database, no clock (the creation date is the decision's)."""
    pdf = new_document(f"Beslut {content.ref}", content.decided_on)
    pdf.set_font("DejaVu", "B", 12)
    _line(pdf, content.municipality)
    pdf.set_font("DejaVu", "", 10)
    _line(pdf, "Socialtjänsten")
    pdf.ln(6)
    _facts(pdf, (("Ärende", content.ref), ("Datum för beslutet", content.decided_on.isoformat()),
                 ("Beslutet gäller", content.person)))
    pdf.ln(4)
    pdf.set_font("DejaVu", "B", 16)
    _line(pdf, "Beslut")
    pdf.set_font("DejaVu", "B", 12)
    _line(pdf, content.kind)
    if content.outcome:
        _section(pdf, "Insats", content.outcome)
    for heading, value in content.details:
        _section(pdf, heading, value)
    _section(pdf, "Lagrum", f"{content.provision} ({content.provision_words})")
    _section(pdf, "Motivering", content.reasons or NO_REASONS)
    _section(pdf, "Beslutsfattare", f"{content.decider}, {content.role.lower()}. Delegation: {content.delegation}.")
    _section(pdf, "Hur man överklagar" if content.appealable else "Överklagande",
             content.appeal if content.appealable else NOT_APPEALABLE)
    return bytes(pdf.output())


def new_document(title: str, created: date) -> FPDF:
    """An A4 PDF in Swedish with the shipped DejaVu fonts ("DejaVu", regular and "B"), its first page begun.

    Every PDF vidoro makes for a person starts here (the decision letter, the register extract), so that
    the fonts that draw every character are set up once."""
    pdf = FPDF(format="A4")
    pdf.set_lang("sv")
    pdf.set_title(title)
    pdf.set_creator("vidoro")
    pdf.set_creation_date(datetime.combine(created, datetime.min.time(), tzinfo=ZoneInfo("UTC")))
    pdf.add_font("DejaVu", "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    pdf.set_margins(25, 20, 25)
    pdf.add_page()
    return pdf


def _line(pdf: FPDF, text: str) -> None:
    pdf.multi_cell(0, 6, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _facts(pdf: FPDF, rows: tuple[tuple[str, str], ...]) -> None:
    for name, value in rows:
        pdf.set_font("DejaVu", "B", 10)
        pdf.cell(45, 6, f"{name}:")
        pdf.set_font("DejaVu", "", 10)
        pdf.multi_cell(0, 6, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _section(pdf: FPDF, heading: str, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 11)
    _line(pdf, heading)
    pdf.set_font("DejaVu", "", 10)
    _line(pdf, text)
