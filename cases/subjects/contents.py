"""What a register extract says: every record held about the person, screened for secrecy, in Swedish.

For each case in scope (the person's own cases and the relatives' matters in which they are the person): the
case's facts and steps, the concern, decisions, consents, disclosures, signed journal notes, and who read the
file when (the access log). The screening holds back, each with its reason (`policies/subjects.toml`):

- who reported the concern (the name, contact and source the case records, and the account that registered
  it) — always, on the provision protecting reporters and informants;
- other people's data: evidence of a consent a guardian or anyone but the person gave, and every matter of
  another person linked to the case (a relative's own matter, or the subject's case a relative's matter was
  opened from) — on social-services secrecy;
- free text (the concern, a decision's reasons, the evidence of the person's own consent, journal notes): held
  back by default (`free_text_reason`), since it often names the reporter or other people, until the decision
  maker has read it in the draft and releases it item by item;
- any other item the decision maker holds back when deciding.

What is held back on codes and links (the reporter, other people's data) is never opened: the screening decides
without decrypting it, so a slip in the rendering cannot show it. Free text is opened: the decision maker reads
it in the draft (`draft=True`, each held-back free text shown beside its reason); in the extract itself a
held-back item carries no text at all.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, joinedload

from cases.crypto.vault import Vault
from cases.errors import KeyDestroyed
from cases.flowcharts import engine_for_version
from cases.models import (
    AccessLogEntry,
    Case,
    CaseLink,
    Consent,
    Decision,
    Disclosure,
    JournalNote,
    Staff,
    TransitionLogEntry,
)
from policies import Flowchart
from policies.access import CASE_READING_ROLES
from policies.decisions import load_decisions
from policies.journal import load_journal
from policies.law import load_law
from policies.subjects import Subjects

__all__ = ["EXTRACT_FIELDS", "Item", "Read", "Section", "collect"]

# What making an extract opens, as the access log names it (never what a held-back item would have opened).
EXTRACT_FIELDS = ("persons.identity_number", "persons.given_name", "persons.family_name", "persons.birth_date",
                  "cases.concern", "decisions.reasons", "consents.evidence", "journal_notes.text")
OWN_CONSENT = "subject"  # `Consent.given_by` when the person gave it themselves


@dataclass(frozen=True)
class Item:
    """One thing the extract shows: its key (codes), a heading and the text, or the reason it is held back."""

    key: str
    heading: str
    text: str = ""
    reason: str | None = None  # a reason code: the extract says why (and the text is empty outside a draft)
    free: bool = False  # free text: held back by default until a decision maker releases it

    def __repr__(self) -> str:
        return f"Item(key={self.key!r}, reason={self.reason!r})"


@dataclass(frozen=True)
class Read:
    """One entry of the access log on a case in scope: when, by whom (name or not, as policy says), why."""

    at: datetime
    case_ref: str
    reader: str
    role: str
    action: str
    ground: str
    reason: str | None = None  # who read is held back: the reporter's own account (`reader` and `role` empty)


@dataclass(frozen=True)
class Section:
    """One case of the extract."""

    ref: str
    title: str
    facts: tuple[tuple[str, str], ...]
    items: tuple[Item, ...] = ()
    reads: tuple[Read, ...] = ()
    erased: bool = False

    def __repr__(self) -> str:
        return f"Section(ref={self.ref!r}, items={len(self.items)})"


def collect(session: Session, vault: Vault, case_ids: Sequence[str], held_back: Mapping[str, str],
            policy: Subjects, *, draft: bool = False) -> tuple[Section, ...]:
    """Every case in `case_ids`, screened: an item's reason is the automatic one or the one in `held_back`.
    In a `draft` for the decision maker a held-back text that was opened is kept beside its reason."""
    cases = session.scalars(select(Case).options(joinedload(Case.person)).where(Case.id.in_(case_ids))
                            .order_by(Case.received_at, Case.ref)).all()
    in_scope = {c.id for c in cases}
    names = {s.id: s.display_name for s in session.scalars(select(Staff))} if policy.show_reader_names else {}
    return tuple(_section(session, vault, case, in_scope, held_back, policy, names, draft) for case in cases)


def _section(session: Session, vault: Vault, case: Case, in_scope: set[str], held_back: Mapping[str, str],
             policy: Subjects, names: Mapping[str, str], draft: bool) -> Section:
    chart = engine_for_version(session, case.flowchart_version).chart
    zone = ZoneInfo(chart.timezone)
    facts = [("Ärende", case.ref), ("Inkom", _day(case.received_at, zone)),
             ("Läge", chart.states[case.state].label.sv if case.state in chart.states else "–")]
    title = "Ärende om stöd till anhörig" if chart.name != "vid_oro" else "Ärende vid oro"
    reads = _reads(session, case, chart, policy, names, zone)
    try:
        key = vault.case_key(case.id)
    except KeyDestroyed:
        return Section(case.ref, title, (*facts, ("Gallrat", "personuppgifterna i ärendet är förstörda")),
                       reads=reads, erased=True)
    person = case.person
    name = " ".join(n for n in (key.open("persons", person.id, f, getattr(person, f))
                                for f in ("given_name", "family_name")) if n)
    number = key.open("persons", person.id, "identity_number", person.identity_number)
    facts += [("Namn", name or "–"), ("Personnummer", number or "–"),
              ("Födelsedatum", key.open("persons", person.id, "birth_date", person.birth_date) or "–")]

    def item(item_key: str, heading: str, text: str | None, automatic: str | None = None) -> Item:
        """A free text (`text` given, no automatic reason) or an item held back on codes (`automatic`)."""
        reason = automatic or held_back.get(item_key)
        free = automatic is None
        if reason and not (draft and free):
            return Item(item_key, heading, reason=reason, free=free)
        return Item(item_key, heading, text or "–", reason=reason, free=free)

    items = [item(f"{case.ref}:reporter", "Anmälare", None, automatic="reporter"),
             item(f"{case.ref}:concern", "Oron som anmäldes", key.open("cases", case.id, "concern", case.concern))]
    items += _steps(session, case, chart, zone)
    decisions, law = load_decisions(), load_law()
    for d in session.scalars(select(Decision).where(Decision.case_id == case.id).order_by(Decision.decided_at)):
        kind = decisions.kinds[d.kind].label.sv if d.kind in decisions.kinds else "Beslut"
        cited = law[d.provision].cite() if d.provision in law else ""
        reasons = key.open("decisions", d.id, "reasons", d.reasons) or "ingen motivering antecknades"
        items.append(item(f"{case.ref}:decision:{d.id}", f"{kind}, {_day(d.decided_at, zone)}",
                          f"Lagrum: {cited}. Motivering: {reasons}"))
    for c in session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.recorded_at)):
        giver = _word(chart, "consent_givers", c.given_by)
        heading = f"Samtycke från {giver.lower()}, {c.valid_from.isoformat()}"
        summary = (f"Ändamål: {', '.join(_word(chart, 'purposes', p) for p in c.purposes)}. "
                   f"Mottagare: {', '.join(_word(chart, 'recipients', r) for r in c.recipients)}. "
                   f"Status: {c.status}.")
        items.append(Item(f"{case.ref}:consent:{c.id}", heading, summary))
        if c.given_by == OWN_CONSENT:
            items.append(item(f"{case.ref}:consent:{c.id}:evidence", "Hur samtycket dokumenterades",
                              key.open("consents", c.id, "evidence", c.evidence)))
        else:  # who a guardian or another person is, and what they said, is theirs
            items.append(item(f"{case.ref}:consent:{c.id}:evidence", "Hur samtycket dokumenterades", None,
                              automatic="other_person"))
    for s in session.scalars(select(Disclosure).where(Disclosure.case_id == case.id)
                             .order_by(Disclosure.requested_at)):
        basis = chart.legal_bases.get(s.legal_basis)
        items.append(Item(f"{case.ref}:disclosure:{s.id}", f"Utlämnande, {_day(s.requested_at, zone)}",
                          f"Mottagare: {_word(chart, 'recipients', s.recipient)}. "
                          f"Ändamål: {_word(chart, 'purposes', s.purpose)}. "
                          f"Lagrum: {law[basis].cite() if basis and basis in law else '–'}. Status: {s.status}."))
    kinds = load_journal().kinds
    for n in session.scalars(select(JournalNote).where(JournalNote.case_id == case.id,
                                                       JournalNote.signed_at.is_not(None))
                             .order_by(JournalNote.occurred_on, JournalNote.created_at)):
        kind = kinds[n.kind].sv if n.kind in kinds else "Anteckning"
        heading = f"Journalanteckning ({kind}), {n.occurred_on.isoformat()}"
        if n.corrects_id:
            heading += f", rättar anteckning {n.corrects_id[:8]}"
        items.append(item(f"{case.ref}:note:{n.id}", f"{heading} [{n.id[:8]}]",
                          key.open("journal_notes", n.id, "text", n.text)))
    for link in session.scalars(select(CaseLink).where(
            or_(CaseLink.case_id == case.id, CaseLink.earlier_case_id == case.id))):
        other = link.earlier_case_id if link.case_id == case.id else link.case_id
        if other not in in_scope:
            items.append(item(f"{case.ref}:link:{other}", "Ärende om en annan person som hänger ihop med detta",
                              None, automatic="other_person"))
    return Section(case.ref, title, tuple(facts), tuple(items), reads)


def _steps(session: Session, case: Case, chart: Flowchart, zone: ZoneInfo) -> list[Item]:
    """The case's steps, in words and codes only (no free text): when, what, and where it led."""
    labels = {t.trigger: t.label.sv for t in chart.transitions}
    lines = [f"{_day(e.at, zone)}: {labels.get(e.trigger, 'steg')} → "
             f"{chart.states[e.to_state].label.sv if e.to_state in chart.states else e.to_state}"
             for e in session.scalars(select(TransitionLogEntry).where(TransitionLogEntry.case_ref == case.ref)
                                      .order_by(TransitionLogEntry.seq))
             if e.to_state in chart.states]
    return [Item(f"{case.ref}:steps", "Steg i ärendet", "\n".join(lines) or "–")]


