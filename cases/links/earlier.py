"""The cases linked to a case: the earlier ones about the same person, and the later ones linked to it.

A closed case is not reopened: a new concern about the same person is a new case, with its own protection
assessment and pre-assessment, linked at registration to the earlier cases (LAW.md, the rules found missing).
That two cases are about one person is itself something about the person, so a link is shown only to staff
with a ground on both cases (deny by default), never to a reporter, and showing one is logged as a read.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from cases.actors import utcnow
from cases.audit import log
from cases.casework.grounds import read_ground
from cases.casework.skeleton import case_write
from cases.db import Database
from cases.errors import AccessDenied
from cases.events import operation
from cases.models import Case, CaseLink
from workflow import AccessEntry, Actor

__all__ = ["LinkedCase", "linked_cases"]

EARLIER, LATER = "earlier", "later"


@dataclass(frozen=True)
class LinkedCase:
    """A case linked to the one being read: its pseudonym, state and flowchart version, and which way."""

    ref: str
    relation: str  # "earlier": the case read was registered after this one; "later": before it
    state: str
    flowchart_version: str
    received_at: datetime


@operation("case_links_read")
def linked_cases(db: Database, actor: Actor, ref: str, *, now: datetime | None = None) -> tuple[LinkedCase, ...]:
    """The cases linked to `ref` that `actor` may also read, oldest first; the read is logged when any is shown.

    Without a ground on `ref` itself nothing is shown (`AccessDenied`), whatever the links: the server refuses
    what the page hides. A linked case the actor has no ground on is left out, silently.
    """
    now = now or utcnow()
    with case_write(db, actor, ref, now=now, lock=False) as opened:  # a write beside the case: the log entry
        session, case = opened.session, opened.case
        ground = read_ground(session, actor, case)
        if ground is None:  # the retention job passes the skeleton's check; it reads no links
            raise AccessDenied(ref, emergency_possible=False)
        shown = tuple(_visible(session, actor, case))
        if shown:
            log.append(session, AccessEntry(at=now, case_ref=case.ref, actor_id=actor.id, role=actor.role,
                                            action="read", ground=ground, fields=("case_links",)))
        return shown


def _visible(session: Session, actor: Actor, case: Case) -> Iterator[LinkedCase]:
    links = session.scalars(select(CaseLink).where(
        or_(CaseLink.case_id == case.id, CaseLink.earlier_case_id == case.id)))
    for link in links:
        other_id, relation = ((link.earlier_case_id, EARLIER) if link.case_id == case.id
                              else (link.case_id, LATER))
        other = session.get(Case, other_id)
        if other is not None and read_ground(session, actor, other) is not None:
            yield LinkedCase(ref=other.ref, relation=relation, state=other.state,
                             flowchart_version=other.flowchart_version, received_at=other.received_at)