def _reads(session: Session, case: Case, chart: Flowchart, policy: Subjects, names: Mapping[str, str],
           zone: ZoneInfo) -> tuple[Read, ...]:
    """The case's access log in words. A read by the account that registered the concern, outside social
    services (a reporter following their report), would name the reporter: who read it is held back."""
    rows = session.scalars(select(AccessLogEntry).where(AccessLogEntry.case_ref == case.ref)
                           .order_by(AccessLogEntry.seq))
    found = []
    for row in rows:
        body = json.loads(row.entry)
        role = body.get("role", "")
        if row.actor_id == case.registered_by and role not in CASE_READING_ROLES:
            found.append(Read(row.at.astimezone(zone), case.ref, "", "", policy.action(row.action).sv,
                              policy.ground(row.ground).sv, reason="reporter"))
            continue
        found.append(Read(row.at.astimezone(zone), case.ref, names.get(row.actor_id, ""),
                          chart.roles[role].sv if role in chart.roles else "–",
                          policy.action(row.action).sv, policy.ground(row.ground).sv))
    return tuple(found)


def _word(chart: Flowchart, vocabulary: str, code: str) -> str:
    words = chart.vocabularies.get(vocabulary, {})
    return words[code].sv if code in words else "–"


def _day(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).date().isoformat()
